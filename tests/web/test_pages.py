"""Web pages without a browser: assets, translations, map data by zoom, dashboard figures."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from sqlalchemy import func, select

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from mineaction.services import dashboard, mapdata, users
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.web.app import create_app
from mineaction.web.i18n import fmt_area, use_language

WEB = Path(__file__).resolve().parents[2] / "src" / "mineaction" / "web"
LOCALE = WEB.parent / "locale"
BBOX = "34.8,50.9,35.9,51.5"


def test_templates_load_only_packaged_assets() -> None:
    # Field offices work offline: no CDN, and every referenced asset ships in the package.
    for tpl in (WEB / "templates").glob("*.html"):
        text = tpl.read_text()
        refs = re.findall(r'(?:src|href)="(/static/[^"]+)"', text)
        for ref in refs:
            assert (WEB / ref.lstrip("/")).is_file(), f"{tpl.name}: {ref} is not packaged"
        assert not re.search(r'(?:src|href)="(?:https?:)?//', text), (
            f"{tpl.name} loads remote assets"
        )
    assert (WEB / "static/vendor/leaflet/LICENSE").is_file()


def _ids(messages: Iterable[Any]) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in messages if m.id}


def extracted_messages() -> set[str]:
    """Every message of the interface, extracted from the sources now (as scripts/i18n does)."""
    root = WEB.parents[2]
    with (root / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {**DEFAULT_KEYWORDS, "L_": None}
    found = extract_from_dir(str(root), method_map, options_map, keywords=keywords)
    return {msg if isinstance(msg, str) else msg[0] for _f, _l, msg, _c, _x in found}


def test_russian_catalogue_translates_every_message() -> None:
    # Extracted from the templates and web code now, not from the committed .pot (which can be
    # stale): every message must have a Russian translation that is not fuzzy.
    extracted = extracted_messages()
    assert {"Sign out", "Dashboard", "no hazard with id %(id)r"} <= extracted
    with (LOCALE / "messages.pot").open("rb") as fh:
        pot = _ids(read_po(fh))
    assert not extracted - pot, f"run scripts/i18n extract: not in messages.pot: {extracted - pot}"
    with (LOCALE / "ru/LC_MESSAGES/messages.po").open("rb") as fh:
        ru = read_po(fh, locale="ru")
    done = _ids(
        m
        for m in ru
        if (all(m.string) if isinstance(m.string, tuple | list) else m.string)
        and "fuzzy" not in m.flags
    )
    missing = sorted(extracted - done)
    assert not missing, f"{len(missing)} untranslated in Russian: {missing[:10]}"
    # python-format placeholders are kept in each translation
    for m in ru:
        if m.id and isinstance(m.id, str) and m.string and isinstance(m.string, str):
            assert set(re.findall(r"%\(\w+\)", m.id)) == set(re.findall(r"%\(\w+\)", m.string)), (
                m.id
            )


def test_areas_are_shown_in_sensible_units_per_locale() -> None:
    with use_language("en"):
        assert [fmt_area(v) for v in (0, 9_999, 12_345, 2_500_000)] == [
            "0\xa0m²",
            "9,999\xa0m²",
            "1.2\xa0ha",
            "2.50\xa0km²",
        ]
    with use_language("ru"):
        assert fmt_area(12_345) == "1,2\xa0га"


def test_map_data_depends_on_zoom_and_stays_small(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    points = client.get(f"/map/hazards.json?bbox={BBOX}&zoom=10").json()
    assert points["mode"] == "points" and points["count"] == len(points["features"]) >= 24
    close = client.get("/map/hazards.json?bbox=35.25,51.15,35.45,51.25&zoom=14").json()
    assert close["mode"] == "polygons"
    parts = {f["properties"]["part"] for f in close["features"]}
    assert "hazard" in parts and parts & {"cancelled", "cleared"}
    monkeypatch.setattr(mapdata, "MAX_POINTS", 5)
    clusters = client.get(f"/map/hazards.json?bbox={BBOX}&zoom=6").json()
    assert clusters["mode"] == "clusters"
    assert sum(f["properties"]["n"] for f in clusters["features"]) == clusters["count"]
    assert len(clusters["features"]) < clusters["count"]
    only_sha = client.get(f"/map/hazards.json?bbox={BBOX}&zoom=10&class=SHA").json()
    assert 0 < only_sha["count"] < points["count"]
    assert {f["properties"]["cls"] for f in only_sha["features"]} == {"SHA"}
    bad = client.get("/map/hazards.json?bbox=1,2,3&zoom=10")
    assert bad.status_code == 400 and "bbox" in bad.json()["message"]


def test_map_finds_and_basemap(client: TestClient) -> None:
    finds = client.get(f"/map/finds.json?bbox={BBOX}").json()
    kinds = {f["properties"]["kind"] for f in finds["features"]}
    assert kinds == {"eo", "accident"}  # the IM officer may see accidents
    base = client.get("/map/basemap.json").json()
    assert {f["properties"]["kind"] for f in base["features"]} == {"admin", "settlement"}


def test_dashboard_figures_match_the_hazard_table(sample_db: tuple[str, Store]) -> None:
    _url, store = sample_db
    f = dashboard.figures(store)
    with store.read() as conn:
        open_cha = conn.execute(
            select(func.count()).where(
                s.hazard.c.classification == "CHA", s.hazard.c.status.in_(["open", "worked_on"])
            )
        ).scalar()
    assert f.hazards["CHA"]["count"] == open_cha
    assert f.released_month["reduced"] > 0  # the sample's technical survey of today
    assert f.eore_year_total > 0 and f.casualties_total["injured"] == 1
    assert sum(v["cleared"] for _m, v in f.released_by_month) <= f.released_total["cleared"] + 1
    scoped = dashboard.figures(store, dashboard.Scope(organisation="HALO"))
    assert scoped.hazards["CHA"]["count"] < f.hazards["CHA"]["count"]
    assert f.today == date.today()


def test_pages_render_and_json_endpoints_do_not_redirect(
    client: TestClient, sample_db: tuple[str, Store]
) -> None:
    html = {"accept": "text/html"}
    for path in ("/", "/map", "/hazards", "/hazards?q=Korenevo", "/hazards/HZ-003", "/review"):
        r = client.get(path, headers=html)
        assert r.status_code == 200, path
    missing = client.get("/hazards/NOPE", headers=html)
    assert missing.status_code == 404 and "<html" in missing.text
    url, _store = sample_db
    with TestClient(create_app(url)) as anon:
        r = anon.get("/map", headers=html, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        r = anon.get(f"/map/hazards.json?bbox={BBOX}&zoom=8", follow_redirects=False)
        assert r.status_code == 401


def test_reports_page_previews_and_downloads_in_the_users_scope(client: TestClient) -> None:
    page = client.get("/reports?name=oslo-action-plan&period=2026", headers={"accept": "text/html"})
    assert page.status_code == 200 and "/reports/file?name=oslo-action-plan" in page.text
    preview = client.get("/reports/file?name=oslo-action-plan&period=2026&format=html")
    assert preview.status_code == 200 and preview.headers["content-type"].startswith("text/html")
    xlsx = client.get("/reports/file?name=oslo-action-plan&period=2026&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert "attachment" in xlsx.headers["content-disposition"]
    bad = client.get("/reports/file?name=oslo-action-plan&period=2026-13&format=html")
    assert bad.status_code == 400


def test_admin_page_lists_users_roles_and_code_lists(
    client: TestClient, sample_db: tuple[str, Store]
) -> None:
    url, store = sample_db
    users.add_user(store, "root", role="admin", password="correct horse battery")
    with TestClient(create_app(url)) as admin:
        admin.headers["Authorization"] = f"Bearer {users.create_token(store, 'root').token}"
        page = admin.get("/admin", headers={"accept": "text/html"})
        codes = admin.get("/admin/codes", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "Irina Petrova" in page.text and "Operator QC" in page.text
    assert "Explosive ordnance category" in page.text
    assert "Anti-personnel mine" in codes.text
    # An IM officer is not an administrator.
    assert client.get("/admin", headers={"accept": "text/html"}).status_code == 403
