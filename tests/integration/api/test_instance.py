"""Conformance of the instance and type interactions (http.html), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from .helpers import patient

JSON_PATCH = {"Content-Type": "application/json-patch+json"}


def _create(client: TestClient, body: dict[str, Any], **headers: str) -> Any:
    response = client.post(f"/fhir/{body['resourceType']}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response


def test_create_read_vread_with_headers(client: TestClient) -> None:
    created = _create(client, patient(id="ignored"))
    body = created.json()
    pid = body["id"]
    assert pid != "ignored" and body["meta"]["versionId"] == "1"
    assert created.headers["location"].endswith(f"/fhir/Patient/{pid}/_history/1")
    assert created.headers["etag"] == 'W/"1"' and created.headers["last-modified"].endswith("GMT")
    assert created.headers["content-type"].startswith("application/fhir+json")

    read = client.get(f"/fhir/Patient/{pid}")
    assert read.status_code == 200 and read.json() == body and read.headers["etag"] == 'W/"1"'
    assert client.get(f"/fhir/Patient/{pid}", headers={"If-None-Match": 'W/"1"'}).status_code == 304
    assert client.get(f"/fhir/Patient/{pid}", headers={"If-None-Match": 'W/"9"'}).status_code == 200
    since = read.headers["last-modified"]
    assert client.get(f"/fhir/Patient/{pid}", headers={"If-Modified-Since": since}).status_code == 304
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert client.get(f"/fhir/Patient/{pid}", headers={"If-Modified-Since": old}).status_code == 200

    vread = client.get(f"/fhir/Patient/{pid}/_history/1")
    assert vread.status_code == 200 and vread.json() == body
    assert client.get(f"/fhir/Patient/{pid}/_history/7").status_code == 404
    assert client.get(f"/fhir/Patient/{pid}/_history/x").status_code == 404
    assert client.get("/fhir/Patient/nope").status_code == 404
    missing_type = client.get("/fhir/Nonsense/1")
    assert missing_type.status_code == 404 and missing_type.json()["resourceType"] == "OperationOutcome"


def test_prefer_and_media_types(client: TestClient) -> None:
    minimal = client.post("/fhir/Patient", json=patient(), headers={"Prefer": "return=minimal"})
    assert minimal.status_code == 201 and minimal.content == b"" and "location" in minimal.headers
    outcome = client.post("/fhir/Patient", json=patient(), headers={"Prefer": "return=OperationOutcome"})
    assert outcome.status_code == 201 and outcome.json()["resourceType"] == "OperationOutcome"
    plain_json = client.post(
        "/fhir/Patient", content=b'{"resourceType": "Patient"}', headers={"Content-Type": "application/json"}
    )
    assert plain_json.status_code == 201
    xml = client.post(
        "/fhir/Patient", content=b"<Patient/>", headers={"Content-Type": "application/fhir+xml"}
    )
    assert xml.status_code == 415 and xml.json()["resourceType"] == "OperationOutcome"
    pretty = client.get("/fhir/metadata?_pretty=true")
    assert pretty.text.startswith('{\n  "resourceType"')
    assert client.get("/fhir/metadata?_format=json").status_code == 200
    assert client.get("/fhir/metadata?_format=application/fhir+json").status_code == 200
    for asked in ({"Accept": "application/fhir+xml"}, {"Accept": "text/xml"}):
        refused = client.get("/fhir/metadata", headers=asked)
        assert refused.status_code == 406 and refused.json()["resourceType"] == "OperationOutcome"
    assert client.get("/fhir/metadata?_format=xml").status_code == 406
    assert client.get("/fhir/metadata", headers={"Accept": "application/fhir+json, */*"}).status_code == 200


def test_update_if_match_and_update_as_create(client: TestClient) -> None:
    put = client.put("/fhir/Patient/p-up", json=patient(id="p-up"))
    assert put.status_code == 201 and put.headers["location"].endswith("/Patient/p-up/_history/1")
    second = client.put(
        "/fhir/Patient/p-up", json=patient(id="p-up", gender="male"), headers={"If-Match": 'W/"1"'}
    )
    assert second.status_code == 200 and second.json()["meta"]["versionId"] == "2"
    assert second.headers["location"].endswith("/Patient/p-up/_history/2")
    stale = client.put(
        "/fhir/Patient/p-up", json=patient(id="p-up", gender="other"), headers={"If-Match": 'W/"1"'}
    )
    assert stale.status_code == 412 and stale.json()["issue"][0]["code"] == "conflict"
    same = client.put("/fhir/Patient/p-up", json=patient(id="p-up", gender="male"))
    assert same.status_code == 200 and same.json()["meta"]["versionId"] == "2"  # identical: no new version
    absent = client.put("/fhir/Patient/p-none", json=patient(id="p-none"), headers={"If-Match": 'W/"1"'})
    assert absent.status_code == 412
    assert client.put("/fhir/Patient/p-up", json=patient(id="other")).status_code == 400
    assert client.put("/fhir/Patient/p-up", json=patient()).status_code == 400  # no id in the body
    assert (
        client.put("/fhir/Patient/p-up", json={"resourceType": "Observation", "id": "p-up"}).status_code
        == 400
    )
    assert (
        client.put(
            "/fhir/Patient/p-up", json=patient(id="p-up"), headers={"If-Match": "nonsense"}
        ).status_code
        == 400
    )
    invalid = client.put("/fhir/Patient/p-up", json=patient(id="p-up", birthDate="1999-02-31"))
    assert invalid.status_code == 422
    assert invalid.json()["issue"][0]["expression"] == ["Patient.birthDate"]
    assert client.put("/fhir/Patient/bad_id!", json=patient(id="bad_id!")).status_code == 400


def test_delete_semantics(client: TestClient) -> None:
    pid = _create(client, patient()).json()["id"]
    assert client.delete(f"/fhir/Patient/{pid}", headers={"If-Match": 'W/"5"'}).status_code == 412
    gone = client.delete(f"/fhir/Patient/{pid}")
    assert gone.status_code == 204 and gone.headers["etag"] == 'W/"2"'
    read = client.get(f"/fhir/Patient/{pid}")
    assert read.status_code == 410 and read.json()["issue"][0]["code"] == "deleted"
    assert client.get(f"/fhir/Patient/{pid}/_history/2").status_code == 410
    assert client.get(f"/fhir/Patient/{pid}/_history/1").status_code == 200
    assert client.delete(f"/fhir/Patient/{pid}").status_code == 204  # again: nothing happens
    assert len(client.get(f"/fhir/Patient/{pid}/_history").json()["entry"]) == 2
    assert client.delete("/fhir/Patient/never-was").status_code == 204
    told = client.delete("/fhir/Patient/never-was", headers={"Prefer": "return=OperationOutcome"})
    assert told.status_code == 200 and "nothing to delete" in told.json()["issue"][0]["diagnostics"]
    again = client.put(f"/fhir/Patient/{pid}", json=patient(id=pid))
    assert again.status_code == 201 and again.json()["meta"]["versionId"] == "3"


def test_conditional_create_update_delete(client: TestClient) -> None:
    ident = {"identifier": [{"system": "urn:mrn", "value": "42"}]}
    first = client.post(
        "/fhir/Patient", json=patient(**ident), headers={"If-None-Exist": "identifier=urn:mrn|42"}
    )
    assert first.status_code == 201
    pid = first.json()["id"]
    matched = client.post(
        "/fhir/Patient", json=patient(**ident), headers={"If-None-Exist": "identifier=urn:mrn|42"}
    )
    assert matched.status_code == 200 and matched.json()["id"] == pid
    _create(client, patient(**ident))
    many = client.post(
        "/fhir/Patient", json=patient(**ident), headers={"If-None-Exist": "identifier=urn:mrn|42"}
    )
    assert many.status_code == 412
    assert (
        client.post("/fhir/Patient", json=patient(), headers={"If-None-Exist": "bogus=1"}).status_code == 400
    )

    other = {"identifier": [{"system": "urn:mrn", "value": "7"}]}
    made = client.put("/fhir/Patient?identifier=urn:mrn|7", json=patient(**other))
    assert made.status_code == 201
    oid = made.json()["id"]
    updated = client.put("/fhir/Patient?identifier=urn:mrn|7", json=patient(gender="male", **other))
    assert (
        updated.status_code == 200
        and updated.json()["id"] == oid
        and updated.json()["meta"]["versionId"] == "2"
    )
    assert (
        client.put("/fhir/Patient?identifier=urn:mrn|7", json=patient(id="zzz", **other)).status_code == 400
    )
    assert client.put("/fhir/Patient?identifier=urn:mrn|42", json=patient(**ident)).status_code == 412
    with_id = client.put("/fhir/Patient?identifier=urn:mrn|8", json=patient(id="chosen"))
    assert with_id.status_code == 201 and with_id.json()["id"] == "chosen"

    assert client.delete("/fhir/Patient?identifier=urn:mrn|42").status_code == 412
    assert client.delete("/fhir/Patient?identifier=urn:mrn|7").status_code == 204
    assert client.get(f"/fhir/Patient/{oid}").status_code == 410
    assert client.delete("/fhir/Patient?identifier=urn:mrn|7").status_code == 204  # no match now


def test_patch(client: TestClient) -> None:
    pid = _create(client, patient(gender="male")).json()["id"]
    ops = [{"op": "replace", "path": "/gender", "value": "female"}]
    patched = client.patch(f"/fhir/Patient/{pid}", json=ops, headers=JSON_PATCH)
    assert patched.status_code == 200 and patched.json()["gender"] == "female"
    assert patched.json()["meta"]["versionId"] == "2" and patched.headers["etag"] == 'W/"2"'
    stale = client.patch(f"/fhir/Patient/{pid}", json=ops, headers={**JSON_PATCH, "If-Match": 'W/"1"'})
    assert stale.status_code == 412
    failed_test = [{"op": "test", "path": "/gender", "value": "male"}]
    assert client.patch(f"/fhir/Patient/{pid}", json=failed_test, headers=JSON_PATCH).status_code == 422
    new_id = [{"op": "replace", "path": "/id", "value": "other"}]
    assert client.patch(f"/fhir/Patient/{pid}", json=new_id, headers=JSON_PATCH).status_code == 422
    invalid = [{"op": "add", "path": "/birthDate", "value": "not a date"}]
    assert client.patch(f"/fhir/Patient/{pid}", json=invalid, headers=JSON_PATCH).status_code == 422
    assert client.patch(f"/fhir/Patient/{pid}", json={"op": "x"}, headers=JSON_PATCH).status_code == 400
    assert client.patch(f"/fhir/Patient/{pid}", json=[{"op": "jump"}], headers=JSON_PATCH).status_code == 400
    assert (
        client.patch(f"/fhir/Patient/{pid}", json=ops, headers={"Content-Type": "text/plain"}).status_code
        == 415
    )
    assert client.patch("/fhir/Patient/none", json=ops, headers=JSON_PATCH).status_code == 404
    assert client.get(f"/fhir/Patient/{pid}").json()["meta"]["versionId"] == "2"


def test_validate_operation(client: TestClient) -> None:
    ok = client.post("/fhir/Patient/$validate", json=patient())
    assert ok.status_code == 200 and ok.json()["issue"][0]["severity"] == "information"
    bad = client.post("/fhir/Patient/$validate", json=patient(birthDate="1999-13-01"))
    assert bad.status_code == 200 and bad.json()["issue"][0]["severity"] == "error"
    params = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "resource", "resource": patient(gender="nope")},
            {"name": "mode", "valueCode": "create"},
        ],
    }
    assert client.post("/fhir/Patient/$validate", json=params).json()["issue"][0]["severity"] == "error"
    pid = _create(client, patient()).json()["id"]
    wrong_id = client.post(f"/fhir/Patient/{pid}/$validate", json=patient(id="other"))
    assert any("id" in i["diagnostics"] for i in wrong_id.json()["issue"])
    deletable = client.post(f"/fhir/Patient/{pid}/$validate?mode=delete", json={"resourceType": "Patient"})
    assert deletable.status_code == 200 and deletable.json()["issue"][0]["severity"] == "information"
    assert client.post("/fhir/Patient/$validate", json={"resourceType": "Observation"}).status_code == 400
    assert client.post("/fhir/Patient/$validate?mode=sideways", json=patient()).status_code == 400


def test_conditional_patch_and_head(client: TestClient) -> None:
    ident = {"identifier": [{"system": "urn:cp", "value": "1"}]}
    pid = _create(client, patient(**ident)).json()["id"]
    ops = [{"op": "add", "path": "/gender", "value": "male"}]
    patched = client.patch("/fhir/Patient?identifier=urn:cp|1", json=ops, headers=JSON_PATCH)
    assert patched.status_code == 200 and patched.json()["id"] == pid and patched.json()["gender"] == "male"
    assert (
        client.patch("/fhir/Patient?identifier=urn:cp|none", json=ops, headers=JSON_PATCH).status_code == 404
    )
    _create(client, patient(**ident))
    assert client.patch("/fhir/Patient?identifier=urn:cp|1", json=ops, headers=JSON_PATCH).status_code == 412

    head = client.head(f"/fhir/Patient/{pid}")
    assert head.status_code == 200 and head.headers["etag"] == 'W/"2"' and head.content == b""
    assert client.head(f"/fhir/Patient/{pid}/_history/1").status_code == 200
    assert client.head("/fhir/Patient/none").status_code == 404
