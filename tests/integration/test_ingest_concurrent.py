"""Two ingests of the same data at once into one PostgreSQL database: no rejects, no duplicates."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chartkeeper.store.repository import Store

from conftest import SYNTHEA


@pytest.mark.postgres
def test_concurrent_ingests_converge(pg_database_url: str) -> None:
    store = Store.open(pg_database_url)
    store.init()
    command = [
        sys.executable,
        "-m",
        "chartkeeper.cli",
        "--db",
        pg_database_url,
        "ingest",
        "--json",
        "--workers",
        "1",
    ]
    runs = [
        subprocess.Popen([*command, str(SYNTHEA)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
        assert json.loads(out)["rejected"] == 0
    truth = json.loads((SYNTHEA / "COUNTS.json").read_text())
    assert store.count_by_type() == truth["distinct_by_resourceType"]
    assert store.count_versions() == sum(truth["distinct_by_resourceType"].values())
    store.close()
