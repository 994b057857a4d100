"""In a real browser, a Russian user sees no English, also in what JavaScript and Leaflet draw."""

from __future__ import annotations

from typing import TYPE_CHECKING

from liveserver import LiveServer
from sample import PASSWORD
from test_russian_ui import english_in

from mineaction.services import users

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

#: the visible text of the page (text nodes shown on screen, titles, labels, placeholders),
#: without code values, text areas and what is marked English (lang="en")
VISIBLE_TEXT = """() => {
  const skip = "script, style, code, pre, textarea, [lang]:not([lang='ru'])";
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || el.closest(skip) || !el.getClientRects().length) continue;
    out.push(n.textContent.trim());
  }
  for (const el of document.querySelectorAll("[title], [aria-label], [placeholder], [alt]")) {
    if (el.closest(skip)) continue;
    for (const a of ["title", "aria-label", "placeholder", "alt"]) {
      if (el.getAttribute(a)) out.push(el.getAttribute(a));
    }
  }
  return out;
}"""


def _english(page: Page) -> list[str]:
    return [f"{w!r} in {t[:120]!r}" for t in page.evaluate(VISIBLE_TEXT) for w in english_in(t)[:1]]


def test_the_map_and_minimaps_speak_russian(
    chromium_browser: Browser, live_server: LiveServer
) -> None:
    users.add_user(live_server.store, "olga", role="im_officer", password=PASSWORD, locale="ru")
    ctx = chromium_browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + "/login")
    page.fill("#username", "olga")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    found: dict[str, list[str]] = {"/": _english(page)}
    # the map: its controls, status line and a hazard's popup (drawn by map.js and Leaflet)
    page.goto(live_server.url + "/map")
    page.wait_for_selector("#map[data-ready='1']")
    page.evaluate("window.mineactionMap.setView([51.1015, 35.2785], 15)")
    page.wait_for_selector("#map[data-mode='polygons']")
    page.evaluate(
        """() => {
          const map = window.mineactionMap;
          map.eachLayer(l => { if (l.feature && l.getPopup && l.getPopup()) { window._m = l; } });
          window._m.openPopup();
        }"""
    )
    page.locator(".leaflet-popup-content a").wait_for()
    assert page.get_attribute(".leaflet-control-zoom-in", "title") == "Приблизить"
    assert page.get_attribute(".leaflet-popup-close-button", "aria-label") != "Close popup"
    found["/map"] = _english(page)
    # a hazard and a report under review, each with its small map
    for path in ("/hazards/HZ-003", "/review/R-NEW-1"):
        page.goto(live_server.url + path)
        page.wait_for_selector("#minimap[data-ready='1']")
        assert page.get_attribute("#minimap .leaflet-control-zoom-out", "title") == "Отдалить"
        found[path] = _english(page)
    ctx.close()
    assert not errors, errors
    english = {path: words for path, words in found.items() if words}
    assert not english, english
