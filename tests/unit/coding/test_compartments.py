"""Reviewing compartments alone or together, and the references that tie them."""

from __future__ import annotations

from typing import Any

from chartkeeper.coding.compartments import foreign_links, review_unit, snapshot_of
from chartkeeper.coding.validate import default_validator, review_snapshot
from chartkeeper.store.coding_review import CompartmentRow

ICD = "http://hl7.org/fhir/sid/icd-10-cm"


def row(compartment: str, resource: dict[str, Any], pk: int) -> CompartmentRow:
    return CompartmentRow(compartment, resource["resourceType"], resource["id"], pk, 1, pk, resource)


def encounter(eid: str, subject: str | None, **extra: Any) -> dict[str, Any]:
    enc: dict[str, Any] = {"resourceType": "Encounter", "id": eid, "status": "finished", **extra}
    if subject:
        enc["subject"] = {"reference": subject}
    return enc


def condition(cid: str, encounter: str | None, code: str) -> dict[str, Any]:
    cond: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cid,
        "code": {"coding": [{"system": ICD, "code": code}]},
    }
    if encounter:
        cond["encounter"] = {"reference": f"Encounter/{encounter}"}
    return cond


def rows() -> list[CompartmentRow]:
    return [
        row("p1", {"resourceType": "Patient", "id": "p1", "gender": "male"}, 1),
        row("p1", encounter("e1", "Patient/p1"), 2),
        row("p1", condition("c1", "e1", "E11"), 3),
        row("p2", {"resourceType": "Patient", "id": "p2"}, 4),
        row("p2", encounter("e2", "Patient/p2"), 5),
        row("p2", condition("c2", "e2", "I10"), 6),
        row("p3", {"resourceType": "Patient", "id": "p3"}, 7),  # no encounter
    ]


def test_self_contained_compartments_alone_equal_all_together() -> None:
    together = review_unit(rows(), default_validator())
    assert set(together) == {"p1", "p2", "p3"}
    for key in ("p1", "p2", "p3"):
        alone = review_unit([r for r in rows() if r.compartment == key], default_validator())[key]
        assert alone.totals == together[key].totals and alone.queued == together[key].queued
        assert alone.links == ()
    assert together["p1"].totals.queued == 1 and together["p2"].totals.ready == 1
    assert together["p3"].totals.queued == together["p3"].totals.ready == 0
    whole = review_snapshot(snapshot_of(rows()), default_validator())
    assert sum(r.totals.queued for r in together.values()) == sum(1 for r in whole.reviews if r.blocking)


def test_every_reference_a_review_follows_out_of_the_compartment_is_listed() -> None:
    mine = [
        row(
            "p1",
            encounter(
                "e1", "http://x/fhir/Patient/p9", diagnosis=[{"condition": {"reference": "Condition/cx"}}]
            ),
            1,
        ),
        row("p1", condition("c1", "e-elsewhere", "E11"), 2),
        row(
            "p1",
            {
                "resourceType": "Claim",
                "id": "k1",
                "item": [{"sequence": 1, "encounter": [{"reference": "Encounter/e-other"}]}],
                "diagnosis": [{"sequence": 1, "diagnosisReference": {"reference": "Condition/c-claimed"}}],
            },
            3,
        ),
    ]
    assert foreign_links(snapshot_of(mine)) == (
        "Condition/c-claimed",
        "Condition/cx",
        "Encounter/e-elsewhere",
        "Encounter/e-other",
        "Patient/p9",
    )
    assert review_unit(mine, default_validator())["p1"].links == foreign_links(snapshot_of(mine))
    assert foreign_links(snapshot_of(rows())) == ()
