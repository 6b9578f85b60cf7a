"""The review queue: open candidate pairs, and a person's decision on one.

A decision is appended (who, when, why, the model's score), never updated: the pair then leaves
the queue for good, and no later scan or real-time match queues it again. A merge decision is
recorded in the merge's own transaction, so there is never a merge without its decision or a
decision claiming a merge that did not happen.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Connection

from chartkeeper.errors import InvalidInput, NotFound
from chartkeeper.fhir.instant import now_us
from chartkeeper.mpi.merge import merge
from chartkeeper.mpi.models import MergeResult, QueueItem, Verdict, ordered
from chartkeeper.store import mpi_review as sql
from chartkeeper.store.repository import Store


def open_items(store: Store, limit: int = 50, min_probability: float = 0.0) -> list[QueueItem]:
    """Open pairs, most probable first; pairs with a merged-away Patient are left out."""
    with store.reading() as conn:
        gone = {r.source_id for r in sql.merges(conn, state="merged")}
        rows = sql.open_candidates(conn, limit + len(gone), min_probability)
    items = [
        QueueItem(r.pk, r.a_id, r.b_id, r.probability, r.decision, r.evidence, r.source, r.found_at)
        for r in rows
        if r.a_id not in gone and r.b_id not in gone
    ]
    return items[:limit]


def find_pair(store: Store, pair: str) -> tuple[str, str, float | None]:
    """A pair named by its queue id (``17``) or by both ids (``Patient/a,Patient/b`` or ``a,b``)."""
    with store.reading() as conn:
        if pair.isdigit():
            row = sql.candidate_by_pk(conn, int(pair))
            if row is None:
                raise NotFound(f"no candidate pair {pair}")
            return row.a_id, row.b_id, row.probability
        parts = [p.strip().removeprefix("Patient/") for p in pair.split(",")]
        if len(parts) != 2 or not all(parts):
            raise InvalidInput("name a pair by its queue id or as Patient/a,Patient/b")
        a, b = ordered(parts[0], parts[1])
        row = sql.candidate(conn, a, b)
        return a, b, None if row is None else row.probability


def decide(
    store: Store,
    pair: str,
    verdict: Verdict,
    reason: str,
    by: str,
    keep: str | None = None,
) -> tuple[int | None, MergeResult | None]:
    """Record a decision; for ``merge`` also merge (into ``keep``, default the older record)."""
    if not reason.strip():
        raise InvalidInput("a decision needs a reason (--reason)")
    a, b, probability = find_pair(store, pair)
    if verdict == "distinct":
        with store.transaction() as conn:
            pk = _record(conn, a, b, "distinct", by, reason, probability, None)
        return pk, None
    target = keep.removeprefix("Patient/") if keep else _older(store, a, b)
    if target not in (a, b):
        raise InvalidInput(f"--keep must be one of Patient/{a} and Patient/{b}")
    source = b if target == a else a

    def record(conn: Connection, merge_pk: int) -> None:
        _record(conn, a, b, "merge", by, reason, probability, merge_pk)

    result = merge(store, source, target, by, reason, also=record)
    return None, result


def _record(
    conn: Connection,
    a: str,
    b: str,
    verdict: str,
    by: str,
    reason: str,
    probability: float | None,
    merge_pk: int | None,
) -> int:
    pk = sql.add_decision(
        conn,
        a_id=a,
        b_id=b,
        decision=verdict,
        now=now_us(),
        decided_by=by,
        reason=reason,
        probability=probability,
        merge_pk=merge_pk,
    )
    sql.close_candidate(conn, a, b)
    return pk


def record_distinct(by: str, reason: str) -> Callable[[Connection, str, str], None]:
    """For an unmerge: append, in its transaction, the decision it implies (two people)."""

    def record(conn: Connection, a: str, b: str) -> None:
        first, second = ordered(a, b)
        _record(conn, first, second, "distinct", by, reason, None, None)

    return record


def _older(store: Store, a: str, b: str) -> str:
    """The survivor by default: the record registered first (the other is the re-registration)."""
    first = {pid: store.history("Patient", pid)[-1].last_updated for pid in (a, b)}
    return a if first[a] <= first[b] else b


def decisions(store: Store, a: str | None = None, b: str | None = None) -> list[dict[str, object]]:
    with store.reading() as conn:
        rows = sql.decisions(conn, *(ordered(a, b) if a and b else (None, None)))
    return [
        {
            "a": f"Patient/{r.a_id}",
            "b": f"Patient/{r.b_id}",
            "decision": r.decision,
            "decided_at": r.decided_at,
            "decided_by": r.decided_by,
            "reason": r.reason,
            "probability": r.probability,
            "merge": r.merge_pk,
        }
        for r in rows
    ]
