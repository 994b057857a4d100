"""Synthetic, valid submissions of our forms written in the real export formats.

Used by the tests (round trips), the committed fixtures and the import benchmark. Answers are
kept as raw ODK values (``"lat lon alt acc"`` strings, numbers as text); each writer then encodes
them as that export does: Kobo API v2 JSON (full-path keys, strings), ODK Central OData JSON
(nested groups, typed numbers, GeoJSON), ODK Central CSV zip and Kobo CSV / XLSX.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from mineaction.forms import FORMS, FORMS_VERSION, Form, paths


@dataclass
class Filled:
    """One filled-in form instance (raw ODK answer values)."""

    form_id: str
    instance_id: str
    answers: dict[str, str]
    repeats: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    root_id: str | None = None
    deprecated_id: str | None = None
    submitted_at: str = "2026-05-02T09:15:00.000Z"
    submitter: str = "enumerator1"

    @property
    def root(self) -> str:
        """Return the stable root id (the first version's instance id)."""
        return self.root_id or self.instance_id


def _square(lon: float, lat: float, size: float, rng: random.Random, n: int = 6) -> str:
    """Return an ODK geoshape string: an n-gon of roughly ``size`` degrees, first point repeated."""
    import math

    pts = []
    for k in range(n):
        a = 2 * math.pi * k / n
        r = size * (0.8 + 0.2 * rng.random())
        pts.append(
            f"{lat + r * math.sin(a):.7f} {lon + r * math.cos(a):.7f} 150.0 {rng.randint(3, 9)}.0"
        )
    pts.append(pts[0])
    return ";".join(pts)


def _point(lon: float, lat: float) -> str:
    return f"{lat:.7f} {lon:.7f} 152.0 4.0"


def fill(
    form_id: str,
    i: int,
    *,
    rng: random.Random | None = None,
    base: tuple[float, float] = (35.2, 51.3),
) -> Filled:
    """Return a valid filled instance ``i`` of a form (deterministic for a given rng)."""
    rng = rng or random.Random(f"{form_id}:{i}")
    lon = base[0] + (i % 100) * 0.01
    lat = base[1] + (i // 100 % 100) * 0.01
    day = date(2026, 4, 1) + timedelta(days=i % 20)
    rdate = (day + timedelta(days=5)).isoformat()
    hid = f"HZ-{i:05d}"
    a: dict[str, str] = {
        "start": f"{rdate}T08:00:00.000+03:00",
        "end": f"{rdate}T08:30:00.000+03:00",
        "deviceid": "collect:abc123",
        "username": "enumerator1",
        "report_date": rdate,
    }
    rep: dict[str, list[dict[str, str]]] = {}
    if form_id == "ma_hazard":
        a |= {
            "hazard_id": hid,
            "hazard_name": f"Field {i} north of the village",
            "classification": rng.choice(["SHA", "CHA"]),
            "contamination": "AP_MINE AT_MINE",
            "polygon": _square(lon, lat, 0.002, rng, n=8),
            "benchmark": _point(lon - 0.003, lat),
            "location": "UA5922",
            "estimated_area_m2": "48000",
            "blockages": "agriculture roads",
            "ben_women": "12",
            "ben_men": "10",
            "ben_girls": "4",
            "ben_boys": "5",
            "description": "Reported by the farmer; mines seen near the tree line.",
        }
        rep["evidence"] = [
            {
                "evidence_type": "EO_OBSERVED",
                "evidence_source": "observed",
                "evidence_description": "PMN-2 seen",
                "evidence_photo": f"17750{i:05d}01.jpg",
            },
            {
                "evidence_type": "VERBAL_REPORT",
                "evidence_source": "verbal",
                "evidence_description": "",
                "evidence_photo": "",
            },
        ]
    elif form_id == "ma_activity":
        a |= {
            "hazard_id": hid,
            "activity_type": "CLEARANCE",
            "stage": "progress",
            "activity_id": f"T-{i:05d}",
            "method": "manual",
            "team": "MDD-3",
            "team_days": "12.5",
            "start_date": day.isoformat(),
            "end_date": (day + timedelta(days=3)).isoformat(),
            "clearance_depth_cm": "20",
            "reported_cleared_m2": "",
            "close_reason": "",
        }
        rep["releases"] = [
            {
                "release_outcome": "cleared",
                "release_polygon": _square(lon, lat, 0.0008, rng),
                "release_method": "manual",
                "release_depth_cm": "20",
                "release_reported_m2": "",
            }
        ]
        rep["eo_found"] = [
            {
                "eo_category": "AP_MINE",
                "eo_model": "PMN-2",
                "eo_quantity": "3",
                "eo_condition": "armed",
                "eo_disposal": "destroyed_in_situ",
                "eo_depth_cm": "8",
                "eo_point": _point(lon, lat),
                "eo_photo": "",
            }
        ]
    elif form_id == "ma_eo_spot":
        a |= {"hazard_id": "", "location": "UA5922"}
        rep["items"] = [
            {
                "eo_category": "UXO",
                "eo_model": "152mm HE",
                "eo_quantity": str(1 + i % 3),
                "eo_condition": "damaged",
                "eo_disposal": "removed",
                "eo_depth_cm": "",
                "eo_point": _point(lon, lat),
                "eo_photo": f"17750{i:05d}02.jpg",
            }
        ]
    elif form_id == "ma_accident":
        a |= {
            "accident_id": f"ACC-{i:05d}",
            "accident_date": day.isoformat(),
            "accident_point": _point(lon, lat),
            "device_category": "AT_MINE",
            "demining": "no",
            "hazard_id": "",
            "location": "UA5922",
            "description": "Tractor hit an anti-vehicle mine.",
        }
        rep["victims"] = [
            {
                "victim_id": "",
                "victim_name": "",
                "victim_sex": "male",
                "victim_age": "46",
                "victim_status": "injured",
                "victim_deminer": "no",
                "victim_activity": "farming",
            }
        ]
    elif form_id == "ma_eore":
        a |= {
            "session_id": f"EORE-{i:05d}",
            "session_date": day.isoformat(),
            "session_point": _point(lon, lat),
            "location": "UA5922",
            "eore_method": "direct",
            "women": "14",
            "men": "6",
            "girls": "20",
            "boys": "22",
            "with_disability": "1",
        }
    elif form_id == "ma_qm":
        a |= {
            "inspection_id": f"QA-{i:05d}",
            "inspection_date": day.isoformat(),
            "inspection_kind": "QA",
            "inspected_organisation": "FSD",
            "hazard_id": hid,
            "activity_report_id": "",
        }
        rep["nonconformities"] = [
            {
                "nc_type": "Marking incomplete",
                "nc_severity": "minor",
                "nc_description": "Two marking stakes missing",
                "nc_corrective_action": "Replace stakes",
                "nc_closed": "no",
            }
        ]
    elif form_id == "ma_handover":
        a |= {
            "hazard_id": hid,
            "handover_date": day.isoformat(),
            "recipient": "Village council",
            "certificate": f"HO-{i:05d}",
            "com_women": "40",
            "com_men": "35",
            "com_girls": "12",
            "com_boys": "15",
        }
    else:
        raise KeyError(form_id)
    inst = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return Filled(form_id, inst, a, rep)


# --- writers -------------------------------------------------------------------------------


def _kobo_row(form: Form, f: Filled, idx: int) -> dict[str, Any]:
    p = paths(form)
    row: dict[str, Any] = {
        "_id": 100000 + idx,
        "formhub/uuid": "0f3a2b1c9d8e4f7a",
        "__version__": "vH7pQ2kXyz",
    }
    for name, value in f.answers.items():
        if value != "":
            row[p[name]] = value
    for rname, rows in f.repeats.items():
        row[p.get(rname, rname)] = [{p[k]: v for k, v in r.items() if v != ""} for r in rows]
    geo = next((v for k, v in f.answers.items() if form.fields().get(k) == "geopoint" and v), None)
    latlon = [float(x) for x in geo.split()[:2]] if geo else [None, None]
    row |= {
        "meta/instanceID": f"uuid:{f.instance_id}",
        "meta/rootUuid": f"uuid:{f.root}",
        "_xform_id_string": form.form_id,
        "_uuid": f.instance_id,
        "_attachments": [
            {
                "download_url": f"https://kf.example.org/api/v2/assets/a1/data/{100000 + idx}"
                f"/attachments/{k}/",
                "mimetype": "image/jpeg",
                "filename": f"enumerator1/attachments/0f3a2b1c9d8e4f7a/{f.instance_id}/{name}",
                "question_xpath": xpath,
                "uid": f"att{f.instance_id[:8]}{k}",
            }
            for k, (xpath, name) in enumerate(_files(form, f))
        ],
        "_status": "submitted_via_web",
        "_geolocation": latlon,
        "_submission_time": f.submitted_at.rstrip("Z").split(".")[0],
        "_tags": [],
        "_notes": [],
        "_validation_status": {},
        "_submitted_by": f.submitter,
    }
    if f.deprecated_id:
        row["meta/deprecatedID"] = f"uuid:{f.deprecated_id}"
    return row


def _files(form: Form, f: Filled) -> list[tuple[str, str]]:
    """Return (Kobo question xpath, file name) of every file answer of an instance."""
    p, types = paths(form), form.fields()
    out = [(p[k], v) for k, v in f.answers.items() if v and types.get(k) == "image"]
    for rname, rows in f.repeats.items():
        for j, row in enumerate(rows):
            out += [
                (f"{p.get(rname, rname)}[{j + 1}]/{k}", v)
                for k, v in row.items()
                if v and types.get(k) == "image"
            ]
    return out


def kobo_json(filled: list[Filled]) -> dict[str, Any]:
    """Return a KoboToolbox API v2 ``/data/?format=json`` response for these instances."""
    results = [_kobo_row(FORMS[f.form_id], f, i) for i, f in enumerate(filled, 1)]
    return {"count": len(results), "next": None, "previous": None, "results": results}


def _typed(kind: str, value: str) -> Any:
    if value == "":
        return None
    k = kind.split()[0]
    if k == "integer":
        return int(value)
    if k == "decimal":
        return float(value)
    if k in ("geopoint", "geotrace", "geoshape"):
        # As ODK Central converts (lib/data/odata.js): no range checks, lon/lat swapped.
        pts = [[float(x) for x in p.split()] for p in value.split(";") if p.strip()]
        coords = [[p[1], p[0], *p[2:3]] for p in pts]
        accs = [p[3] if len(p) > 3 else None for p in pts]
        if k == "geopoint":
            return {"type": "Point", "coordinates": coords[0], "properties": {"accuracy": accs[0]}}
        if k == "geotrace":
            return {"type": "LineString", "coordinates": coords, "properties": {"accuracies": accs}}
        return {"type": "Polygon", "coordinates": [coords], "properties": {"accuracies": accs}}
    return value


def _nest(form: Form, answers: dict[str, str], only: list[str] | None = None) -> dict[str, Any]:
    types = form.fields()
    p = paths(form)
    out: dict[str, Any] = {}
    for name, value in answers.items():
        parts = p[name].split("/")
        if only is not None:
            parts = parts[-1:]
        node = out
        for g in parts[:-1]:
            node = node.setdefault(g, {})
        node[parts[-1]] = _typed(types[name], value)
    return out


def central_odata(filled: list[Filled], *, expand: bool = True) -> Any:
    """Return ODK Central OData JSON: one response with ``$expand=*``, else a list of tables."""
    form = FORMS[filled[0].form_id]
    base = f"https://central.example.org/v1/projects/4/forms/{form.form_id}.svc"
    value = []
    tables: dict[str, list[dict[str, Any]]] = {}
    for f in filled:
        row: dict[str, Any] = {"__id": f"uuid:{f.root}"}
        row |= _nest(form, {k: v for k, v in f.answers.items()})
        row["meta"] = {"instanceID": f"uuid:{f.instance_id}"}
        if f.deprecated_id:
            row["meta"]["deprecatedID"] = f"uuid:{f.deprecated_id}"
        row["__system"] = {
            "submissionDate": f.submitted_at,
            "updatedAt": None,
            "submitterId": "27",
            "submitterName": f.submitter,
            "attachmentsPresent": len(_files(form, f)),
            "attachmentsExpected": len(_files(form, f)),
            "status": None,
            "reviewState": None,
            "deviceId": "collect:abc123",
            "edits": 1 if f.deprecated_id else 0,
            "formVersion": FORMS_VERSION,
            "deletedAt": None,
        }
        for rname in form.repeats():
            rows = f.repeats.get(rname, [])
            items = []
            for j, r in enumerate(rows, 1):
                item = _nest(form, r, only=[])
                item["__id"] = hashlib.sha1(f"{f.instance_id}/{rname}[{j}]".encode()).hexdigest()
                items.append(item)
            if expand:
                row[rname] = items
            else:
                row[f"{rname}@odata.navigationLink"] = f"Submissions('uuid%3A{f.root}')/{rname}"
                for item in items:
                    item["__Submissions-id"] = f"uuid:{f.root}"
                tables.setdefault(rname, []).extend(items)
        value.append(row)
    main = {"@odata.context": f"{base}/$metadata#Submissions", "value": value}
    if expand:
        return main
    return [main] + [
        {"@odata.context": f"{base}/$metadata#Submissions.{name}", "value": rows}
        for name, rows in tables.items()
    ]


def _central_header(form: Form, names: list[str]) -> list[str]:
    p, types = paths(form), form.fields()
    cols = []
    for name in names:
        col = p[name].replace("/", "-")
        if types[name] == "geopoint":
            cols += [f"{col}-{part}" for part in ("Latitude", "Longitude", "Altitude", "Accuracy")]
        else:
            cols.append(col)
    return cols


def _central_cells(form: Form, names: list[str], answers: dict[str, str]) -> list[str]:
    types = form.fields()
    cells = []
    for name in names:
        v = answers.get(name, "")
        if types[name] == "geopoint":
            parts = (v.split() + ["", "", "", ""])[:4] if v else ["", "", "", ""]
            cells += parts
        else:
            cells.append(v)
    return cells


def central_csv_zip(filled: list[Filled]) -> bytes:
    """Return an ODK Central ``submissions.csv.zip``: main CSV plus one CSV per repeat."""
    form = FORMS[filled[0].form_id]
    inside = {n for ns in form.repeats().values() for n in ns}
    main_names = [n for n in form.fields() if n not in inside]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(
            [
                "SubmissionDate",
                *_central_header(form, main_names),
                "meta-instanceID",
                "meta-instanceName",
            ]
            + ["KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected"]
            + ["Status", "ReviewState", "DeviceID", "Edits", "FormVersion"]
        )
        for f in filled:
            w.writerow(
                [
                    f.submitted_at,
                    *_central_cells(form, main_names, f.answers),
                    f"uuid:{f.instance_id}",
                    "",
                ]
                + [f"uuid:{f.root}", "27", f.submitter, *[str(len(_files(form, f)))] * 2]
                + ["", "", "collect:abc123"]
                + ["1" if f.deprecated_id else "0", FORMS_VERSION]
            )
        zf.writestr(f"{form.form_id}.csv", out.getvalue())
        for f in filled:
            for _, name in _files(form, f):
                zf.writestr(f"media/{name}", b"\xff\xd8\xff\xe0 not a real photo")
        for rname, names in form.repeats().items():
            out = io.StringIO()
            w = csv.writer(out, lineterminator="\n")
            w.writerow([*_central_header(form, names), "PARENT_KEY", "KEY"])
            for f in filled:
                for j, r in enumerate(f.repeats.get(rname, []), 1):
                    key = f"uuid:{f.root}"
                    w.writerow([*_central_cells(form, names, r), key, f"{key}/{rname}[{j}]"])
            zf.writestr(f"{form.form_id}-{rname}.csv", out.getvalue())
    return buf.getvalue()


def _kobo_flat_columns(form: Form) -> list[str]:
    inside = {n for ns in form.repeats().values() for n in ns}
    return [n for n in form.fields() if n not in inside]


def kobo_csv(filled: list[Filled]) -> bytes:
    """Return a KoboToolbox CSV export (``;``, XML names as headers; repeats are not in CSV)."""
    form = FORMS[filled[0].form_id]
    p, types = paths(form), form.fields()
    names = _kobo_flat_columns(form)
    header: list[str] = []
    for n in names:
        header.append(p[n])
        if types[n] == "geopoint":
            header += [
                f"_{p[n].replace('/', '_')}_{x}"
                for x in ("latitude", "longitude", "altitude", "precision")
            ]
        if types[n].startswith("select_multiple"):
            lst = types[n].split()[1]
            header += [f"{p[n]}/{v}" for v, _ in form.choices.get(lst, ())]
    header += ["meta/instanceID", "meta/rootUuid", "_id", "_uuid", "_submission_time"]
    header += [
        "_validation_status",
        "_notes",
        "_status",
        "_submitted_by",
        "__version__",
        "_tags",
        "_index",
    ]
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\n")
    w.writerow(header)
    for i, f in enumerate(filled, 1):
        row: list[str] = []
        for n in names:
            v = f.answers.get(n, "")
            row.append(v)
            if types[n] == "geopoint":
                row += (v.split() + ["", "", "", ""])[:4] if v else ["", "", "", ""]
            if types[n].startswith("select_multiple"):
                lst = types[n].split()[1]
                row += ["1" if c in v.split() else "0" for c, _ in form.choices.get(lst, ())]
        row += [f"uuid:{f.instance_id}", f"uuid:{f.root}", str(100000 + i), f.instance_id]
        row += [f.submitted_at.rstrip("Z").split(".")[0], "", "", "submitted_via_web"]
        row += [f.submitter, "vH7pQ2kXyz", "", str(i)]
        w.writerow(row)
    return out.getvalue().encode("utf-8")


def kobo_xlsx(filled: list[Filled]) -> bytes:
    """Return a KoboToolbox XLSX export: main sheet plus one sheet per repeat (``_parent_index``)."""
    from openpyxl import Workbook

    form = FORMS[filled[0].form_id]
    p = paths(form)
    names = _kobo_flat_columns(form)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = re.sub(r"[\\/*?:\[\]]", " ", form.title)[:31]
    ws.append(
        [p[n] for n in names]
        + ["meta/instanceID", "meta/rootUuid", "_id", "_uuid", "_submission_time", "_index"]
    )
    for i, f in enumerate(filled, 1):
        ws.append(
            [f.answers.get(n, "") or None for n in names]
            + [f"uuid:{f.instance_id}", f"uuid:{f.root}", 100000 + i, f.instance_id]
            + [f.submitted_at.rstrip("Z").split(".")[0], i]
        )
    for rname, rnames in form.repeats().items():
        rs = wb.create_sheet(rname[:31])
        rs.append(
            [p[n] for n in rnames]
            + ["_index", "_parent_table_name", "_parent_index", "_submission__uuid"]
        )
        k = 0
        for i, f in enumerate(filled, 1):
            for r in f.repeats.get(rname, []):
                k += 1
                rs.append([r.get(n, "") or None for n in rnames] + [k, ws.title, i, f.instance_id])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
