"""History (instance, type, system; _since, _at, _count paging) and Patient/$everything."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from .helpers import observation, patient


def _follow(client: TestClient, url: str) -> list[dict[str, Any]]:
    """Every entry of a paged Bundle, following next links."""
    entries: list[dict[str, Any]] = []
    pages = 0
    while url:
        bundle = client.get(url).json()
        entries.extend(bundle.get("entry", []))
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), "")
        pages += 1
        assert pages < 100
    return entries


def test_instance_type_and_system_history(client: TestClient) -> None:
    client.put("/fhir/Patient/h1", json=patient(id="h1"))
    client.put("/fhir/Patient/h1", json=patient(id="h1", gender="male"))
    client.delete("/fhir/Patient/h1")
    client.put("/fhir/Patient/h2", json=patient(id="h2"))
    client.put("/fhir/Observation/o1", json=observation("Patient/h2", id="o1"))

    bundle = client.get("/fhir/Patient/h1/_history").json()
    assert bundle["type"] == "history"
    entries = bundle["entry"]
    assert [e["response"]["etag"] for e in entries] == ['W/"3"', 'W/"2"', 'W/"1"']
    assert "resource" not in entries[0] and entries[0]["request"] == {"method": "DELETE", "url": "Patient/h1"}
    assert entries[1]["request"]["method"] == "PUT" and entries[1]["resource"]["gender"] == "male"
    assert entries[2]["request"] == {"method": "POST", "url": "Patient"}
    assert entries[2]["response"]["status"].startswith("201")

    types = [e["fullUrl"].rsplit("/", 2)[-2] for e in client.get("/fhir/Patient/_history").json()["entry"]]
    assert types == ["Patient"] * 4
    system = client.get("/fhir/_history").json()["entry"]
    assert len(system) == 5 and system[0]["fullUrl"].endswith("/Observation/o1")
    assert client.get("/fhir/Patient/none/_history").status_code == 404
    assert client.get("/fhir/_history?_count=0").status_code == 400
    assert client.get("/fhir/_history?_since=yesterday").status_code == 400


def test_history_paging_since_and_at(client: TestClient) -> None:
    for n in range(7):
        client.put("/fhir/Patient/pg", json=patient(id="pg", birthDate=f"200{n}-01-01"))
    first = client.get("/fhir/Patient/pg/_history?_count=3").json()
    assert len(first["entry"]) == 3 and any(link["relation"] == "next" for link in first["link"])
    # a new version after paging began does not shift the pages (keyset cursor)
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    client.put("/fhir/Patient/pg", json=patient(id="pg", birthDate="1999-01-01"))
    rest = _follow(client, next_url)
    versions = [e["response"]["etag"] for e in first["entry"] + rest]
    assert versions == [f'W/"{v}"' for v in range(7, 0, -1)]

    all_versions = client.get("/fhir/Patient/pg/_history").json()["entry"]
    fourth = next(e for e in all_versions if e["response"]["etag"] == 'W/"4"')
    since = fourth["response"]["lastModified"]
    newer = client.get("/fhir/Patient/pg/_history", params={"_since": since}).json()["entry"]
    assert [e["response"]["etag"] for e in newer] == ['W/"8"', 'W/"7"', 'W/"6"', 'W/"5"', 'W/"4"']
    at = client.get("/fhir/Patient/pg/_history", params={"_at": since}).json()["entry"]
    assert [e["response"]["etag"] for e in at] == ['W/"4"']
    assert "entry" not in client.get("/fhir/Patient/pg/_history", params={"_at": "1990"}).json()
    assert client.get("/fhir/Patient/pg/_history?_cursor=garbage").status_code == 400


def test_patient_everything(client: TestClient) -> None:
    client.put("/fhir/Practitioner/dr", json={"resourceType": "Practitioner", "id": "dr"})
    client.put("/fhir/Organization/org", json={"resourceType": "Organization", "id": "org", "name": "H"})
    client.put("/fhir/Organization/unrelated", json={"resourceType": "Organization", "id": "unrelated"})
    client.put(
        "/fhir/Patient/e1", json=patient(id="e1", managingOrganization={"reference": "Organization/org"})
    )
    client.put("/fhir/Patient/e2", json=patient(id="e2"))
    for n in range(3):
        obs = observation("Patient/e1", id=f"ob{n}", performer=[{"reference": "Practitioner/dr"}])
        client.put(f"/fhir/Observation/ob{n}", json=obs)
    client.put("/fhir/Observation/other", json=observation("Patient/e2", id="other"))

    bundle = client.get("/fhir/Patient/e1/$everything").json()
    assert bundle["type"] == "searchset" and bundle["total"] == 6
    refs = [e["fullUrl"].split("/fhir/")[1] for e in bundle["entry"]]
    assert refs[0] == "Patient/e1"
    assert set(refs) == {
        "Patient/e1",
        "Observation/ob0",
        "Observation/ob1",
        "Observation/ob2",
        "Practitioner/dr",
        "Organization/org",
    }

    paged = _follow(client, "/fhir/Patient/e1/$everything?_count=4")
    assert [e["fullUrl"] for e in paged] == [e["fullUrl"] for e in bundle["entry"]]
    only = client.get("/fhir/Patient/e1/$everything?_type=Observation").json()
    assert {e["resource"]["resourceType"] for e in only["entry"]} == {"Observation"}
    assert client.get("/fhir/Patient/e1/$everything?_type=Bogus").status_code == 400
    since = client.get("/fhir/Observation/ob2").json()["meta"]["lastUpdated"]
    recent = client.get("/fhir/Patient/e1/$everything", params={"_since": since}).json()
    assert [e["fullUrl"].split("/fhir/")[1] for e in recent["entry"]] == ["Observation/ob2"]
    assert client.get("/fhir/Patient/none/$everything").status_code == 404
    client.delete("/fhir/Observation/ob1")
    assert client.get("/fhir/Patient/e1/$everything").json()["total"] == 5


def test_patient_everything_leaves_out_the_access_log_unless_asked(client: TestClient) -> None:
    """AuditEvents are in the Patient compartment but are the log of who read the chart, not
    the record: $everything returns them, and what only they reference, only on request."""
    client.put("/fhir/Practitioner/auditor", json={"resourceType": "Practitioner", "id": "auditor"})
    client.put("/fhir/Patient/a1", json=patient(id="a1"))
    client.put("/fhir/Observation/a1-obs", json=observation("Patient/a1", id="a1-obs"))
    log = {
        "resourceType": "AuditEvent",
        "id": "a1-log",
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
        "recorded": "2026-01-01T00:00:00Z",
        "agent": [{"who": {"reference": "Practitioner/auditor"}, "requestor": True}],
        "source": {"observer": {"display": "test"}},
        "entity": [{"what": {"reference": "Patient/a1"}}, {"what": {"reference": "Observation/a1-obs"}}],
    }
    assert client.put("/fhir/AuditEvent/a1-log", json=log).status_code == 201
    assert client.get("/fhir/AuditEvent?patient=a1").json()["total"] == 1  # it is in the compartment

    default = client.get("/fhir/Patient/a1/$everything").json()
    assert sorted(e["fullUrl"].split("/fhir/")[1] for e in default["entry"]) == [
        "Observation/a1-obs",
        "Patient/a1",
    ]
    asked = client.get("/fhir/Patient/a1/$everything?_type=AuditEvent").json()
    assert [e["fullUrl"].split("/fhir/")[1] for e in asked["entry"]] == ["AuditEvent/a1-log"]
    both = client.get("/fhir/Patient/a1/$everything?_type=Patient,AuditEvent,Practitioner").json()
    assert {e["fullUrl"].split("/fhir/")[1] for e in both["entry"]} == {
        "Patient/a1",
        "AuditEvent/a1-log",
        "Practitioner/auditor",
    }


def test_everything_entries_equal_their_reads(client: TestClient) -> None:
    """$everything embeds stored JSON text where it can (no meta of the resource's own); every
    entry must still be exactly the resource a read returns, server meta included."""
    client.put("/fhir/Patient/eq", json=patient(id="eq"))
    client.put("/fhir/Observation/eq-plain", json=observation("Patient/eq", id="eq-plain"))
    tagged = observation("Patient/eq", id="eq-tagged", meta={"tag": [{"system": "urn:t", "code": "x"}]})
    client.put("/fhir/Observation/eq-tagged", json=tagged)
    client.put("/fhir/Observation/eq-plain", json=observation("Patient/eq", id="eq-plain", status="amended"))
    noted = observation("Patient/eq", id="eq-noted", note=[{"text": 'the word "meta" in a note'}])
    client.put("/fhir/Observation/eq-noted", json=noted)
    for query in ("", "?_pretty=true"):
        bundle = client.get(f"/fhir/Patient/eq/$everything{query}").json()
        entries = {e["fullUrl"].split("/fhir/")[1]: e["resource"] for e in bundle["entry"]}
        assert set(entries) == {
            "Patient/eq",
            "Observation/eq-plain",
            "Observation/eq-tagged",
            "Observation/eq-noted",
        }
        for ref, resource in entries.items():
            assert resource == client.get(f"/fhir/{ref}").json(), ref
        assert entries["Observation/eq-plain"]["meta"]["versionId"] == "2"
        assert entries["Observation/eq-tagged"]["meta"]["tag"] == [{"system": "urn:t", "code": "x"}]


def _next_url(bundle: dict[str, Any]) -> str:
    return next(link["url"] for link in bundle["link"] if link["relation"] == "next")


def _refs(entries: list[dict[str, Any]]) -> list[str]:
    return [e["fullUrl"].split("/fhir/")[1] for e in entries]


def test_everything_pages_follow_the_first_pages_snapshot(client: TestClient) -> None:
    """The next pages of $everything take their keys from the first page's snapshot: a resource
    added meanwhile does not shift them, and one deleted or moved to another chart meanwhile is
    left out (checked by key against the store, not trusted from the snapshot)."""
    client.put("/fhir/Patient/s1", json=patient(id="s1"))
    client.put("/fhir/Patient/s2", json=patient(id="s2"))
    for n in range(9):
        client.put(f"/fhir/Observation/s{n}", json=observation("Patient/s1", id=f"s{n}"))
    whole = _refs(client.get("/fhir/Patient/s1/$everything").json()["entry"])
    assert len(whole) == 10

    first = client.get("/fhir/Patient/s1/$everything?_count=4").json()
    next_url = _next_url(first)
    cursor = next_url.split("_cursor=")[1].split("&")[0]
    assert cursor.startswith("4.") and len(cursor) > 10  # an offset and a snapshot token
    assert _refs(first["entry"]) == whole[:4]
    # unchanged data: the snapshot pages equal one big page
    assert _refs(first["entry"] + _follow(client, next_url)) == whole

    client.put("/fhir/Observation/new", json=observation("Patient/s1", id="new"))  # not in the snapshot
    client.delete(f"/fhir/{whole[5]}")
    client.put(f"/fhir/{whole[6]}", json=observation("Patient/s2", id=whole[6].split("/")[1]))
    rest = _refs(_follow(client, next_url))
    assert rest == [ref for ref in whole[4:] if ref not in (whole[5], whole[6])]
    # a fresh first page sees the change
    fresh = _refs(_follow(client, "/fhir/Patient/s1/$everything?_count=4"))
    assert "Observation/new" in fresh and whole[5] not in fresh and whole[6] not in fresh


def test_everything_snapshot_serves_only_its_own_scope(client: TestClient) -> None:
    """A snapshot token taken to another patient's $everything, or with another ``_type``, or by
    a caller with narrower access, finds its keys afresh: it never shows what that request
    would not."""
    client.put("/fhir/Patient/p1", json=patient(id="p1"))
    client.put("/fhir/Patient/p2", json=patient(id="p2"))
    for n in range(6):
        client.put(f"/fhir/Observation/a{n}", json=observation("Patient/p2", id=f"a{n}"))
        client.put(f"/fhir/Observation/b{n}", json=observation("Patient/p1", id=f"b{n}"))
    first = client.get("/fhir/Patient/p2/$everything?_count=2").json()
    cursor = _next_url(first).split("_cursor=")[1].split("&")[0]

    other_patient = client.get(f"/fhir/Patient/p1/$everything?_count=2&_cursor={cursor}").json()
    assert all(
        ref == "Patient/p1" or ref.startswith("Observation/b") for ref in _refs(other_patient["entry"])
    )
    assert len(other_patient["entry"]) == 2

    typed = client.get(f"/fhir/Patient/p2/$everything?_count=2&_type=Patient&_cursor={cursor}").json()
    assert "entry" not in typed and typed["total"] == 1

    # pat-1 may read p1's compartment only: p2's snapshot gives it nothing of p2
    denied = client.get(
        f"/fhir/Patient/p2/$everything?_count=2&_cursor={cursor}", headers={"Authorization": "Bearer pat-1"}
    )
    assert denied.status_code in (403, 404)
    own = client.get(
        f"/fhir/Patient/p1/$everything?_count=2&_cursor={cursor}", headers={"Authorization": "Bearer pat-1"}
    ).json()
    assert all(ref == "Patient/p1" or ref.startswith("Observation/b") for ref in _refs(own["entry"]))

    assert client.get("/fhir/Patient/p2/$everything?_cursor=2.bad!token").status_code == 400
    assert client.get("/fhir/Patient/p2/$everything?_cursor=x").status_code == 400
    # an unknown (expired, evicted, other process) token: the keys are found again
    again = client.get("/fhir/Patient/p2/$everything?_count=2&_cursor=2.unknownToken").json()
    assert _refs(again["entry"]) == _refs(client.get("/fhir/Patient/p2/$everything").json()["entry"])[2:4]
