"""Patient search and the access log over HTTP, on SQLite and PostgreSQL: typos, sound-alikes,
identifiers, birth date, sex, recently viewed, audit; auditors alone see who viewed a chart."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from chartkeeper.chart import access_log

from .conftest import sign_in
from .world import CHUNG_ID, HOSTILE_ID, World


def _names(page: str) -> list[str]:
    return [line.split(">", 1)[1].split("<", 1)[0] for line in page.split('<a href="/patients/')[1:]]


def test_a_misspelled_name_finds_the_patient(rita: TestClient) -> None:
    for typed in ("Chung Haely", "chung haley", "Haley", "Hlaey", "Chugn", "Haly Chung"):
        page = rita.get("/patients", params={"name": typed}).text
        assert f'href="/patients/{CHUNG_ID}"' in page, typed
    assert "No patient matches." in rita.get("/patients", params={"name": "Xylophone"}).text


def test_sound_alike_first_letters(rita: TestClient) -> None:
    page = rita.get("/patients", params={"name": "Mallorie"}).text  # Mallory
    assert f'href="/patients/{HOSTILE_ID}"' in page
    assert "Evil&lt;script&gt;" in page and "<script>window" not in page


def test_identifier_birth_date_and_sex(rita: TestClient) -> None:
    by_mrn = rita.get("/patients", params={"identifier": "e792af79-5fe0-4ed8-bf91-ad9e0b24603e"}).text
    assert f'href="/patients/{CHUNG_ID}"' in by_mrn and "1 patient found" in by_mrn
    assert "999-50-3202" not in by_mrn  # social security numbers are not shown in lists
    by_date = rita.get("/patients", params={"birthdate": "1958-02-25"}).text
    assert f'href="/patients/{CHUNG_ID}"' in by_date and HOSTILE_ID not in by_date
    female = rita.get("/patients", params={"gender": "female"}).text
    assert HOSTILE_ID in female and CHUNG_ID not in female
    both = rita.get("/patients", params={"name": "Haley", "gender": "female"}).text
    assert "No patient matches." in both
    assert rita.get("/patients", params={"gender": "robot"}).status_code == 400


def test_results_show_age_identifiers_last_encounter_and_recently_viewed(rita: TestClient) -> None:
    page = rita.get("/patients", params={"name": "Haley"}).text
    assert "<td>male</td>" in page and "2020-11-17" in page  # Chung's last encounter
    rita.get(f"/patients/{HOSTILE_ID}")
    rita.get(f"/patients/{CHUNG_ID}")
    recent = rita.get("/patients").text.split('id="recent-h"')[1]
    assert recent.index(CHUNG_ID) < recent.index(HOSTILE_ID)  # most recent first


def test_searches_are_audited(rita: TestClient, world: World) -> None:
    rita.get("/patients", params={"name": "Haely"})
    events = [json.dumps(v.content) for v in world.store.iter_current("AuditEvent") if v.content]
    assert any("name~=haely" in e and "user/rita" in e and CHUNG_ID in e for e in events)


def test_only_auditors_see_who_viewed_a_chart(rita: TestClient, world: World) -> None:
    rita.get(f"/patients/{CHUNG_ID}")
    assert rita.get(f"/patients/{CHUNG_ID}/access").status_code == 403
    assert "Access log" not in rita.get(f"/patients/{CHUNG_ID}").text
    with TestClient(world.app) as audrey:
        sign_in(audrey, "audrey")
        chart = audrey.get(f"/patients/{CHUNG_ID}").text
        assert "Access log" in chart and "Chung Haley" in chart
        log = audrey.get(f"/patients/{CHUNG_ID}/access").text
        assert "<td>user/rita</td>" in log and "operation" in log


def test_auditors_see_who_was_shown_one_resource_of_a_chart(rita: TestClient, world: World) -> None:
    """A chart view lists what it showed in one unindexed AuditEvent entity (ADR 0021); the
    access log still finds, exactly, the accesses that were shown one given resource."""
    shown = next(
        v.content["id"]
        for v in world.store.iter_current("Observation")
        if v.content and v.content.get("subject", {}).get("reference") == f"Patient/{CHUNG_ID}"
    )
    not_shown = next(
        v.content["id"]
        for v in world.store.iter_current("Claim")
        if v.content and v.content.get("patient", {}).get("reference") == f"Patient/{CHUNG_ID}"
    )
    assert rita.get(f"/patients/{CHUNG_ID}").status_code == 200  # the summary shows every observation
    with TestClient(world.app) as audrey:
        sign_in(audrey, "audrey")
        seen = audrey.get(f"/patients/{CHUNG_ID}/access", params={"resource": f"Observation/{shown}"}).text
        assert f"Accesses that were shown Observation/{shown}" in seen and "<td>user/rita</td>" in seen
        versioned = f"Observation/{shown}/_history/1"
        assert "<td>user/rita</td>" in audrey.get(f"/patients/{CHUNG_ID}/access?resource={versioned}").text
        unseen = audrey.get(f"/patients/{CHUNG_ID}/access", params={"resource": f"Claim/{not_shown}"}).text
        assert "<td>user/rita</td>" not in unseen and "No recorded access." in unseen
        bad = audrey.get(f"/patients/{CHUNG_ID}/access", params={"resource": "<script>x</script>"})
        assert bad.status_code == 400 and "<script>x" not in bad.text
    assert rita.get(f"/patients/{CHUNG_ID}/access?resource=Observation/{shown}").status_code == 403


def test_the_per_resource_access_log_pages_and_keeps_its_filter(
    rita: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(access_log, "PAGE_SIZE", 1)
    shown = next(
        v.content["id"]
        for v in world.store.iter_current("Observation")
        if v.content and v.content.get("subject", {}).get("reference") == f"Patient/{CHUNG_ID}"
    )
    for _ in range(3):
        assert rita.get(f"/patients/{CHUNG_ID}").status_code == 200
    with TestClient(world.app) as audrey:
        sign_in(audrey, "audrey")
        first = audrey.get(f"/patients/{CHUNG_ID}/access", params={"resource": f"Observation/{shown}"}).text
        assert f'href="?page=2&amp;resource=Observation/{shown}"' in first and 'rel="prev"' not in first
        third = audrey.get(
            f"/patients/{CHUNG_ID}/access", params={"resource": f"Observation/{shown}", "page": 3}
        ).text
        assert "<td>user/rita</td>" in third and 'rel="prev"' in third
