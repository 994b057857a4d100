"""Markup, SQL and formulas in EVERY free-text field of every report type stay inert text.

The free-text fields are found from the report format itself (``Report.model_json_schema()``:
strings without a pattern or a code list), so a text field added later is covered too. Each one
gets its own marker (a formula, a script tag and SQL) in the hand-made programme of
tests/golden_programme.py (every report type); the reports are submitted and approved, and
pending copies wait on the review pages. Then every web page that shows them and every
report in every format must carry no live markup and no formula.
"""

from __future__ import annotations

import copy
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from golden_programme import build, reports
from mineaction.core.cells import formula_like
from mineaction.core.reporting import Period
from mineaction.core.reports import Report
from mineaction.errors import MineActionError
from mineaction.io.reportfiles import write
from mineaction.services import ledger, reporting, users
from mineaction.store.engine import Store
from mineaction.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SCHEMA = Report.model_json_schema()
LIVE = re.compile(r"<script>a\(\d+\)")  # a marker's tag, unescaped


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """A schema node without ``$ref`` and without the ``anyOf [X, null]`` of optional fields."""
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        if len(options) == 1:
            node = options[0]
    if "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _free_text(node: dict[str, Any]) -> bool:
    node = _resolve(node)
    return node.get("type") == "string" and not {"pattern", "enum", "format"} & set(node)


class Poisoner:
    """Put a numbered marker into every free-text field present or possible in a document."""

    def __init__(self) -> None:
        self.fields: dict[int, str] = {}  # marker number -> field path

    def marker(self, path: str, limit: int) -> str:
        n = len(self.fields) + 1
        self.fields[n] = path
        text = f"=1+{n}<script>a({n})</script>';DROP TABLE report;--"
        return text[:limit]

    def poison(self, doc: Any, node: dict[str, Any], path: str) -> Any:
        node = _resolve(node)
        if isinstance(doc, dict) and node.get("type") == "object" or "properties" in node:
            out = dict(doc)
            for name, sub in node.get("properties", {}).items():
                if not path and name in ("format", "crs", "report_id", "type", "supersedes"):
                    continue
                here = f"{path}.{name}"
                item = _resolve(sub)
                if _free_text(sub):
                    out[name] = self.marker(here, item.get("maxLength", 2000))
                elif item.get("type") == "array" and _free_text(item.get("items", {})):
                    limit = _resolve(item["items"]).get("maxLength", 2000)
                    out[name] = [self.marker(here + "[]", limit)]
                elif name in out and out[name] is not None:
                    out[name] = self.poison(out[name], sub, here)
            return out
        if isinstance(doc, list) and node.get("type") == "array":
            return [self.poison(d, node.get("items", {}), f"{path}[]") for d in doc]
        return doc


def _submit_poisoned(store: Store, doc: dict[str, Any], poisoned: dict[str, Any]) -> str:
    """Submit the poisoned document; fields the format refuses go back to their old value."""
    for _ in range(20):
        try:
            ledger.submit(store, poisoned)
            return poisoned["report_id"]
        except MineActionError as exc:
            where = f"{exc}"
            undone = False
            for key in list(poisoned.get(poisoned["type"], {})):
                if key in where and poisoned[poisoned["type"]][key] != doc[doc["type"]].get(key):
                    body = poisoned[poisoned["type"]]
                    if key in doc[doc["type"]]:
                        body[key] = doc[doc["type"]][key]
                    else:
                        del body[key]
                    undone = True
            if not undone:
                raise
    raise AssertionError(f"{doc['report_id']}: could not submit")


@pytest.fixture
def poisoned(sqlite_store: Store) -> tuple[Store, Poisoner, list[str]]:
    build(sqlite_store, skip=tuple(r["report_id"] for r in reports()))
    p = Poisoner()
    pending = []
    for doc in reports():
        bad = p.poison(copy.deepcopy(doc), SCHEMA, "")
        ledger.approve(sqlite_store, _submit_poisoned(sqlite_store, doc, bad), actor="im")
    for doc in [*reports()[:8], *_documents()[-1:]]:  # pending copies for the review pages
        copy_doc = {**copy.deepcopy(doc), "report_id": "P-" + doc["report_id"]}
        bad = p.poison(copy_doc, SCHEMA, "")
        pending.append(_submit_poisoned(sqlite_store, copy_doc, bad))
    return sqlite_store, p, pending


def _documents() -> list[dict[str, Any]]:
    """The golden programme's reports and a handover (the one type it lacks)."""
    handover = {
        "report_id": "R-HO-1",
        "type": "handover",
        "organisation": "DEM",
        "date_of_information": "2026-09-01",
        "handover": {
            "hazard_id": "H1",
            "date": "2026-09-01",
            "recipient": "village council",
            "certificate": "C-1",
        },
    }
    return [*reports(), handover]


def test_schema_walk_finds_the_free_text_fields() -> None:
    p = Poisoner()
    for doc in _documents():
        p.poison(copy.deepcopy(doc), SCHEMA, "")
    paths = set(p.fields.values())
    for must in (
        ".hazard.name",
        ".hazard.description",
        ".activity.method",
        ".activity.team",
        ".accident.description",
        ".qm.nonconformities[].description",
        ".qm.nonconformities[].type",
        ".handover.recipient",
        ".submitted_by",
    ):
        assert any(x == must or x.endswith(must) for x in paths), (must, sorted(paths))
    assert ".report_id" not in paths and ".organisation" not in paths  # identifiers


def test_every_text_field_is_inert_in_pages_and_reports(
    poisoned: tuple[Store, Poisoner, list[str]], tmp_path: Path
) -> None:
    store, p, pending = poisoned
    assert len(p.fields) >= 40, p.fields
    users.add_user(store, "im", role="im_officer", password="correct horse battery")
    auth = {"Authorization": f"Bearer {users.create_token(store, 'im').token}"}
    shown: set[str] = set()
    with TestClient(create_app(store.url)) as client:
        with store.read() as conn:
            hazards = [h for (h,) in conn.exec_driver_sql("SELECT hazard_id FROM hazard")]
        pages = ["/", "/hazards", "/review", *(f"/hazards/{h}" for h in hazards)]
        pages += [f"/review/{rid}" for rid in pending]
        for name in reporting.REPORTS:
            pages.append(f"/reports/file?name={name}&period=2026&format=html")
        for page in pages:
            r = client.get(page, headers=auth)
            assert r.status_code == 200, (page, r.status_code, r.text[:300])
            assert not LIVE.search(r.text), (page, LIVE.search(r.text))
            shown |= set(re.findall(r"&lt;script&gt;a\((\d+)\)", r.text))
    # many of the fields are on the pages, escaped (not only absent)
    assert len(shown) >= 10, sorted(shown)
    in_reports: set[str] = set()
    for name in reporting.REPORTS:
        doc = reporting.generate(store, name, Period.parse("2026"))
        for fmt in ("xlsx", "csv", "html", "pdf"):
            for path in write(doc, fmt, tmp_path / f"{name}.{fmt}"):
                if path.suffix == ".xlsx":
                    for ws in load_workbook(path).worksheets:
                        for row in ws.iter_rows():
                            for cell in row:
                                assert cell.data_type != "f", (name, ws.title, cell.coordinate)
                                if formula_like(cell.value):
                                    assert cell.quotePrefix, (name, ws.title, cell.coordinate)
                                found = re.match(r"=1\+(\d+)<", str(cell.value or ""))
                                in_reports |= {found.group(1)} if found else set()
                elif path.suffix == ".csv":
                    text = path.read_text(encoding="utf-8")
                    assert not re.search(r'(^|,|")=1\+\d', text, re.M), (name, path.name)
                elif path.suffix == ".html":
                    assert not LIVE.search(path.read_text(encoding="utf-8")), (name, path.name)
                else:
                    assert path.stat().st_size > 0
    assert len(in_reports) >= 3, sorted(in_reports)  # the markers reached the reports, as text
