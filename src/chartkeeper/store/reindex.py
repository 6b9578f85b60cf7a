"""Rebuilding the search index of stored resources from their current content.

Index rows are written with each version, from the search parameters Chartkeeper knew at that
time. When that set grows (a new parameter, a derived row such as ``identifier:of-type``, a
fix in a value extractor), resources stored earlier are not found by it until their index is
rebuilt: this module does that, the way HAPI FHIR's ``$reindex`` does, without creating new
versions (the content is unchanged, only what is derived from it).

The work goes in batches of resources in primary-key order, each batch its own transaction:
the batch's resource rows are locked, their current content read under the lock, their index
rows and patient compartment replaced. A writer that updates one of those resources meanwhile
waits for the batch (or the batch waits for it), so no version is ever indexed from stale
content, and an interrupted run loses nothing (run it again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from chartkeeper.fhir.search.extract import extract_index_values
from chartkeeper.store.dialect import not_indexed
from chartkeeper.store.schema import INDEX_KEY_BITS, INDEX_TABLES, resource, resource_version
from chartkeeper.store.writer import index_rows, write_index_rows

#: progress(resources_done_delta) — the CLI draws a bar with it
Progress = Callable[[int], None]

_RETRIES = 3


@dataclass
class ReindexReport:
    """What a reindex run did: resources reindexed, index rows written, compartments moved."""

    resources: int = 0
    rows_written: int = 0
    compartments_changed: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "resources": self.resources,
            "rows_written": self.rows_written,
            "compartments_changed": self.compartments_changed,
            "by_type": dict(sorted(self.by_type.items())),
        }


def reindex(
    engine: Engine,
    res_type: str | None = None,
    *,
    batch: int = 500,
    progress: Progress | None = None,
) -> ReindexReport:
    """Rebuild the index rows (and patient compartment) of every current resource (of one type)."""
    report = ReindexReport()
    last_pk = 0
    while True:
        pks = _next_pks(engine, res_type, last_pk, batch)
        if not pks:
            return report
        done = _with_retries(engine, pks, report)
        if progress is not None:
            progress(done)
        last_pk = pks[-1]


def _next_pks(engine: Engine, res_type: str | None, after: int, batch: int) -> list[int]:
    stmt = (
        select(resource.c.pk)
        .where(resource.c.deleted.is_(False), resource.c.pk > after)
        .order_by(resource.c.pk)
        .limit(batch)
    )
    if res_type is not None:
        # walk the primary key (see reader.iter_current: the type index makes SQLite re-sort)
        stmt = stmt.where(not_indexed(resource.c.res_type) == res_type)
    with engine.connect() as conn:
        return [row.pk for row in conn.execute(stmt)]


def _with_retries(engine: Engine, pks: list[int], report: ReindexReport) -> int:
    """One batch in one transaction; a deadlock with a concurrent writer is retried, and the
    report counts a batch only once it is committed."""
    for attempt in range(1, _RETRIES + 1):
        batch = ReindexReport()
        try:
            with engine.begin() as conn:
                _reindex_batch(conn, pks, batch)
        except OperationalError:
            if attempt == _RETRIES:
                raise
            continue
        report.resources += batch.resources
        report.rows_written += batch.rows_written
        report.compartments_changed += batch.compartments_changed
        for res_type, n in batch.by_type.items():
            report.by_type[res_type] = report.by_type.get(res_type, 0) + n
        return batch.resources
    return 0  # unreachable: the last attempt returns or raises


def _locked_current(conn: Connection, pks: list[int]) -> Iterator[Any]:
    stmt = (
        select(resource.c.pk, resource.c.res_type, resource.c.patient_id, resource_version.c.content)
        .select_from(
            resource.join(
                resource_version,
                and_(
                    resource_version.c.resource_pk == resource.c.pk,
                    resource_version.c.version_id == resource.c.version_id,
                ),
            )
        )
        .where(resource.c.pk.in_(pks), resource.c.deleted.is_(False))
        .order_by(resource.c.pk)
    )
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=resource)
    return iter(conn.execute(stmt).all())


def _reindex_batch(conn: Connection, pks: list[int], report: ReindexReport) -> None:
    indexed: list[tuple[int, Any]] = []
    moved: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for row in _locked_current(conn, pks):
        values = extract_index_values(row.content)
        rows = index_rows(row.res_type, values)
        indexed.append((row.pk, rows))
        patient = values.compartment_patients[0] if values.compartment_patients else None
        if patient != row.patient_id:
            moved.append({"b_pk": row.pk, "patient_id": patient})
        counts[row.res_type] = counts.get(row.res_type, 0) + 1
    if not indexed:
        return
    ranges = [{"lo": pk << INDEX_KEY_BITS, "hi": ((pk + 1) << INDEX_KEY_BITS) - 1} for pk, _ in indexed]
    for table in INDEX_TABLES:
        conn.execute(delete(table).where(table.c.row_key.between(bindparam("lo"), bindparam("hi"))), ranges)
    write_index_rows(conn, indexed)
    if moved:
        conn.execute(update(resource).where(resource.c.pk == bindparam("b_pk")), moved)
    report.resources += len(indexed)
    report.rows_written += sum(len(table_rows) for _, rows in indexed for table_rows in rows)
    report.compartments_changed += len(moved)
    report.by_type.update(counts)
