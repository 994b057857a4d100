"""Recognise an uploaded file and read it into :class:`Submission` records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from mineaction.errors import ValidationError
from mineaction.io import submissions as subs
from mineaction.io.safety import check_size, open_zip, read_member
from mineaction.io.submissions import Submission

GIS_EXTENSIONS = {".gpkg", ".geojson", ".shp", ".kml", ".kmz", ".fgb"}


@dataclass
class FileRead:
    """What was read from a file: its format name and its records."""

    format: str
    records: list[Submission]


def _csv_header(data: bytes) -> str:
    return data[:4096].decode("utf-8-sig", errors="replace").split("\n", 1)[0]


def read_any(
    data: bytes, filename: str, *, form: str | None = None, mapping: dict[str, Any] | None = None
) -> FileRead:
    """Recognise the file by name and content and read every record; raise on a bad file.

    Raises :class:`ValidationError` (nothing read) for a truncated, wrong-format or unsafe file.
    """
    where = PurePath(filename).name or "upload"
    check_size(data, where)
    ext = PurePath(filename).suffix.lower()
    from mineaction.io import gis

    if ext in (".json", ".geojson") or (not ext and data.lstrip()[:1] in (b"{", b"[")):
        doc = subs.load_json(data, where)
        kind = subs.sniff_json(doc)
        if kind == "central-odata":
            return FileRead("odk-central-odata", list(subs.read_central_odata(doc, where)))
        if kind == "kobo":
            return FileRead("kobo-json", list(subs.read_kobo_json(doc, where)))
        if kind == "geojson":
            return FileRead("geojson", gis.read_gis(data, filename, form=form, mapping=mapping))
        raise ValidationError(
            "JSON that is neither an ODK Central OData export, a KoboToolbox API v2 export nor "
            "GeoJSON",
            where=where,
        )
    if ext in (".zip", ".kmz"):
        zf = open_zip(data, where)
        names = [n.lower() for n in zf.namelist()]
        if ext == ".kmz" or any(n.endswith((".shp", ".kml", ".gpkg", ".fgb")) for n in names):
            return FileRead("gis-zip", gis.read_gis(data, filename, form=form, mapping=mapping))
        csvs = [n for n in zf.namelist() if n.lower().endswith(".csv")]
        if csvs:
            return FileRead("odk-central-csv", list(subs.read_central_csv_zip(data, where)))
        jsons = [n for n in zf.namelist() if n.lower().endswith(".json")]
        if jsons:
            docs = [subs.load_json(read_member(zf, n, where), f"{where}/{n}") for n in jsons]
            return FileRead("odk-central-odata", list(subs.read_central_odata(docs, where)))
        raise ValidationError(
            "the archive holds no CSV, JSON, Shapefile, KML, GeoPackage or FlatGeobuf", where=where
        )
    if ext == ".csv":
        header = _csv_header(data)
        if "KEY" in header.replace(";", ",").split(",") and "SubmissionDate" in header:
            return FileRead("odk-central-csv", _central_single_csv(data, where))
        if "_uuid" in header:
            return FileRead("kobo-csv", list(subs.read_kobo_csv(data, where)))
        return FileRead("csv-table", gis.read_table(data, filename, form=form, mapping=mapping))
    if ext in (".xlsx", ".xlsm"):
        if not data.startswith(b"PK"):
            raise ValidationError("not an XLSX workbook (wrong format or truncated)", where=where)
        open_zip(data, where)  # refuse bombs before openpyxl inflates anything
        sheets = subs._xlsx_sheets(data, where)
        first = next(iter(sheets.values()), [])
        if first and "_uuid" in first[0]:
            return FileRead("kobo-xlsx", list(subs.read_kobo_xlsx(data, where)))
        return FileRead(
            "xlsx-table", gis.table_records(first, filename, form=form, mapping=mapping)
        )
    if ext in GIS_EXTENSIONS:
        return FileRead(ext.lstrip("."), gis.read_gis(data, filename, form=form, mapping=mapping))
    raise ValidationError(
        f"unsupported file type {ext or '(none)'!r}: give ODK Central .json/.csv.zip, Kobo "
        ".json/.csv/.xlsx, or .gpkg/.geojson/.shp(.zip)/.kml/.kmz/.fgb/.csv/.xlsx",
        where=where,
    )


def _central_single_csv(data: bytes, where: str) -> list[Submission]:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{PurePath(where).stem}.csv", data)
    return list(subs.read_central_csv_zip(buf.getvalue(), where))
