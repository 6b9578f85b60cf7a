"""The work-queue pages over HTTP (TestClient): overview counts, possible duplicates (review,
distinct, merge, enterprise record), coding (suggestions, typed codes, errors), DNFB, roles and
CSRF, on SQLite and PostgreSQL. Tests run in file order and share one world: the decisions of
earlier tests are what later ones check stays decided."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from chartkeeper.mpi.service import MpiService
from chartkeeper.security.caller import local_caller
from chartkeeper.security.ports import MemoryAuditSink

from .conftest import csrf_of, sign_in
from .queue_world import QueueWork, add_queue_work, codable_encounter
from .world import CHUNG_ID, World

OP = local_caller("test")


@pytest.fixture(scope="module")
def work(world: World) -> QueueWork:
    return add_queue_work(world)


def _client(work: QueueWork, username: str) -> Iterator[TestClient]:
    with TestClient(work.world.app, raise_server_exceptions=False) as client:
        yield sign_in(client, username)


@pytest.fixture
def rita(work: QueueWork) -> Iterator[TestClient]:
    """A clerk who also works the intake queue (clerk, integrator)."""
    yield from _client(work, "rita")


@pytest.fixture
def cora(work: QueueWork) -> Iterator[TestClient]:
    """A coder."""
    yield from _client(work, "cora")


def _mpi(work: QueueWork) -> MpiService:
    return MpiService(work.world.store, MemoryAuditSink())


def _pair_id(work: QueueWork, a: str, b: str) -> int:
    for item in _mpi(work).queue(OP, limit=1000):
        if (item.a, item.b) == (a, b):
            return item.pair_id
    raise AssertionError(f"{a},{b} is not queued")


def _open_pairs(work: QueueWork) -> set[tuple[str, str]]:
    return {(i.a, i.b) for i in _mpi(work).queue(OP, limit=1000)}


# -- overview and roles ----------------------------------------------------------------------------
def test_overview_lists_each_queue_of_the_person_with_its_count(
    work: QueueWork, rita: TestClient, cora: TestClient
) -> None:
    pairs = len(_open_pairs(work))
    assert pairs >= 6
    page = rita.get("/queues").text
    assert re.search(rf'href="/queues/duplicates">Possible duplicates</a></td><td>{pairs} pairs', page)
    assert "Intake quarantine" in page and "/queues/coding" not in page
    coder = cora.get("/queues")
    assert coder.status_code == 200
    assert re.search(r'href="/queues/coding">Coding</a></td><td>\d+ encounters to code', coder.text)
    assert 'href="/queues/dnfb"' in coder.text
    assert "Possible duplicates" not in coder.text and "quarantine-h" not in coder.text
    assert 'href="/queues">Work queues</a>' in coder.text  # the navigation shows the queues


def test_each_queue_page_checks_the_role(work: QueueWork, rita: TestClient, cora: TestClient) -> None:
    pair = _pair_id(work, *sorted(_open_pairs(work))[0])
    coder_only = ["/queues/coding", "/queues/dnfb", "/queues/coding/x"]
    duplicate_only = ["/queues/duplicates", f"/queues/duplicates/{pair}"]
    for user, refused in (("rory", ["/queues", *coder_only, *duplicate_only]), ("ada", ["/queues"])):
        with TestClient(work.world.app, raise_server_exceptions=False) as client:
            sign_in(client, user)
            for path in refused:
                page = client.get(path)
                assert page.status_code == 403 and "Not allowed" in page.text, (user, path)
            token = csrf_of(client.get("/patients" if user == "rory" else "/admin/users").text)
            post = client.post(
                f"/queues/duplicates/{pair}/decide",
                data={"csrf": token, "verdict": "distinct", "reason": "x"},
            )
            assert post.status_code == 403
    for path in coder_only:
        assert rita.get(path).status_code == 403
    for path in duplicate_only:
        assert cora.get(path).status_code == 403
    assert any(i.pair_id == pair for i in _mpi(work).queue(OP, 1000))  # nothing was decided


# -- possible duplicates ------------------------------------------------------------------------------
def test_duplicates_list_and_the_pair_side_by_side(work: QueueWork, rita: TestClient) -> None:
    a, b = work.hostile_pair
    pair = _pair_id(work, a, b)
    listing = rita.get("/queues/duplicates").text
    assert f'href="/queues/duplicates/{pair}"' in listing and "%" in listing
    assert "<script>window.__pwned" not in listing
    assert "Mallory Dup&lt;script&gt;window.__pwned=4&lt;/script&gt;&lt;b&gt;Bold&lt;/b&gt;" in listing
    page = rita.get(f"/queues/duplicates/{pair}").text
    assert "<script>window.__pwned" not in page and "<b>Bold" not in page
    assert f'href="/patients/{a}"' in page and f'href="/patients/{b}"' in page
    marks = {
        field: cls for cls, field in re.findall(r'<tr class="(differs|same)" data-field="([^"]+)"', page)
    }
    assert set(marks) == {"Name", "Birth date", "Sex", "Identifiers", "Address", "Phone, email"}
    assert marks["Name"] == "same" and marks["Identifiers"] == "differs"  # a new MRN on re-registration
    assert "≠ Differs" in page and "family name: exact match" in page
    assert "***-**-" in page  # social security numbers are masked
    assert rita.get("/queues/duplicates?page=abc").status_code == 400
    assert rita.get("/queues/duplicates?page=2").status_code == 404  # one page of pairs only
    assert rita.get("/queues/duplicates?page=99999999999999999999").status_code == 404
    assert rita.get("/queues/duplicates/999999").status_code == 404


def test_a_decision_needs_a_reason_and_merge_a_confirmation(work: QueueWork, rita: TestClient) -> None:
    pair = _pair_id(work, *work.hostile_pair)
    page = rita.get(f"/queues/duplicates/{pair}").text
    token = csrf_of(page)
    blank = rita.post(
        f"/queues/duplicates/{pair}/decide", data={"csrf": token, "verdict": "distinct", "reason": "  "}
    )
    assert blank.status_code == 400 and 'role="alert"' in blank.text and "Give the reason" in blank.text
    assert 'aria-invalid="true" aria-describedby="distinct-reason-error"' in blank.text
    unconfirmed = rita.post(
        f"/queues/duplicates/{pair}/decide", data={"csrf": token, "verdict": "merge", "reason": "same"}
    )
    assert unconfirmed.status_code == 400 and "Confirm the merge" in unconfirmed.text
    assert ">same</textarea>" in unconfirmed.text  # what was typed is kept
    forged = rita.post(
        f"/queues/duplicates/{pair}/decide", data={"csrf": "forged", "verdict": "distinct", "reason": "x"}
    )
    assert forged.status_code == 403
    assert work.hostile_pair in _open_pairs(work) and _mpi(work).decisions(OP) == []


def test_distinct_is_recorded_once_and_never_asked_again(work: QueueWork, rita: TestClient) -> None:
    a, b = sorted(p for p in _open_pairs(work) if p != work.hostile_pair)[0]
    pair = _pair_id(work, a, b)
    token = csrf_of(rita.get(f"/queues/duplicates/{pair}").text)
    reason = "different mothers' maiden names on the registration forms"
    done = rita.post(
        f"/queues/duplicates/{pair}/decide", data={"csrf": token, "verdict": "distinct", "reason": reason}
    )
    assert done.status_code == 200 and "are different people" in done.text
    assert (a, b) not in _open_pairs(work)
    assert f'href="/queues/duplicates/{pair}"' not in done.text
    decided = _mpi(work).decisions(OP, a, b)
    assert [(d["decision"], d["decided_by"], d["reason"]) for d in decided] == [
        ("distinct", "user/rita", reason)
    ]
    assert rita.get(f"/queues/duplicates/{pair}").status_code == 404
    again = rita.post(
        f"/queues/duplicates/{pair}/decide",
        data={"csrf": token, "verdict": "merge", "reason": "x", "confirm": "yes"},
    )
    assert again.status_code == 404 and len(_mpi(work).decisions(OP, a, b)) == 1
    _mpi(work).scan(OP)  # a new scan does not bring it back
    assert (a, b) not in _open_pairs(work)


def test_merge_links_the_charts_and_shows_the_enterprise_record(work: QueueWork, rita: TestClient) -> None:
    # an earlier decision of this test's own, so the log's order is checked whatever ran before
    earlier = _pair_id(work, *sorted(p for p in _open_pairs(work) if p != work.hostile_pair)[-1])
    rita.post(
        f"/queues/duplicates/{earlier}/decide",
        data={
            "csrf": csrf_of(rita.get(f"/queues/duplicates/{earlier}").text),
            "verdict": "distinct",
            "reason": "an earlier decision: twins",
        },
    )
    a, b = work.hostile_pair
    pair = _pair_id(work, a, b)
    token = csrf_of(rita.get(f"/queues/duplicates/{pair}").text)
    done = rita.post(
        f"/queues/duplicates/{pair}/decide",
        data={
            "csrf": token,
            "verdict": "merge",
            "reason": "same person, re-registered",
            "keep": b,
            "confirm": "yes",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/patients/{b}/golden"
    golden = rita.get(done.headers["location"]).text
    assert f"Merged Patient/{a} into Patient/{b}" in golden
    assert f'href="/patients/{a}"' in golden and f'href="/patients/{b}"' in golden
    assert "kept (active)" in golden and f"merged into Patient/{b}" in golden
    assert "<script>window.__pwned" not in golden
    source = work.world.store.read("Patient", a)
    assert {"other": {"reference": f"Patient/{b}"}, "type": "replaced-by"} in source["link"]
    assert work.hostile_pair not in _open_pairs(work)
    assert [d["decision"] for d in _mpi(work).decisions(OP, a, b)] == ["merge"]
    log = rita.get("/queues/duplicates/decisions").text
    assert log.index("same person, re-registered") < log.index("an earlier decision: twins")  # newest first
    assert "user/rita" in log and f'href="/patients/{a}/golden"' in log
    via_source = rita.get(f"/patients/{a}/golden").text  # from either record, the same person
    assert f"Patient/{a} was merged into Patient/{b}" in via_source
    assert rita.get("/patients/no-such-patient/golden").status_code == 404


# -- coding ------------------------------------------------------------------------------------------
def test_coding_queue_lists_encounters_with_patient_reason_and_age(work: QueueWork, cora: TestClient) -> None:
    encounter, _cond, _code = codable_encounter(work.world, CHUNG_ID)
    first = cora.get("/queues/coding")
    assert first.status_code == 200 and "needs-icd10cm" in first.text and " days</td>" in first.text
    found = re.search(r"Page 1 of (\d+)", first.text)
    pages = (
        [cora.get(f"/queues/coding?page={n}").text for n in range(1, int(found.group(1)) + 1)]
        if found
        else [first.text]
    )
    listed = "".join(pages)
    assert f'href="/queues/coding/{encounter}"' in listed
    assert f'href="/patients/{CHUNG_ID}">Chung Haley</a>' in listed


def test_typed_codes_are_checked_beside_their_field(work: QueueWork, cora: TestClient) -> None:
    encounter, condition, _code = codable_encounter(work.world, CHUNG_ID)
    before = work.world.store.read("Condition", condition)["meta"]["versionId"]
    page = cora.get(f"/queues/coding/{encounter}").text
    assert "needs-icd10cm" in page and "Suggested:" in page
    form = {"csrf": csrf_of(page), "conditions": f"Condition/{condition}", "choice0": "other"}
    unknown = cora.post(f"/queues/coding/{encounter}", data=form | {"code0": "Q99.999"})
    assert unknown.status_code == 400 and "does not exist" in unknown.text
    assert 'aria-invalid="true" aria-describedby="code0-error"' in unknown.text
    assert 'value="Q99.999"' in unknown.text  # the typed code stays in its field
    header = cora.post(f"/queues/coding/{encounter}", data=form | {"code0": "E11"})
    assert header.status_code == 400 and "not billable" in header.text
    empty = cora.post(f"/queues/coding/{encounter}", data=form | {"code0": ""})
    assert empty.status_code == 400 and "Type an ICD-10-CM code" in empty.text
    stale = cora.post(
        f"/queues/coding/{encounter}", data=form | {"conditions": "Condition/x", "code0": "E11.9"}
    )
    assert stale.status_code == 400 and "changed since the page was opened" in stale.text
    assert work.world.store.read("Condition", condition)["meta"]["versionId"] == before


def test_accepting_a_suggestion_writes_new_versions(work: QueueWork, cora: TestClient) -> None:
    encounter, condition, code = codable_encounter(work.world, CHUNG_ID)
    store = work.world.store
    cond_v = int(store.read("Condition", condition)["meta"]["versionId"])
    enc_v = int(store.read("Encounter", encounter)["meta"]["versionId"])
    page = cora.get(f"/queues/coding/{encounter}").text
    assert f'name="choice0" value="{code}" checked' in page  # the top suggestion is preselected
    form = {"csrf": csrf_of(page), "conditions": f"Condition/{condition}", "choice0": code, "code0": ""}
    done = cora.post(f"/queues/coding/{encounter}", data=form, follow_redirects=False)
    assert done.status_code == 303
    shown = cora.get(done.headers["location"]).text
    assert f"Encounter coded: {code}. New versions written of Condition/{condition}," in shown
    coded = store.read("Condition", condition)
    assert int(coded["meta"]["versionId"]) == cond_v + 1
    assert coded["code"]["coding"][0]["code"] == code
    assert coded["code"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icd-10-cm"
    enc = store.read("Encounter", encounter)
    assert int(enc["meta"]["versionId"]) == enc_v + 1
    assert enc["diagnosis"][-1]["condition"]["reference"] == f"Condition/{condition}"
    provenance = [v.content for v in store.iter_current("Provenance") if v.content]
    assert any(
        {"reference": f"Condition/{condition}"} in p["target"]
        and p["agent"][0]["who"]["identifier"]["value"] == "user/cora"
        for p in provenance
    )
    assert f"ICD-10-CM {code}" in shown and "Keep " + code in shown


def test_dnfb_report_with_age_and_reason(cora: TestClient) -> None:
    page = cora.get("/queues/dnfb?as_of=2030-01-01")
    assert page.status_code == 200 and "as of 2030-01-01" in page.text
    ages = [int(n) for n in re.findall(r'<td class="value">(\d+) days</td>', page.text)]
    assert ages and ages == sorted(ages, reverse=True)
    assert "needs-icd10cm" in page.text
    assert cora.get("/queues/dnfb?page=abc").status_code == 400
    assert cora.get("/queues/coding/no-such-encounter").status_code == 404
    bad = cora.get("/queues/dnfb?as_of=yesterday")
    assert bad.status_code == 400 and "is not a date" in bad.text
