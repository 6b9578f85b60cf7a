"""``chartkeeper reindex``: the search index rebuilt from stored content, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from chartkeeper.cli.main import app
from chartkeeper.fhir.search.query import parse_search
from chartkeeper.intake.service import ingest
from chartkeeper.store.repository import Store
from chartkeeper.store.schema import INDEX_TABLES, resource

SYNTHEA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "synthea-r4"
runner = CliRunner()


def _bundle() -> Path:
    return sorted(p for p in SYNTHEA.glob("*.json") if p.name != "COUNTS.json")[0]


def _index_snapshot(store: Store) -> dict[str, Counter[tuple[Any, ...]]]:
    """Every index row without its row key: PostgreSQL's JSONB does not keep the key order of
    the written document, so rows extracted from stored content may be numbered differently."""
    with store.engine.connect() as conn:
        return {
            table.name: Counter(tuple(row)[1:] for row in conn.execute(select(table)).all())
            for table in INDEX_TABLES
        }


def _compartments(store: Store) -> dict[int, str | None]:
    with store.engine.connect() as conn:
        return dict(conn.execute(select(resource.c.pk, resource.c.patient_id)).all())


def _of_type_mr(store: Store, mrn: str) -> list[str]:
    query = parse_search(
        "Patient", [("identifier:of-type", f"http://terminology.hl7.org/CodeSystem/v2-0203|MR|{mrn}")]
    )
    return [v.res_id for v in store.search(query).matches]


def test_reindex_rebuilds_exactly_what_a_write_indexes(store: Store) -> None:
    report = ingest(store, [_bundle()], workers=1)
    assert report.rejected == 0
    before_rows, before_compartments = _index_snapshot(store), _compartments(store)
    versions = store.count_versions()
    patient = next(v.content for v in store.iter_current("Patient"))
    mrn = next(
        i["value"]
        for i in patient["identifier"]
        if i.get("type", {}).get("coding", [{}])[0].get("code") == "MR"
    )
    assert _of_type_mr(store, mrn) == [patient["id"]]

    # an index from an older release: no rows at all, and compartments lost
    with store.transaction() as conn:
        for table in INDEX_TABLES:
            conn.execute(table.delete())
        conn.execute(update(resource).values(patient_id=None))
    assert _of_type_mr(store, mrn) == []

    done: list[int] = []
    result = store.reindex(progress=done.append)

    assert _index_snapshot(store) == before_rows
    assert _compartments(store) == before_compartments
    assert store.count_versions() == versions  # no new versions: only derived data changed
    assert result.resources == sum(store.count_by_type().values()) == sum(done)
    assert result.rows_written == sum(rows.total() for rows in before_rows.values())
    assert result.compartments_changed == sum(1 for p in before_compartments.values() if p is not None)
    assert _of_type_mr(store, mrn) == [patient["id"]]


def test_reindex_one_type_leaves_the_others_alone(store: Store) -> None:
    ingest(store, [_bundle()], workers=1)
    before = _index_snapshot(store)
    with store.transaction() as conn:
        for table in INDEX_TABLES:
            conn.execute(table.delete())
    result = store.reindex("Patient")
    assert result.by_type == {"Patient": 1}
    after = _index_snapshot(store)
    assert after != before and any(after.values())
    # a second run over an intact index changes nothing
    store.reindex()
    assert _index_snapshot(store) == before
    again = store.reindex()
    assert _index_snapshot(store) == before and again.compartments_changed == 0


@pytest.mark.parametrize("extra", [[], ["--type", "Patient"]])
def test_cli_reindex(sqlite_database_url: str, extra: list[str]) -> None:
    db = sqlite_database_url
    assert runner.invoke(app, ["--db", db, "ingest", "--workers", "1", str(_bundle())]).exit_code == 0
    result = runner.invoke(app, ["--db", db, "reindex", "--json", *extra])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    counts = json.loads(runner.invoke(app, ["--db", db, "stats", "--json"]).stdout)
    expected = {"Patient": 1} if extra else counts
    assert out["by_type"] == expected and out["resources"] == sum(expected.values())


def test_cli_reindex_unknown_type_is_one_clear_line(sqlite_database_url: str) -> None:
    db = sqlite_database_url
    assert runner.invoke(app, ["--db", db, "init"]).exit_code == 0
    result = runner.invoke(app, ["--db", db, "reindex", "--type", "Nonsense"])
    assert result.exit_code == 2
    assert "no current Nonsense resources" in result.output and "Traceback" not in result.output
