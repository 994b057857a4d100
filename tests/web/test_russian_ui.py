"""A Russian user walks every page of the web app and sees no English (data values aside)."""

from __future__ import annotations

import json
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest
from sample import PASSWORD

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from mineaction.forms import synthetic as syn
from mineaction.services import ledger, prioritise, tasks, users
from mineaction.services import planning as pl
from mineaction.store import projections as proj
from mineaction.store.engine import Store
from mineaction.store.settings import get_setting, set_setting
from mineaction.web.app import create_app

FIX = Path(__file__).resolve().parents[1] / "fixtures"
HTML = {"accept": "text/html"}

#: data values of the sample programme and proper nouns shown as they are written: removed
#: from the visible text before it is searched for English words
DATA_VALUES = [
    r"Field \d+ near (?:Sudzha|Martynovka|Korenevo|Snagost)",  # hazard names (tests/web/sample.py)
    r"Field \d+ north of the village",  # hazard names of forms/synthetic.py
    r"Tree line east of Korenevo",
    r"Reported by the farmer; mines seen near the tree line\.",  # a free-text description
    r"Kursk Oblast Mine Action Centre",  # the programme's name (a setting)
    r"Sudzhansky|Korenevsky|(?:Sudzha|Martynovka|Korenevo|Snagost)(?: town| village)?",  # areas
    r"\b(?:im|viewer|anna|oleg|olga)\b",  # user names
    r"\b[a-z][a-z_]* – ",  # a code before its label (code lists)
    r"id, asset, home, rates, availability|default, regions, travel",  # YAML keys of a form
    r"\b(?:Multi)?(?:Polygon|Point|LineString)\b",  # GeoJSON geometry types
    r"Irina Petrova|Hanna Kovalenko|Victor Orlov|Anna Smirnova",  # people's names
    r"English",  # the language switch names the language in its own language
    r"KoboToolbox|ODK Central|ODK Collect|ODK|GeoJSON|GeoPackage|FlatGeobuf|Shapefile|OData",
    r"QGIS|GDAL|Leaflet|OpenStreetMap|Bearer|HTTP Basic|Gauss-Kruger|Pulkovo|NaN",
    r"XML values and headers",  # the name of Kobo's export option, as Kobo shows it
    r"mineaction(?: [a-z][a-z-]*)+",  # command lines
]
_DATA = re.compile("|".join(f"(?:{p})" for p in DATA_VALUES))
#: a word of English: Latin letters, not an acronym or code (CHA, EORE, HTML), not a single letter
_WORD = re.compile(r"(?<![\w'’.-])[A-Za-z]*[a-z][A-Za-z]*(?:-[A-Za-z]+)*(?![\w'’-])")
#: tokens that are values, not words: identifiers, paths, field names, codes, options, numbers
_TOKEN_VALUE = re.compile(
    r"\{\w+\}|\S*[\d_/=@+\\]\S*|\S+\.\S+|--\S+|'[^'\n]*'|\"[^\"\n]*\"|`[^`\n]*`"
)


VOID = {"input", "img", "br", "hr", "meta", "link", "source", "col", "area", "wbr"}


class _Visible(HTMLParser):
    """The text a reader sees: text nodes and the titles, labels and placeholders of elements.

    Left out: scripts and styles, code values (``<code>``, ``<pre>``: JSON documents, field
    names), text areas (what the user typed) and elements marked English (``lang="en"``).
    """

    SKIP = {"script", "style", "code", "pre", "textarea", "metadata"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.scripts: dict[str, str] = {}
        self._skipping = 0  # depth inside a left-out element
        self._svg = 0  # depth inside inline SVG (matplotlib names each text in a comment)
        self._script: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self._svg += tag == "svg"
        if self._skipping:
            self._skipping += tag not in VOID
            return
        if tag in self.SKIP or a.get("lang", "ru") != "ru":
            self._skipping = int(tag not in VOID)
            if tag == "script" and a.get("type") == "application/json":
                self._script = a.get("id") or ""
            return
        for name in ("title", "placeholder", "alt", "aria-label", "label"):
            if a.get(name):
                self.texts.append(str(a[name]))
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.texts.append(str(a["value"]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._skipping and tag not in self.SKIP:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self._svg -= tag == "svg" and self._svg > 0
        if self._skipping and tag not in VOID:
            self._skipping -= 1
            if not self._skipping:
                self._script = None

    def handle_comment(self, data: str) -> None:
        if self._svg and not self._skipping and data.strip():  # text of a chart drawn as paths
            self.texts.append(data.strip())

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self.scripts[self._script] = self.scripts.get(self._script, "") + data
        elif not self._skipping and data.strip():
            self.texts.append(data.strip())


def english_in(text: str) -> list[str]:
    """The English words of a visible text, data values and codes left out."""
    text = re.sub(r"\{\w+\}", " ", _DATA.sub(" ", text))  # ({n}: a placeholder of map.js)
    text = re.sub(r"[\w.]+(?:\[\d+\][\w.]*)+", " ", text)  # a field path: releases[0].polygon
    text = re.sub(r"[\[\](){}<>,;«»]", " ", text)  # (a word glued to a value is still a word)
    text = _TOKEN_VALUE.sub(" ", text)
    return _WORD.findall(text)


def test_the_detector_finds_english_words_and_leaves_data_values_out() -> None:
    data = "Сводка · Kursk Oblast Mine Action Centre · HZ-003 · ma_hazard: 'nope' · CHA · {n}"
    assert english_in(data) == []
    assert english_in("Ошибка: not a KoboToolbox export (needs 'results')") == [
        "not",
        "a",
        "export",
        "needs",
    ]
    glued = "полигон недопустим (Self-intersection[35.205 51.205]); ГИС-файл в zip-архиве"
    assert english_in(glued) == ["Self-intersection"]
    assert english_in("0.0 s") == ["s"] and english_in("Запустил(а) anna") == []
    assert english_in("releases[0].polygon: нет ответа; victims[2]: нет") == []
    page = _Visible()
    page.feed(
        '<p title="Hazard">Район <code>open</code><input placeholder="Name">'
        '<input lang="en" placeholder="Confirmed hazardous area"><svg><metadata>Matplotlib'
        "</metadata><!-- programme --></svg><!-- a comment --><pre>{}</pre></p>"
        '<script id="map-i18n" type="application/json">{"a": "Loading"}</script>'
    )
    assert page.texts == ["Hazard", "Район", "Name", "programme"]
    assert json.loads(page.scripts["map-i18n"]) == {"a": "Loading"}


@dataclass
class Walk:
    """The pages a Russian user saw, and the English found on them."""

    client: TestClient
    seen: dict[str, int] = field(default_factory=dict)
    english: dict[str, list[str]] = field(default_factory=dict)

    def check(self, where: str, html: str, status: int) -> str:
        """Record the English of a page (its visible text and its JSON texts for scripts)."""
        parser = _Visible()
        parser.feed(html)
        texts = list(parser.texts)
        if "map-i18n" in parser.scripts:  # the map's texts, shown by map.js
            texts += _strings(json.loads(parser.scripts["map-i18n"]))
        found = [f"{w!r} in {t[:160]!r}" for t in texts for w in english_in(t)[:1]]
        self.seen[where] = status
        if found:
            self.english[where] = found
        return html

    def get(self, path: str, status: int = 200) -> str:
        r = self.client.get(path, headers=HTML)
        assert r.status_code == status, (
            path,
            r.status_code,
            re.findall(r"role=\"alert\"[^>]*>([^<]*)", r.text) or r.text[:300],
        )
        return self.check(f"GET {path}", _page(r.text, r.headers["content-type"]), r.status_code)

    def post(self, path: str, status: int, where: str | None = None, **kw: object) -> str:
        r = self.client.post(path, headers=HTML, follow_redirects=False, **kw)  # type: ignore[arg-type]
        if r.status_code == 303 and status != 303:
            return self.get(r.headers["location"], status)
        assert r.status_code == status, (
            path,
            r.status_code,
            re.findall(r"role=\"alert\"[^>]*>([^<]*)", r.text) or r.text[:300],
        )
        page = _page(r.text, r.headers["content-type"])
        return self.check(f"POST {where or path}", page, r.status_code)

    def csrf(self) -> str:
        page = self.client.get("/profile", headers=HTML).text
        m = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert m
        return m.group(1)


def _page(text: str, content_type: str) -> str:
    """A page as a browser shows it (a JSON answer to a page request is shown as text)."""
    return text if content_type.startswith("text/html") else f"<pre>JSON</pre><p>{text}</p>"


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [] if value in ("en", "ru") else [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.fixture(scope="module")
def russian(sample_db: tuple[str, Store]) -> Iterator[Walk]:
    """A Russian-speaking administrator signed in through the form (a session cookie)."""
    url, store = sample_db
    users.add_user(
        store,
        "anna",
        role="admin",
        password=PASSWORD,
        locale="ru",
        display_name="Anna Smirnova",
    )
    with TestClient(create_app(url)) as c:
        r = c.post("/login", data={"username": "anna", "password": PASSWORD})
        assert r.status_code == 200 and "Выйти" in r.text, r.text[:300]
        yield Walk(c)


def _bad_kobo() -> bytes:
    """A KoboToolbox JSON export whose records break most rules of the form and its geometry."""
    rows = []
    bowtie = "51.2 35.2 0 0;51.21 35.21 0 0;51.2 35.21 0 0;51.21 35.2 0 0;51.2 35.2 0 0"
    breaks: list[dict[str, str]] = [
        {"polygon": bowtie},  # a repair is proposed
        {"polygon": "51.2 35.2 0 0;51.2 35.2 0 0;51.2 35.2 0 0;51.2 35.2 0 0"},  # too few
        {"polygon": "95.0 35.2 0 0;51.2 35.3 0 0;51.3 35.3 0 0;95.0 35.2 0 0"},  # out of range
        {"polygon": "51.2 35.2 0 0;51.3 35.2 0 0"},  # too short
        {"polygon": "abc"},
        {"classification": "XYZ", "report_date": "31.12.2024", "estimated_area_m2": "lots"},
        {"report_date": "2099-01-01"},
        {"hazard_id": ""},
    ]
    for i, change in enumerate(breaks):
        f = syn.fill("ma_hazard", 70 + i)
        f.answers.update(change)
        rows.append(f)
    rows.append(syn.fill("ma_hazard", 90))  # one good record
    return orjson.dumps(syn.kobo_json(rows))


_BAD_GEOJSON = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"hazard_id": "G-1", "classification": "CHA"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[35.2, 51.2], [35.21, 51.21], [35.2, 51.21], [35.21, 51.2]]],
            },
        },
        {
            "type": "Feature",
            "properties": {"hazard_id": "G-2", "classification": "SHA"},
            "geometry": {"type": "Point", "coordinates": [35.2, 51.2]},
        },
        {
            "type": "Feature",
            "properties": {"hazard_id": "G-3"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[51.2, 35.2], [51.21, 35.2], [51.21, 35.21], [51.2, 35.2]]],
            },
        },
        {
            "type": "Feature",
            "properties": {"hazard_id": "G-4", "classification": "CHA"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[35.2, 51.2], [35.25, 51.2], [35.25, 51.25], [35.2, 51.2]]],
            },
        },
    ],
}


def test_a_russian_user_sees_no_english_on_any_page(
    russian: Walk, sample_db: tuple[str, Store]
) -> None:
    started = time.monotonic()
    w, store = russian, sample_db[1]
    today = date.today().isoformat()
    # a pending report with a warning (a 7 km edge) over an approved hazard: proposals
    with store.read() as conn:
        x0, y0, x1, y1 = proj.get_hazard(conn, "HZ-003")["geom"].bounds
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0 - 0.1, y1], [x0, y0]]
    ledger.submit(
        store,
        {
            "report_id": "R-RU-1",
            "type": "hazard",
            "organisation": "DRC",
            "date_of_information": today,
            "hazard": {
                "hazard_id": "HZ-RU-1",
                "evidence": [{"type": "FORMER_FRONTLINE"}],
                "contamination": ["AP_MINE"],
                "polygon": {"type": "Polygon", "coordinates": [ring]},
            },
        },
        submitted_by="field.officer",
    )
    # a plan, a failed planning run and a forecast
    teams = [{"id": "W-NTS", "asset": "nts"}, {"id": "W-TS", "asset": "ts"}]
    teams.append({"id": "W-MAN", "asset": "manual"})
    plan = pl.run_plan(store, pl.PlanOptions(time_limit=0.2, bound=False), teams_rows=teams)

    # --- every page of the menu and the records they link to
    for path in (
        "/",
        "/map",
        "/hazards",
        "/hazards?q=Korenevo",
        "/hazards/HZ-003",
        "/hazards/HZ-004",
        "/hazards/HZ-002",
        "/review",
        "/review/R-RU-1",
        "/review/R-NEW-1",
        "/review/R-HZ-005-9",
        "/import",
        "/reports",
        "/reports?name=oslo-action-plan&period=2026",
        "/plans",
        f"/plans/{plan.plan_id}",
        "/forecast",
        "/admin",
        "/admin/codes",
        "/admin/codes/HazardClassification/CHA",
        "/admin/users/new",
        "/admin/users/im",
        "/admin/organisations/new",
        "/profile",
    ):
        w.get(path)
    for chart in ("gantt", "curves"):  # the plan's charts (images on its page), as SVG here
        r = w.client.get(f"/plans/{plan.plan_id}/{chart}.png?format=svg")
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg"), r.text
        w.check(f"GET /plans/{plan.plan_id}/{chart}.png?format=svg", f"<div>{r.text}</div>", 200)
        png = w.client.get(f"/plans/{plan.plan_id}/{chart}.png?lang=ru")
        assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    prioritise.prioritise(store, prioritise.load_config(preset="lis"), as_of=date.today())
    for status in ("planned", "in_progress", "done"):  # a task of each state on the hazard page
        tasks.create_task(
            store,
            {
                "task_id": f"T-RU-{status}",
                "hazard_id": "HZ-003",
                "activity_type": "CLEARANCE",
                "team": "DRC MDT 2",
                "planned_start": date.today(),
                "planned_end": date.today(),
                "status": status,
            },
            actor="im",
        )
    w.get("/hazards/HZ-003?after=prioritisation")
    with store.read() as conn:
        saved_teams = get_setting(conn, "teams")
    one = [{"code": "F-1", "kind": "manual", "organisation": "FSD"}]
    three = [{"code": f"F-{k}", "kind": k, "organisation": "FSD"} for k in ("nts", "ts", "manual")]
    try:
        with store.write() as conn:
            set_setting(conn, "teams", three)
        w.get("/forecast?run=1&samples=2&compare=1&deadline=2040-12-31")
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(pl, "HTTP_FORECAST_WORK", 10)
            w.get("/forecast?run=1&samples=2", 400)  # too large to run inside a request
        with store.write() as conn:
            set_setting(conn, "teams", one)
        w.get("/forecast?run=1&samples=2", 400)  # a work package no team may work on
    finally:
        with store.write() as conn:
            set_setting(conn, "teams", saved_teams)
    run = w.client.post(
        "/plans/run",
        data={"csrf_token": w.csrf(), "time_limit": "0.2", "teams_yaml": "- {id: N, asset: nts}"},
        headers=HTML,
        follow_redirects=False,
    )
    assert run.status_code == 303, run.text[:300]
    job = run.headers["location"]
    for _ in range(300):
        state = w.client.get(job + ".json").json()
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert state["status"] == "failed", state
    w.get(job)
    w.check("GET " + job + ".json", f"<p>{state['status_text']} {state['message_text']}</p>", 200)

    # --- the import page: bad files, file-level errors and a check with rejected records
    csrf = w.csrf()
    uploads: list[tuple[str, bytes, dict[str, str], int]] = [
        ("bad-kobo.json", _bad_kobo(), {}, 200),
        ("ma_accident.json", (FIX / "kobo/ma_accident.json").read_bytes(), {}, 200),
        ("ma_eore.csv", (FIX / "kobo/ma_eore.csv").read_bytes(), {}, 200),
        ("ma_hazard.xlsx", (FIX / "kobo/ma_hazard.xlsx").read_bytes(), {"form": "ma_hazard"}, 200),
        ("ma_hazard.odata.json", (FIX / "odk_central/ma_hazard.odata.json").read_bytes(), {}, 200),
        ("ma_activity.csv.zip", (FIX / "odk_central/ma_activity.csv.zip").read_bytes(), {}, 200),
        ("hazards.kml", (FIX / "gis/hazards.kml").read_bytes(), {"form": "ma_hazard"}, 200),
        ("hazards.geojson", orjson.dumps(_BAD_GEOJSON), {"form": "ma_hazard"}, 200),
        ("hazards.geojson", (FIX / "gis/hazards.geojson").read_bytes(), {"form": "ma_hazard"}, 200),
        ("hazards.geojson", orjson.dumps(_BAD_GEOJSON), {}, 400),  # no form
        ("eo_mgrs.csv", (FIX / "gis/eo_mgrs.csv").read_bytes(), {}, 400),
        (
            "not_a_geopackage.gpkg",
            (FIX / "bad/not_a_geopackage.gpkg").read_bytes(),
            {"form": "ma_hazard"},
            400,
        ),
        (
            "billion_laughs.kml",
            (FIX / "bad/billion_laughs.kml").read_bytes(),
            {"form": "ma_hazard"},
            400,
        ),
        ("zip_bomb.zip", (FIX / "bad/zip_bomb.zip").read_bytes(), {}, 400),
        (
            "huge_coords.geojson",
            (FIX / "bad/huge_coords.geojson").read_bytes(),
            {"form": "ma_hazard"},
            400,
        ),
        ("hazards.shp", b"not a shapefile", {"form": "ma_hazard"}, 400),
        ("book.xlsx", b"PK\x03\x04 not a workbook", {}, 400),
        ("truncated.json", (FIX / "bad/truncated.json").read_bytes(), {}, 400),
        ("truncated.csv.zip", (FIX / "bad/truncated.csv.zip").read_bytes(), {}, 400),
        (
            "nan_coords.geojson",
            (FIX / "bad/nan_coords.geojson").read_bytes(),
            {"form": "ma_hazard"},
            400,
        ),
        ("results.json", b'{"count": 1, "next": null}', {}, 400),  # not a Kobo export
        ("report.json", orjson.dumps({"report_id": "R-9", "type": "hazard"}), {}, 400),  # a report
        ("notes.txt", b"hello", {}, 400),
        ("empty.csv", b"", {}, 400),
    ]
    for name, data, form, status in uploads:
        w.post(
            "/import",
            status,
            where=f"/import {name} {form}",
            files={"file": (name, data)},
            data={"csrf_token": csrf, "organisation": "FSD", **form},
        )
    # confirm a check with good and bad records: the import, then its report under review
    r = w.client.post(
        "/import",
        files={"file": ("bad-kobo.json", _bad_kobo())},
        data={"csrf_token": csrf, "organisation": "HALO"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    token = r.headers["location"].rsplit("/", 1)[1]
    w.post(
        "/import/confirm",
        200,
        where="/import/confirm (imported)",
        data={"csrf_token": csrf, "token": token},
    )
    w.get(f"/import/{token}")  # the check, now confirmed
    inbox = w.get("/review")
    imported = re.findall(r'href="/review/(HALO[^"]+)"', inbox)
    assert imported, "the imported report is not in the inbox"
    w.get(f"/review/{imported[0]}")
    w.post(
        "/import",
        400,
        where="/import with a bad mapping",
        files={
            "file": ("eo_mgrs.csv", (FIX / "gis/eo_mgrs.csv").read_bytes()),
            "mapping": ("m.yaml", b"form: ma_eo\nfields: {nope: x}\nextra: 1\n"),
        },
        data={"csrf_token": csrf, "organisation": "FSD"},
    )

    # --- forms refused with their errors
    w.post("/plans/run", 400, data={"csrf_token": csrf, "time_limit": "abc"})
    w.post(
        "/plans/run",
        400,
        where="/plans/run bad YAML",
        data={"csrf_token": csrf, "teams_yaml": "teams: ["},
    )
    w.post("/plans/run", 400, data={"csrf_token": csrf, "calendars_yaml": "default: {x: 1}"})
    w.post("/admin/users", 400, data={"csrf_token": csrf, "username": "a b", "role": "viewer"})
    w.post("/admin/organisations", 400, data={"csrf_token": csrf, "code": "N MAC", "kind": "x"})
    w.post("/admin/codes", 400, data={"csrf_token": csrf, "list_name": "HazardClassification"})
    w.post("/admin/users/im/tokens", 200, data={"csrf_token": csrf, "name": "QGIS", "days": "30"})
    w.post(
        "/admin/users/im/tokens",
        400,
        where="/admin/users/im/tokens bad days",
        data={"csrf_token": csrf, "days": "x"},
    )
    w.post("/admin/users/viewer/password", 200, data={"csrf_token": csrf})
    w.post(
        "/admin/users",
        400,
        where="/admin/users operator without organisation",
        data={
            "csrf_token": csrf,
            "username": "op.x",
            "role": "operator_entry",
            "password": "x" * 12,
        },
    )
    w.post(
        "/admin/codes/HazardClassification/CHA",
        400,
        data={"csrf_token": csrf, "label_en": "x" * 300},
    )
    w.get("/hazards?status=nonsense&page=-3", 400)  # a bad parameter: the error page
    w.get("/reports?name=nope&period=2026", 404)
    w.get("/forecast?run=1&samples=0", 400)
    w.get("/hazards/HZ-003?lang=ru&zoom=abc", 200)
    w.post("/review/R-RU-1/reject", 400, data={"csrf_token": csrf, "reason": ""})
    w.post("/review/R-RU-1/reject", 403, where="/review/R-RU-1/reject without CSRF token", data={})
    w.post("/review/R-RU-1/advance", 409, data={"csrf_token": csrf, "expect": "approved"})
    w.post("/review/R-HZ-003-1/reject", 409, data={"csrf_token": csrf, "reason": "late"})

    # --- error pages: 400, 403, 404, 409, 412
    w.get("/reports/file?name=oslo-action-plan&period=2026-13&format=html", 400)
    w.get("/nope", 404)
    w.get("/hazards/NOPE", 404)
    w.get("/review/NOPE", 404)
    w.get("/plans/NOPE", 404)
    w.get("/import/NOPE", 404)
    w.post("/import/confirm", 409, data={"csrf_token": csrf, "token": "NOPE"})
    org = {"csrf_token": csrf, "code": "QA1", "name": "QA body", "kind": "qa"}
    assert w.client.post("/admin/organisations", data=org, follow_redirects=False).is_redirect
    w.get("/admin/organisations/QA1")
    w.post("/admin/organisations/QA1", 412, data={**org, "version": "stale"})
    users.add_user(store, "oleg", role="viewer", password=PASSWORD, locale="ru")
    with TestClient(create_app(sample_db[0])) as viewer:
        viewer.post("/login", data={"username": "oleg", "password": PASSWORD})
        r = viewer.get("/admin", headers=HTML)
        assert r.status_code == 403
        w.check("GET /admin as a viewer", r.text, 403)
    with TestClient(create_app(sample_db[0])) as anonymous:
        r = anonymous.get("/login?lang=ru", headers=HTML)
        w.check("GET /login", r.text, r.status_code)
        r = anonymous.post("/login?lang=ru", data={"username": "anna", "password": "wrong"})
        w.check("POST /login (wrong password)", r.text, r.status_code)

    report = "\n".join(f"{where}:\n  " + "\n  ".join(f) for where, f in w.english.items())
    assert not w.english, f"English in the Russian interface:\n{report}"
    assert len(w.seen) >= 60, w.seen
    assert time.monotonic() - started < 60


def test_an_unexpected_failure_is_a_russian_error_page(sample_db: tuple[str, Store]) -> None:
    from mineaction.core.access import SIGNED_IN
    from mineaction.web.policy import POLICY, allow

    app = create_app(sample_db[0])
    app.state.policy = {**POLICY, "GET /boom": allow(SIGNED_IN)}

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.post("/login", data={"username": "anna", "password": PASSWORD})
        page = c.get("/boom", headers=HTML)
        api = c.get("/boom")
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    parser = _Visible()
    parser.feed(page.text)
    texts = [t for t in parser.texts if english_in(t)]
    assert not texts and "внутренняя ошибка" in page.text, texts
    assert api.status_code == 500 and api.json()["code"] == "internal_error"  # JSON stays
