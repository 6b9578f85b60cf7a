"""Summaries keep what the queue and DNFB need of a review, and survive their JSON exactly."""

from __future__ import annotations

from chartkeeper.coding.cases import Snapshot
from chartkeeper.coding.models import ICD10CM_SYSTEM, SNOMED_SYSTEM
from chartkeeper.coding.summary import (
    DiagnosisSummary,
    EncounterSummary,
    Totals,
    decode,
    encode,
    summarize,
    totals_of,
)
from chartkeeper.coding.validate import default_validator, review_snapshot


def snapshot() -> Snapshot:
    """One finished encounter: a coded discharge diagnosis and a SNOMED CT-only one."""
    snap = Snapshot()
    snap.patients["p1"] = {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1950-06-01"}
    snap.encounters["e1"] = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": "Patient/p1"},
        "period": {"start": "2021-01-10T08:00:00Z", "end": "2021-01-12T08:00:00Z"},
        "diagnosis": [{"condition": {"reference": "Condition/c2"}, "use": {"coding": [{"code": "DD"}]}}],
    }
    snap.conditions["c2"] = {
        "resourceType": "Condition",
        "id": "c2",
        "code": {"coding": [{"system": ICD10CM_SYSTEM, "code": "I10"}]},
    }
    snap.conditions["c3"] = {
        "resourceType": "Condition",
        "id": "c3",
        "encounter": {"reference": "Encounter/e1"},
        "code": {"coding": [{"system": SNOMED_SYSTEM, "code": "38341003", "display": "Hypertension"}]},
    }
    return snap


def test_a_blocked_review_is_summarized_with_its_rules_reasons_and_diagnoses() -> None:
    [review] = review_snapshot(snapshot(), default_validator()).reviews
    summary = summarize(review)
    assert summary is not None
    assert summary.rules == ("needs-icd10cm",) and summary.reason() == review.reason()
    assert summary.state == "uncoded" and summary.finished
    assert summary.reasons == tuple(dict.fromkeys(f"{f.rule}: {f.message}" for f in review.blocking))
    by_resource = {d.resource: d for d in summary.diagnoses}
    assert list(by_resource) == [d.resource for d in review.case.diagnoses]
    snomed = by_resource["Condition/c3"]
    assert snomed.wants_suggestions and snomed.icd10 == ()
    assert snomed.other == ("http://snomed.info/sct", "38341003", "Hypertension")
    assert not by_resource["Condition/c2"].wants_suggestions  # coded, no blocking finding on it
    assert totals_of([review]) == Totals(queued=1, unbilled=1, ready=0)


def test_an_unblocked_review_has_no_summary_and_counts_as_ready_when_finished() -> None:
    snap = snapshot()
    del snap.conditions["c3"]
    [review] = review_snapshot(snap, default_validator()).reviews
    assert not review.blocking and summarize(review) is None
    assert totals_of([review]) == Totals(queued=0, unbilled=0, ready=1)


def test_state_follows_the_worst_rule() -> None:
    def state(*rules: str) -> str:
        return EncounterSummary("e", None, None, None, "finished", rules, (), ()).state

    assert state("unknown-code", "no-diagnosis") == "missing"
    assert state("excludes1", "needs-icd10cm") == "uncoded"
    assert state("excludes1") == "invalid"


def test_encode_decode_round_trip() -> None:
    summaries = [
        EncounterSummary(
            "e1",
            None,
            None,
            "2021-01-02",
            "in-progress",
            ("unknown-code", "excludes1"),
            ("unknown-code: X99 does not exist", "excludes1: a, b: c"),
            (
                DiagnosisSummary("Condition/c1", "Brustschmerz «akut»", ("X99",), None, True),
                DiagnosisSummary("Claim/k#diagnosis2", "", (), ("urn:x", "1", ""), False),
            ),
        ),
        EncounterSummary("e2", "p2", "2020-01-01T00:00:00Z", None, "finished", ("no-diagnosis",), ("x",), ()),
    ]
    assert decode(encode(summaries)) == summaries
    assert decode(encode([])) == []
