"""End to end in headless Debian Chromium (Playwright), against a real uvicorn serving the
production app on a SQLite database loaded with all of ../shared/data/synthea-r4.

One server and one browser for the module; each test gets a fresh browser context (cookies).
Screenshots of the search page and the chart go to a temporary folder, or to docs/screenshots/
when CHARTKEEPER_SCREENSHOTS=1 (so a test run never changes the checkout).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from api.server import serving

from chartkeeper.store.repository import Store

from .browser_setup import ARGS, CHROMIUM, SCREENSHOTS
from .world import HOSTILE_ID, NOTE_TEXT, PASSWORD, build
from conftest import SYNTHEA

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("browser")
    store = Store.open(f"sqlite:///{tmp / 'e2e.db'}")
    store.init()
    try:
        world = build(store, tmp, [p for p in SYNTHEA.glob("*.json") if p.name != "COUNTS.json"])
        with serving(world.app) as base:
            yield base
    finally:
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object, base_url: str) -> Iterator[object]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: object, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")  # type: ignore[attr-defined]
    page.get_by_label("Username").fill(username)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]


def test_search_misspelled_name_open_chart_note_queue_sign_out(page: object) -> None:
    expect = sync_api.expect
    sign_in(page, "rita")
    expect(page.get_by_role("heading", name="Find a patient")).to_be_visible()
    page.get_by_label("Name").fill("Chung Haely")  # Synthea's Chung Haley, misspelled
    page.get_by_role("button", name="Search").click()
    result = page.get_by_role("link", name="Chung Haley")
    expect(result).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "search.png"), full_page=False)
    result.click()
    expect(page.locator("#patient-name")).to_have_text("Chung Haley")
    problems = page.locator("section[aria-labelledby=problems] li")
    expect(problems.first).to_be_visible()
    expect(page.locator("section[aria-labelledby=medications] li").first).to_be_visible()
    latest = page.locator("table.results tbody tr").first  # the latest result: a value with its unit
    expect(latest.locator("td.value")).to_have_text(re.compile(r"^\d+(\.\d+)? \S+$"))
    expect(page.locator('svg.plot[data-code="4548-4"] polyline')).to_be_visible()  # the HbA1c trend
    page.screenshot(path=str(SCREENSHOTS / "chart.png"), full_page=True)
    sections = page.get_by_role("navigation", name="Chart sections")
    sections.get_by_role("link", name="Results").click()
    hba1c = page.locator("table.results tbody tr", has_text="Hemoglobin A1c").first
    expect(hba1c.locator("td.value")).to_have_text(re.compile(r"^\d+(\.\d+)? %$"))
    sections.get_by_role("link", name="Documents").click()
    expect(page.locator("pre.note", has_text=NOTE_TEXT)).to_be_visible()
    page.get_by_role("link", name="Patients").click()
    expect(page.locator("ul.recent").get_by_role("link", name="Chung Haley")).to_be_visible()
    page.get_by_role("link", name="Work queues").click()
    expect(page.get_by_role("heading", name="Intake quarantine")).to_be_visible()
    expect(page.locator("table tbody tr td a").first).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto("/patients")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_clerk_cannot_open_an_admin_page(page: object) -> None:
    sign_in(page, "carl")
    response = page.goto("/admin/users")
    assert response.status == 403
    sync_api.expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    sync_api.expect(page.get_by_role("link", name="Users")).to_have_count(0)


def test_wrong_password_shows_an_error_and_the_fifth_failure_locks(page: object) -> None:
    expect = sync_api.expect
    for _ in range(4):
        sign_in(page, "locky", "not the password")
        expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    sign_in(page, "locky", "not the password")
    expect(page.get_by_role("alert")).to_contain_text("locked")
    sign_in(page, "locky")
    expect(page.get_by_role("alert")).to_contain_text("locked")


def test_hostile_name_and_note_are_text_and_no_script_runs(page: object) -> None:
    expect = sync_api.expect
    sign_in(page, "rita")
    page.goto(f"/patients/{HOSTILE_ID}/documents")
    expect(page.locator("#patient-name")).to_have_text(
        "Mallory Evil<script>window.__pwned=1</script><b>Bold</b>"
    )
    expect(page.locator("pre.note")).to_contain_text('<img src=x onerror="window.__pwned=3"> <b>not bold</b>')
    assert page.locator("#patient-name b, pre.note b, pre.note img, main script").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_keyboard_and_tablet_width(page: object) -> None:
    sign_in(page, "rita")
    page.set_viewport_size({"width": 768, "height": 1024})
    page.goto(f"/patients/{HOSTILE_ID}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # a visible focus ring
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
