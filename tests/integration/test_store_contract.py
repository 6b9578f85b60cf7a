"""The repository contract, run on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import orjson
import pytest

from chartkeeper.errors import Gone, NotFound
from chartkeeper.fhir.conditional import parse_criteria
from chartkeeper.fhir.resource import fingerprint, without_server_meta
from chartkeeper.fhir.search.extract import extract_index_values
from chartkeeper.store.models import ResourceWrite
from chartkeeper.store.repository import Store
from chartkeeper.store.writer import index_rows


def _write(resource: dict, delete: bool = False) -> ResourceWrite:
    if delete:
        return ResourceWrite(resource["resourceType"], resource["id"], None, "", None, None, delete=True)
    stored = without_server_meta(resource)
    index = extract_index_values(stored)
    return ResourceWrite(
        resource["resourceType"],
        resource["id"],
        orjson.dumps(stored).decode(),
        fingerprint(stored),
        index_rows(resource["resourceType"], index),
        index.compartment_patients[0] if index.compartment_patients else None,
    )


PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "identifier": [{"system": "urn:oid:1.2.3", "value": "MRN-1"}],
    "name": [{"family": "Ortíz", "given": ["Ana"]}],
    "birthDate": "1970-02-03",
}


def test_create_then_identical_write_makes_no_new_version(store: Store) -> None:
    first = store.apply([_write(PATIENT)])
    assert first.created["Patient"] == 1
    again = store.apply(
        [_write(dict(PATIENT, meta={"versionId": "9", "lastUpdated": "2020-01-01T00:00:00Z"}))]
    )
    assert again.unchanged["Patient"] == 1 and not again.created and not again.updated
    read = store.read("Patient", "p1")
    assert read["meta"]["versionId"] == "1"
    assert read["meta"]["lastUpdated"].endswith("Z")
    assert read["name"][0]["family"] == "Ortíz"
    assert store.count_versions() == 1


def test_update_delete_and_recreate_keep_every_version(store: Store) -> None:
    store.apply([_write(PATIENT)])
    changed = dict(PATIENT, birthDate="1970-02-04")
    assert store.apply([_write(changed)]).updated["Patient"] == 1
    assert store.apply([_write(PATIENT, delete=True)]).deleted["Patient"] == 1
    with pytest.raises(Gone):
        store.read("Patient", "p1")
    assert store.count_by_type() == {}
    assert store.apply([_write(PATIENT, delete=True)]).deleted["Patient"] == 0  # already deleted
    assert store.apply([_write(PATIENT)]).updated["Patient"] == 1  # written again after a delete
    history = store.history("Patient", "p1")
    assert [v.version_id for v in history] == [4, 3, 2, 1]
    assert [v.method for v in history] == ["update", "delete", "update", "create"]
    assert history[1].content is None and history[1].deleted
    assert history[2].content["birthDate"] == "1970-02-04"
    assert store.vread("Patient", "p1", 1).content["birthDate"] == "1970-02-03"
    assert store.read("Patient", "p1")["meta"]["versionId"] == "4"


def test_missing_resources_and_versions_are_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.read("Patient", "nope")
    with pytest.raises(NotFound):
        store.history("Patient", "nope")
    store.apply([_write(PATIENT)])
    with pytest.raises(NotFound):
        store.vread("Patient", "p1", 2)


def test_index_rows_follow_the_current_version(store: Store) -> None:
    store.apply([_write(PATIENT)])
    by_mrn = parse_criteria("Patient?identifier=urn:oid:1.2.3|MRN-1")
    assert store.find_ids(by_mrn) == ["p1"]
    assert store.find_ids(parse_criteria("Patient?family=ortiz")) == ["p1"]
    store.apply([_write(dict(PATIENT, identifier=[{"system": "urn:oid:1.2.3", "value": "MRN-2"}]))])
    assert store.find_ids(by_mrn) == []
    assert store.find_ids(parse_criteria("Patient?identifier=MRN-2")) == ["p1"]
    store.apply([_write(PATIENT, delete=True)])
    assert store.find_ids(parse_criteria("Patient?identifier=MRN-2")) == []


def test_patient_compartment_is_recorded(store: Store) -> None:
    observation = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "subject": {"reference": "Patient/p1"},
    }
    store.apply([_write(PATIENT), _write(observation)])
    with store.reading() as conn:
        from sqlalchemy import select

        from chartkeeper.store.schema import resource

        rows = dict(conn.execute(select(resource.c.res_id, resource.c.patient_id)).all())
    assert rows == {"p1": "p1", "o1": "p1"}


def test_a_failed_batch_writes_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as conn:
        store.apply([_write(PATIENT)], conn)
        raise RuntimeError("boom")
    assert store.count_by_type() == {}
    assert store.count_versions() == 0


def test_quarantine_keeps_bytes_and_reason(store: Store) -> None:
    pk = store.quarantine_add(
        source="x.json", fmt="fhir-json", reason="bad", content=b"\xff\x00{", issues=None
    )
    item = store.quarantine_get(pk)
    assert item.content == b"\xff\x00{" and item.reason == "bad" and item.status == "held"
    assert [i.pk for i in store.quarantine_list()] == [pk]
    assert store.quarantine_count() == 1


def test_the_same_rejected_input_is_held_once(store: Store) -> None:
    first = store.quarantine_add(source="a.json", fmt="fhir-json", reason="bad", content=b"{", issues=None)
    again = store.quarantine_add(source="a.json", fmt="fhir-json", reason="bad", content=b"{", issues=None)
    other = store.quarantine_add(source="b.json", fmt="fhir-json", reason="bad", content=b"{", issues=None)
    assert first == again != other
    assert store.quarantine_count() == 2
