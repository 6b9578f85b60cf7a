"""Patient search and the access log over HTTP, on SQLite and PostgreSQL: typos, sound-alikes,
identifiers, birth date, sex, recently viewed, audit; auditors alone see who viewed a chart."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

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
