"""ODK Central and KoboToolbox exports -> :class:`Submission` records (one per form instance).

Readers for the real export shapes:

- ODK Central OData JSON (``…/forms/{id}.svc/Submissions``, with or without ``$expand=*``;
  repeat tables as separate responses in a JSON list or zip), geo answers as GeoJSON or WKT;
- ODK Central CSV zip (``submissions.csv.zip``: ``{formId}.csv`` + ``{formId}-{repeat}.csv``,
  groups joined with ``-``, geopoints split into ``-Latitude``/``-Longitude``/... columns);
- KoboToolbox API v2 JSON (``/api/v2/assets/{uid}/data/?format=json``: full-path keys,
  raw ODK geo strings, repeats as arrays, ``_attachments``);
- KoboToolbox CSV export (``;``-separated, XML names as headers) and XLSX export (one sheet per
  repeat linked by ``_index`` / ``_parent_index``).

Answers are keyed by field name (the last path segment; our form's names are unique).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from mineaction.errors import ValidationError
from mineaction.io.safety import open_zip, read_member


@dataclass
class Submission:
    """One form instance as exported, normalised across ODK Central and KoboToolbox."""

    system: str  # "odk-central", "kobo", "gis"
    form_id: str | None
    instance_id: str  # this version (uuid, without "uuid:")
    root_id: str  # stable across edits
    where: str  # file and row / submission id, for messages
    deprecated_id: str | None = None
    form_version: str | None = None
    submitted_at: str | None = None
    submitter: str | None = None
    review_state: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    repeats: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    raw: Any = None
    problems: list[dict[str, str]] = field(default_factory=list)


def strip_uuid(value: Any) -> str | None:
    """Return an instance id without its ``uuid:`` prefix (None for empty).

    >>> strip_uuid("uuid:4a7b"), strip_uuid(None)
    ('4a7b', None)
    """
    if value is None:
        return None
    text = str(value).strip()
    if text.lower().startswith("uuid:"):
        text = text[5:]
    return text or None


def _last(path: str) -> str:
    return re.split(r"[/\-]", path)[-1]


def _is_geojson(v: Any) -> bool:
    return isinstance(v, dict) and "type" in v and "coordinates" in v


def _json(data: bytes, where: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        at = data[exc.pos : exc.pos + 9].lstrip(b"-")
        if at.startswith((b"NaN", b"Infinity")):
            line = data.count(b"\n", 0, exc.pos) + 1
            raise ValidationError(
                f"a value that is not a number ({at[:3].decode() if at[:1] == b'N' else 'Infinity'}"
                f", line {line}, char {exc.pos}) where JSON needs a number, e.g. a coordinate: "
                "a corrupted file or a broken export; nothing was imported",
                where=where,
            ) from None
        raise ValidationError(
            f"not valid JSON ({exc}); is the file truncated?", where=where
        ) from None


# --- ODK Central OData ---------------------------------------------------------------------

_CONTEXT = re.compile(r"/forms/([^/]+?)\.svc/\$metadata#([\w.]+)")


def _flatten_central(obj: dict[str, Any], answers: dict[str, Any], repeats: dict[str, Any]) -> None:
    for key, value in obj.items():
        if key.startswith("__") or "@odata" in key:
            if key.endswith("@odata.navigationLink"):
                repeats.setdefault(key.split("@")[0], [])
            continue
        if isinstance(value, list):
            rows = []
            for item in value:
                if isinstance(item, dict):
                    a: dict[str, Any] = {}
                    _flatten_central(item, a, {})
                    rows.append(a)
            repeats[key] = rows
        elif isinstance(value, dict) and not _is_geojson(value):
            _flatten_central(value, answers, repeats)
        else:
            answers[key] = value


def _central_tables(doc: Any, where: str) -> tuple[str | None, dict[str, list[dict[str, Any]]]]:
    docs = doc if isinstance(doc, list) else [doc]
    form_id: str | None = None
    tables: dict[str, list[dict[str, Any]]] = {}
    for d in docs:
        if not isinstance(d, dict) or not isinstance(d.get("value"), list):
            raise ValidationError(
                "not an ODK Central OData response (needs '@odata.context' and 'value')",
                where=where,
            )
        m = _CONTEXT.search(str(d.get("@odata.context", "")))
        table = m.group(2) if m else "Submissions"
        if m:
            form_id = m.group(1)
        tables.setdefault(table, []).extend(v for v in d["value"] if isinstance(v, dict))
    return form_id, tables


def read_central_odata(doc: Any, where: str) -> Iterator[Submission]:
    """Yield submissions from ODK Central OData JSON (one response or a list of table responses)."""
    form_id, tables = _central_tables(doc, where)
    if "Submissions" not in tables:
        raise ValidationError("no 'Submissions' table in the OData export", where=where)
    children: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name, rows in tables.items():
        if name == "Submissions":
            continue
        repeat = name.split(".")[-1]
        for row in rows:
            parent = next(
                (v for k, v in row.items() if k.startswith("__") and k.endswith("-id")), None
            )
            a: dict[str, Any] = {}
            _flatten_central(row, a, {})
            children.setdefault(str(parent), {}).setdefault(repeat, []).append(a)
    for i, row in enumerate(tables["Submissions"], 1):
        sid = str(row.get("__id") or "")
        sysval = row.get("__system")
        system: dict[str, Any] = sysval if isinstance(sysval, dict) else {}
        answers: dict[str, Any] = {}
        repeats: dict[str, list[dict[str, Any]]] = {}
        _flatten_central(row, answers, repeats)
        for rname, rrows in children.get(sid, {}).items():
            repeats[rname] = rrows
        # Repeat rows of nested repeats are keyed by their own __id; fold them in by parent id.
        for key in [k for k in repeats if k in children]:
            repeats.pop(key, None)
        instance = strip_uuid(answers.pop("instanceID", None)) or strip_uuid(sid)
        root = strip_uuid(sid) or instance
        yield Submission(
            system="odk-central",
            form_id=form_id,
            instance_id=instance or "",
            root_id=root or "",
            where=f"{where}, submission {sid or i}",
            deprecated_id=strip_uuid(answers.pop("deprecatedID", None)),
            form_version=system.get("formVersion"),
            submitted_at=system.get("submissionDate"),
            submitter=system.get("submitterName") or system.get("submitterId"),
            review_state=system.get("reviewState"),
            answers=answers,
            repeats=repeats,
            attachments=_central_attachments(answers, repeats, system),
            raw=row,
        )


#: An answer that names a file sent with the submission (ODK names them like 1700000000.jpg).
_FILE_NAME = re.compile(
    r"[\w\-. ]{1,200}\.(jpe?g|png|gif|webp|heic|mp4|3gp|mov|m4a|amr|ogg|wav|pdf)", re.I
)


def named_files(answers: dict[str, Any], repeats: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Return the file names the answers (and repeat rows) give, in order, once each.

    >>> named_files({"a": "1.jpg", "b": "x"}, {"r": [{"p": "2.m4a"}, {"p": "1.jpg"}]})
    ['1.jpg', '2.m4a']
    """
    values = list(answers.values()) + [
        v for rows in repeats.values() for row in rows for v in row.values()
    ]
    return list(dict.fromkeys(v for v in values if isinstance(v, str) and _FILE_NAME.fullmatch(v)))


def _central_attachments(
    answers: dict[str, Any], repeats: dict[str, list[dict[str, Any]]], system: dict[str, Any]
) -> list[dict[str, Any]]:
    """Return the files a Central submission names; present from its attachment counts."""
    have, expected = system.get("attachmentsPresent"), system.get("attachmentsExpected")
    present: bool | None = None
    if isinstance(have, int) and isinstance(expected, int):
        present = True if have >= expected else (False if have == 0 else None)
    return [{"filename": n, "present": present} for n in named_files(answers, repeats)]


# --- ODK Central CSV zip -------------------------------------------------------------------

_GEO_PARTS = ("Latitude", "Longitude", "Altitude", "Accuracy")
_CENTRAL_META = {
    "SubmissionDate",
    "KEY",
    "PARENT_KEY",
    "SubmitterID",
    "SubmitterName",
    "AttachmentsPresent",
    "AttachmentsExpected",
    "Status",
    "ReviewState",
    "DeviceID",
    "Edits",
    "FormVersion",
}


def _csv_rows(data: bytes, where: str, delimiter: str | None = None) -> list[dict[str, str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"not UTF-8 text ({exc})", where=where) from None
    if "\x00" in text:
        raise ValidationError("binary data in a CSV file", where=where)
    first = text.split("\n", 1)[0]
    if delimiter is None:
        delimiter = ";" if first.count(";") > first.count(",") else ","
    csv.field_size_limit(2_000_000)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = list(reader)
    except csv.Error as exc:
        raise ValidationError(f"malformed CSV ({exc})", where=where) from None
    if reader.fieldnames is None:
        raise ValidationError("the CSV has no header row", where=where)
    for i, r in enumerate(rows, 2):
        if None in r:
            raise ValidationError(
                f"line {i} has more cells than the header; is the file truncated or mixed?",
                where=where,
            )
    return rows


def _central_csv_answers(row: dict[str, str]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    geo: dict[str, dict[str, str]] = {}
    for key, value in row.items():
        if key in _CENTRAL_META or key is None:
            continue
        head, _, tail = key.rpartition("-")
        if head and tail in _GEO_PARTS:
            geo.setdefault(_last(head), {})[tail] = value or ""
            continue
        answers[_last(key)] = value if value != "" else None
    for name, parts in geo.items():
        vals = [parts.get(p, "") for p in _GEO_PARTS]
        answers[name] = " ".join(v for v in vals if v) or None
    return answers


def read_central_csv_zip(data: bytes, where: str) -> Iterator[Submission]:
    """Yield submissions from an ODK Central ``submissions.csv.zip`` export."""
    zf = open_zip(data, where)
    csvs = [n for n in zf.namelist() if n.lower().endswith(".csv") and "/" not in n.strip("/")]
    if not csvs:
        raise ValidationError("no CSV files in the archive", where=where)
    main = min(csvs, key=len)
    form_id = main[:-4]
    media = {n.split("/", 1)[1] for n in zf.namelist() if n.startswith("media/")}
    children: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name in csvs:
        if name == main:
            continue
        repeat = name[:-4].split("-")[-1]
        for row in _csv_rows(read_member(zf, name, where), f"{where}/{name}"):
            children.setdefault(row.get("PARENT_KEY", ""), {}).setdefault(repeat, []).append(
                _central_csv_answers(row)
            )
    rows = _csv_rows(read_member(zf, main, where), f"{where}/{main}")
    if rows and "KEY" not in rows[0]:
        raise ValidationError(
            f"{main} has no KEY column: not an ODK Central CSV export", where=where
        )
    for i, row in enumerate(rows, 2):
        key = row.get("KEY", "")
        answers = _central_csv_answers(row)
        instance = strip_uuid(answers.pop("instanceID", None)) or strip_uuid(key)
        atts = [
            {"filename": n, "present": n in media}
            for n in named_files(answers, children.get(key, {}))
        ]
        yield Submission(
            system="odk-central",
            form_id=form_id,
            instance_id=instance or "",
            root_id=strip_uuid(key) or instance or "",
            where=f"{where}/{main}, line {i} ({key})",
            deprecated_id=strip_uuid(answers.pop("deprecatedID", None)),
            form_version=row.get("FormVersion"),
            submitted_at=row.get("SubmissionDate"),
            submitter=row.get("SubmitterName") or row.get("SubmitterID"),
            review_state=row.get("ReviewState") or None,
            answers=answers,
            repeats=children.get(key, {}),
            attachments=atts,
            raw=row,
        )


# --- KoboToolbox ---------------------------------------------------------------------------

_KOBO_META_KEEP = {"meta/instanceID", "meta/rootUuid", "meta/deprecatedID"}


def _kobo_answers(obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    answers: dict[str, Any] = {}
    repeats: dict[str, list[dict[str, Any]]] = {}
    for key, value in obj.items():
        if key.startswith("_") or key in ("formhub/uuid", "__version__"):
            continue
        name = key.split("/")[-1]
        if isinstance(value, list):
            rows = []
            for item in value:
                if isinstance(item, dict):
                    a, _ = _kobo_answers(item)
                    rows.append(a)
            repeats[name] = rows
        else:
            answers[name] = value
    return answers, repeats


def _kobo_submission(obj: dict[str, Any], where: str, i: int) -> Submission:
    answers, repeats = _kobo_answers(obj)
    instance = strip_uuid(answers.pop("instanceID", None)) or strip_uuid(obj.get("_uuid"))
    root = strip_uuid(answers.pop("rootUuid", None)) or instance
    attval = obj.get("_attachments")
    atts: list[Any] = attval if isinstance(attval, list) else []
    return Submission(
        system="kobo",
        form_id=str(obj["_xform_id_string"]) if obj.get("_xform_id_string") else None,
        instance_id=instance or "",
        root_id=root or "",
        where=f"{where}, submission {obj.get('_id', i)}",
        deprecated_id=strip_uuid(answers.pop("deprecatedID", None)),
        form_version=obj.get("__version__"),
        submitted_at=obj.get("_submission_time"),
        submitter=obj.get("_submitted_by"),
        review_state=(obj.get("_validation_status") or {}).get("uid")
        if isinstance(obj.get("_validation_status"), dict)
        else None,
        answers=answers,
        repeats=repeats,
        attachments=[
            {k: a.get(k) for k in ("filename", "mimetype", "question_xpath", "download_url", "uid")}
            for a in atts
            if isinstance(a, dict)
        ],
        raw=obj,
    )


def read_kobo_json(doc: Any, where: str) -> Iterator[Submission]:
    """Yield submissions from KoboToolbox API v2 JSON (``{"count", "results": [...]}`` or a list)."""
    results = doc.get("results") if isinstance(doc, dict) else doc
    if not isinstance(results, list):
        raise ValidationError("not a KoboToolbox export (needs 'results')", where=where)
    for i, obj in enumerate(results, 1):
        if not isinstance(obj, dict):
            raise ValidationError(f"result {i} is not an object", where=where)
        yield _kobo_submission(obj, where, i)


def _kobo_table_row(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key is None:
            continue
        if isinstance(value, str):
            value = value if value != "" else None
        out[key] = value
    return out


def read_kobo_csv(data: bytes, where: str) -> Iterator[Submission]:
    """Yield submissions from a KoboToolbox CSV export (XML names as headers; no repeats)."""
    for i, row in enumerate(_csv_rows(data, where), 2):
        yield _unlisted_files(_kobo_submission(_kobo_table_row(row), f"{where}, line {i}", i))


def _unlisted_files(sub: Submission) -> Submission:
    """Kobo CSV/XLSX exports carry no attachment list: the files named are of unknown presence."""
    if not sub.attachments:
        sub.attachments = [
            {"filename": n, "present": None} for n in named_files(sub.answers, sub.repeats)
        ]
    return sub


def _xlsx_sheets(data: bytes, where: str) -> dict[str, list[dict[str, Any]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise ValidationError(
            f"not a readable XLSX workbook ({type(exc).__name__}: {str(exc)[:100]})", where=where
        ) from None
    out: dict[str, list[dict[str, Any]]] = {}
    try:
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            header = next(rows, None)
            if header is None:
                out[ws.title] = []
                continue
            names = [str(h) if h is not None else "" for h in header]
            table = []
            for values in rows:
                if values is None or all(v is None or v == "" for v in values):
                    continue
                table.append({n: v for n, v in zip(names, values, strict=False) if n})
            out[ws.title] = table
    finally:
        wb.close()
    return out


def read_kobo_xlsx(data: bytes, where: str) -> Iterator[Submission]:
    """Yield submissions from a KoboToolbox XLSX export (first sheet; repeats in other sheets)."""
    sheets = _xlsx_sheets(data, where)
    if not sheets:
        raise ValidationError("the workbook has no sheets", where=where)
    names = list(sheets)
    main = sheets[names[0]]
    children: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for sheet in names[1:]:
        for row in sheets[sheet]:
            parent = str(row.get("_parent_index"))
            a = {k: v for k, v in _kobo_table_row(row).items() if not k.startswith("_")}
            answers, _ = _kobo_answers(a)
            children.setdefault(parent, {}).setdefault(sheet, []).append(answers)
    for i, row in enumerate(main, 2):
        sub = _kobo_submission(_kobo_table_row(row), f"{where}, sheet {names[0]!r} row {i}", i)
        sub.repeats.update(children.get(str(row.get("_index")), {}))
        yield _unlisted_files(sub)


def sniff_json(doc: Any) -> str:
    """Return which JSON export this is: ``central-odata``, ``kobo`` or ``geojson`` (or ``unknown``)."""
    first = doc[0] if isinstance(doc, list) and doc else doc
    if isinstance(first, dict):
        if "@odata.context" in first or (
            isinstance(first.get("value"), list) and "results" not in first
        ):
            return "central-odata"
        if "results" in first or "_uuid" in first or "_xform_id_string" in first:
            return "kobo"
        if first.get("type") in ("FeatureCollection", "Feature"):
            return "geojson"
    return "unknown"


def load_json(data: bytes, where: str) -> Any:
    """Parse JSON bytes with a clear message on failure."""
    return _json(data, where)
