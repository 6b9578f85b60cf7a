"""SQL of MPI review and merge: candidate pairs, decisions, merge records, row locks.

Decisions are append-only (never updated, never deleted): a decision can be superseded by a
later one, never lost. A merge keeps, per resource it wrote, the version before and after, so
an unmerge can put back exactly the content it replaced.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.engine import Connection

from chartkeeper.store.dialect import allocate_keys, bulk_insert
from chartkeeper.store.schema import (
    idx_reference,
    mpi_candidate,
    mpi_decision,
    mpi_merge,
    mpi_merge_item,
    resource,
    resource_version,
)

_CHUNK = 500
_CANDIDATE_COLS = (
    "pk",
    "a_id",
    "b_id",
    "probability",
    "match_weight",
    "decision",
    "evidence",
    "model_version",
    "source",
    "found_at",
    "status",
)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- candidates ----------------------------------------------------------------------------------
def decided_pairs(conn: Connection) -> set[tuple[str, str]]:
    """Every pair someone has decided on (merge or distinct): never to be queued again."""
    return {(r.a_id, r.b_id) for r in conn.execute(select(mpi_decision.c.a_id, mpi_decision.c.b_id))}


def save_candidates(conn: Connection, rows: Sequence[dict[str, Any]], now: int) -> int:
    """Insert new pairs, refresh open ones; pairs already decided are left alone. Returns new."""
    if not rows:
        return 0
    decided = decided_pairs(conn)
    wanted = [r for r in rows if (r["a_id"], r["b_id"]) not in decided]
    existing: dict[tuple[str, str], Any] = {}
    for a_ids in _chunks(sorted({r["a_id"] for r in wanted})):
        stmt = select(mpi_candidate.c.pk, mpi_candidate.c.a_id, mpi_candidate.c.b_id, mpi_candidate.c.status)
        for row in conn.execute(stmt.where(mpi_candidate.c.a_id.in_(a_ids))):
            existing[(row.a_id, row.b_id)] = row
    fresh = [r for r in wanted if (r["a_id"], r["b_id"]) not in existing]
    refresh = [
        {**r, "b_pk": existing[(r["a_id"], r["b_id"])].pk}
        for r in wanted
        if (r["a_id"], r["b_id"]) in existing and existing[(r["a_id"], r["b_id"])].status == "open"
    ]
    pks = allocate_keys(conn, mpi_candidate.name, len(fresh))
    bulk_insert(
        conn,
        mpi_candidate,
        _CANDIDATE_COLS,
        [
            (
                pk,
                r["a_id"],
                r["b_id"],
                r["probability"],
                r["match_weight"],
                r["decision"],
                orjson.dumps(r["evidence"]).decode(),
                r["model_version"],
                r["source"],
                now,
                "open",
            )
            for pk, r in zip(pks, fresh, strict=True)
        ],
    )
    if refresh:
        conn.execute(
            update(mpi_candidate).where(mpi_candidate.c.pk == bindparam("b_pk")),
            [
                {
                    "b_pk": r["b_pk"],
                    "probability": r["probability"],
                    "match_weight": r["match_weight"],
                    "decision": r["decision"],
                    "evidence": r["evidence"],
                    "model_version": r["model_version"],
                    "found_at": now,
                }
                for r in refresh
            ],
        )
    return len(fresh)


def open_candidates(conn: Connection, limit: int, min_probability: float = 0.0) -> list[Any]:
    stmt = (
        select(mpi_candidate)
        .where(mpi_candidate.c.status == "open", mpi_candidate.c.probability >= min_probability)
        .order_by(mpi_candidate.c.probability.desc(), mpi_candidate.c.pk)
        .limit(limit)
    )
    return list(conn.execute(stmt))


def candidate(conn: Connection, a_id: str, b_id: str) -> Any | None:
    stmt = select(mpi_candidate).where(mpi_candidate.c.a_id == a_id, mpi_candidate.c.b_id == b_id)
    return conn.execute(stmt).first()


def candidate_by_pk(conn: Connection, pk: int) -> Any | None:
    return conn.execute(select(mpi_candidate).where(mpi_candidate.c.pk == pk)).first()


def close_candidate(conn: Connection, a_id: str, b_id: str) -> None:
    conn.execute(
        update(mpi_candidate)
        .where(mpi_candidate.c.a_id == a_id, mpi_candidate.c.b_id == b_id)
        .values(status="decided")
    )


# -- decisions -----------------------------------------------------------------------------------
def add_decision(
    conn: Connection,
    *,
    a_id: str,
    b_id: str,
    decision: str,
    now: int,
    decided_by: str,
    reason: str,
    probability: float | None,
    merge_pk: int | None,
) -> int:
    result = conn.execute(
        mpi_decision.insert().values(
            a_id=a_id,
            b_id=b_id,
            decision=decision,
            decided_at=now,
            decided_by=decided_by,
            reason=reason,
            probability=probability,
            merge_pk=merge_pk,
        )
    )
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


def decisions(conn: Connection, a_id: str | None = None, b_id: str | None = None) -> list[Any]:
    stmt = select(mpi_decision).order_by(mpi_decision.c.pk)
    if a_id is not None and b_id is not None:
        stmt = stmt.where(mpi_decision.c.a_id == a_id, mpi_decision.c.b_id == b_id)
    return list(conn.execute(stmt))


# -- merges --------------------------------------------------------------------------------------
def add_merge(
    conn: Connection, *, source_id: str, target_id: str, now: int, merged_by: str, reason: str
) -> int:
    result = conn.execute(
        mpi_merge.insert().values(
            source_id=source_id,
            target_id=target_id,
            merged_at=now,
            merged_by=merged_by,
            reason=reason,
            state="merged",
        )
    )
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


def add_merge_items(conn: Connection, merge_pk: int, items: Sequence[tuple[str, str, int, int]]) -> None:
    """(res_type, res_id, version_before, version_after) of each resource the merge wrote."""
    if items:
        conn.execute(
            mpi_merge_item.insert(),
            [
                {"merge_pk": merge_pk, "res_type": t, "res_id": i, "version_before": b, "version_after": a}
                for t, i, b, a in items
            ],
        )


def merge_row(conn: Connection, merge_pk: int, for_update: bool = False) -> Any | None:
    stmt = select(mpi_merge).where(mpi_merge.c.pk == merge_pk)
    return conn.execute(stmt.with_for_update() if for_update else stmt).first()


def merges(conn: Connection, patient_id: str | None = None, state: str | None = None) -> list[Any]:
    stmt = select(mpi_merge).order_by(mpi_merge.c.pk)
    if patient_id is not None:
        stmt = stmt.where((mpi_merge.c.source_id == patient_id) | (mpi_merge.c.target_id == patient_id))
    if state is not None:
        stmt = stmt.where(mpi_merge.c.state == state)
    return list(conn.execute(stmt))


def merge_items(conn: Connection, merge_pk: int) -> list[Any]:
    stmt = select(mpi_merge_item).where(mpi_merge_item.c.merge_pk == merge_pk).order_by(mpi_merge_item.c.pk)
    return list(conn.execute(stmt))


def mark_unmerged(conn: Connection, merge_pk: int, *, now: int, by: str, reason: str) -> None:
    conn.execute(
        update(mpi_merge)
        .where(mpi_merge.c.pk == merge_pk)
        .values(state="unmerged", unmerged_at=now, unmerged_by=by, unmerge_reason=reason)
    )


# -- locks and the resources that point at a patient ----------------------------------------------
def lock_resources(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Lock these resources' rows until the transaction ends; return their current versions.

    PostgreSQL: SELECT ... FOR UPDATE in a fixed order (no deadlock between two merges), so a
    concurrent write to any of them waits for the merge and then fails on the version it read
    (nothing is silently overwritten). SQLite: the write transaction (BEGIN IMMEDIATE) already
    holds the database's only write lock, and FOR UPDATE compiles to nothing.
    """
    found: dict[tuple[str, str], int] = {}
    for key in sorted(set(keys)):
        stmt = (
            select(resource.c.version_id)
            .where(resource.c.res_type == key[0], resource.c.res_id == key[1], resource.c.deleted.is_(False))
            .with_for_update()
        )
        version = conn.execute(stmt).scalar()
        if version is not None:
            found[key] = int(version)
    return found


def resources_pointing_at(conn: Connection, patient_id: str) -> list[tuple[str, str]]:
    """Current resources in the patient's compartment or referring to it (the Patient excluded)."""
    in_compartment = select(resource.c.res_type, resource.c.res_id).where(
        resource.c.patient_id == patient_id, resource.c.deleted.is_(False)
    )
    referring = select(resource.c.res_type, resource.c.res_id).where(
        resource.c.pk.in_(
            select(idx_reference.c.resource_pk).where(
                and_(idx_reference.c.target_type == "Patient", idx_reference.c.target_id == patient_id)
            )
        ),
        resource.c.deleted.is_(False),
    )
    keys = {(r.res_type, r.res_id) for r in conn.execute(in_compartment)}
    keys |= {(r.res_type, r.res_id) for r in conn.execute(referring)}
    keys.discard(("Patient", patient_id))
    return sorted(keys)


def contents(
    conn: Connection, keys: Sequence[tuple[str, str]], versions: dict[tuple[str, str], int] | None = None
) -> dict[tuple[str, str], tuple[int, dict[str, Any]]]:
    """(version, stored content without server meta) of each key: current, or ``versions[key]``."""
    found: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for key in keys:
        stmt = select(resource_version.c.version_id, resource_version.c.content).where(
            resource_version.c.res_type == key[0], resource_version.c.res_id == key[1]
        )
        if versions is not None:
            stmt = stmt.where(resource_version.c.version_id == versions[key])
        else:
            stmt = stmt.where(
                resource_version.c.version_id
                == select(resource.c.version_id)
                .where(resource.c.res_type == key[0], resource.c.res_id == key[1])
                .scalar_subquery()
            )
        row = conn.execute(stmt).first()
        if row is not None and row.content is not None:
            found[key] = (int(row.version_id), row.content)
    return found
