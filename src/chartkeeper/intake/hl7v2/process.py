"""One HL7 v2 message from bytes to the store: prepare (pure, any process) then apply (the writer).

``prepare_v2`` parses, maps, validates and indexes without touching the database, so it runs
in ingest worker processes. ``apply_v2`` runs in the writer's open transaction and records
the message's bytes in every case: applied (resources written in a savepoint, older-than-
stored resources left alone), duplicate (same sender and MSH-10 already applied: recorded,
acknowledged again, not applied) or rejected (quarantined with the segment and field).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from chartkeeper.errors import ChartkeeperError
from chartkeeper.fhir.instant import now_us
from chartkeeper.fhir.outcome import Issue, operation_outcome
from chartkeeper.intake.hl7v2.context import MergeRequest
from chartkeeper.intake.hl7v2.errors import APPLICATION_ERROR, SEGMENT_SEQUENCE_ERROR, V2Error
from chartkeeper.intake.hl7v2.mapping import map_message
from chartkeeper.intake.hl7v2.parse import decode, parse_message, split_messages
from chartkeeper.intake.hl7v2.plan import FORMAT, prepare_mapped
from chartkeeper.store import hl7log, quarantine, writer
from chartkeeper.store.models import ResourceWrite, WriteSummary


@dataclass(slots=True)
class Rejection:
    """Why a message is refused, in HL7 terms (for ERR) and FHIR terms (for the quarantine)."""

    ack_code: str
    code: int
    segment: str
    field: int | None
    reason: str
    issues: list[Issue]


@dataclass(slots=True)
class V2Prepared:
    raw: bytes
    source: str
    sender: str = ""
    control_id: str = ""
    message_type: str = ""
    message_time: int | None = None
    writes: list[ResourceWrite] = field(default_factory=list)
    merge: MergeRequest | None = None
    rejection: Rejection | None = None


@dataclass(slots=True)
class V2Outcome:
    ack_code: str
    status: str  # applied, duplicate or rejected
    rejection: Rejection | None = None
    summary: WriteSummary = field(default_factory=WriteSummary)
    quarantine_pk: int | None = None
    message_pk: int | None = None
    merge_request_pk: int | None = None  # an A40's row in hl7_merge_request (merging.py)


def _reject(prepared: V2Prepared, error: V2Error) -> V2Prepared:
    prepared.rejection = Rejection(
        error.ack_code, error.code, error.segment, error.field, str(error), error.issues
    )
    prepared.writes = []
    return prepared


def prepare_v2(raw: bytes, source: str) -> V2Prepared:
    """Parse, map, validate and index one message; never raises for bad input."""
    prepared = V2Prepared(raw, source)
    try:
        texts = list(split_messages(decode(raw)))  # drops FHS/BHS envelopes, as in files
        if len(texts) != 1:
            found = f"{len(texts)} messages" if texts else "no message"
            raise V2Error("MSH", None, f"expected one message, found {found}", "AR", SEGMENT_SEQUENCE_ERROR)
        message = parse_message(texts[0])
        prepared.sender, prepared.control_id = message.sender, message.control_id
        prepared.message_type = f"{message.message_code}^{message.trigger}".strip("^")
        mapped = map_message(message)
    except V2Error as exc:
        return _reject(prepared, exc)
    except Exception as exc:  # a mapping bug must not lose the message: quarantine it for a retry
        return _reject(
            prepared,
            V2Error(
                "MSH", None, f"internal error while mapping ({type(exc).__name__})", "AE", APPLICATION_ERROR
            ),
        )
    prepared.message_type, prepared.message_time = mapped.message_type, mapped.message_time
    writes, issues = prepare_mapped(mapped)
    if issues:
        first = issues[0]
        reason = f"the mapped FHIR is invalid: {first.one_line()}"
        more = len(issues) - 1
        reason += f" (and {more} more)" if more else ""
        # No single v2 field to blame: ERR points at the message, the issues at FHIR elements.
        prepared.rejection = Rejection("AE", APPLICATION_ERROR, "MSH", None, reason, issues)
        return prepared
    prepared.writes = writes
    prepared.merge = mapped.merge
    return prepared


def apply_v2(conn: Connection, prepared: V2Prepared) -> V2Outcome:
    """Record and apply ``prepared`` in the caller's transaction (the caller commits, then ACKs)."""
    now = now_us()
    if prepared.rejection is not None:
        return _quarantine(conn, prepared, prepared.rejection, now)
    if hl7log.applied_before(conn, prepared.sender, prepared.control_id):
        pk = hl7log.record(conn, now=now, values=log_values(prepared, "duplicate", "AA"))
        return V2Outcome("AA", "duplicate", message_pk=pk)
    for attempt in (1, 2):
        try:
            with conn.begin_nested():
                return _apply(conn, prepared, now)
        except IntegrityError as exc:
            if attempt == 2:
                return _refused(conn, prepared, exc, now)
        except ChartkeeperError as exc:
            return _refused(conn, prepared, exc, now)
    raise AssertionError("unreachable")


def _apply(conn: Connection, prepared: V2Prepared, now: int) -> V2Outcome:
    when = prepared.message_time or 0
    keys = [(w.res_type, w.res_id) for w in prepared.writes]
    known = hl7log.resource_times(conn, keys)
    # An older message never overwrites what a newer one wrote: those resources are left alone.
    fresh = [w for w in prepared.writes if known.get((w.res_type, w.res_id), when) <= when]
    summary = writer.apply_writes(conn, fresh, now)
    hl7log.set_resource_times(conn, known, [(w.res_type, w.res_id) for w in fresh], when)
    pk = hl7log.record(conn, now=now, values=log_values(prepared, "applied", "AA"))
    request_pk = None
    if prepared.merge is not None:
        merge = prepared.merge
        request_pk = hl7log.add_merge_request(
            conn,
            now=now,
            message_pk=pk,
            surviving=merge.surviving_patient_id,
            prior=merge.prior_patient_id,
            identifiers=merge.prior_identifiers,
        )
    return V2Outcome("AA", "applied", summary=summary, message_pk=pk, merge_request_pk=request_pk)


def _refused(conn: Connection, prepared: V2Prepared, exc: Exception, now: int) -> V2Outcome:
    text = (
        str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
        if str(exc).strip()
        else type(exc).__name__
    )
    issue = Issue("error", "processing", f"the store refused the write: {text}", None)
    rejection = Rejection("AE", APPLICATION_ERROR, "MSH", None, issue.message, [issue])
    return _quarantine(conn, prepared, rejection, now)


def _quarantine(conn: Connection, prepared: V2Prepared, rejection: Rejection, now: int) -> V2Outcome:
    qpk = quarantine.add(
        conn,
        source=prepared.source,
        fmt=FORMAT,
        reason=rejection.reason,
        content=prepared.raw,
        issues=operation_outcome(rejection.issues),
        now=now,
    )
    values = log_values(prepared, "rejected", rejection.ack_code)
    values["quarantine_pk"] = qpk
    pk = hl7log.record(conn, now=now, values=values)
    return V2Outcome(rejection.ack_code, "rejected", rejection, quarantine_pk=qpk, message_pk=pk)


def log_values(prepared: V2Prepared, status: str, ack_code: str) -> dict[str, object]:
    return {
        "source": prepared.source,
        "sender": prepared.sender[:2000],
        "control_id": prepared.control_id[:199],
        "message_type": prepared.message_type[:32],
        "message_time": prepared.message_time,
        "status": status,
        "ack_code": ack_code,
        "quarantine_pk": None,
        "content": prepared.raw,
    }
