"""HL7 v2 intake's own rows: the message log, per-resource message times, A40 merge requests.

The message log is what makes MLLP safe: every message's bytes are written here in the same
transaction as its resources (or its quarantine entry), and the ACK is sent only after that
transaction commits. The per-resource times let an older message never overwrite a newer one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from chartkeeper.store.schema import hl7_merge_request, hl7_message, hl7_resource_time


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    pk: int
    source: str
    sender: str
    control_id: str
    message_type: str
    status: str
    ack_code: str
    quarantine_pk: int | None


def record(conn: Connection, *, now: int, values: dict[str, Any]) -> int:
    """Add a message to the log; ``values`` holds the hl7_message columns but pk/received_at."""
    row = conn.execute(insert(hl7_message).returning(hl7_message.c.pk), {"received_at": now, **values}).one()
    return int(row[0])


def applied_before(conn: Connection, sender: str, control_id: str) -> bool:
    """Was a message with this control id from this sender already applied?"""
    stmt = (
        select(hl7_message.c.pk)
        .where(
            hl7_message.c.sender == sender,
            hl7_message.c.control_id == control_id,
            hl7_message.c.status == "applied",
        )
        .limit(1)
    )
    return conn.execute(stmt).first() is not None


def messages(conn: Connection, limit: int = 1000) -> list[LoggedMessage]:
    cols = [c for c in hl7_message.c if c.name not in ("content", "received_at", "message_time")]
    rows = conn.execute(select(*cols).order_by(hl7_message.c.pk).limit(limit))
    return [LoggedMessage(**row._asdict()) for row in rows]


_TIMES = select(
    hl7_resource_time.c.res_type, hl7_resource_time.c.res_id, hl7_resource_time.c.message_time
).where(
    hl7_resource_time.c.res_type == bindparam("t"),
    hl7_resource_time.c.res_id.in_(bindparam("ids", expanding=True)),
)


def resource_times(conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The message time last applied to each (type, id) that has one."""
    by_type: dict[str, list[str]] = {}
    for res_type, res_id in keys:
        by_type.setdefault(res_type, []).append(res_id)
    found: dict[tuple[str, str], int] = {}
    for res_type, ids in by_type.items():
        for row in conn.execute(_TIMES, {"t": res_type, "ids": sorted(set(ids))}):
            found[(row.res_type, row.res_id)] = int(row.message_time)
    return found


def set_resource_times(
    conn: Connection, known: dict[tuple[str, str], int], keys: Iterable[tuple[str, str]], when: int
) -> None:
    """Record ``when`` for ``keys``; ``known`` (from :func:`resource_times`) says which rows exist."""
    updates = [{"b_t": t, "b_i": i, "message_time": when} for t, i in keys if (t, i) in known]
    inserts = [{"res_type": t, "res_id": i, "message_time": when} for t, i in keys if (t, i) not in known]
    if updates:
        conn.execute(
            update(hl7_resource_time).where(
                hl7_resource_time.c.res_type == bindparam("b_t"),
                hl7_resource_time.c.res_id == bindparam("b_i"),
            ),
            updates,
        )
    if inserts:
        conn.execute(insert(hl7_resource_time), inserts)


def add_merge_request(
    conn: Connection,
    *,
    now: int,
    message_pk: int,
    surviving: str,
    prior: str,
    identifiers: list[dict[str, Any]],
) -> int:
    row = conn.execute(
        insert(hl7_merge_request).returning(hl7_merge_request.c.pk),
        {
            "received_at": now,
            "message_pk": message_pk,
            "surviving_patient_id": surviving,
            "prior_patient_id": prior,
            "prior_identifiers": identifiers,
            "status": "recorded",
        },
    ).one()
    return int(row[0])


def set_merge_outcome(
    conn: Connection,
    *,
    request_pk: int,
    now: int,
    status: str,
    merge_pk: int | None = None,
    detail: str | None = None,
) -> None:
    """Record what became of an A40 merge request: merged, refused or failed (with why)."""
    conn.execute(
        update(hl7_merge_request)
        .where(hl7_merge_request.c.pk == request_pk)
        .values(status=status, merge_pk=merge_pk, outcome_at=now, detail=detail)
    )


def set_message_outcome(conn: Connection, message_pk: int, *, status: str, ack_code: str) -> None:
    """Correct a logged message's status and ACK code after the fact (an A40 whose merge was
    refused is logged ``rejected``/AE, so that the sender's resend is applied, not a duplicate)."""
    conn.execute(
        update(hl7_message).where(hl7_message.c.pk == message_pk).values(status=status, ack_code=ack_code)
    )


def merge_requests(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(hl7_merge_request).order_by(hl7_merge_request.c.pk))
    return [dict(row._asdict()) for row in rows]


def record_many(conn: Connection, *, now: int, rows: list[dict[str, Any]]) -> None:
    """Add several messages to the log in one statement (their keys are not needed)."""
    if rows:
        conn.execute(insert(hl7_message), [{"received_at": now, **row} for row in rows])


def applied_among(conn: Connection, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (sender, control id) pairs were already applied."""
    wanted = set(keys)
    if not wanted:
        return set()
    stmt = select(hl7_message.c.sender, hl7_message.c.control_id).where(
        hl7_message.c.control_id.in_(sorted({cid for _s, cid in wanted})), hl7_message.c.status == "applied"
    )
    return {(row.sender, row.control_id) for row in conn.execute(stmt)} & wanted


def set_times(conn: Connection, known: dict[tuple[str, str], int], times: dict[tuple[str, str], int]) -> None:
    """Record each (type, id)'s new message time; ``known`` says which rows exist already."""
    updates = [{"b_t": t, "b_i": i, "message_time": w} for (t, i), w in times.items() if (t, i) in known]
    inserts = [
        {"res_type": t, "res_id": i, "message_time": w} for (t, i), w in times.items() if (t, i) not in known
    ]
    if updates:
        conn.execute(
            update(hl7_resource_time).where(
                hl7_resource_time.c.res_type == bindparam("b_t"),
                hl7_resource_time.c.res_id == bindparam("b_i"),
            ),
            updates,
        )
    if inserts:
        conn.execute(insert(hl7_resource_time), inserts)
