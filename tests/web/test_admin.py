"""Administration forms without a browser: CSRF, validation shown at the field, audited writes,
secrets shown once, per-account language used on every page."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import pytest
from sample import PASSWORD

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from mineaction.services import organisations, users
from mineaction.store.engine import Store
from mineaction.web.app import create_app

HTML = {"accept": "text/html"}
users._hasher = users.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; return the session's CSRF token."""
    r = client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=False
    )
    assert r.status_code == 303, r.text[:300]
    return csrf_of(client.get("/profile", headers=HTML).text)


def csrf_of(html: str) -> str:
    """Return the CSRF token of a page's forms."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def version_of(html: str) -> str:
    """Return the version a page's edit form was based on."""
    found = re.search(r'name="version" value="([^"]+)"', html)
    assert found, "no version in the form"
    return found.group(1)


def field_errors(html: str) -> dict[str, str]:
    """Return the messages shown at the fields of a form, by field name."""
    return dict(re.findall(r'<p class="field-error" id="err-([\w-]+)">([^<]+)</p>', html))


@pytest.fixture(scope="module")
def app_url(sample_db: tuple[str, Store]) -> str:
    """The sample programme with an administrator."""
    url, store = sample_db
    users.add_user(store, "root", role="admin", password=PASSWORD, display_name="Root Admin")
    return url


@pytest.fixture
def admin(app_url: str) -> Iterator[tuple[TestClient, str]]:
    """A browser-like client signed in as the administrator, and its CSRF token."""
    with TestClient(create_app(app_url)) as c:
        yield c, sign_in(c, "root")


def test_admin_creates_a_russian_speaking_user_who_then_sees_russian(
    admin: tuple[TestClient, str], app_url: str, sample_db: tuple[str, Store]
) -> None:
    client, csrf = admin
    # problems are shown at their fields, with the values typed, and nothing is written
    r = client.post(
        "/admin/users",
        data={"csrf_token": csrf, "username": "bad name", "role": "operator_entry"},
        headers=HTML,
    )
    assert r.status_code == 400 and 'value="bad name"' in r.text
    assert "invalid user name" in r.text and 'data-testid="form-errors"' in r.text
    r = client.post(
        "/admin/users",
        data={"csrf_token": csrf, "username": "olga", "role": "operator_entry"},
        headers=HTML,
    )
    assert r.status_code == 400 and "needs an organisation" in field_errors(r.text)["organisation"]
    assert "olga" not in {u["username"] for u in users.list_users(sample_db[1])}
    # without the CSRF token the form is refused
    r = client.post("/admin/users", data={"username": "olga", "role": "viewer"}, headers=HTML)
    assert r.status_code == 403
    # created with Russian as her language; the generated password is shown once
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "username": "olga",
            "display_name": "Olga Smirnova",
            "role": "operator_qc",
            "organisation": "HALO",
            "admin_area": "RG1",
            "locale": "ru",
        },
        headers=HTML,
    )
    assert r.status_code == 200
    secret = re.search(r'id="secret" class="secret" value="([^"]+)"', r.text)
    assert secret
    account = users.get_user(sample_db[1], "olga")
    assert (account["locale"], account["organisation"], account["admin_area"]) == (
        "ru",
        "HALO",
        "RG1",
    )
    assert users.list_audit(sample_db[1], entity="user", action="create")[0]["actor"] == "root"
    # she signs in with an English browser and gets Russian pages, dates and numbers
    with TestClient(create_app(app_url)) as olga:
        olga.headers["accept-language"] = "en-GB,en;q=0.9"
        sign_in(olga, "olga", secret.group(1))
        page = olga.get("/", headers=HTML)
        assert '<html lang="ru">' in page.text and "Сводка" in page.text
        profile = olga.get("/profile", headers=HTML).text
        formats = profile.split('data-testid="formats"')[1].split("</dl>")[0]
        assert "2,50\xa0км²" in formats and "1\xa0234\xa0567,5" in formats, formats
        # "follow the browser" falls back to Accept-Language
        r = olga.post(
            "/profile", data={"csrf_token": csrf_of(profile), "locale": ""}, follow_redirects=False
        )
        assert r.status_code == 303
        assert '<html lang="en">' in olga.get("/", headers=HTML).text
        assert users.get_user(sample_db[1], "olga")["locale"] is None


def test_edit_roles_scopes_state_passwords_and_tokens(
    admin: tuple[TestClient, str], sample_db: tuple[str, Store], app_url: str
) -> None:
    client, csrf = admin
    store = sample_db[1]
    before = users.get_user(store, "viewer")
    page = client.get("/admin/users/viewer", headers=HTML)
    assert page.status_code == 200 and 'name="version"' in page.text
    form = {
        "csrf_token": csrf,
        "version": str(before["version"]),
        "display_name": "Victor Orlov",
        "role": "viewer",
        "organisation": "",
        "admin_area": "RG2",
        "locale": "en",
    }
    r = client.post("/admin/users/viewer", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/users/viewer?saved=1"
    after = users.get_user(store, "viewer")
    assert (after["organisation"], after["admin_area"], after["locale"]) == (None, "RG2", "en")
    # the same (now stale) form again: refused, nothing lost
    r = client.post("/admin/users/viewer", data={**form, "admin_area": "RG1"}, headers=HTML)
    assert r.status_code == 412 and "Someone else changed this record" in r.text
    assert version_of(r.text) == form["version"]  # the same form is refused again
    assert users.get_user(store, "viewer")["admin_area"] == "RG2"
    # an unknown admin area is named at its field
    fresh = {**form, "version": str(after["version"]), "admin_area": "XX99"}
    r = client.post("/admin/users/viewer", data=fresh, headers=HTML)
    assert r.status_code == 400 and "P-code" in field_errors(r.text)["admin_area"]
    # a new password is shown once and works; the old one no longer does
    r = client.post("/admin/users/viewer/password", data={"csrf_token": csrf}, headers=HTML)
    new_password = re.search(r'id="secret" class="secret" value="([^"]+)"', r.text)
    assert r.status_code == 200 and new_password
    assert users.authenticate_password(store, "viewer", new_password.group(1))
    # an API token is shown once and works; revoking it stops it
    r = client.post(
        "/admin/users/viewer/tokens",
        data={"csrf_token": csrf, "name": "QGIS", "days": "30"},
        headers=HTML,
    )
    token = re.search(r'id="secret" class="secret" value="(ma_[^"]+)"', r.text)
    assert token
    with TestClient(create_app(app_url)) as api:
        me = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token.group(1)}"})
        assert me.json()["username"] == "viewer"
        token_id = token.group(1).split("_")[1]
        assert token_id in client.get("/admin/users/viewer", headers=HTML).text
        r = client.post(
            "/admin/users/viewer/tokens/revoke",
            data={"csrf_token": csrf, "token_id": token_id},
            follow_redirects=False,
        )
        assert r.status_code == 303
    # (a server caches token look-ups for 10 s; a fresh one refuses the token at once)
    with TestClient(create_app(app_url)) as api:
        gone = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token.group(1)}"})
        assert gone.status_code == 401
    bad = client.post(
        "/admin/users/viewer/tokens", data={"csrf_token": csrf, "days": "forever"}, headers=HTML
    )
    assert bad.status_code == 400 and "days" in field_errors(bad.text)
    # disable and enable; an administrator cannot disable themselves
    r = client.post(
        "/admin/users/viewer/disable", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303 and users.get_user(store, "viewer")["disabled"]
    client.post("/admin/users/viewer/enable", data={"csrf_token": csrf})
    assert not users.get_user(store, "viewer")["disabled"]
    r = client.post("/admin/users/root/disable", data={"csrf_token": csrf}, headers=HTML)
    assert r.status_code == 409 and "your own account" in r.text
    actions = [a["action"] for a in users.list_audit(store, entity="user", limit=20)]
    assert {"update", "set_password"} <= set(actions)


def test_organisations_are_registered_and_edited(
    admin: tuple[TestClient, str], sample_db: tuple[str, Store]
) -> None:
    client, csrf = admin
    r = client.post(
        "/admin/organisations",
        data={"csrf_token": csrf, "code": "N MAC", "name": "", "kind": "club"},
        headers=HTML,
    )
    assert r.status_code == 400 and set(field_errors(r.text)) == {"code", "name", "kind"}
    form = {"csrf_token": csrf, "code": "NMAC", "name": "National MAC", "kind": "authority"}
    r = client.post("/admin/organisations", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert client.post("/admin/organisations", data=form, headers=HTML).status_code == 409
    version = version_of(client.get("/admin/organisations/NMAC", headers=HTML).text)
    r = client.post(
        "/admin/organisations/NMAC",
        data={**form, "version": version, "name": "National Mine Action Centre", "country": "RU"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    overview = client.get("/admin", headers=HTML).text
    assert "National Mine Action Centre" in overview and "National authority" in overview
    audit = users.list_audit(sample_db[1], entity="organisation")
    assert [a["action"] for a in audit] == ["update", "create"]
    assert audit[0]["details"]["name"]["to"] == "National Mine Action Centre"


def test_organisation_saved_by_someone_else_meanwhile_is_not_overwritten(
    admin: tuple[TestClient, str], app_url: str, sample_db: tuple[str, Store]
) -> None:
    client, csrf = admin
    store = sample_db[1]
    form = {"csrf_token": csrf, "code": "QA1", "name": "QA body", "kind": "qa"}
    assert client.post("/admin/organisations", data=form, follow_redirects=False).is_redirect
    # two administrators open the same form
    with TestClient(create_app(app_url)) as other:
        other_csrf = sign_in(other, "root")
        mine = version_of(client.get("/admin/organisations/QA1", headers=HTML).text)
        theirs = version_of(other.get("/admin/organisations/QA1", headers=HTML).text)
        assert mine == theirs
        r = other.post(
            "/admin/organisations/QA1",
            data={**form, "csrf_token": other_csrf, "version": theirs, "country": "RU"},
            follow_redirects=False,
        )
        assert r.status_code == 303
    # the second save, based on the old version, is refused with a clear message
    r = client.post(
        "/admin/organisations/QA1",
        data={**form, "version": mine, "name": "Quality assurance"},
        headers=HTML,
    )
    assert r.status_code == 412
    assert "Someone else changed this record" in r.text and "Reload the page" in r.text
    assert 'value="Quality assurance"' in r.text  # what was typed is kept to copy
    assert version_of(r.text) == mine  # saving the same form again is refused again
    saved = organisations.get_organisation(store, "QA1")
    assert (saved["name"], saved["country"]) == ("QA body", "RU")
    # a form without a version is refused too (nothing is saved blindly)
    r = client.post("/admin/organisations/QA1", data={**form, "name": "Blind"}, headers=HTML)
    assert r.status_code == 400 and "reload" in r.text
    # after a reload the change is made on top of the other one
    fresh = version_of(client.get("/admin/organisations/QA1", headers=HTML).text)
    assert fresh != mine
    r = client.post(
        "/admin/organisations/QA1",
        data={**form, "version": fresh, "name": "Quality assurance", "country": "RU"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    saved = organisations.get_organisation(store, "QA1")
    assert (saved["name"], saved["country"]) == ("Quality assurance", "RU")
    # in Russian too
    r = client.post(
        "/admin/organisations/QA1?lang=ru",
        data={**form, "version": mine, "name": "x"},
        headers=HTML,
    )
    assert r.status_code == 412 and "Кто-то другой изменил эту запись" in r.text


def test_code_lists_country_codes_and_russian_labels(
    admin: tuple[TestClient, str], sample_db: tuple[str, Store]
) -> None:
    client, csrf = admin
    add = {
        "csrf_token": csrf,
        "list_name": "EOCategory",
        "code": "PFM_1",
        "base_term": "AP_MINE",
        "label_en": "PFM-1 butterfly mine",
        "label_ru": "ПФМ-1 «Лепесток»",
    }
    r = client.post("/admin/codes", data={**add, "base_term": "UXO_AXO"}, headers=HTML)
    assert r.status_code == 400 and "not a base term" in field_errors(r.text)["base_term"]
    r = client.post("/admin/codes", data=add, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/admin/codes", headers=HTML).text
    assert "PFM-1 butterfly mine" in page and "ПФМ-1 «Лепесток»" in page
    # a base term cannot be deactivated, a country code can
    r = client.post(
        "/admin/codes/EOCategory/AP_MINE/active",
        data={"csrf_token": csrf, "active": "0"},
        headers=HTML,
    )
    assert r.status_code == 409 and "base terms cannot be removed" in r.text
    r = client.post(
        "/admin/codes/EOCategory/PFM_1/active",
        data={"csrf_token": csrf, "active": "0"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert 'class="inactive"' in client.get("/admin/codes", headers=HTML).text
    # a Russian country label for a base term is shown on the pages in Russian
    edit = client.get("/admin/codes/HazardClassification/CHA", headers=HTML).text
    r = client.post(
        "/admin/codes/HazardClassification/CHA",
        data={"csrf_token": csrf_of(edit), "version": "0", "label_ru": "Подтверждённый ОР"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    ru = client.get("/hazards?lang=ru", headers=HTML).text
    assert "Подтверждённый ОР" in ru
    en = client.get("/hazards?lang=en", headers=HTML).text
    assert "Confirmed hazardous area" in en and "Подтверждённый ОР" not in en
    audit = [a["entity_id"] for a in users.list_audit(sample_db[1], entity="code")]
    assert audit[:3] == ["HazardClassification/CHA", "EOCategory/PFM_1", "EOCategory/PFM_1"]


def test_admin_pages_are_for_administrators_only(app_url: str) -> None:
    with TestClient(create_app(app_url)) as im:
        sign_in(im, "im")
        for path in ("/admin", "/admin/users/new", "/admin/codes", "/admin/users/im"):
            assert im.get(path, headers=HTML).status_code == 403, path
        assert im.get("/profile", headers=HTML).status_code == 200
