"""The web app in a real browser (headless Chromium): every map filter, the tile URL setting,
colours by class and status, keyboard-only review and approval with who approved what on the
hazard page, and laptop and tablet widths without sideways scrolling."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from liveserver import LiveServer
from sample import PASSWORD

from mineaction.store.settings import set_setting

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

LAPTOP = {"width": 1366, "height": 768}
#: tablet portrait and landscape (iPad-sized)
TABLETS = [{"width": 768, "height": 1024}, {"width": 1024, "height": 768}]


def sign_in(browser: Browser, base: str, viewport: dict[str, int]) -> Page:
    """A new context signed in as the IM officer, typing and submitting with the keyboard."""
    ctx = browser.new_context(viewport=viewport, locale="en-GB")  # type: ignore[arg-type]
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/login")
    page.fill("#username", "im")
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(base + "/")
    page.js_errors = errors  # type: ignore[attr-defined]
    return page


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> Iterator[LiveServer]:
    """The sample programme, with a tile URL served by the app itself (no internet)."""
    with live_server.store.write() as conn:
        set_setting(conn, "map_tile_url", "/static/favicon.svg?z={z}&x={x}&y={y}")
    yield live_server


def count(page: Page) -> int:
    """The number of hazards the map shows, once its request is answered."""
    page.wait_for_function("document.querySelector('#map').getAttribute('aria-busy') === 'false'")
    return int(page.get_attribute("#map", "data-count") or 0)


def server_count(page: Page, query: str) -> int:
    """The number of hazards the server gives for the map's current view and ``query``."""
    return int(
        page.evaluate(
            """async (query) => {
              const m = window.mineactionMap, b = m.getBounds();
              const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
                .map(v => v.toFixed(5)).join(",");
              const r = await fetch(`/map/hazards.json?bbox=${bbox}&zoom=${m.getZoom()}&${query}`);
              return (await r.json()).count; }""",
            query,
        )
    )


def test_every_map_filter_the_tile_url_and_colours(browser: Browser, server: LiveServer) -> None:
    page = sign_in(browser, server.url, LAPTOP)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server.url + "/map")
    page.wait_for_selector("#map[data-ready='1']")
    page.evaluate("void window.mineactionMap.setView([51.2, 35.35], 10, {animate: false})")
    page.wait_for_function("document.querySelector('#map').dataset.mode === 'points'")
    everything = count(page)
    assert everything == server_count(page, "") == 24
    until = (date.today() - timedelta(days=365)).isoformat()
    for selector, value, query in (
        ("#f-status", "closed", "status=closed"),
        ("#f-class", "SHA", "class=SHA"),
        ("#f-org", "HALO", "org=HALO"),
        ("#f-location", "RG1", "location=RG1"),
        ("#f-until", until, f"until={until}"),
    ):
        expected = server_count(page, query)
        assert 0 < expected < everything, query
        if selector == "#f-until":
            page.fill(selector, value)
            page.dispatch_event(selector, "change")
        else:
            page.select_option(selector, value)
        page.wait_for_function(
            f"Number(document.querySelector('#map').dataset.count) === {expected}"
        )
        assert any(query in u for u in requests if "/map/hazards.json" in u), query
        page.click("button[type=reset]")
        page.wait_for_function(
            f"Number(document.querySelector('#map').dataset.count) === {everything}"
        )
    # the optional tile layer is drawn from the configured URL (here served by the app)
    page.wait_for_function(
        "[...document.querySelectorAll('img.leaflet-tile')].some(i => i.complete)"
    )
    tiles = page.evaluate("[...document.querySelectorAll('img.leaflet-tile')].map(i => i.src)")
    assert tiles and all("/static/favicon.svg?z=10&" in src for src in tiles)
    # the offline basemap: admin boundaries and settlement names from our own data
    assert page.locator(".place-label", has_text="Sudzha town").count() == 1
    # hazards coloured by class, and by status (closed ones hollow and dashed)
    page.evaluate("void window.mineactionMap.setView([51.2, 35.35], 13, {animate: false})")
    page.wait_for_function("document.querySelector('#map').dataset.mode === 'polygons'")
    styles = page.evaluate(
        """() => { const out = [];
          window.mineactionMap.eachLayer(l => { const p = l.feature && l.feature.properties;
            if (p && p.part === 'hazard') out.push([p.cls, p.st, l.options.fillColor,
                                                    l.options.fillOpacity, l.options.dashArray]);
          }); return out; }"""
    )
    assert styles, "no hazard polygons drawn"
    by_class = {cls: fill for cls, _st, fill, _o, _d in styles}
    assert len(set(by_class.values())) == len(by_class)  # one colour per class
    for _cls, st, _fill, opacity, dash in styles:
        closed = st in ("closed", "handed_over")
        assert (dash is not None) == closed and (opacity < 0.1) == closed, (st, opacity, dash)
    page.context.close()
    assert not page.js_errors  # type: ignore[attr-defined]


def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until ``selector`` has the focus, and check the focus is visible."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"{selector} has the focus but no visible outline"
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def test_keyboard_only_review_approve_and_who_approved_what(
    browser: Browser, server: LiveServer
) -> None:
    base = server.url
    page = sign_in(browser, base, LAPTOP)
    # the skip link comes first and jumps over the navigation
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('skip')")
    tab_to(page, "nav.main-nav a[href='/review']")
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/review")
    tab_to(page, "a[href='/review/R-HZ-005-9']")
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/review/R-HZ-005-9")
    for step in ("verified", "ops_approved", "approved"):
        if step != "verified":
            page.goto(base + "/review/R-HZ-005-9")
        tab_to(page, "[data-testid=advance]")
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/review?{step}=R-HZ-005-9")
    # the hazard page says who took each approval step
    page.goto(base + "/hazards/HZ-005")
    row = page.locator("tr", has=page.locator("td", has_text="R-HZ-005-9"))
    trail = row.locator("[data-testid=trail]").inner_text()
    for label in ("Submitted", "Verified by operator QC", "Approved by operations", "Approved"):
        assert label in trail, trail
    assert trail.count("im") >= 3, trail
    assert "R-HZ-005-9" in page.inner_text("[data-testid=timeline]")
    # the reject form works from the keyboard too: type the reason, submit with Enter
    page.goto(base + "/review/R-NEW-1")
    tab_to(page, "#reason")
    page.keyboard.type("outside the district: please check the coordinates")
    tab_to(page, "form.reject button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/review?rejected=R-NEW-1")
    page.context.close()
    assert not page.js_errors  # type: ignore[attr-defined]


PAGES = [
    "/",
    "/map",
    "/hazards",
    "/hazards/HZ-003",
    "/review",
    "/import",
    "/reports?name=oslo-action-plan&period=2026",
    "/plans",
    "/profile",
]


@pytest.mark.parametrize("viewport", [LAPTOP, *TABLETS], ids=["laptop", "tablet", "tablet-wide"])
def test_pages_fit_laptop_and_tablet_widths(
    browser: Browser, server: LiveServer, viewport: dict[str, int]
) -> None:
    page = sign_in(browser, server.url, viewport)
    for path in PAGES:
        page.goto(server.url + path)
        page.wait_for_load_state("load")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{path} scrolls sideways: {width} px wide"
        # the navigation and the user's role and scope stay on the screen
        for sel in ("nav.main-nav", "[data-testid=user]"):
            box = page.locator(sel).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1, (
                path,
                sel,
                box,
            )
    page.context.close()
    assert not page.js_errors  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def browser(chromium_browser: Browser) -> Browser:
    """The shared headless Chromium."""
    return chromium_browser
