"""Report files: xlsx, csv, json, html and pdf (rendered to PNG and checked not blank); CLI."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pypdfium2
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from pypdf import PdfReader

from golden_programme import H2_MANUAL, area, golden_sqlite
from mineaction.cli import cli
from mineaction.core.reporting import Period, ReportDoc
from mineaction.io.reportfiles import write
from mineaction.services import reporting
from mineaction.store.engine import Store


@pytest.fixture
def golden(tmp_path: Path) -> Iterator[Store]:
    store = golden_sqlite(tmp_path)
    yield store
    store.dispose()


@pytest.fixture
def doc(golden: Store) -> ReportDoc:
    return reporting.generate(golden, "operations", Period.parse("2026-04"))


def page_pixels(pdf: Path, index: int) -> np.ndarray:
    page = pypdfium2.PdfDocument(str(pdf))[index]
    return np.asarray(page.render(scale=1.0).to_pil().convert("L"))


def test_pdf_pages_are_not_blank(doc: ReportDoc, tmp_path: Path) -> None:
    out = tmp_path / "ops.pdf"
    write(doc, "pdf", out)
    reader = PdfReader(out)
    n = len(reader.pages)
    assert n == 1 + 1 + len(doc.tables)  # cover, one chart page, one page per (short) table
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(float(width)), round(float(height))) == (842, 595)  # A4 landscape, points
    text = reader.pages[0].extract_text()
    assert "Operations report" in text and doc.ledger_hash in text
    assert "Summary by operator" in reader.pages[2].extract_text()
    for i in range(n):
        px = page_pixels(out, i)
        dark = (px < 128).mean()
        assert 0.01 < dark < 0.6, f"page {i + 1}: {dark:.3%} dark pixels"
        assert px.std() > 20


def test_xlsx_csv_json_html(doc: ReportDoc, tmp_path: Path) -> None:
    write(doc, "xlsx", tmp_path / "ops.xlsx")
    wb = load_workbook(tmp_path / "ops.xlsx")
    assert wb.sheetnames[0] == "About" and "By operator" in wb.sheetnames
    about = {r[0]: r[1] for r in wb["About"].iter_rows(min_row=3, values_only=True) if r[0]}
    assert about["Ledger hash (sha256)"] == doc.ledger_hash
    ws = wb["By operator"]
    header = [c.value for c in ws[4]]
    assert header[:3] == ["Operator", "Name", "Cancelled (m²)"]
    dem = next(r for r in ws.iter_rows(min_row=5, values_only=True) if r[0] == "DEM")
    assert dem[header.index("Cleared (m²)")] == pytest.approx(area(H2_MANUAL), abs=0.5)
    assert ws.freeze_panes == "A5"

    files = write(doc, "csv", tmp_path / "ops.csv")
    assert {f.name for f in files} >= {"ops-about.csv", "ops-by_operator.csv", "ops-qm.csv"}
    with (tmp_path / "ops-by_operator.csv").open() as f:
        table = list(csv.DictReader(f))
    assert table[-1]["Operator"] == "Programme total"
    assert float(table[0]["Cleared (m²)"]) == pytest.approx(area(H2_MANUAL), abs=0.5)

    write(doc, "json", tmp_path / "ops.json")
    data = json.loads((tmp_path / "ops.json").read_text())
    assert data["ledger_hash"] == doc.ledger_hash
    assert data["period"] == {"start": "2026-04-01", "end": "2026-04-30"}
    assert [t["name"] for t in data["tables"]] == [t.name for t in doc.tables]

    write(doc, "html", tmp_path / "ops.html")
    html = (tmp_path / "ops.html").read_text()
    assert html.count("<svg") == len(doc.charts) == 2
    assert "Summary by operator" in html and doc.ledger_hash in html
    assert '<td class="num">10</td>' in html  # DEM team-days


def test_cli_report(golden: Store, tmp_path: Path) -> None:
    runner = CliRunner()
    db = golden.url
    out = runner.invoke(cli, ["--db", db, "report", "list"], catch_exceptions=False)
    assert out.exit_code == 0 and "apmbc-article7" in out.output and "ccm-form-h" in out.output
    pdf = tmp_path / "a7.pdf"
    out = runner.invoke(
        cli,
        [
            "--db",
            db,
            "report",
            "apmbc-article7",
            "--period",
            "2026-01..2026-06",
            "--as-of",
            "2100-01-01",
            "--scope",
            "area:UA59",
            "--out",
            str(pdf),
        ],
        catch_exceptions=False,
    )
    assert out.exit_code == 0, out.output
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
    out = runner.invoke(
        cli, ["--db", db, "report", "ccm-form-g", "--period", "2026"], catch_exceptions=False
    )
    data = json.loads(out.output)
    assert data["data_cut_off"].startswith("20") and data["tables"][0]["total"]["total"] == 493
    # A bare --scope is an organisation code when one is registered, else a P-code prefix.
    out = runner.invoke(
        cli,
        ["--db", db, "report", "ccm-form-g", "--period", "2026", "--scope", "UA63"],
        catch_exceptions=False,
    )
    assert json.loads(out.output)["tables"][0]["total"]["total"] == 48
    out = runner.invoke(
        cli,
        ["--db", db, "report", "operations", "--period", "2026-04", "--scope", "HAL"],
        catch_exceptions=False,
    )
    data = json.loads(out.output)
    assert data["scope"] == {"area": None, "organisation": "HAL"}
    assert [r["organisation"] for r in data["tables"][0]["rows"]] == ["HAL"]
    bad = runner.invoke(cli, ["--db", db, "report", "nope", "--period", "2026"])
    assert bad.exit_code != 0
    bad = runner.invoke(cli, ["--db", db, "report", "operations", "--period", "2026-13"])
    assert bad.exit_code != 0
