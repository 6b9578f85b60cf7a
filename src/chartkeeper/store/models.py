"""Plain data passed in and out of the store."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ResourceWrite:
    """One resource to write (or delete), already validated and indexed by the caller.

    content: the resource JSON serialized, without ``meta.versionId``/``meta.lastUpdated``.
    """

    res_type: str
    res_id: str
    content: str | None
    fingerprint: str
    index: tuple[list[tuple[Any, ...]], ...] | None  # writer.index_rows(): rows per index table
    patient_id: str | None
    delete: bool = False


@dataclass
class WriteSummary:
    """What a batch of writes did, per resourceType."""

    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)

    def add(self, other: WriteSummary) -> None:
        self.created.update(other.created)
        self.updated.update(other.updated)
        self.unchanged.update(other.unchanged)
        self.deleted.update(other.deleted)


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """One version of a resource as stored; ``content`` already carries meta.versionId/lastUpdated."""

    res_type: str
    res_id: str
    version_id: int
    last_updated: int
    deleted: bool
    method: str
    content: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class QuarantineItem:
    pk: int
    received_at: int
    source: str
    format: str
    reason: str
    issues: dict[str, Any] | None
    status: str
    size: int
    content: bytes | None = None
    resolution: str | None = None
