"""The PyPI FHIR clients against a real uvicorn server: fhirclient (SMART) and fhirpy."""

from __future__ import annotations

import httpx
from fhirclient import client as smart_client
from fhirclient.models.humanname import HumanName
from fhirclient.models.patient import Patient as SmartPatient
from fhirpy import SyncFHIRClient

from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.store.repository import Store

from .server import running_server


def test_fhirclient_and_fhirpy(store: Store) -> None:
    audit = MemoryAuditSink()
    with running_server(store, audit) as base:
        smart = smart_client.FHIRClient(settings={"app_id": "chartkeeper-test", "api_base": base + "/"})
        smart.server.session.headers["Authorization"] = "Bearer admin"
        smart.server.get_capability()
        assert smart.server.capabilityStatement.fhirVersion == "4.0.1"

        patient = SmartPatient({"gender": "female"})
        name = HumanName()
        name.family = "Smart"
        patient.name = [name]
        created = patient.create(smart.server)
        pid = created["id"]
        read = SmartPatient.read(pid, smart.server)
        assert read.name[0].family == "Smart" and read.meta.versionId == "1"
        read.gender = "male"
        read.update(smart.server)
        assert SmartPatient.read(pid, smart.server).meta.versionId == "2"

        fhirpy = SyncFHIRClient(base, authorization="Bearer admin")
        same = fhirpy.reference("Patient", pid).to_resource()
        assert same["gender"] == "male"
        same["birthDate"] = "1980-02-03"
        same.save()
        assert fhirpy.reference("Patient", pid).to_resource()["meta"]["versionId"] == "3"
        other = fhirpy.resource("Patient", name=[{"family": "Py"}])
        other.save()
        assert other.id and other["meta"]["versionId"] == "1"
        history = fhirpy.execute(f"Patient/{pid}/_history", method="get")
        assert [e["response"]["etag"] for e in history["entry"]] == ['W/"3"', 'W/"2"', 'W/"1"']

        read.delete(smart.server)
        other.delete()
        assert (
            httpx.get(f"{base}/Patient/{pid}", headers={"Authorization": "Bearer admin"}).status_code == 410
        )
        assert (
            httpx.get(f"{base}/Patient/{other.id}", headers={"Authorization": "Bearer admin"}).status_code
            == 410
        )
    actions = {e.action for e in audit.events}
    assert {"create", "read", "update", "delete", "history-instance"} <= actions
