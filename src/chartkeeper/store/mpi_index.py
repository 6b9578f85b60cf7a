"""SQL of the master patient index: the trained model, thresholds, comparison records, keys.

The domain package ``chartkeeper.mpi`` decides what to store; these functions only store and
fetch it (every function takes the caller's connection, so it joins the caller's transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, delete, func, select
from sqlalchemy.engine import Connection

from chartkeeper.store.dialect import bulk_insert
from chartkeeper.store.schema import (
    mpi_config,
    mpi_key,
    mpi_model,
    mpi_pending,
    mpi_record,
    mpi_term_frequency,
    resource,
    resource_version,
)

_CHUNK = 500


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- the Patients to index ---------------------------------------------------------------------------
_PATIENTS = (
    select(resource_version.c.content)
    .select_from(
        resource.join(
            resource_version,
            and_(
                resource_version.c.resource_pk == resource.c.pk,
                resource_version.c.version_id == resource.c.version_id,
            ),
        )
    )
    .where(resource.c.res_type == "Patient", resource.c.deleted.is_(False))
)


def patient_contents(conn: Connection) -> Iterator[dict[str, Any]]:
    """Every current Patient's stored JSON, in one streamed query.

    One pass, no paging: the store's keyset-paged ``iter_current`` filtered by type re-sorts the
    type's rows for every page on SQLite (25 s for 100,000 Patients against 0.5 s for this).
    """
    result = conn.execution_options(stream_results=True, yield_per=2000).execute(_PATIENTS)
    for row in result:
        yield row.content


# -- model ----------------------------------------------------------------------------------------
def save_model(
    conn: Connection,
    *,
    design_version: int,
    now: int,
    created_by: str,
    record_count: int,
    model: dict[str, Any],
    summary: dict[str, Any],
) -> int:
    result = conn.execute(
        mpi_model.insert().values(
            design_version=design_version,
            created_at=now,
            created_by=created_by,
            record_count=record_count,
            model=model,
            summary=summary,
        )
    )
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


def latest_model(conn: Connection) -> Any | None:
    """The newest trained model row (version, design_version, model, summary, ...), if any."""
    return conn.execute(select(mpi_model).order_by(mpi_model.c.version.desc()).limit(1)).first()


def model_versions(conn: Connection) -> list[Any]:
    cols = [c for c in mpi_model.c if c.name != "model"]
    return list(conn.execute(select(*cols).order_by(mpi_model.c.version)))


# -- thresholds and policy --------------------------------------------------------------------------
def save_config(
    conn: Connection,
    *,
    now: int,
    created_by: str,
    link_threshold: float,
    review_threshold: float,
    policy: str,
    note: str | None,
) -> None:
    conn.execute(
        mpi_config.insert().values(
            created_at=now,
            created_by=created_by,
            link_threshold=link_threshold,
            review_threshold=review_threshold,
            policy=policy,
            note=note,
        )
    )


def latest_config(conn: Connection) -> Any | None:
    return conn.execute(select(mpi_config).order_by(mpi_config.c.pk.desc()).limit(1)).first()


def config_history(conn: Connection) -> list[Any]:
    return list(conn.execute(select(mpi_config).order_by(mpi_config.c.pk)))


# -- comparison records and blocking keys -----------------------------------------------------------
def replace_index(
    conn: Connection,
    records: Sequence[tuple[str, dict[str, Any]]],
    keys: Sequence[tuple[int, str]],
    now: int,
) -> None:
    """Rebuild the whole index (a full scan): every record and key replaced in one transaction."""
    conn.execute(delete(mpi_key))
    conn.execute(delete(mpi_record))
    _insert(conn, records, keys, now)


def upsert_records(
    conn: Connection,
    records: Sequence[tuple[str, dict[str, Any]]],
    keys: Sequence[tuple[int, str]],
    now: int,
) -> None:
    """Replace the records and keys of these patients (the real-time path)."""
    delete_records(conn, [pid for pid, _ in records])
    _insert(conn, records, keys, now)


def delete_records(conn: Connection, patient_ids: Sequence[str]) -> None:
    for chunk in _chunks(sorted(set(patient_ids))):
        conn.execute(delete(mpi_key).where(mpi_key.c.patient_id.in_(chunk)))
        conn.execute(delete(mpi_record).where(mpi_record.c.patient_id.in_(chunk)))


def _insert(
    conn: Connection,
    records: Sequence[tuple[str, dict[str, Any]]],
    keys: Sequence[tuple[int, str]],
    now: int,
) -> None:
    bulk_insert(
        conn,
        mpi_record,
        ("patient_id", "features", "updated_at"),
        [(pid, orjson.dumps(feat).decode(), now) for pid, feat in records],
    )
    ordered = keys if isinstance(keys, list) else list(keys)
    ordered.sort()  # in place: at 1M patients the keys are ~17 M tuples; B-tree inserts in order
    bulk_insert(conn, mpi_key, ("key_hash", "patient_id"), ordered)


_BY_KEYS = (
    select(mpi_record.c.patient_id, mpi_record.c.features)
    .where(
        mpi_record.c.patient_id.in_(
            select(mpi_key.c.patient_id).where(mpi_key.c.key_hash.in_(bindparam("keys", expanding=True)))
        )
    )
    .limit(bindparam("limit"))
)


def records_by_keys(
    conn: Connection, key_hashes: Sequence[int], limit: int
) -> list[tuple[str, dict[str, Any]]]:
    """Comparison records sharing any of these blocking keys: the candidates of one patient."""
    if not key_hashes:
        return []
    rows = conn.execute(_BY_KEYS, {"keys": list(key_hashes), "limit": limit})
    return [(row.patient_id, row.features) for row in rows]


def records(conn: Connection, patient_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(set(patient_ids))):
        stmt = select(mpi_record.c.patient_id, mpi_record.c.features).where(
            mpi_record.c.patient_id.in_(chunk)
        )
        found.update({row.patient_id: row.features for row in conn.execute(stmt)})
    return found


def record_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(mpi_record)).scalar_one())


# -- term frequencies (for scoring one pair without the whole population at hand) ---------------------
def replace_term_frequencies(conn: Connection, rows: Sequence[tuple[str, str, float]]) -> None:
    conn.execute(delete(mpi_term_frequency))
    bulk_insert(conn, mpi_term_frequency, ("column_name", "value", "frequency"), list(rows))


def term_frequencies(conn: Connection, column: str, values: Sequence[str]) -> dict[str, float]:
    found: dict[str, float] = {}
    for chunk in _chunks(sorted(set(values))):
        stmt = select(mpi_term_frequency.c.value, mpi_term_frequency.c.frequency).where(
            mpi_term_frequency.c.column_name == column, mpi_term_frequency.c.value.in_(chunk)
        )
        found.update({row.value: row.frequency for row in conn.execute(stmt)})
    return found


# -- Patients whose real-time match failed (the write stood; matched later) -------------------------
def add_pending(conn: Connection, patient_ids: Sequence[str], *, now: int, source: str, error: str) -> None:
    """Mark these Patients as still to be matched (one row each; the latest failure kept)."""
    ids = sorted(set(patient_ids))
    clear_pending(conn, ids)
    rows = [(pid, now, source[:32], error[:200]) for pid in ids]
    bulk_insert(conn, mpi_pending, ("patient_id", "noted_at", "source", "error"), rows)


def clear_pending(
    conn: Connection, patient_ids: Sequence[str] | None = None, before: int | None = None
) -> None:
    """Forget these Patients (all when None), or every mark noted before ``before``."""
    if patient_ids is None:
        stmt = delete(mpi_pending)
        conn.execute(stmt if before is None else stmt.where(mpi_pending.c.noted_at < before))
        return
    for chunk in _chunks(sorted(set(patient_ids))):
        conn.execute(delete(mpi_pending).where(mpi_pending.c.patient_id.in_(chunk)))


def pending(conn: Connection, limit: int) -> list[Any]:
    """The oldest marks first: patient_id, noted_at, source, error."""
    stmt = select(mpi_pending).order_by(mpi_pending.c.noted_at, mpi_pending.c.patient_id).limit(limit)
    return list(conn.execute(stmt))


def pending_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(mpi_pending)).scalar_one())
