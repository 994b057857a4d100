"""Our XLSForms' answers -> report documents (``mineaction.report/1``).

The field names here are exactly those of :mod:`mineaction.forms`; the tests check that every
field the mapping reads exists in the form and every form field is read.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from typing import Any

from mineaction.core.geoparse import parse_geo_answer
from mineaction.errors import UnsafeCoordinateError, ValidationError
from mineaction.forms import Form
from mineaction.io.submissions import Submission

Problems = list[dict[str, str]]

_META_TYPES = {"start", "end", "deviceid", "username", "today", "calculate", "note"}
#: Question types whose answer is the name of a file sent with the submission.
_FILE_TYPES = {"image", "audio", "video", "file"}
_INT = re.compile(r"^[+-]?\d+(\.0*)?$")


class _Reader:
    """Typed access to one submission's answers, collecting every problem."""

    def __init__(self, form: Form, problems: Problems) -> None:
        self.types = form.fields()
        self.problems = problems
        self.accuracy: dict[str, float] = {}
        self.read: set[str] = set()
        #: (question path, file name) of every photo/file answer
        self.files: list[tuple[str, str]] = []

    def bad(self, field: str, message: str) -> None:
        self.problems.append({"field": field, "message": message})

    def get(self, answers: dict[str, Any], name: str, where: str | None = None) -> Any:
        field = where or name
        self.read.add(name)
        kind = self.types[name].split()[0]
        value = answers.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            if kind in ("integer",):
                if isinstance(value, bool):
                    raise ValueError
                if isinstance(value, float):
                    if not math.isfinite(value) or value != int(value):
                        raise ValueError
                    return int(value)
                if isinstance(value, int):
                    return value
                text = str(value).strip()
                if not _INT.match(text) or len(text) > 15:
                    raise ValueError
                return int(float(text))
            if kind == "decimal":
                if isinstance(value, bool):
                    raise ValueError
                number = float(value)
                if not math.isfinite(number):
                    raise ValueError
                return number
            if kind == "date":
                if isinstance(value, datetime):
                    return value.date().isoformat()
                if isinstance(value, date):
                    return value.isoformat()
                text = str(value).strip()[:10]
                return date.fromisoformat(text).isoformat()
            if kind == "select_multiple":
                if isinstance(value, list):
                    return [str(v) for v in value]
                return str(value).split()
            if kind in ("geopoint", "geotrace", "geoshape"):
                ans = parse_geo_answer(value, kind, where=field)
                worst = ans.worst_accuracy
                if worst is not None:
                    self.accuracy[field] = worst
                return _two_d(ans.geometry)
        except UnsafeCoordinateError:
            raise  # NaN/inf/absurd coordinates: the whole file is refused
        except ValidationError as exc:
            self.bad(field, exc.message)
            return None
        except (ValueError, TypeError, OverflowError):
            expected = {"integer": "a whole number", "decimal": "a number", "date": "a date"}
            self.bad(field, f"{str(value)[:40]!r} is not {expected.get(kind, kind)}")
            return None
        if isinstance(value, float) and value == int(value):
            value = int(value)
        text = str(value).strip()[:2000]
        if kind in _FILE_TYPES:
            self.files.append((field, text))
        return text


def _flat(coords: Any) -> Any:
    if coords and isinstance(coords[0], float | int):
        return list(coords[:2])
    return [_flat(c) for c in coords]


def _two_d(geometry: dict[str, Any]) -> dict[str, Any]:
    """Drop altitudes: stored geometry is 2D lon/lat (ODK altitude is not survey data)."""
    return {"type": geometry["type"], "coordinates": _flat(geometry["coordinates"])}


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != [] and v != {}}


def _sadd(r: _Reader, a: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    vals = {who: r.get(a, f"{prefix}{who}") for who in ("women", "men", "girls", "boys")}
    if all(v is None for v in vals.values()):
        return None
    return {k: (v or 0) for k, v in vals.items()}


def _yes(v: Any) -> bool | None:
    if v is None:
        return None
    return str(v).lower() in ("yes", "true", "1")


def _eo_items(r: _Reader, rows: list[dict[str, Any]], repeat: str) -> list[dict[str, Any]]:
    items = []
    for i, a in enumerate(rows):
        w = f"{repeat}[{i}]"
        quantity = r.get(a, "eo_quantity", f"{w}.eo_quantity")
        items.append(
            _drop_none(
                {
                    "category": r.get(a, "eo_category", f"{w}.eo_category"),
                    "model": r.get(a, "eo_model", f"{w}.eo_model"),
                    "quantity": 1 if quantity is None else quantity,
                    "condition": r.get(a, "eo_condition", f"{w}.eo_condition"),
                    "disposal": r.get(a, "eo_disposal", f"{w}.eo_disposal"),
                    "depth_cm": r.get(a, "eo_depth_cm", f"{w}.eo_depth_cm"),
                    "point": r.get(a, "eo_point", f"{w}.eo_point"),
                }
            )
        )
        r.get(a, "eo_photo", f"{w}.eo_photo")  # a file: listed in source.attachments
    return items


def _body(form: Form, r: _Reader, s: Submission, report_date: str | None) -> dict[str, Any]:
    a = s.answers
    rep = s.repeats
    g = r.get
    fid = form.form_id
    if fid == "ma_hazard":
        evidence = [
            _drop_none(
                {
                    "type": g(e, "evidence_type", f"evidence[{i}].evidence_type"),
                    "source": g(e, "evidence_source", f"evidence[{i}].evidence_source"),
                    "description": g(
                        e, "evidence_description", f"evidence[{i}].evidence_description"
                    ),
                }
            )
            for i, e in enumerate(rep.get("evidence", []))
        ]
        for i, e in enumerate(rep.get("evidence", [])):
            g(e, "evidence_photo", f"evidence[{i}].evidence_photo")  # in source.attachments
        return _drop_none(
            {
                "hazard_id": g(a, "hazard_id"),
                "name": g(a, "hazard_name"),
                "classification": g(a, "classification"),
                "contamination": g(a, "contamination"),
                "polygon": g(a, "polygon"),
                "benchmark": g(a, "benchmark"),
                "location": g(a, "location"),
                "estimated_area_m2": g(a, "estimated_area_m2"),
                "blockages": g(a, "blockages"),
                "beneficiaries": _sadd(r, a, "ben_"),
                "evidence": evidence,
                "description": g(a, "description"),
            }
        )
    if fid == "ma_activity":
        releases = []
        for i, x in enumerate(rep.get("releases", [])):
            w = f"releases[{i}]"
            releases.append(
                _drop_none(
                    {
                        "outcome": g(x, "release_outcome", f"{w}.release_outcome"),
                        "polygon": g(x, "release_polygon", f"{w}.release_polygon"),
                        "method": g(x, "release_method", f"{w}.release_method"),
                        "depth_cm": g(x, "release_depth_cm", f"{w}.release_depth_cm"),
                        "reported_m2": g(x, "release_reported_m2", f"{w}.release_reported_m2"),
                    }
                )
            )
        reported = _drop_none(
            {
                "cancelled_m2": g(a, "reported_cancelled_m2"),
                "reduced_m2": g(a, "reported_reduced_m2"),
                "cleared_m2": g(a, "reported_cleared_m2"),
            }
        )
        return _drop_none(
            {
                "hazard_id": g(a, "hazard_id"),
                "activity_type": g(a, "activity_type"),
                "stage": g(a, "stage"),
                "activity_id": g(a, "activity_id"),
                "method": g(a, "method"),
                "team": g(a, "team"),
                "team_days": g(a, "team_days"),
                "start_date": g(a, "start_date"),
                "end_date": g(a, "end_date"),
                "clearance_depth_cm": g(a, "clearance_depth_cm"),
                "releases": releases,
                "eo_items": _eo_items(r, rep.get("eo_found", []), "eo_found"),
                "reported": reported,
                "close_reason": g(a, "close_reason"),
            }
        )
    if fid == "ma_eo_spot":
        return _drop_none({"hazard_id": g(a, "hazard_id"), "location": g(a, "location")}) | {
            "items": _eo_items(r, rep.get("items", []), "items")
        }
    if fid == "ma_accident":
        victims = []
        accident_id = g(a, "accident_id") or s.instance_id
        for i, v in enumerate(rep.get("victims", [])):
            w = f"victims[{i}]"
            victims.append(
                _drop_none(
                    {
                        "victim_id": g(v, "victim_id", f"{w}.victim_id")
                        or f"{accident_id}-V{i + 1}",
                        "name": g(v, "victim_name", f"{w}.victim_name"),
                        "sex": g(v, "victim_sex", f"{w}.victim_sex"),
                        "age": g(v, "victim_age", f"{w}.victim_age"),
                        "status": g(v, "victim_status", f"{w}.victim_status"),
                        "deminer": _yes(g(v, "victim_deminer", f"{w}.victim_deminer")),
                        "activity": g(v, "victim_activity", f"{w}.victim_activity"),
                    }
                )
            )
        return _drop_none(
            {
                "accident_id": accident_id,
                "date": _not_after(r, g(a, "accident_date"), report_date, "accident_date"),
                "point": g(a, "accident_point"),
                "device_category": g(a, "device_category"),
                "demining": _yes(g(a, "demining")),
                "hazard_id": g(a, "hazard_id"),
                "location": g(a, "location"),
                "description": g(a, "description"),
                "victims": victims,
            }
        )
    if fid == "ma_eore":
        sadd = _sadd(r, a, "") or {}
        return _drop_none(
            {
                "session_id": g(a, "session_id") or s.instance_id,
                "date": _not_after(r, g(a, "session_date"), report_date, "session_date"),
                "point": g(a, "session_point"),
                "location": g(a, "location"),
                "method": g(a, "eore_method"),
                "beneficiaries": _drop_none({**sadd, "with_disability": g(a, "with_disability")})
                or {"women": 0},
            }
        )
    if fid == "ma_qm":
        ncs = []
        for i, n in enumerate(rep.get("nonconformities", [])):
            w = f"nonconformities[{i}]"
            ncs.append(
                _drop_none(
                    {
                        "type": g(n, "nc_type", f"{w}.nc_type"),
                        "severity": g(n, "nc_severity", f"{w}.nc_severity"),
                        "description": g(n, "nc_description", f"{w}.nc_description"),
                        "corrective_action": g(
                            n, "nc_corrective_action", f"{w}.nc_corrective_action"
                        ),
                        "closed": _yes(g(n, "nc_closed", f"{w}.nc_closed")),
                    }
                )
            )
        return _drop_none(
            {
                "inspection_id": g(a, "inspection_id") or s.instance_id,
                "date": _not_after(r, g(a, "inspection_date"), report_date, "inspection_date"),
                "kind": g(a, "inspection_kind"),
                "inspected_organisation": g(a, "inspected_organisation"),
                "hazard_id": g(a, "hazard_id"),
                "activity_report_id": g(a, "activity_report_id"),
                "nonconformities": ncs,
            }
        )
    if fid == "ma_handover":
        return _drop_none(
            {
                "hazard_id": g(a, "hazard_id"),
                "date": _not_after(r, g(a, "handover_date"), report_date, "handover_date"),
                "recipient": g(a, "recipient"),
                "certificate": g(a, "certificate"),
                "community": _sadd(r, a, "com_"),
            }
        )
    raise ValidationError(f"no mapping for form {fid!r}")  # pragma: no cover - forms are fixed


def _not_later_than_sent(r: _Reader, report_date: str | None, sent: Any) -> None:
    """A date of information after the submission was sent (or after today) is a typo.

    One day of slack allows for time zones (Central and Kobo give UTC times).
    """
    if not report_date:
        return
    try:
        day = date.fromisoformat(report_date)
    except ValueError:
        return
    sent_day = None
    if sent:
        try:
            sent_day = date.fromisoformat(str(sent).strip()[:10])
        except ValueError:
            sent_day = None
    if sent_day is not None and day > sent_day + timedelta(days=1):
        r.bad("report_date", f"{report_date} is after the submission was sent ({sent_day})")
    elif day > date.today() + timedelta(days=1):
        r.bad("report_date", f"{report_date} is in the future")


def _not_after(r: _Reader, when: str | None, report_date: str | None, field: str) -> str | None:
    if when and report_date and when > report_date:
        r.bad(field, f"{when} is after the date of information {report_date}")
    return when


def to_report(
    sub: Submission,
    form: Form,
    *,
    organisation: str,
    report_id: str,
    reads: set[str] | None = None,
) -> tuple[dict[str, Any], Problems]:
    """Return the report document for one submission and the problems found while mapping.

    Required fields are checked here (with the form's field names); code lists, numeric ranges
    and geometry rules are checked when the report itself is validated.
    """
    problems: Problems = list(sub.problems)
    r = _Reader(form, problems)
    if not (set(sub.answers) | set(sub.repeats)) & (set(form.fields()) | set(form.repeats())):
        problems.append(
            {
                "field": "",
                "message": f"none of the fields of form {form.form_id} is in this record: export "
                "with XML names as headers (Kobo: 'XML values and headers'), or give a --mapping",
            }
        )
        return {"report_id": report_id, "type": form.report_type}, problems
    for name in form.required_fields():
        if name in r.types and r.types[name].split()[0] not in _META_TYPES:
            value = sub.answers.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                problems.append({"field": name, "message": "required answer is missing"})
    required_inside = _required_in_repeat(form)
    for rname, fields in form.repeats().items():
        for i, row in enumerate(sub.repeats.get(rname, [])):
            for fname in fields:
                if fname in required_inside and row.get(fname) in (None, ""):
                    problems.append(
                        {"field": f"{rname}[{i}].{fname}", "message": "required answer is missing"}
                    )
    report_date = r.get(sub.answers, "report_date")
    _not_later_than_sent(r, report_date, sub.submitted_at)
    body = _body(form, r, sub, report_date)
    if reads is not None:
        reads |= r.read
    source = _drop_none(
        {
            "system": sub.system,
            "form_id": form.form_id,
            "form_version": sub.form_version,
            "instance_id": sub.instance_id,
            "root_id": sub.root_id,
            "deprecated_id": sub.deprecated_id,
            "submitted_at": str(sub.submitted_at) if sub.submitted_at else None,
            "submitter": sub.submitter,
            "review_state": sub.review_state,
            "attachments": attachments(sub.attachments, r.files),
            "accuracy_m": r.accuracy,
        }
    )
    doc: dict[str, Any] = {
        "report_id": report_id,
        "type": form.report_type,
        "organisation": organisation,
        "date_of_information": report_date,
        "source": source,
        form.report_type: body,
    }
    if sub.submitter:
        doc["submitted_by"] = str(sub.submitter)[:100]
    return doc, problems


def attachments(
    exported: list[dict[str, Any]], files: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Return the submission's attachments: each file answer with its entry in the export.

    ``exported`` is the export's own list (Kobo ``_attachments``; ODK Central: the files named
    by answers, ``present`` from the media folder or the attachment counts). Each file answer
    gets ``question``, ``filename`` and ``present`` (True: on the server, False: not sent yet,
    None: unknown); export entries no answer names are kept as they are.

    >>> attachments(
    ...     [{"filename": "u/attachments/abc/p1.jpg", "mimetype": "image/jpeg"}],
    ...     [("items[0].eo_photo", "p1.jpg"), ("items[1].eo_photo", "p2.jpg")],
    ... )  # doctest: +NORMALIZE_WHITESPACE
    [{'question': 'items[0].eo_photo', 'filename': 'p1.jpg', 'present': True,
      'mimetype': 'image/jpeg'},
     {'question': 'items[1].eo_photo', 'filename': 'p2.jpg', 'present': False}]
    """
    by_name: dict[str, dict[str, Any]] = {}
    for entry in exported:
        name = str(entry.get("filename") or "").replace("\\", "/").rsplit("/", 1)[-1]
        by_name.setdefault(name, entry)
    out: list[dict[str, Any]] = []
    used: set[str] = set()
    for question, name in files:
        listed = by_name.get(name)
        item: dict[str, Any] = {"question": question, "filename": name}
        if listed is None:
            item["present"] = False
        else:
            used.add(name)
            item["present"] = listed.get("present", True)
            item |= {
                k: v
                for k, v in listed.items()
                if k not in ("filename", "present", "question_xpath") and v is not None
            }
        out.append(item)
    out += [e for n, e in by_name.items() if n not in used]
    return out


def _required_in_repeat(form: Form) -> set[str]:
    inside = {n for names in form.repeats().values() for n in names}
    return {r.name for r in form.rows if r.required and r.name in inside}
