"""Plain data passed in and out of the store."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson


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
    """One version of a resource as stored; ``content`` already carries meta.versionId/lastUpdated.

    ``serialized``: set instead of ``content`` only by reads that ask for it (``$everything``
    pages): the resource as JSON text with its server meta, to be embedded in a response as is
    (``orjson.Fragment``) without being parsed and serialized again."""

    res_type: str
    res_id: str
    version_id: int
    last_updated: int
    deleted: bool
    method: str
    content: dict[str, Any] | None
    serialized: str | None = None

    def json_value(self) -> Any:
        """What goes into a response document: the parsed content or the embedded text."""
        return orjson.Fragment(self.serialized) if self.serialized is not None else self.content


@dataclass(frozen=True, slots=True)
class CurrentRow:
    """The ``resource`` row of one (type, id): what a conditional write checks before writing."""

    pk: int
    res_type: str
    res_id: str
    version_id: int
    last_updated: int
    deleted: bool
    patient_id: str | None


@dataclass(frozen=True, slots=True)
class EverythingScope:
    """What shapes the keys of ``Patient/[id]/$everything``: the patient, the caller's access,
    ``_since``, ``_type``, and the compartment types left out (with what only they reference).
    Two requests with equal scopes get the same keys from the same data."""

    patient_id: str
    access: AccessFilter
    since: int | None = None
    types: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """Which versions a history interaction returns, newest first.

    res_type/res_id: ``None`` widens to the type or the whole system.
    since: only versions written at or after this instant (µs).
    at: (low, high) µs: only versions that were current at some moment of that range.
    after: the keyset cursor (last_updated, version pk) of the previous page's last entry.
    """

    res_type: str | None
    res_id: str | None
    access: AccessFilter
    count: int
    since: int | None = None
    at: tuple[int, int] | None = None
    after: tuple[int, int] | None = None


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


@dataclass(frozen=True, slots=True)
class AccessFilter:
    """What a caller may see, lowered into the SQL of every read and search.

    Filtering in SQL (not afterwards in Python) keeps paging and totals true.

    types: resource types the caller may read; ``None`` means every type.
    patient_ids: when set, only resources in these patients' compartments (and those
        Patient resources themselves) are visible; ``None`` means no compartment limit.
    """

    types: frozenset[str] | None = None
    patient_ids: frozenset[str] | None = None

    def allows_type(self, res_type: str) -> bool:
        return self.types is None or res_type in self.types

    def allows(self, res_type: str, res_id: str, patient_id: str | None) -> bool:
        """The same rule for one already-loaded row (reads by id, includes)."""
        if not self.allows_type(res_type):
            return False
        if self.patient_ids is None:
            return True
        if res_type == "Patient":
            return res_id in self.patient_ids
        return patient_id is not None and patient_id in self.patient_ids


#: No restriction: trusted local callers (the CLI's ingest, migrations, tests).
UNRESTRICTED = AccessFilter()


@dataclass(frozen=True, slots=True)
class UserAccount:
    """A person who signs in. ``roles`` name the role definitions in ``security.roles``."""

    username: str
    display: str
    roles: tuple[str, ...]
    password_hash: str
    disabled: bool
    failed_logins: int
    locked_until: int | None
    created_at: int
    changed_at: int


@dataclass(frozen=True, slots=True)
class ClientAccount:
    """A system that calls the API: a client secret (hash only) and/or a public JWK set."""

    name: str
    scopes: str
    secret_hash: str | None
    jwks: dict[str, Any] | None
    disabled: bool
    failed_logins: int
    locked_until: int | None
    created_at: int
