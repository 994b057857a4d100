"""The map's activity and EO layers in a real browser: popups linking to the record, filters,
and a national-like density (tens of thousands of finds) that stays grouped and responsive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import dense
import pytest
from liveserver import LiveServer, serve
from sample import PASSWORD

from mineaction.services import mapdata, users
from mineaction.store.engine import open_store

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

VIEWPORT = {"width": 1360, "height": 860}
#: Records long main-thread tasks (a frozen page shows up as one long task).
LONG_TASKS = """
window.longTasks = [];
new PerformanceObserver(list => list.getEntries().forEach(e => window.longTasks.push(e.duration)))
  .observe({type: "longtask", buffered: true});
"""


def open_map(browser: Browser, base: str, username: str) -> tuple[Page, list[str]]:
    """Sign in and open the map; return the page and its JavaScript errors."""
    ctx = browser.new_context(viewport=VIEWPORT, locale="en-GB")
    ctx.add_init_script(LONG_TASKS)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(base + "/")
    page.goto(base + "/map")
    page.wait_for_selector("#map[data-ready='1']")
    return page, errors


def data(page: Page, key: str) -> str:
    """Return a ``data-*`` value of the map element."""
    return page.get_attribute("#map", f"data-{key}") or ""


def test_activities_and_finds_with_popups_and_filters(
    chromium_browser: Browser, live_server: LiveServer
) -> None:
    base = live_server.url
    page, errors = open_map(chromium_browser, base, "im")
    page.check("#l-activities")
    page.check("#l-finds")
    page.evaluate("void window.mineactionMap.setView([51.125, 35.27], 13, {animate: false})")
    page.wait_for_function("document.querySelector('#map').dataset.activitiesMode === 'polygons'")
    page.wait_for_function("Number(document.querySelector('#map').dataset.activities) > 0")
    page.wait_for_function("Number(document.querySelector('#map').dataset.finds) > 0")
    # the activities of the whole area, then only the non-technical surveys
    page.evaluate("void window.mineactionMap.setView([51.2, 35.4], 11, {animate: false})")
    page.wait_for_function("document.querySelector('#map').dataset.activitiesMode === 'points'")
    page.wait_for_timeout(400)
    everything = int(data(page, "activities"))
    page.select_option("#f-atype", "NTS")
    page.wait_for_function(
        f"Number(document.querySelector('#map').dataset.activities) < {everything}"
    )
    nts = int(data(page, "activities"))
    assert 0 < nts < everything
    # an EO find's popup: category and date in words of the page's language
    page.wait_for_function("Number(document.querySelector('#map').dataset.finds) > 0")
    page.evaluate(
        """() => { let found = null;
          window.mineactionMap.eachLayer(l => { if (!found && l.options && l.options.pane === 'finds'
                                 && l.getPopup && l.getPopup()) found = l; });
          found.openPopup(); }"""
    )
    find = page.locator(".leaflet-popup-content")
    find.wait_for()
    text = find.inner_text()
    assert "Anti-personnel mine" in text or "Unexploded ordnance" in text, text
    assert any(
        m in text
        for m in (
            "Jan",
            "Feb",
            "Mar",
            "Apr",
            "May",
            "Jun",
            "Jul",
            "Aug",
            "Sep",
            "Oct",
            "Nov",
            "Dec",
        )
    ), text
    page.keyboard.press("Escape")
    page.evaluate("window.mineactionMap.closePopup()")
    page.wait_for_function("document.querySelectorAll('.leaflet-popup').length === 0")
    # an activity's popup links to its report on the hazard page
    page.evaluate(
        """() => { const map = window.mineactionMap; let found = null;
          map.eachLayer(l => { if (!found && l.feature && l.feature.properties.kind === 'activity'
                                 && l.getPopup && l.getPopup()) found = l; });
          found.openPopup(); }"""
    )
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "Non-technical survey" in popup.inner_text()
    popup.locator("a").click()
    page.wait_for_url("**/hazards/HZ-*#report-R-HZ-*")
    target = page.url.split("#", 1)[1]
    assert page.locator(f"[data-testid=timeline] tr#{target}").count() == 1
    page.context.close()
    assert not errors, errors


@pytest.fixture(scope="module")
def dense_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The web app on a dense synthetic programme (4,000 hazards, 8,000 activities, 30,000 finds)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('dense')}/dense.db"
    store = open_store(url, create=True)
    dense.build(store)
    users.add_user(store, "im", role="im_officer", password=PASSWORD)
    try:
        for base in serve(url):
            yield LiveServer(base, store, url)
    finally:
        store.dispose()


def test_dense_activity_and_eo_layers_stay_grouped_and_responsive(
    chromium_browser: Browser, dense_server: LiveServer, screenshot_dir: Path | None
) -> None:
    page, errors = open_map(chromium_browser, dense_server.url, "im")
    page.check("#l-activities")
    page.check("#l-finds")
    page.wait_for_function("document.querySelector('#map').dataset.findsDrawn > 0")
    page.wait_for_function("document.querySelector('#map').dataset.activitiesDrawn > 0")
    # the whole area: 30,000 finds and 8,000 activities arrive as a few hundred clusters
    assert int(data(page, "finds")) == 30_000 and data(page, "finds-mode") == "clusters"
    assert int(data(page, "activities")) == 8_000 and data(page, "activities-mode") == "clusters"
    assert int(data(page, "finds-drawn")) < 1_000 and int(data(page, "activities-drawn")) < 1_000
    if screenshot_dir is not None:
        page.screenshot(path=str(screenshot_dir / "map-overlays-clusters.png"))
    # a district up close: finds as points, activities as their work areas; never all of them
    page.evaluate("void window.mineactionMap.setView([51.2, 35.35], 13, {animate: false})")
    page.wait_for_function("document.querySelector('#map').dataset.activitiesMode === 'polygons'")
    page.wait_for_function("document.querySelector('#map').dataset.findsMode === 'points'")
    drawn = int(data(page, "finds-drawn"))
    if screenshot_dir is not None:
        page.wait_for_timeout(300)
        page.screenshot(path=str(screenshot_dir / "map-overlays.png"))
    assert 0 < drawn <= mapdata.MAX_OVERLAY_POINTS
    # the page answered throughout: no main-thread task anywhere near a freeze
    longest = page.evaluate("Math.max(0, ...window.longTasks)")
    print(f"longest main-thread task: {longest:.0f} ms, {drawn} finds drawn at zoom 13")
    assert longest < 3_000, f"the page froze for {longest:.0f} ms"
    page.context.close()
    assert not errors, errors
