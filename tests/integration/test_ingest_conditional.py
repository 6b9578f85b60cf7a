"""Conditional creates, conditional references and deletes through the real writer (both databases)."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import pytest

from chartkeeper.errors import Gone
from chartkeeper.intake.service import ingest
from chartkeeper.store.repository import Store

NPI = "http://hl7.org/fhir/sid/us-npi"


def urn(name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def _write(tmp_path: Path, name: str, bundle: dict) -> Path:
    path = tmp_path / name
    path.write_bytes(orjson.dumps(bundle))
    return path


def _tx(*entries: dict) -> dict:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def _practitioner_entry(pid: str, npi: str) -> dict:
    return {
        "fullUrl": urn(pid),
        "resource": {
            "resourceType": "Practitioner",
            "id": pid,
            "identifier": [{"system": NPI, "value": npi}],
        },
        "request": {"method": "POST", "url": "Practitioner", "ifNoneExist": f"identifier={NPI}|{npi}"},
    }


def _encounter_entry(eid: str, practitioner_ref: str) -> dict:
    return {
        "fullUrl": urn(eid),
        "resource": {
            "resourceType": "Encounter",
            "id": eid,
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "participant": [{"individual": {"reference": practitioner_ref}}],
        },
        "request": {"method": "POST", "url": "Encounter"},
    }


def test_if_none_exist_and_conditional_references(store: Store, tmp_path: Path) -> None:
    # Synthea's newer style: the practitioner is created only if absent, and referenced by identifier.
    first = _tx(
        _practitioner_entry("pr-1", "9999"), _encounter_entry("en-1", f"Practitioner?identifier={NPI}|9999")
    )
    report = ingest(store, [_write(tmp_path, "a.json", first)], workers=1)
    assert report.rejected == 0, report.messages
    assert store.read("Encounter", "en-1")["participant"][0]["individual"]["reference"] == "Practitioner/pr-1"

    # A second bundle names the same practitioner under another id: the stored one is reused.
    second = _tx(_practitioner_entry("pr-2", "9999"), _encounter_entry("en-2", urn("pr-2")))
    report = ingest(store, [_write(tmp_path, "b.json", second)], workers=1)
    assert report.rejected == 0, report.messages
    assert store.count_by_type()["Practitioner"] == 1
    assert store.read("Encounter", "en-2")["participant"][0]["individual"]["reference"] == "Practitioner/pr-1"

    # A conditional reference that matches nothing rejects the bundle, naming the element.
    third = _tx(_encounter_entry("en-3", f"Practitioner?identifier={NPI}|0000"))
    report = ingest(store, [_write(tmp_path, "c.json", third)], workers=1)
    assert report.rejected == 1
    assert "Bundle.entry[0].resource.participant[0].individual.reference" in report.messages[0]
    assert "matches no resource" in report.messages[0]
    assert "en-3" not in {v.res_id for v in store.iter_current("Encounter")}


def test_delete_entries_make_tombstones(store: Store, tmp_path: Path) -> None:
    patient = {"resourceType": "Patient", "id": "del-1", "identifier": [{"system": "urn:mrn", "value": "7"}]}
    other = {"resourceType": "Patient", "id": "del-2", "identifier": [{"system": "urn:mrn", "value": "8"}]}
    create = _tx(
        {"fullUrl": urn("del-1"), "resource": patient, "request": {"method": "PUT", "url": "Patient/del-1"}},
        {"fullUrl": urn("del-2"), "resource": other, "request": {"method": "PUT", "url": "Patient/del-2"}},
    )
    assert ingest(store, [_write(tmp_path, "create.json", create)], workers=1).rejected == 0
    delete = _tx(
        {"request": {"method": "DELETE", "url": "Patient/del-1"}},
        {"request": {"method": "DELETE", "url": "Patient?identifier=urn:mrn|8"}},
    )
    report = ingest(store, [_write(tmp_path, "delete.json", delete)], workers=1)
    assert report.rejected == 0, report.messages
    assert report.as_json()["deleted"] == 2
    with pytest.raises(Gone):
        store.read("Patient", "del-1")
    assert [v.method for v in store.history("Patient", "del-2")] == ["delete", "create"]
    assert store.count_by_type() == {}
