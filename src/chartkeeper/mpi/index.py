"""The stored side of the index: the trained model, thresholds, comparison records and keys.

Reading Patients into comparison records happens here too, because both the scan and the
real-time hook must agree on which Patients take part: current ones that no merge replaced.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from chartkeeper.fhir.instant import now_us
from chartkeeper.mpi import engine
from chartkeeper.mpi.features import features
from chartkeeper.mpi.keys import record_keys
from chartkeeper.mpi.models import MpiConfig
from chartkeeper.mpi.settings import DESIGN_VERSION
from chartkeeper.store import mpi_index as sql
from chartkeeper.store.repository import Store


def is_replaced(patient: dict[str, Any]) -> bool:
    """A Patient a merge replaced: it no longer takes part in matching."""
    return any(
        link.get("type") == "replaced-by" for link in patient.get("link") or [] if isinstance(link, dict)
    )


def current_records(store: Store) -> Iterator[dict[str, str | None]]:
    """Comparison records of every current Patient that no merge replaced."""
    with store.reading() as conn:
        for content in sql.patient_contents(conn):
            if not is_replaced(content):
                yield features(content)


def index_rows(
    records: Iterable[dict[str, Any]],
) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[int, str]]]:
    rows: list[tuple[str, dict[str, Any]]] = []
    keys: list[tuple[int, str]] = []
    for record in records:
        pid = str(record["unique_id"])
        rows.append((pid, record))
        keys.extend((k, pid) for k in record_keys(record))
    return rows, keys


def load_config(store: Store) -> MpiConfig:
    with store.reading() as conn:
        row = sql.latest_config(conn)
    if row is None:
        return MpiConfig()
    return MpiConfig(row.link_threshold, row.review_threshold, row.policy)


def save_config(store: Store, config: MpiConfig, by: str, note: str | None) -> None:
    with store.transaction() as conn:
        sql.save_config(
            conn,
            now=now_us(),
            created_by=by,
            link_threshold=config.link_threshold,
            review_threshold=config.review_threshold,
            policy=config.policy,
            note=note,
        )


def load_model(store: Store) -> tuple[int, dict[str, Any]] | None:
    """(version, Splink model) of the newest model trained on the current design, if any."""
    with store.reading() as conn:
        row = sql.latest_model(conn)
    if row is None or row.design_version != DESIGN_VERSION:
        return None
    return int(row.version), row.model


def train_and_store(
    store: Store, records: list[dict[str, Any]], by: str, sample: int, api: Any | None = None
) -> tuple[int, dict[str, Any]]:
    """Train on (a seeded sample of) these records and store the result as a new version."""
    df = engine.frame(records)
    if len(df) > sample:
        df = df.sample(n=sample, random_state=1)
    model, summary = engine.train(df, api or engine.duckdb_api())
    with store.transaction() as conn:
        version = sql.save_model(
            conn,
            design_version=DESIGN_VERSION,
            now=now_us(),
            created_by=by,
            record_count=len(df),
            model=model,
            summary=summary,
        )
    return version, model


def model_versions(store: Store) -> list[dict[str, Any]]:
    with store.reading() as conn:
        rows = sql.model_versions(conn)
    return [
        {
            "version": r.version,
            "design_version": r.design_version,
            "created_at": r.created_at,
            "created_by": r.created_by,
            "records": r.record_count,
            "summary": r.summary,
        }
        for r in rows
    ]
