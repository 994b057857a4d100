"""Render a report document as json, csv, xlsx, html or pdf."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape

from mineaction.core.cells import csv_row, formula_like
from mineaction.core.reporting import Column, ReportDoc, Table
from mineaction.errors import ValidationError

FORMATS = ("xlsx", "csv", "json", "html", "pdf")


def cell_text(value: Any, column: Column) -> str:
    """Return a value formatted for display (thousands separators, dates, percentages).

    >>> cell_text(12345.6, Column("a", "A", "m2")), cell_text(None, Column("a", "A", "int"))
    ('12,346', '')
    >>> cell_text(4.25, Column("r", "R", "float")), cell_text(75.0, Column("p", "P", "pct"))
    ('4.25', '75.0%')
    """
    if value is None:
        return ""
    if column.kind == "m2":
        return "0" if abs(value) < 0.5 else f"{value:,.0f}"
    if column.kind == "int":
        return f"{int(value):,}"
    if column.kind == "float":
        return f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    if column.kind == "pct":
        return f"{value:.1f}%"
    if column.kind == "coord":
        return f"{value:.6f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write(doc: ReportDoc, fmt: str, out: Path) -> list[Path]:
    """Write a report in one format; return the files written."""
    if fmt not in FORMATS:
        raise ValidationError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        out.write_bytes(orjson.dumps(doc.as_dict(), option=orjson.OPT_INDENT_2))
        return [out]
    if fmt == "csv":
        return write_csv(doc, out)
    if fmt == "xlsx":
        write_xlsx(doc, out)
        return [out]
    if fmt == "html":
        out.write_text(html(doc), encoding="utf-8")
        return [out]
    from mineaction.io.reportpdf import write_pdf

    write_pdf(doc, out)
    return [out]


def _raw(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _rows(table: Table) -> list[dict[str, Any]]:
    return [*table.rows, *([table.total] if table.total else [])]


def write_csv(doc: ReportDoc, out: Path) -> list[Path]:
    """Write one CSV per table (``OUT_stem-TABLE.csv``) plus ``OUT_stem-about.csv``."""
    stem = out.with_suffix("")
    written = []
    about = Path(f"{stem}-about.csv")
    with about.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["field", "value"])
        w.writerows(csv_row(m) for m in doc.metadata())
        for note in doc.notes:
            w.writerow(csv_row(["Note", note]))
    written.append(about)
    for t in doc.tables:
        path = Path(f"{stem}-{t.name}.csv")
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(csv_row(c.label for c in t.columns))
            for r in _rows(t):
                w.writerow(csv_row(_raw(r.get(c.key)) for c in t.columns))
        written.append(path)
    return written


def write_xlsx(doc: ReportDoc, out: Path) -> None:
    """Write an Excel workbook: an About sheet, then one sheet per table."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    about = wb.active
    assert about is not None
    about.title = "About"
    about["A1"] = doc.title
    about["A1"].font = Font(bold=True, size=14, color="1F3864")
    row = 3
    for k, v in doc.metadata():
        about.cell(row=row, column=1, value=k).font = Font(bold=True)
        about.cell(row=row, column=2, value=v)
        row += 1
    row += 1
    for note in doc.notes:
        about.cell(row=row, column=1, value="Note").font = Font(bold=True)
        about.cell(row=row, column=2, value=note).alignment = Alignment(wrap_text=True)
        row += 1
    about.column_dimensions["A"].width = 24
    about.column_dimensions["B"].width = 100

    head_fill = PatternFill("solid", fgColor="1F3864")
    total_fill = PatternFill("solid", fgColor="D9E1F2")
    thin = Side(style="thin", color="BFBFBF")
    used: set[str] = {"About"}
    for t in doc.tables:
        title = _sheet_name(t.name, used)
        ws = wb.create_sheet(title)
        ws["A1"] = t.title
        ws["A1"].font = Font(bold=True, size=12, color="1F3864")
        ws["A2"] = (
            f"{doc.period} | {doc.scope.describe()} | data cut-off {doc.cut_off:%Y-%m-%d %H:%M} UTC"
        )
        ws["A2"].font = Font(italic=True, size=9, color="595959")
        header_row = 4
        for j, col in enumerate(t.columns, start=1):
            cell = ws.cell(row=header_row, column=j, value=col.label)
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = head_fill
            cell.alignment = Alignment(
                wrap_text=True, vertical="center", horizontal="right" if col.numeric else "left"
            )
            cell.border = Border(bottom=thin)
            width = max(len(col.label) * 0.6, 10)
            for r in t.rows:
                width = max(width, len(str(r.get(col.key) or "")) + 2)
            ws.column_dimensions[get_column_letter(j)].width = min(width, 45)
        ws.row_dimensions[header_row].height = 32
        for i, r in enumerate(_rows(t), start=header_row + 1):
            is_total = t.total is not None and r is t.total
            for j, col in enumerate(t.columns, start=1):
                cell = ws.cell(row=i, column=j, value=_raw(r.get(col.key)))
                cell.border = Border(bottom=thin)
                if col.kind == "m2" or col.kind == "int":
                    cell.number_format = "#,##0"
                elif col.kind == "float":
                    cell.number_format = "#,##0.00"
                elif col.kind == "coord":
                    cell.number_format = "0.000000"
                elif col.kind == "pct":
                    cell.number_format = '0.0"%"'
                if is_total:
                    cell.font = Font(bold=True)
                    cell.fill = total_fill
        ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
        if t.rows:
            last = get_column_letter(len(t.columns))
            ws.auto_filter.ref = f"A{header_row}:{last}{header_row + len(t.rows)}"
        if t.note:
            ws.cell(row=header_row + len(_rows(t)) + 2, column=1, value=t.note).font = Font(
                italic=True, size=9
            )
        ws.sheet_view.showGridLines = False
    _text_not_formulas(wb)
    wb.properties.title = doc.title
    wb.properties.creator = "mineaction"
    wb.save(out)


def _text_not_formulas(wb: Any) -> None:
    """Make every formula-like text a plain text cell (no formula is written on purpose).

    openpyxl stores a string starting with ``=`` as a formula; field text such as
    ``=HYPERLINK(...)`` must stay text: shown exactly, with Excel's quote prefix, never run.
    """
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f" or formula_like(cell.value):
                    cell.data_type = "s"
                    cell.quotePrefix = True


def _sheet_name(name: str, used: set[str]) -> str:
    base = name.replace("_", " ").capitalize()[:31]
    title = base
    i = 2
    while title in used:
        title = f"{base[:28]} {i}"
        i += 1
    used.add(title)
    return title


_env: Environment | None = None


def _environment() -> Environment:
    global _env
    if _env is None:
        _env = Environment(
            loader=PackageLoader("mineaction.io", "templates"),
            autoescape=select_autoescape(["html"]),
        )
        _env.filters["cell"] = cell_text
    return _env


def html(doc: ReportDoc, *, charts: bool = True, classification: str | None = None) -> str:
    """Return the report as a self-contained HTML page (charts inline as SVG)."""
    from markupsafe import Markup

    from mineaction.io.charts import svg

    svgs: Sequence[Any] = [Markup(svg(c)) for c in doc.charts] if charts else []
    return (
        _environment()
        .get_template("report.html")
        .render(doc=doc, charts=svgs, classification=classification, rows=_rows)
    )
