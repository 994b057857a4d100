"""The web pages in a real browser (headless Chromium): sign in, map, hazard, review, language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from liveserver import LiveServer
from sample import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

VIEWPORT = {"width": 1360, "height": 860}


def sign_in(page: Page, base: str, username: str) -> None:
    """Sign in through the form (the dashboard redirects to it)."""
    page.goto(base + "/")
    page.wait_for_url("**/login**")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


@pytest.fixture(scope="module")
def im_context(chromium_browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    """A browser context signed in as the IM officer (signed in once for the module)."""
    ctx = chromium_browser.new_context(viewport=VIEWPORT, locale="en-GB")
    page = ctx.new_page()
    sign_in(page, live_server.url, "im")
    page.close()
    yield ctx
    ctx.close()


@pytest.fixture
def page(im_context: BrowserContext) -> Iterator[Page]:
    """A fresh tab of the IM officer, failing the test on any JavaScript error."""
    p = im_context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    yield p
    p.close()
    assert not errors, f"JavaScript errors: {errors}"


def shot(page: Page, folder: Path | None, name: str, *, full: bool = True) -> None:
    """Save a screenshot when MINEACTION_SCREENSHOTS is set."""
    if folder is not None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=full)


def test_sign_in_shows_user_role_and_scope_then_sign_out(
    chromium_browser: Browser, live_server: LiveServer, screenshot_dir: Path | None
) -> None:
    ctx = chromium_browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    page.goto(live_server.url + "/map")
    page.wait_for_url("**/login?next=/map")
    shot(page, screenshot_dir, "login")
    page.fill("#username", "viewer")
    page.fill("#password", "wrong password")
    page.click("button[type=submit]")
    assert "Wrong user name or password" in page.inner_text("[role=alert]")
    page.fill("#username", "viewer")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/map")
    who = page.inner_text("[data-testid=user]")
    assert "Victor Orlov" in who and "Viewer" in who and "FSD" in who
    # A viewer has no review inbox.
    assert page.locator("nav.main-nav >> text=Review").count() == 0
    page.click("text=Sign out")
    page.wait_for_url("**/login")
    page.goto(live_server.url + "/")
    page.wait_for_url("**/login**")
    ctx.close()


def test_map_points_then_polygons_popup_and_link(
    page: Page, live_server: LiveServer, screenshot_dir: Path | None
) -> None:
    page.goto(live_server.url + "/map")
    page.wait_for_selector("#map[data-ready='1']")
    assert page.get_attribute("#map", "data-mode") in ("points", "clusters")
    assert int(page.get_attribute("#map", "data-count") or 0) >= 24
    shot(page, screenshot_dir, "map", full=False)
    # Zoom onto one hazard: outlines with remaining and released parts are drawn.
    page.evaluate("window.mineactionMap.setView([51.1015, 35.2785], 15)")
    page.wait_for_selector("#map[data-mode='polygons']")
    page.wait_for_timeout(300)
    shot(page, screenshot_dir, "map-detail", full=False)
    # Filter by classification: the server answers with fewer hazards.
    page.evaluate("window.mineactionMap.setView([51.2, 35.4], 10)")
    page.wait_for_function("document.querySelector('#map').dataset.mode === 'points'")
    before = int(page.get_attribute("#map", "data-count") or 0)
    page.select_option("#f-class", "SHA")
    page.wait_for_function(f"Number(document.querySelector('#map').dataset.count) < {before}")
    page.select_option("#f-class", "")
    page.wait_for_function(
        f"Number(document.querySelector('#map').dataset.count) === {before} && "
        "document.querySelector('#map').getAttribute('aria-busy') === 'false'"
    )
    # Open a hazard from its popup.
    page.evaluate(
        """() => {
          const map = window.mineactionMap;
          map.eachLayer(l => { if (l.getPopup && l.feature === undefined && l.getLatLng && l.getPopup()) { window._m = l; } });
          window._m.openPopup();
        }"""
    )
    link = page.locator(".leaflet-popup-content a")
    link.wait_for()
    link.click()
    page.wait_for_url("**/hazards/**")
    assert page.locator("[data-testid=timeline] tbody tr").count() >= 1


def test_hazard_page_explains_the_remaining_area(
    page: Page, live_server: LiveServer, screenshot_dir: Path | None
) -> None:
    page.goto(live_server.url + "/hazards/HZ-003")
    page.wait_for_selector("#minimap[data-ready='1']")
    timeline = page.inner_text("[data-testid=timeline]")
    assert "R-HZ-003-1" in timeline and "R-HZ-003-3" in timeline
    assert "Worked on" in page.inner_text("[data-testid=hazard-status]")
    assert "im" in page.inner_text("text=Reports and approvals >> xpath=..")
    shot(page, screenshot_dir, "hazard")


def test_approve_in_the_inbox_changes_the_dashboard(
    page: Page, live_server: LiveServer, screenshot_dir: Path | None
) -> None:
    base = live_server.url
    page.goto(base + "/")
    pending = int(page.inner_text("[data-testid=pending]"))
    reduced_before = page.inner_text("text=Reduced >> xpath=../..")
    shot(page, screenshot_dir, "dashboard")
    page.click("nav.main-nav >> text=Review")
    page.wait_for_url(base + "/review")
    page.click("text=R-HZ-005-9")
    page.wait_for_selector("#minimap[data-ready='1']")
    effect = page.inner_text("[data-testid=effect]")
    assert "Reduced" in effect and "Worked on" in effect
    shot(page, screenshot_dir, "review")
    # The default chain: operator QC verifies, operations approve, the IM officer approves.
    for step in ("verified", "ops_approved", "approved"):
        if step != "verified":
            page.goto(base + "/review/R-HZ-005-9")
        page.click("[data-testid=advance]")
        page.wait_for_url(f"**/review?{step}=R-HZ-005-9")
    assert "R-HZ-005-9" not in page.inner_text("[data-testid=inbox]")
    page.goto(base + "/")
    assert int(page.inner_text("[data-testid=pending]")) == pending - 1
    assert page.inner_text("text=Reduced >> xpath=../..") != reduced_before
    # Reject the other one with a reason.
    page.goto(base + "/review/R-NEW-1")
    page.fill("#reason", "polygon crosses the river: please resurvey")
    page.click("button:has-text('Reject')")
    page.wait_for_url("**/review?rejected=R-NEW-1")
    assert "Nothing to review" in page.inner_text("[data-testid=inbox]")


def test_russian_interface(
    page: Page, live_server: LiveServer, screenshot_dir: Path | None
) -> None:
    page.goto(live_server.url + "/?lang=ru")
    assert page.get_attribute("html", "lang") == "ru"
    assert "Сводка" in page.inner_text("h1")
    assert "км²" in page.inner_text(".figures") or "га" in page.inner_text(".figures")
    shot(page, screenshot_dir, "dashboard-ru")
    page.goto(live_server.url + "/map")  # the language sticks (cookie)
    page.wait_for_selector("#map[data-ready='1']")
    assert "Фильтры" in page.inner_text(".map-side")
    page.goto(live_server.url + "/?lang=en")


def test_upload_a_file_with_errors_see_them_and_confirm(
    page: Page, live_server: LiveServer, screenshot_dir: Path | None
) -> None:
    fixture = Path(__file__).parents[1] / "fixtures" / "odk_central" / "ma_hazard.odata.json"
    page.goto(live_server.url + "/import")
    page.set_input_files("#file", str(fixture))
    page.fill("#organisation", "FSD")
    page.click("button:has-text('Check the file')")
    page.wait_for_selector("[data-testid=records]")
    assert page.inner_text("[data-testid=new]") == "3"
    assert page.inner_text("[data-testid=rejected]") == "1"
    problems = page.inner_text("[data-testid=records]")
    assert "hazard_id" in problems and "required answer is missing" in problems
    shot(page, screenshot_dir, "import")
    page.click("[data-testid=confirm]")
    page.wait_for_selector("text=waiting in the review inbox")
    page.goto(live_server.url + "/review")
    # (other tests of the module may have emptied the inbox or not: count the imported ones)
    assert page.locator("[data-testid=inbox] tbody tr", has_text="FSD:").count() == 3
