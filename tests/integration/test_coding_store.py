"""Validation, coding queue, assignment and DNFB over real stores (SQLite and PostgreSQL).

Runs on the shared Synthea bundles (SNOMED CT only: everything needs coding) and on the demo
population, whose planted coding defects (demo/truth.py) must be found.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from chartkeeper.coding.service import CodingService
from chartkeeper.demo import demo_truth
from chartkeeper.demo.loader import load_demo
from chartkeeper.intake.service import ingest
from chartkeeper.security.caller import local_caller
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.store.repository import Store

from conftest import SYNTHEA

CALLER = local_caller("coder")


def test_synthea_queue_assign_and_dnfb(store: Store) -> None:
    assert ingest(store, [SYNTHEA], workers=1).rejected == 0
    audit = MemoryAuditSink()
    service = CodingService(store, audit)

    report = service.validate(CALLER)
    assert len(report.reviews) == 779
    uncoded = {f.resource for f in report.findings if f.rule == "needs-icd10cm"}
    assert len(uncoded) == 229  # every Synthea Condition is SNOMED CT only
    assert all(f.release.startswith("ICD-10-CM FY2026") for f in report.findings)

    queue = service.queue(CALLER, limit=None)
    assert len(queue) == 779 and {i.state for i in queue} == {"missing", "uncoded"}
    item = next(i for i in queue if i.state == "uncoded")
    for dx in item.diagnoses:
        assert dx["suggestions"], dx
    first = item.diagnoses[0]["suggestions"][0]

    ready, rows = service.dnfb(CALLER, date(2021, 6, 1))
    assert ready == 0 and len(rows) == 779
    assert all(r.age_days is not None and r.age_days >= 0 and r.reason for r in rows)
    assert (
        rows[0].age_days is not None
        and rows[-1].age_days is not None
        and rows[0].age_days >= rows[-1].age_days
    )

    codes = [dx["suggestions"][0]["code"] for dx in item.diagnoses]
    assert codes[0] == first["code"]
    result = service.assign(CALLER, item.encounter_id, codes)
    condition = item.diagnoses[0]["resource"].split("/")[1]
    history = store.history("Condition", condition)
    assert len(history) == 2 and history[0].content is not None
    assert history[0].content["code"]["coding"][0]["code"] == codes[0]
    assert any(w.startswith("Provenance/") for w in result.written)
    assert audit.events[-1].action == "update" and audit.events[-1].operation == "$code-assign"

    ready, rows = service.dnfb(CALLER, date(2021, 6, 1))
    assert ready == 1 and len(rows) == 778
    assert item.encounter_id not in {r.encounter_id for r in rows}


def test_demo_population_defects_are_found(store: Store) -> None:
    patients, seed = 30, 7
    assert load_demo(store, patients, seed, workers=1).rejected == 0
    truth = demo_truth(patients, seed)
    report = CodingService(store, MemoryAuditSink()).validate(CALLER)
    by_resource: dict[str, set[str]] = defaultdict(set)
    for f in report.findings:
        if f.resource:
            by_resource[f.resource].add(f.rule)
    expected_rule = {
        "snomed-only": "needs-icd10cm",
        "text-only": "needs-icd10cm",
        "non-billable": "header-not-billable",
        "invalid-code": "unknown-code",
        "display-mismatch": "display-mismatch",
    }
    assert truth.coding_defects
    for defect in truth.coding_defects:
        rules = by_resource[f"Condition/{defect.condition_id}"]
        if defect.kind in expected_rule:
            assert expected_rule[defect.kind] in rules, (defect, rules)
    errors = {f.resource for f in report.findings if f.severity == "error" and f.resource}
    planted = {f"Condition/{d.condition_id}" for d in truth.coding_defects}
    assert errors <= planted  # no error on a correctly coded diagnosis
    missing_dd = {
        f"Encounter/{c.encounter_id}" for c in truth.chart_defects if c.kind == "missing-discharge-diagnosis"
    }
    flagged = {f.encounter for f in report.findings if f.rule == "missing-discharge-diagnosis"}
    assert missing_dd == flagged

    service = CodingService(store, MemoryAuditSink())
    queue = service.queue(CALLER, limit=None)
    ready, rows = service.dnfb(CALLER, date.fromisoformat(truth.reference_date[:10]))
    finished = sum(1 for r in report.reviews if r.case.status == "finished")
    assert ready + len(rows) == finished and ready > 0
    assert {i.encounter_id for i in queue} >= {r.encounter_id for r in rows}
