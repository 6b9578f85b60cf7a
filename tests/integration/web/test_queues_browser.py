"""The work-queue pages end to end in headless Debian Chromium (Playwright), against a real
uvicorn serving the production app on SQLite: Chung Haley (Synthea), the hostile patient, and
60 registrations with 6 re-registrations scored by a real MPI scan.

One server for the module; each test gets a fresh browser context. Tests that decide pairs pick
different pairs, so their order does not matter. The review page's screenshot goes to a
temporary folder, or to docs/screenshots/ when CHARTKEEPER_SCREENSHOTS=1 (README shows it).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api.server import serving

from chartkeeper.mpi.service import MpiService
from chartkeeper.security.caller import local_caller
from chartkeeper.security.ports import MemoryAuditSink
from chartkeeper.store.repository import Store

from .browser_setup import ARGS, CHROMIUM, SCREENSHOTS
from .queue_world import HOSTILE_DUP_FAMILY, QueueWork, add_queue_work, codable_encounter
from .world import CHUNG_ID, PASSWORD, build
from conftest import SYNTHEA

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

OP = local_caller("test")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, QueueWork]]:
    tmp = tmp_path_factory.mktemp("queues-browser")
    store = Store.open(f"sqlite:///{tmp / 'e2e.db'}")
    store.init()
    try:
        work = add_queue_work(build(store, tmp, [next(SYNTHEA.glob("Chung_Haley_*.json"))]))
        with serving(work.world.app) as base:
            yield base, work
    finally:
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object, served: tuple[str, QueueWork]) -> Iterator[object]:
    context = browser.new_context(base_url=served[0], viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def work(served: tuple[str, QueueWork]) -> QueueWork:
    return served[1]


def sign_in(page: object, username: str) -> None:
    page.goto("/login")  # type: ignore[attr-defined]
    page.get_by_label("Username").fill(username)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]


def _mpi(work: QueueWork) -> MpiService:
    return MpiService(work.world.store, MemoryAuditSink())


def _open(work: QueueWork) -> dict[tuple[str, str], int]:
    return {(i.a, i.b): i.pair_id for i in _mpi(work).queue(OP, limit=1000)}


def _other_pairs(work: QueueWork) -> list[tuple[str, str]]:
    return sorted(p for p in _open(work) if p != work.hostile_pair)


def test_review_a_pair_and_merge_it_with_a_reason(page: object, work: QueueWork) -> None:
    expect = sync_api.expect
    a, b = _other_pairs(work)[-1]
    pair = _open(work)[(a, b)]
    sign_in(page, "carl")
    page.get_by_role("link", name="Work queues").click()  # type: ignore[attr-defined]
    page.get_by_role("link", name="Possible duplicates").click()  # type: ignore[attr-defined]
    page.get_by_role("link", name=f"Review pair {pair}", exact=True).click()  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", name=f"Review pair {pair}")).to_be_visible()  # type: ignore[attr-defined]
    table = page.locator("table.compare")  # type: ignore[attr-defined]
    expect(table.locator("tr[data-field=Identifiers] .mark-differs")).to_have_text("≠ Differs")
    expect(table.get_by_role("link")).to_have_count(2)  # both charts
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "duplicate-review.png"), full_page=True)  # type: ignore[attr-defined]
    merge = page.locator("form.decision", has=page.get_by_role("heading", name="The same person: merge"))  # type: ignore[attr-defined]
    merge.get_by_label(f"(Patient/{b})").check()
    merge.get_by_label("Reason for merging").fill("same SSN and birth date; second registration in the ED")
    merge.get_by_role("button", name="Merge the records").click()
    # the browser's own check stops an unconfirmed merge: nothing is sent
    expect(page.get_by_role("heading", name=f"Review pair {pair}")).to_be_visible()  # type: ignore[attr-defined]
    assert (a, b) in _open(work)
    merge.get_by_label("I have checked that these records are the same person").check()
    merge.get_by_role("button", name="Merge the records").click()
    expect(page.get_by_role("heading", name="Enterprise record")).to_be_visible()  # type: ignore[attr-defined]
    expect(page.get_by_role("status")).to_contain_text(f"Merged Patient/{a} into Patient/{b}")  # type: ignore[attr-defined]
    members = page.locator("table.members tbody tr")  # type: ignore[attr-defined]
    expect(members).to_have_count(2)
    expect(members.filter(has_text="kept (active)")).to_contain_text(f"Patient/{b}")
    assert (a, b) not in _open(work)
    link = work.world.store.read("Patient", a)["link"]
    assert {"other": {"reference": f"Patient/{b}"}, "type": "replaced-by"} in link
    page.goto("/queues/duplicates")  # type: ignore[attr-defined]
    expect(page.get_by_role("link", name=f"Review pair {pair}", exact=True)).to_have_count(0)  # type: ignore[attr-defined]
    members_link = page.goto(f"/queues/duplicates/{pair}")  # type: ignore[attr-defined]
    assert members_link.status == 404


def test_declare_a_pair_distinct(page: object, work: QueueWork) -> None:
    expect = sync_api.expect
    a, b = _other_pairs(work)[0]
    pair = _open(work)[(a, b)]
    sign_in(page, "rita")
    page.goto(f"/queues/duplicates/{pair}")  # type: ignore[attr-defined]
    page.get_by_label("Reason they are different people").fill("twins: different given names")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Record as different people").click()  # type: ignore[attr-defined]
    expect(page.get_by_role("status")).to_contain_text("are different people")  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", name="Possible duplicates")).to_be_visible()  # type: ignore[attr-defined]
    assert (a, b) not in _open(work)
    decided = _mpi(work).decisions(OP, a, b)
    assert [(d["decision"], d["decided_by"], d["reason"]) for d in decided] == [
        ("distinct", "user/rita", "twins: different given names")
    ]


def test_hostile_name_on_the_review_page_is_text_and_no_script_runs(page: object, work: QueueWork) -> None:
    expect = sync_api.expect
    pair = _open(work)[work.hostile_pair]
    sign_in(page, "rita")
    page.goto(f"/queues/duplicates/{pair}")  # type: ignore[attr-defined]
    names = page.locator("table.compare thead a.pair-name")  # type: ignore[attr-defined]
    expect(names.first).to_have_text(f"Mallory {HOSTILE_DUP_FAMILY}")
    assert page.locator("main script, table.compare b").count() == 0  # type: ignore[attr-defined]
    assert page.evaluate("window.__pwned") is None  # type: ignore[attr-defined]
    page.set_viewport_size({"width": 768, "height": 1024})  # type: ignore[attr-defined]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # type: ignore[attr-defined]
    page.keyboard.press("Tab")  # type: ignore[attr-defined]
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"  # type: ignore[attr-defined]


def test_accept_a_coding_suggestion(page: object, work: QueueWork) -> None:
    expect = sync_api.expect
    encounter, condition, code = codable_encounter(work.world, CHUNG_ID)
    store = work.world.store
    cond_v = int(store.read("Condition", condition)["meta"]["versionId"])
    enc_v = int(store.read("Encounter", encounter)["meta"]["versionId"])
    sign_in(page, "cora")
    page.get_by_role("link", name="Work queues").click()  # type: ignore[attr-defined]
    page.get_by_role("link", name="Coding", exact=True).click()  # type: ignore[attr-defined]
    page.locator(f'a[href="/queues/coding/{encounter}"]').click()  # type: ignore[attr-defined]
    suggestion = page.get_by_label(f"Suggested: {code}").first  # type: ignore[attr-defined]
    expect(suggestion).to_be_checked()
    suggestion.check()
    page.get_by_role("button", name="Save codes").click()  # type: ignore[attr-defined]
    expect(page.get_by_role("status")).to_contain_text(f"Encounter coded: {code}")  # type: ignore[attr-defined]
    expect(page.locator("section.dx").first).to_contain_text(f"ICD-10-CM {code}")  # type: ignore[attr-defined]
    coded = store.read("Condition", condition)
    assert int(coded["meta"]["versionId"]) == cond_v + 1 and coded["code"]["coding"][0]["code"] == code
    assert int(store.read("Encounter", encounter)["meta"]["versionId"]) == enc_v + 1


def test_typing_an_invalid_code_shows_the_error(page: object, work: QueueWork) -> None:
    expect = sync_api.expect
    encounter, condition, _code = codable_encounter(work.world, CHUNG_ID)
    before = work.world.store.read("Condition", condition)["meta"]["versionId"]
    sign_in(page, "cora")
    page.goto(f"/queues/coding/{encounter}")  # type: ignore[attr-defined]
    field = page.get_by_label("Type a code for diagnosis 1")  # type: ignore[attr-defined]
    field.fill("Q99.999")
    page.get_by_role("button", name="Save codes").click()  # type: ignore[attr-defined]
    expect(page.get_by_role("alert")).to_contain_text("Q99.999 does not exist")  # type: ignore[attr-defined]
    field = page.get_by_label("Type a code for diagnosis 1")  # type: ignore[attr-defined]
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value("Q99.999")
    expect(page.locator("#code0-error")).to_contain_text("does not exist")  # type: ignore[attr-defined]
    assert work.world.store.read("Condition", condition)["meta"]["versionId"] == before


def test_a_role_without_permission_gets_403(page: object, work: QueueWork) -> None:
    expect = sync_api.expect
    sign_in(page, "rory")
    expect(page.get_by_role("link", name="Work queues")).to_have_count(0)  # type: ignore[attr-defined]
    for path in ("/queues", "/queues/duplicates", "/queues/coding"):
        response = page.goto(path)  # type: ignore[attr-defined]
        assert response.status == 403
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()  # type: ignore[attr-defined]
