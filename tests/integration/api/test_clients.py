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

        for n in range(7):
            fhirpy.resource("Patient", name=[{"family": f"Paged{n}"}], gender="other").save()
        # fhirpy follows the searchset's next links page by page
        paged = list(fhirpy.resources("Patient").search(gender="other").limit(3).sort("family"))
        assert [p["name"][0]["family"] for p in paged] == [f"Paged{n}" for n in range(7)]
        assert fhirpy.resources("Patient").search(family="paged").count() == 7
        # fhirclient: a search, then its next page
        search = SmartPatient.where(struct={"gender": "other", "_count": "3", "_sort": "family"})
        bundle = search.perform(smart.server)
        assert len(bundle.entry) == 3 and bundle.link[1].relation == "next"
        page_two = smart.server.request_json(bundle.link[1].url)
        assert [e["resource"]["name"][0]["family"] for e in page_two["entry"]] == [
            "Paged3",
            "Paged4",
            "Paged5",
        ]

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
    assert {"create", "read", "update", "delete", "history-instance", "search-type"} <= actions
