"""Applying a group of messages at once (the MLLP writer's group commit), same rules as one by one.

Per-message statements dominated the listener (about 19 statements, 2.9 ms per ORU^R01); a
group is written with one duplicate check, one time look-up and one ``apply_writes``, in
one savepoint. The rules do not change: a control id already applied (or seen earlier in
the group) is a duplicate; a resource is written only from the newest message that carries
it (ties: the later one), never over a newer stored time. If the group's savepoint fails,
each message is applied alone by :func:`apply_v2`, so one bad message cannot sink the rest.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from chartkeeper.errors import ChartkeeperError
from chartkeeper.fhir.instant import now_us
from chartkeeper.intake.hl7v2.process import V2Outcome, V2Prepared, apply_v2, log_values
from chartkeeper.store import hl7log, writer
from chartkeeper.store.models import ResourceWrite


def apply_batch(conn: Connection, batch: list[V2Prepared]) -> list[V2Outcome]:
    """Record and apply every message of ``batch`` in the caller's transaction, in order."""
    if any(p.rejection is not None or p.merge is not None for p in batch):
        return [apply_v2(conn, p) for p in batch]  # rare: take the one-by-one path
    try:
        with conn.begin_nested():
            return _apply_all(conn, batch, now_us())
    except (IntegrityError, ChartkeeperError):
        return [apply_v2(conn, p) for p in batch]


def _apply_all(conn: Connection, batch: list[V2Prepared], now: int) -> list[V2Outcome]:
    seen = hl7log.applied_among(conn, ((p.sender, p.control_id) for p in batch))
    fresh: list[V2Prepared] = []
    outcomes: list[V2Outcome] = []
    for prepared in batch:
        key = (prepared.sender, prepared.control_id)
        if key in seen:
            outcomes.append(V2Outcome("AA", "duplicate"))
        else:
            seen.add(key)
            fresh.append(prepared)
            outcomes.append(V2Outcome("AA", "applied"))
    known = hl7log.resource_times(conn, ((w.res_type, w.res_id) for p in fresh for w in p.writes))
    latest = dict(known)
    chosen: dict[tuple[str, str], ResourceWrite] = {}
    for prepared in fresh:
        when = prepared.message_time or 0
        for write in prepared.writes:
            key = (write.res_type, write.res_id)
            if latest.get(key, when) <= when:
                chosen[key] = write
                latest[key] = when
    writer.apply_writes(conn, list(chosen.values()), now)
    hl7log.set_times(conn, known, {key: latest[key] for key in chosen})
    rows = [
        log_values(p, "duplicate" if o.status == "duplicate" else "applied", "AA")
        for p, o in zip(batch, outcomes, strict=True)
    ]
    hl7log.record_many(conn, now=now, rows=rows)
    return outcomes
