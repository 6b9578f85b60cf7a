"""The shared Synthea set: zero rejects, counts equal ground truth, re-ingest changes nothing."""

from __future__ import annotations

import json

from chartkeeper.intake.service import ingest
from chartkeeper.store.repository import Store

from conftest import SYNTHEA


def test_synthea_ingests_exactly_and_idempotently(store: Store) -> None:
    truth = json.loads((SYNTHEA / "COUNTS.json").read_text())
    first = ingest(store, [SYNTHEA], workers=2)
    assert first.rejected == 0, first.messages
    assert first.files == 41
    assert len(first.skipped) == 1 and "COUNTS.json" in first.skipped[0]  # ground truth, not FHIR
    assert store.count_by_type() == truth["distinct_by_resourceType"]
    versions = store.count_versions()
    assert versions == sum(truth["distinct_by_resourceType"].values())

    second = ingest(store, [SYNTHEA], workers=2)
    assert second.rejected == 0
    report = second.as_json()
    assert report["created"] == 0 and report["updated"] == 0
    assert report["unchanged"] == sum(truth["total_by_resourceType"].values())
    assert store.count_by_type() == truth["distinct_by_resourceType"]
    assert store.count_versions() == versions
