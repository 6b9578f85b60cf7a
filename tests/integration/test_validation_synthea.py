"""The validator on real data: every Synthea R4 bundle and entry validates with zero errors, fast."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from chartkeeper.fhir.validation import validate_resource

ROOT = Path(__file__).resolve().parents[2]
SYNTHEA = ROOT.parent / "shared" / "data" / "synthea-r4"
# Far below what one core does (well over 15,000 resources/s); catches only gross slow-downs.


@pytest.fixture(scope="module")
def bundles() -> list[dict[str, Any]]:
    files = sorted(p for p in SYNTHEA.glob("*.json") if p.name != "COUNTS.json")
    assert len(files) == 40
    return [orjson.loads(p.read_bytes()) for p in files]


@pytest.fixture(scope="module")
def resources(bundles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [e["resource"] for b in bundles for e in b["entry"]]
    counts = orjson.loads((SYNTHEA / "COUNTS.json").read_bytes())
    assert len(found) == counts["total_entries"] == 8395
    return found


def test_whole_bundles_have_no_errors(bundles: list[dict[str, Any]]) -> None:
    for bundle in bundles:
        errors = [i.one_line() for i in validate_resource(bundle) if i.is_error]
        assert errors == [], bundle["entry"][0]["fullUrl"]
        assert [i for i in validate_resource(bundle, entries=False) if i.is_error] == []


def test_every_entry_alone_has_no_errors_and_contained_are_checked(resources: list[dict[str, Any]]) -> None:
    contained = 0
    for resource in resources:
        errors = [i.one_line() for i in validate_resource(resource) if i.is_error]
        assert errors == [], resource["id"]
        contained += len(resource.get("contained", []))
    assert contained > 0  # ExplanationOfBenefit.contained ServiceRequest / Coverage


def test_a_broken_copy_is_caught(resources: list[dict[str, Any]]) -> None:
    eob = next(r for r in resources if r["resourceType"] == "ExplanationOfBenefit")
    broken = orjson.loads(orjson.dumps(eob))
    broken["contained"][0]["status"] = "done"
    broken["billablePeriod"]["start"] = "2021-02-30T00:00:00Z"
    paths = {i.expression for i in validate_resource(broken) if i.is_error}
    assert paths == {"ExplanationOfBenefit.contained[0].status", "ExplanationOfBenefit.billablePeriod.start"}
