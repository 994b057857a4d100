"""The plan pages in headless Chromium: list, a plan with its Gantt chart and curves, accept."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from liveserver import LiveServer
from sample import PASSWORD
from sqlalchemy import func, select

from mineaction.services import planning as pl
from mineaction.store import schema as s

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

TEAMS = [
    {"id": "W-NTS", "asset": "nts"},
    {"id": "W-TS", "asset": "ts"},
    {"id": "W-MAN", "asset": "manual"},
]


def _signed_in_im(
    chromium_browser: Browser, live_server: LiveServer, *, height: int
) -> tuple[BrowserContext, Page, list[str]]:
    """Sign the IM officer in through the form; JavaScript errors are collected in the list."""
    ctx = chromium_browser.new_context(viewport={"width": 1360, "height": height}, locale="en-GB")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + "/login")
    page.fill("#username", "im")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    return ctx, page, errors


def test_plan_page_shows_gantt_and_accepts_once(
    chromium_browser: Browser, live_server: LiveServer, screenshot_dir: Path | None
) -> None:
    result = pl.run_plan(
        live_server.store, pl.PlanOptions(time_limit=0.5, bound=False), teams_rows=TEAMS
    )
    pid = result.plan_id
    ctx, page, errors = _signed_in_im(chromium_browser, live_server, height=860)
    page.click("nav.main-nav >> text=Plans")
    page.wait_for_url("**/plans")
    page.click(f"[data-testid=plans] >> text={pid}")
    page.wait_for_url(f"**/plans/{pid}")
    for img in ("gantt", "curves"):
        loc = page.locator(f"[data-testid={img}]")
        loc.scroll_into_view_if_needed()
        page.wait_for_function(
            f"document.querySelector('[data-testid={img}]').complete && "
            f"document.querySelector('[data-testid={img}]').naturalWidth > 400"
        )
    assert page.locator("[data-testid=plan-status]").inner_text() == "draft"
    assert page.locator("[data-testid=targets] tbody tr").count() >= 1
    if screenshot_dir is not None:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(screenshot_dir / "plan.png"), full_page=False)
    n_items = len(pl.get_plan(live_server.store, pid)["items"])
    page.click("[data-testid=accept]")
    page.wait_for_url(f"**/plans/{pid}?accepted=*")
    assert f"{n_items} tasks created" in page.locator("[data-testid=accepted]").inner_text()
    assert page.locator("[data-testid=plan-status]").inner_text() == "accepted"
    assert page.locator("[data-testid=accept]").count() == 0  # no second accept
    with live_server.store.read() as conn:
        made = conn.execute(
            select(func.count()).select_from(s.task).where(s.task.c.plan_id == pid)
        ).scalar_one()
    assert made == n_items
    page.goto(live_server.url + f"/plans/{pid}?lang=ru")
    assert page.locator("h1").inner_text().startswith("План")
    assert page.locator("text=Диаграмма Ганта").count() >= 1
    ctx.close()
    assert not errors, errors


def test_plan_run_form_shows_progress_then_the_plan_with_its_forecast(
    chromium_browser: Browser, live_server: LiveServer, screenshot_dir: Path | None
) -> None:
    ctx, page, errors = _signed_in_im(chromium_browser, live_server, height=900)
    page.goto(live_server.url + "/plans")
    page.fill("#r-time", "4")  # long enough to see the progress page
    page.fill("#r-btime", "2")
    page.fill("#r-samples", "3")
    page.fill("#r-deadline", "2040-12-31")
    page.click("text=Teams and calendars (YAML, optional)")
    page.fill("#r-teams", "\n".join(f"- {{id: {t['id']}, asset: {t['asset']}}}" for t in TEAMS))
    page.click("[data-testid=run-plan]")
    page.wait_for_url("**/plans/runs/*")
    assert page.locator("[data-testid=run-progress]").count() == 1
    page.wait_for_function(  # the page polls: the progress bar moves without a reload
        "Number(document.querySelector('[data-testid=run-progress]').value) > 0.1"
    )
    if screenshot_dir is not None:
        page.screenshot(path=str(screenshot_dir / "plan-run.png"), full_page=False)
    page.wait_for_url("**/plans/P*?run=*", timeout=180_000)
    fc = page.locator("[data-testid=plan-forecast]")
    assert fc.count() == 1
    assert "2040-12-31" in page.locator("[data-testid=p-deadline]").inner_text()
    assert page.locator("[data-testid=marginal] tbody tr").count() == 3
    assert page.locator("[data-testid=forecast-table] tbody tr").count() >= 2
    if screenshot_dir is not None:
        fc.screenshot(path=str(screenshot_dir / "plan-forecast.png"))
    ctx.close()
    assert not errors, errors
