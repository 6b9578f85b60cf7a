"""ADT^A40 through the master patient index, once the message is stored (ADR 0015).

The message (its bytes, the surviving Patient from PID, the merge request) commits first, as
every message does; then the merge runs through the ``PatientMerger`` port — the MpiService's
merge, the same code as ``Patient/$merge`` and ``chartkeeper mpi merge`` — in its own
transaction, and the request in ``hl7_merge_request`` gets its outcome. The ACK follows it:

* merged → AA;
* refused (the prior patient is unknown, already merged elsewhere, the same patient) → AE with
  ERR at MRG-1 and HL7 table 0357 code 204 (unknown key identifier) or 207;
* the merge failed for another reason (the database) → AE 207 "resend".

A message whose merge did not happen is re-logged as ``rejected``/AE, so that when the sender
resends it (after fixing the prior patient, or once the database is back) it is applied and
merged then, not answered as a duplicate.
"""

from __future__ import annotations

import logging

from chartkeeper.errors import ChartkeeperError, NotFound
from chartkeeper.fhir.instant import now_us
from chartkeeper.fhir.outcome import Issue
from chartkeeper.intake.hl7v2.errors import APPLICATION_ERROR
from chartkeeper.intake.hl7v2.process import Rejection, V2Outcome, V2Prepared
from chartkeeper.store import hl7log
from chartkeeper.store.patient_events import PatientMerger
from chartkeeper.store.repository import Store

log = logging.getLogger("chartkeeper.hl7v2")

#: HL7 table 0357: the key (here MRG-1, the prior patient) names nothing we know.
UNKNOWN_KEY_IDENTIFIER = 204


def merge_reason(prepared: V2Prepared) -> str:
    return f"HL7 ADT^A40 control id {prepared.control_id} from {prepared.sender or 'an unnamed sender'}"


def perform_merge(
    store: Store, merger: PatientMerger | None, prepared: V2Prepared, outcome: V2Outcome
) -> V2Outcome:
    """Run the A40's merge after its commit; the outcome (and so the ACK) it earns.

    Without a merger (no index attached) the request stays ``recorded`` and the ACK is AA, as
    before the MPI was wired in."""
    request = prepared.merge
    if merger is None or request is None or outcome.status != "applied" or outcome.merge_request_pk is None:
        return outcome
    prior, surviving = request.prior_patient_id, request.surviving_patient_id
    try:
        merge_pk = merger.merge_patients(prior, surviving, reason=merge_reason(prepared))
    except NotFound as exc:
        field_at = ("MRG", 1) if prior in str(exc) else ("PID", 3)
        rejection = _rejection(UNKNOWN_KEY_IDENTIFIER, *field_at, f"cannot merge: {exc}")
        status = "refused"
    except ChartkeeperError as exc:  # Conflict (merged elsewhere), InvalidInput (the same patient)
        rejection = _rejection(APPLICATION_ERROR, "MRG", 1, f"cannot merge: {exc}")
        status = "refused"
    except Exception as exc:  # the database: the request stays, the sender resends
        log.error("ADT^A40 control id %r: merge failed (%s)", prepared.control_id[:64], type(exc).__name__)
        rejection = _rejection(
            APPLICATION_ERROR, "MSH", None, "the merge could not be performed now; resend the message"
        )
        status = "failed"
    else:
        _record(store, outcome, status="merged", merge_pk=merge_pk)
        return outcome
    _record(store, outcome, status=status, detail=rejection.reason)
    return V2Outcome(
        "AE",
        "rejected",
        rejection,
        summary=outcome.summary,
        message_pk=outcome.message_pk,
        merge_request_pk=outcome.merge_request_pk,
    )


def _rejection(code: int, segment: str, field: int | None, reason: str) -> Rejection:
    where = segment if field is None else f"{segment}-{field}"
    return Rejection("AE", code, segment, field, reason, [Issue("error", "processing", reason, where)])


def _record(
    store: Store, outcome: V2Outcome, *, status: str, merge_pk: int | None = None, detail: str | None = None
) -> None:
    assert outcome.merge_request_pk is not None
    try:
        with store.transaction() as conn:
            hl7log.set_merge_outcome(
                conn,
                request_pk=outcome.merge_request_pk,
                now=now_us(),
                status=status,
                merge_pk=merge_pk,
                detail=detail,
            )
            if status != "merged" and outcome.message_pk is not None:
                hl7log.set_message_outcome(conn, outcome.message_pk, status="rejected", ack_code="AE")
    except Exception as exc:
        log.error(
            "could not record the outcome of merge request %d (%s)",
            outcome.merge_request_pk,
            type(exc).__name__,
        )
