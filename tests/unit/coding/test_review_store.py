"""The refresh logic of the stored review on a small SQLite record: what is reviewed again and
when, what a stamp notices, which callers get it, and a row replaced by a racing refresh."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import update

from chartkeeper.coding import digest, summary
from chartkeeper.coding.compartments import TYPES
from chartkeeper.coding.review_store import StoredReviews, sees_every_compartment
from chartkeeper.coding.validate import default_validator
from chartkeeper.security.caller import Caller, local_caller
from chartkeeper.security.scopes import ScopeSet
from chartkeeper.store import coding_review as sql
from chartkeeper.store.models import ResourceWrite
from chartkeeper.store.repository import Store
from chartkeeper.store.resources import resource_write
from chartkeeper.store.schema import coding_review, resource


def put(store: Store, *resources: dict[str, Any]) -> None:
    store.apply([resource_write(r["resourceType"], r["id"], r) for r in resources])


def patient(store: Store, pid: str, dx_code: str = "E11") -> None:
    """A patient with one finished encounter whose diagnosis is ``dx_code`` (E11: not billable)."""
    put(
        store,
        {"resourceType": "Patient", "id": pid},
        {
            "resourceType": "Encounter",
            "id": f"{pid}-e",
            "status": "finished",
            "subject": {"reference": f"Patient/{pid}"},
            "period": {"start": "2022-01-01", "end": "2022-01-02"},
        },
        {
            "resourceType": "Condition",
            "id": f"{pid}-c",
            "subject": {"reference": f"Patient/{pid}"},
            "encounter": {"reference": f"Encounter/{pid}-e"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": dx_code}]},
        },
    )


class Spy(StoredReviews):
    """Records every compartment ``rebuild`` reviews."""

    seen: list[str]

    def rebuild(self, compartments: Any) -> Any:
        self.seen = [*getattr(self, "seen", []), *compartments]
        return super().rebuild(compartments)


def stamps(store: Store) -> dict[str, str]:
    with store.reading() as conn:
        return sql.stamps(conn, TYPES)


def test_only_changed_compartments_are_reviewed_again(sqlite_store: Store) -> None:
    for pid in ("a", "b", "c"):
        patient(sqlite_store, pid)
    reviews = Spy(sqlite_store, default_validator())
    assert reviews.refresh().totals().queued == 3 and sorted(reviews.seen) == ["a", "b", "c"]
    reviews.seen = []
    assert reviews.refresh().totals().queued == 3 and reviews.seen == []
    patient(sqlite_store, "b", "E11.9")  # coded now: ready to bill
    found = reviews.refresh()
    assert reviews.seen == ["b"] and found.totals() == summary.Totals(queued=2, unbilled=2, ready=1)
    assert sorted(s.encounter_id for s in found.queued()) == ["a-e", "c-e"]


def test_a_vanished_compartment_loses_its_row(sqlite_store: Store) -> None:
    patient(sqlite_store, "a")
    patient(sqlite_store, "b")
    StoredReviews(sqlite_store, default_validator()).refresh()
    sqlite_store.apply(
        [
            ResourceWrite(t, f"b{s}", None, "", None, None, delete=True)
            for t, s in (("Condition", "-c"), ("Encounter", "-e"), ("Patient", ""))
        ]
    )
    assert StoredReviews(sqlite_store, default_validator()).refresh().totals().queued == 1
    with sqlite_store.reading() as conn:
        assert set(sql.heads(conn)) == {"a"}


def test_every_kind_of_write_changes_the_stamp(sqlite_store: Store) -> None:
    patient(sqlite_store, "a")
    patient(sqlite_store, "b")
    seen = [stamps(sqlite_store)]
    patient(sqlite_store, "a", "E11.9")  # an update
    seen.append(stamps(sqlite_store))
    put(sqlite_store, {"resourceType": "Claim", "id": "k", "patient": {"reference": "Patient/a"}})  # a create
    seen.append(stamps(sqlite_store))
    sqlite_store.apply([ResourceWrite("Claim", "k", None, "", None, None, delete=True)])  # a delete
    seen.append(stamps(sqlite_store))
    with sqlite_store.transaction() as conn:  # a move between compartments without a new version
        conn.execute(update(resource).where(resource.c.res_id == "a-c").values(patient_id="b"))
    seen.append(stamps(sqlite_store))
    for before, after in pairwise(seen):
        assert before["a"] != after["a"]
    assert seen[-2]["b"] != seen[-1]["b"] and seen[0]["b"] == seen[-2]["b"]


def test_a_row_replaced_meanwhile_is_not_used(sqlite_store: Store) -> None:
    patient(sqlite_store, "a")
    patient(sqlite_store, "b")
    reviews = StoredReviews(sqlite_store, default_validator())
    reviews.refresh()
    found = reviews.refresh()  # answers from the two stored rows
    with sqlite_store.transaction() as conn:  # a racing refresh stored another state's review
        conn.execute(
            update(coding_review)
            .where(coding_review.c.patient_id == "a")
            .values(fingerprint="x", reviews="[]")
        )
    assert sorted(s.encounter_id for s in found.queued()) == ["a-e", "b-e"]
    with sqlite_store.transaction() as conn:  # a row that does not match is never used
        conn.execute(
            update(coding_review).where(coding_review.c.patient_id == "b").values(fingerprint="y", queued=0)
        )
    assert reviews.refresh().totals().queued == 2


def test_the_rules_digest_covers_the_summary_format(monkeypatch: pytest.MonkeyPatch) -> None:
    first = digest.rules_digest()
    assert len(first) == 16 and int(first, 16) >= 0 and digest.rules_digest() == first
    monkeypatch.setattr(summary, "FORMAT", summary.FORMAT + 1)
    digest.rules_digest.cache_clear()
    try:
        assert digest.rules_digest() != first
    finally:
        monkeypatch.undo()
        digest.rules_digest.cache_clear()
    assert digest.rules_digest() == first


def _caller(scopes: str, patient: str | None = None) -> Caller:
    return Caller(subject="user/x", kind="user", display="x", scopes=ScopeSet.parse(scopes), patient=patient)


def test_who_is_answered_from_the_stored_review() -> None:
    assert sees_every_compartment(local_caller("x"))
    assert sees_every_compartment(_caller("user/*.rs"))
    assert sees_every_compartment(
        _caller("user/Patient.rs user/Encounter.rs user/Condition.rs user/Claim.rs")
    )
    assert not sees_every_compartment(_caller("user/Encounter.rs user/Condition.rs user/Patient.rs"))
    assert not sees_every_compartment(_caller("patient/*.rs", patient="p1"))
