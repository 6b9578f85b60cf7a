"""The quarantine as a work queue: look at held input, retry it through intake, or discard it.

Retry re-runs the same intake on the stored original bytes (after a fix to a reference, a code
system or the software), so nothing is re-typed by hand. Both decisions need a reason, are
limited to interface analysts (the ``integrator`` role) and are audited; looking at the queue
is also open to clerks, because the originals hold patient data.
"""

from __future__ import annotations

from dataclasses import dataclass

from chartkeeper.errors import Forbidden, InvalidInput
from chartkeeper.intake.hl7v2.plan import FORMAT as HL7V2
from chartkeeper.intake.models import AnyUnit, DocumentUnit, LinesUnit, V2MessageUnit
from chartkeeper.intake.service import ingest_in_process
from chartkeeper.security.caller import Caller
from chartkeeper.security.ports import AccessEvent, AuditOutcome, AuditSink
from chartkeeper.store.models import QuarantineItem
from chartkeeper.store.patient_events import PatientMerger, PatientWriteListener
from chartkeeper.store.repository import Store

VIEW_ROLES = frozenset({"integrator", "clerk"})
DECIDE_ROLES = frozenset({"integrator"})
PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class RetryOutcome:
    """``resolved``: the input went in and the item is closed; otherwise ``messages`` say why
    it was refused again (the item stays held)."""

    resolved: bool
    messages: list[str]


class QuarantineService:
    """``patients_written`` and ``merger``: the master patient index's ports (ADR 0015), so that
    a retried item's Patients are matched and a retried ADT^A40 merged like any other intake."""

    def __init__(
        self,
        store: Store,
        audit: AuditSink,
        *,
        patients_written: PatientWriteListener | None = None,
        merger: PatientMerger | None = None,
    ) -> None:
        self.store = store
        self.audit = audit
        self.patients_written = patients_written
        self.merger = merger

    def _require(self, caller: Caller, roles: frozenset[str], what: str) -> None:
        if not caller.roles & roles:
            self.audit.record(AccessEvent(caller, "operation", "denied", operation=what, detail="role"))
            raise Forbidden(f"{what} needs one of the roles {', '.join(sorted(roles))}")

    def may_decide(self, caller: Caller) -> bool:
        return bool(caller.roles & DECIDE_ROLES)

    def held(self, caller: Caller, page: int = 0) -> tuple[list[QuarantineItem], int]:
        """One page of held items (oldest first) and how many are held in all."""
        self._require(caller, VIEW_ROLES, "quarantine-list")
        items = self.store.quarantine_list("held", limit=PAGE_SIZE, offset=page * PAGE_SIZE)
        return items, self.store.quarantine_count("held")

    def item(self, caller: Caller, pk: int) -> QuarantineItem:
        """One item with its original bytes (audited: the original may hold patient data)."""
        self._require(caller, VIEW_ROLES, "quarantine-read")
        found = self.store.quarantine_get(pk)
        self.audit.record(
            AccessEvent(caller, "operation", "success", operation="quarantine-read", query=str(pk))
        )
        return found

    def retry(self, caller: Caller, pk: int, reason: str) -> RetryOutcome:
        """Run intake again on the item's bytes; close it as ``retried`` when it goes in."""
        self._require(caller, DECIDE_ROLES, "quarantine-retry")
        reason = _reason(reason)
        item = self.store.quarantine_get(pk)
        _open(item)
        report = ingest_in_process(
            self.store, [_unit(item)], patients_written=self.patients_written, merger=self.merger
        )
        resolved = report.rejected == 0
        if resolved:
            self.store.quarantine_resolve(pk, "retried", f"{caller.subject}: {reason}")
        outcome: AuditOutcome = "success" if resolved else "failed"
        detail = None if resolved else "; ".join(report.messages)[:500]
        self.audit.record(
            AccessEvent(
                caller, "operation", outcome, operation="quarantine-retry", query=str(pk), detail=detail
            )
        )
        return RetryOutcome(resolved, list(report.messages))

    def discard(self, caller: Caller, pk: int, reason: str) -> None:
        """Close the item as ``discarded``; the bytes are kept (nothing arriving is ever lost)."""
        self._require(caller, DECIDE_ROLES, "quarantine-discard")
        reason = _reason(reason)
        _open(self.store.quarantine_get(pk))
        self.store.quarantine_resolve(pk, "discarded", f"{caller.subject}: {reason}")
        self.audit.record(
            AccessEvent(
                caller, "operation", "success", operation="quarantine-discard", query=str(pk), detail=reason
            )
        )


def _reason(reason: str) -> str:
    cleaned = " ".join(reason.split())[:500]
    if not cleaned:
        raise InvalidInput("give a reason")
    return cleaned


def _open(item: QuarantineItem) -> None:
    if item.status != "held":
        raise InvalidInput(f"quarantine item {item.pk} is already {item.status}")


def _unit(item: QuarantineItem) -> AnyUnit:
    content = item.content or b""
    if item.format == "fhir-ndjson":
        return LinesUnit(item.source, 1, [line + b"\n" for line in content.splitlines() if line.strip()])
    if item.format == HL7V2:  # one message, mapped again (a type not supported then may be now)
        return V2MessageUnit(item.source, content)
    return DocumentUnit(item.source, content, item.format)
