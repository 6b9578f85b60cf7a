"""What the record service returns and the errors only it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sqlalchemy.engine import Connection

from chartkeeper.errors import InvalidInput, NotFound
from chartkeeper.fhir.outcome import Issue
from chartkeeper.security.caller import Caller
from chartkeeper.store.models import StoredVersion

WriteOutcome = Literal["created", "updated", "unchanged", "deleted", "none", "matched"]


@dataclass(frozen=True, slots=True)
class Saved:
    """The result of a write.

    outcome: created / updated / unchanged (identical content: no new version, as for ingest) /
        deleted / none (deleting what is absent or already deleted) / matched (a conditional
        create found the resource already there).
    resource: the stored resource with meta.versionId/lastUpdated (None after a delete).
    version_id/last_updated: of the current version (None when nothing exists).
    """

    res_type: str
    res_id: str | None
    outcome: WriteOutcome
    version_id: int | None = None
    last_updated: int | None = None
    resource: dict[str, Any] | None = None
    issues: list[Issue] = field(default_factory=list)

    @property
    def created(self) -> bool:
        return self.outcome == "created"


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of a history or $everything Bundle: the entries and the next page's cursor."""

    entries: list[StoredVersion]
    next_cursor: str | None
    total: int | None = None


class Unprocessable(InvalidInput):
    """The resource is well-formed JSON but fails FHIR validation (HTTP 422)."""


class NotSupported(InvalidInput):
    """A valid request for something this server does not do (e.g. search inside a batch)."""


class Hidden(NotFound):
    """The resource exists but lies outside the caller's compartment: reported as not found
    (its existence is not disclosed) and audited as denied."""


class Matcher(Protocol):
    """Finds ids for conditional create/update/delete criteria (``identifier=sys|val``).

    The default uses the store's identity lookup (``Store.find_ids``); full search replaces it
    without touching the service. It runs on the write transaction's connection.
    """

    def __call__(self, conn: Connection, res_type: str, query: str, limit: int) -> list[str]: ...


class Searcher(Protocol):
    """Runs the search of a ``GET [type]?query`` (or ``GET ?query``) entry of a batch or
    transaction on the Bundle's connection and returns the searchset Bundle; it applies the
    caller's scopes and access filter itself. Supplied by the search module; without one such
    entries are NotSupported."""

    def __call__(
        self, caller: Caller, conn: Connection, res_type: str | None, query: str, base: str, trail: Any
    ) -> dict[str, Any]:
        """``trail`` is the Bundle's audit Trail: what the search returns is recorded with the
        Bundle's own AuditEvent (a second audit write inside the Bundle's transaction would
        wait on its own lock on SQLite)."""
        ...
