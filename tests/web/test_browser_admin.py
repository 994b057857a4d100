"""Administration in a real browser (headless Chromium): create a user who works in Russian,
add a country code with its Russian label. Keyboard only where a user would type."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from liveserver import LiveServer
from sample import PASSWORD

from mineaction.services import organisations, users

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

VIEWPORT = {"width": 1360, "height": 860}


def sign_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the form, submitting it with the keyboard."""
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.press("#password", "Enter")
    page.wait_for_url(base + "/")


def shot(page: Page, folder: Path | None, name: str) -> None:
    """Save a screenshot when MINEACTION_SCREENSHOTS is set."""
    if folder is not None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def with_admin(live_server: LiveServer) -> LiveServer:
    """The live server with an administrator account."""
    users.add_user(
        live_server.store, "root", role="admin", password=PASSWORD, display_name="Anna Admin"
    )
    for code, name in (
        ("DRC", "Danish Refugee Council"),
        ("FSD", "Swiss Foundation for Mine Action"),
        ("HALO", "The HALO Trust"),
    ):
        organisations.create_organisation(live_server.store, code, name, kind="ngo", actor="root")
    return live_server


def test_admin_creates_a_user_who_signs_in_to_a_russian_interface(
    chromium_browser: Browser, with_admin: LiveServer, screenshot_dir: Path | None
) -> None:
    base = with_admin.url
    ctx = chromium_browser.new_context(viewport=VIEWPORT, locale="en-GB")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, base, "root")
    page.click("nav.main-nav >> text=Admin")
    page.wait_for_url(base + "/admin")
    shot(page, screenshot_dir, "admin")
    page.click("[data-testid=new-user]")
    page.wait_for_url(base + "/admin/users/new")
    # a first try with a missing organisation: the problem is shown at the field
    page.fill("#f-username", "olga")
    page.fill("#f-display_name", "Olga Smirnova")
    page.select_option("#f-role", "operator_qc")
    page.select_option("#f-locale", "ru")
    page.press("#f-display_name", "Enter")
    page.wait_for_selector("[data-testid=form-errors]")
    assert "needs an organisation" in page.inner_text("#err-organisation")
    assert page.evaluate("document.activeElement.id") == "form-errors"
    assert page.input_value("#f-username") == "olga"
    shot(page, screenshot_dir, "admin-user-errors")
    page.select_option("#f-organisation", "HALO")
    page.click("[data-testid=save-user]")
    secret = page.input_value("[data-testid=secret]")
    assert len(secret) >= 16
    page.click("text=Back to the user")
    page.wait_for_url(base + "/admin/users/olga")
    assert page.input_value("#f-locale") == "ru"
    assert page.input_value("#f-organisation") == "HALO"
    shot(page, screenshot_dir, "admin-user")
    ctx.close()
    # Olga's browser is English; her account says Russian.
    ctx = chromium_browser.new_context(viewport=VIEWPORT, locale="en-GB")
    page = ctx.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, base, "olga", secret)
    assert page.get_attribute("html", "lang") == "ru"
    assert "Сводка" in page.inner_text("h1")
    who = page.inner_text("[data-testid=user]")
    assert "Olga Smirnova" in who and "Контроль качества оператора" in who
    page.click("nav.main-nav >> text=Карта")
    page.wait_for_selector("#map[data-ready='1']")
    assert "Фильтры" in page.inner_text(".map-side")
    page.click("[data-testid=user] a")
    page.wait_for_url(base + "/profile")
    assert page.input_value("#f-locale") == "ru"
    shot(page, screenshot_dir, "profile-ru")
    # the language menu of the header changes her stored preference
    # the form posts and redirects back to /profile, the URL we are already on: wait for the
    # new page's language rather than the URL (wait_for_url would return before the post)
    page.select_option("#lang-select", "en")
    page.wait_for_selector("html[lang='en']", state="attached")
    assert page.url == base + "/profile"
    assert users.get_user(with_admin.store, "olga")["locale"] == "en"
    ctx.close()
    assert not errors, f"JavaScript errors: {errors}"


def test_admin_adds_a_country_code_with_a_russian_label(
    chromium_browser: Browser, with_admin: LiveServer, screenshot_dir: Path | None
) -> None:
    base = with_admin.url
    ctx = chromium_browser.new_context(viewport=VIEWPORT, locale="en-GB")
    page = ctx.new_page()
    sign_in(page, base, "root")
    page.goto(base + "/admin/codes")
    page.select_option("#f-list_name", "EOCategory")
    # only the base terms of the chosen list are offered
    offered = page.eval_on_selector_all(
        "#f-base_term optgroup option", "els => els.map(e => e.value)"
    )
    assert "AP_MINE" in offered and "CHA" not in offered
    page.fill("#f-code", "PFM_1")
    page.select_option("#f-base_term", "AP_MINE")
    page.fill("#f-label_en", "PFM-1 butterfly mine")
    page.fill("#f-label_ru", "ПФМ-1 «Лепесток»")
    page.click("[data-testid=add-code]")
    page.wait_for_selector("[data-testid=saved]")
    row = page.locator("[data-testid=codes-EOCategory] tr", has_text="PFM_1")
    assert "ПФМ-1 «Лепесток»" in row.inner_text() and "AP_MINE" in row.inner_text()
    # a Russian country label for the base term CHA, used on every Russian page
    page.click("[data-testid=codes-HazardClassification] >> text=CHA")
    page.wait_for_url(base + "/admin/codes/HazardClassification/CHA")
    page.fill("#f-label_ru", "Подтверждённый опасный район (национальный)")
    page.click("[data-testid=save-labels]")
    page.wait_for_selector("[data-testid=saved]")
    shot(page, screenshot_dir, "admin-codes")
    page.goto(base + "/hazards?lang=ru&class=CHA")
    assert "Подтверждённый опасный район (национальный)" in page.inner_text("main")
    page.goto(base + "/?lang=en")
    ctx.close()
