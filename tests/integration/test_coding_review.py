"""The stored review against the from-scratch computation, on SQLite and PostgreSQL.

On the Synthea sample and a demo population, before and after each kind of edit (a code
assigned, a Condition deleted, an Encounter's status changed, a patient added, a patient's
record deleted), the coding queue, the DNFB report and the counts must be exactly what
validating everything now gives (``coding_oracle``: the code as it was before the stored
review), only the edited patient's review may be recomputed, and every stored row must carry
its compartment's current fingerprint. Then: references across compartments, callers who see
part of the record, the audit records, ``assign`` reading one patient, and concurrent refreshes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

import coding_oracle
from chartkeeper.coding.cases import Snapshot
from chartkeeper.coding.compartments import TYPES
from chartkeeper.coding.digest import rules_digest
from chartkeeper.coding.encounter_scope import encounter_snapshot
from chartkeeper.coding.models import EncounterCase
from chartkeeper.coding.review_store import StoredReviews
from chartkeeper.coding.service import CodingService
from chartkeeper.coding.suggest import default_suggester
from chartkeeper.coding.summary import Totals
from chartkeeper.coding.validate import default_validator
from chartkeeper.demo.loader import load_demo
from chartkeeper.intake.service import ingest
from chartkeeper.security.caller import Caller, local_caller
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.security.roles import scopes_for_roles
from chartkeeper.security.scopes import ScopeSet
from chartkeeper.store import coding_review as sql
from chartkeeper.store.models import ResourceWrite
from chartkeeper.store.repository import Store
from chartkeeper.store.resources import resource_write

from conftest import SYNTHEA

CALLER = local_caller("coder")
AS_OF = date(2030, 1, 1)


# -- helpers -------------------------------------------------------------------------------------------
def put(store: Store, *resources: dict[str, Any]) -> None:
    store.apply([resource_write(r["resourceType"], r["id"], r) for r in resources])


def remove(store: Store, res_type: str, res_id: str) -> None:
    store.apply([ResourceWrite(res_type, res_id, None, "", None, None, delete=True)])


def assert_as_from_scratch(store: Store, caller: Caller = CALLER) -> None:
    """Queue, DNFB, counts through the service equal the old computation; rows all current."""
    expected = coding_oracle.from_scratch(store, caller, AS_OF)
    service = CodingService(store, MemoryAuditSink())
    assert service.queue_page(caller, 1, 1_000_000).rows == expected.queue
    ready, rows = service.dnfb(caller, AS_OF)
    assert ready == expected.ready and rows == expected.dnfb
    assert service.counts(caller) == Totals(len(expected.queue), len(expected.dnfb), expected.ready)
    assert_rows_current(store)


def assert_rows_current(store: Store) -> None:
    digest = rules_digest()
    with store.reading() as conn:
        current = {key: f"{digest}:{stamp}" for key, stamp in sql.stamps(conn, TYPES).items()}
        heads = sql.heads(conn)
    assert {key: head.fingerprint for key, head in heads.items()} == current


@pytest.fixture
def rebuilt(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The compartments ``StoredReviews.rebuild`` was asked to review (cleared by the test)."""
    calls: list[str] = []
    original = StoredReviews.rebuild

    def spy(self: StoredReviews, compartments: Any) -> Any:
        calls.extend(compartments)
        return original(self, compartments)

    monkeypatch.setattr(StoredReviews, "rebuild", spy)
    return calls


def status(store: Store, encounter_id: str, value: str) -> None:
    encounter = store.read("Encounter", encounter_id)
    encounter["status"] = value
    put(store, encounter)


def new_patient(store: Store, pid: str) -> None:
    put(
        store,
        {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1980-02-03"},
        {
            "resourceType": "Encounter",
            "id": f"{pid}-e1",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": f"Patient/{pid}"},
            "period": {"start": "2024-03-01T09:00:00Z", "end": "2024-03-01T10:00:00Z"},
        },
    )


def edit_and_compare(store: Store, rebuilt: list[str]) -> None:
    """Each kind of edit, then the comparison; only the edited patient is reviewed again."""
    service = CodingService(store, MemoryAuditSink())
    queue = service.queue_page(CALLER, 1, 1_000_000).rows
    by_patient: dict[str, list[Any]] = {}
    for item in queue:
        by_patient.setdefault(item.patient_id or "", []).append(item)
    patients = sorted(p for p, items in by_patient.items() if p and len(items) >= 1)
    assert len(patients) >= 3

    rebuilt.clear()
    target = by_patient[patients[0]][0]
    service.assign(CALLER, target.encounter_id, ["R69"])
    assert_as_from_scratch(store)
    assert sorted(set(rebuilt)) == [patients[0]]

    rebuilt.clear()
    with_condition = next(i for i in by_patient[patients[1]] if i.diagnoses)
    remove(store, "Condition", with_condition.diagnoses[0]["resource"].split("/")[1])
    assert_as_from_scratch(store)
    assert sorted(set(rebuilt)) == [patients[1]]

    rebuilt.clear()
    status(store, by_patient[patients[2]][0].encounter_id, "in-progress")
    assert_as_from_scratch(store)
    assert sorted(set(rebuilt)) == [patients[2]]

    rebuilt.clear()
    new_patient(store, "added-patient")
    assert_as_from_scratch(store)
    assert sorted(set(rebuilt)) == ["added-patient"]
    assert any(i.patient_id == "added-patient" for i in service.queue(CALLER, "added-patient"))

    rebuilt.clear()
    remove(store, "Encounter", "added-patient-e1")
    remove(store, "Patient", "added-patient")
    assert_as_from_scratch(store)
    assert rebuilt == []
    with store.reading() as conn:
        assert "added-patient" not in sql.heads(conn)


# -- the two populations -----------------------------------------------------------------------------
def test_synthea_stored_review_equals_from_scratch_through_edits(store: Store, rebuilt: list[str]) -> None:
    assert ingest(store, [SYNTHEA], workers=1).rejected == 0
    assert_as_from_scratch(store)  # cold: every compartment reviewed and stored
    assert len(set(rebuilt)) == 40  # the 40 patients of the sample
    rebuilt.clear()
    service = CodingService(store, MemoryAuditSink())
    expected = coding_oracle.from_scratch(store, CALLER, AS_OF, default_suggester())
    assert service.queue(CALLER, limit=None) == expected.queue  # with suggestions, warm
    assert rebuilt == []
    edit_and_compare(store, rebuilt)


def test_demo_stored_review_equals_from_scratch_through_edits(store: Store, rebuilt: list[str]) -> None:
    assert load_demo(store, 40, 11, workers=1).rejected == 0
    assert_as_from_scratch(store)
    edit_and_compare(store, rebuilt)


def test_stamps_equal_the_stamp_of_the_rows_read(store: Store) -> None:
    assert load_demo(store, 8, 2, workers=1).rejected == 0
    with store.reading() as conn:
        stamps = sql.stamps(conn, TYPES)
        rows = list(sql.compartment_rows(conn, sorted(stamps), TYPES))
    assert len(stamps) == 8
    for key, stamp in stamps.items():
        assert sql.stamp_of(r for r in rows if r.compartment == key) == stamp


# -- references across compartments --------------------------------------------------------------------
def _patient(pid: str, gender: str = "male") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": gender, "birthDate": "1960-01-01"}


def _encounter(eid: str, subject: str | None, dx: list[str] | None = None) -> dict[str, Any]:
    enc: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": eid,
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "period": {"start": "2023-05-01T08:00:00Z", "end": "2023-05-01T09:00:00Z"},
    }
    if subject:
        enc["subject"] = {"reference": subject}
    if dx:
        enc["diagnosis"] = [
            {"condition": {"reference": f"Condition/{c}"}, "rank": n} for n, c in enumerate(dx, 1)
        ]
    return enc


def _condition(cid: str, patient: str, encounter: str | None, code: dict[str, Any]) -> dict[str, Any]:
    cond: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": f"Patient/{patient}"},
        "code": code,
    }
    if encounter:
        cond["encounter"] = {"reference": f"Encounter/{encounter}"}
    return cond


SNOMED = {"coding": [{"system": "http://snomed.info/sct", "code": "38341003", "display": "Hypertension"}]}
ICD_OK = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I10"}]}
ICD_HEADER = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11"}]}


def test_references_across_compartments_are_followed_exactly(store: Store) -> None:
    put(
        store,
        _patient("p1"),
        _patient("p2", "female"),
        _encounter("e1", "Patient/p1"),  # its only diagnosis is p2's Condition pointing at it
        _condition("c2", "p2", "e1", SNOMED),
        _encounter("e0", None),  # in no compartment; p1's Condition points at it
        _condition("c0", "p1", "e0", ICD_HEADER),
        _encounter("e3", "Patient/p1", dx=["c9"]),  # c9 does not exist yet
        _encounter("e4", "http://example.org/fhir/Patient/p2", dx=["c4"]),  # absolute subject
        _condition("c4", "p2", None, ICD_OK),
        _patient("p3"),
        _encounter("e5", "Patient/p3", dx=["c5"]),  # self-contained, for contrast
        _condition("c5", "p3", "e5", ICD_OK),
    )
    assert_as_from_scratch(store)
    queue = {i.encounter_id: i for i in CodingService(store, MemoryAuditSink()).queue(CALLER)}
    assert queue["e1"].state == "uncoded" and queue["e0"].state == "invalid"
    assert queue["e3"].state == "missing" and "e5" not in queue
    put(store, _condition("c9", "p2", None, ICD_HEADER))  # p1's record is unchanged
    assert_as_from_scratch(store)
    queue = {i.encounter_id: i for i in CodingService(store, MemoryAuditSink()).queue(CALLER)}
    assert queue["e3"].state == "invalid"  # c9 (a header code) is e3's diagnosis now
    remove(store, "Condition", "c2")  # p1's encounter changes with p2's record
    assert_as_from_scratch(store)
    for eid in ("e1", "e0", "e3", "e4", "e5"):  # assign reads what the whole record would give
        full = Snapshot.load(store, CALLER)
        assert _case(encounter_snapshot(store, CALLER, eid), eid) == _case(full, eid)


def _case(snap: Snapshot, encounter_id: str) -> EncounterCase:
    return next(c for c in snap.cases() if c.encounter_id == encounter_id)


def test_a_rules_change_reviews_everyone_again(
    store: Store, rebuilt: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_demo(store, 6, 5, workers=1).rejected == 0
    service = CodingService(store, MemoryAuditSink())
    before = service.counts(CALLER)
    rebuilt.clear()
    service.counts(CALLER)
    assert rebuilt == []
    monkeypatch.setattr("chartkeeper.coding.review_store.rules_digest", lambda: "0123456789abcdef")
    assert service.counts(CALLER) == before
    assert len(set(rebuilt)) == 6


# -- who sees what, and what is audited ----------------------------------------------------------------
def _user(scopes: str, patient: str | None = None) -> Caller:
    return Caller(
        subject="user/cora",
        kind="user",
        display="Cora",
        scopes=ScopeSet.parse(scopes),
        roles=frozenset({"coder"}),
        patient=patient,
    )


def test_callers_who_see_part_of_the_record_get_what_they_see(store: Store, rebuilt: list[str]) -> None:
    assert load_demo(store, 12, 3, workers=1).rejected == 0
    coder = _user(str(scopes_for_roles(["coder"])))
    assert_as_from_scratch(store, coder)  # the coder role sees every compartment: stored review
    assert rebuilt
    first = CodingService(store, MemoryAuditSink()).queue(coder)[0].patient_id
    assert first is not None
    partial = [
        _user("patient/*.rs", patient=first),  # one patient's compartment
        _user("user/Encounter.rs user/Condition.rs"),  # no Patient, no Claim
    ]
    for caller in partial:
        rebuilt.clear()
        assert_as_from_scratch(store, caller)
        assert rebuilt == []  # computed from what they may see, never from the stored review
    shown = CodingService(store, MemoryAuditSink()).queue(partial[0])
    assert shown and {i.patient_id for i in shown} == {first}


def test_each_read_is_audited_with_the_patients_shown(store: Store) -> None:
    assert load_demo(store, 12, 3, workers=1).rejected == 0
    audit = MemoryAuditSink()
    service = CodingService(store, audit)
    page = service.queue_page(CALLER, 1, 5)
    event = audit.events[-1]
    assert event.operation == "$code-queue" and event.query == "page=1"
    assert event.patients == tuple(sorted({i.patient_id for i in page.rows if i.patient_id}))
    assert 1 <= len(event.patients) <= 5 and page.total > 5
    _ready, dnfb_page = service.dnfb_page(CALLER, AS_OF, 2, 5)
    event = audit.events[-1]
    assert event.operation == "$code-dnfb" and event.query == f"as-of={AS_OF.isoformat()}&page=2"
    assert event.patients == tuple(sorted({r.patient_id for r in dnfb_page.rows if r.patient_id}))
    service.counts(CALLER)
    assert audit.events[-1].operation == "$code-counts" and audit.events[-1].patients == ()
    assert all(e.caller == CALLER and e.outcome == "success" for e in audit.events)


# -- assign reads one patient --------------------------------------------------------------------------
def test_assign_reads_only_the_encounters_patient(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    assert ingest(store, [SYNTHEA], workers=1).rejected == 0
    full = Snapshot.load(store, CALLER)
    for eid in sorted(full.encounters)[::40]:
        assert _case(encounter_snapshot(store, CALLER, eid), eid) == _case(full, eid)
    loads: list[str | None] = []
    original = Snapshot.load.__func__  # type: ignore[attr-defined]

    def spy(cls: type[Snapshot], store: Store, caller: Caller, patient: str | None = None) -> Snapshot:
        loads.append(patient)
        return original(cls, store, caller, patient)

    monkeypatch.setattr(Snapshot, "load", classmethod(spy))
    service = CodingService(store, MemoryAuditSink())
    item = service.queue(CALLER, limit=1)[0]
    loads.clear()
    result = service.assign(CALLER, item.encounter_id, ["R69"])
    assert loads == [item.patient_id]
    assert f"Encounter/{item.encounter_id}" in {w.rsplit("/_history", 1)[0] for w in result.written}


# -- concurrency ---------------------------------------------------------------------------------------
def _threads(*targets: Any) -> Iterator[BaseException]:
    errors: list[BaseException] = []

    def run(fn: Any) -> None:
        try:
            fn()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    yield from errors


def test_concurrent_refreshes_and_writes_end_consistent(store: Store) -> None:
    assert load_demo(store, 16, 9, workers=1).rejected == 0
    encounters = sorted(v.res_id for v in store.iter_current("Encounter"))
    start = threading.Barrier(4)

    def refresher() -> None:
        start.wait()
        for _ in range(3):
            reviews = StoredReviews(store, default_validator(), batch=3).refresh()
            reviews.queued()
            reviews.totals()

    def writer() -> None:
        start.wait()
        for n, eid in enumerate(encounters[::7]):
            status(store, eid, "in-progress" if n % 2 else "cancelled")
        new_patient(store, "racing-patient")

    assert list(_threads(refresher, refresher, refresher, writer)) == []
    assert_as_from_scratch(store)  # one row per compartment, each current, answers exact
