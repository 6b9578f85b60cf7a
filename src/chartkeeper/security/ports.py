"""The two seams between the shells and the security layer.

``Authenticator`` turns a bearer token into a Caller; ``AuditSink`` records every access to
patient data. Services depend on these protocols, so tests can run them with the in-memory
sink below and the real, hash-chained trail runs in production; one contract test covers both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from chartkeeper.security.caller import Caller

#: What was done, in the words of AuditEvent.subtype (FHIR restful-interaction codes) plus ours.
AuditAction = Literal[
    "read",
    "vread",
    "history-instance",
    "history-type",
    "history-system",
    "search-type",
    "search-system",
    "create",
    "update",
    "patch",
    "delete",
    "batch",
    "transaction",
    "operation",
    "export",
    "login",
    "logout",
    "token",
    "authenticate",  # a bearer token checked (audited when it is refused)
]
#: AuditEvent.outcome: success, denied (minor failure: 4), failed (serious: 8).
AuditOutcome = Literal["success", "denied", "failed"]


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """One access to record.

    resources: ``Type/id`` or ``Type/id/_history/v`` of every resource touched (returned,
        written or refused); patients: the Patient ids whose compartments they belong to.
    query: the search or operation as the caller sent it (no credentials in it).
    detail: for failures, the one-line reason (never a stack trace, never a secret).
    """

    caller: Caller
    action: AuditAction
    outcome: AuditOutcome
    resources: tuple[str, ...] = ()
    patients: tuple[str, ...] = ()
    query: str | None = None
    detail: str | None = None
    operation: str | None = None  # e.g. "$everything", "$export", "$merge"


class Authenticator(Protocol):
    def caller_from_bearer(self, token: str, source_address: str | None) -> Caller:
        """The Caller a bearer token stands for; NotAuthenticated if missing, expired or forged."""
        ...


class AuditSink(Protocol):
    def record(self, event: AccessEvent) -> None:
        """Record durably before the response is sent (never lose an access)."""
        ...


@dataclass
class MemoryAuditSink:
    """Keeps events in a list: for unit tests of services, and as the contract's null case."""

    events: list[AccessEvent] = field(default_factory=list)

    def record(self, event: AccessEvent) -> None:
        self.events.append(event)
