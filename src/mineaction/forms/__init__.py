"""XLSForm templates for field data collection (ODK Collect / KoboToolbox), defined in Python.

Each form is written as ``.xlsx`` by :func:`write_xlsx` (``mineaction forms export DIR``). The
field names are exactly those the importer maps (:mod:`mineaction.io.formmap`); the type of
every field is taken from these definitions, so the importer never guesses types from values.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mineaction.core.codes import (
    ActivityStage,
    ActivityType,
    CasualtyStatus,
    ContaminationType,
    DisposalMethod,
    EOCategory,
    EOCondition,
    EvidenceType,
    ReleaseOutcome,
    Severity,
    Sex,
    label,
)

#: Version written into every form's settings sheet (yyyymmddnn, as ODK recommends).
FORMS_VERSION = "2026112601"


_CACHE: dict[tuple[str, str], Any] = {}


@dataclass(frozen=True)
class Row:
    """One survey row: ``type``, ``name``, ``label`` and the optional columns we use."""

    type: str
    name: str = ""
    label: str = ""
    required: bool = False
    constraint: str = ""
    constraint_message: str = ""
    relevant: str = ""
    appearance: str = ""
    hint: str = ""


@dataclass(frozen=True)
class Form:
    """An XLSForm: id, title, the report type it produces, survey rows and choice lists."""

    form_id: str
    title: str
    report_type: str
    rows: tuple[Row, ...]
    choices: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    def fields(self) -> dict[str, str]:
        """Return ``{name: type}`` for every question (groups and repeats excluded)."""
        key = (self.form_id, "fields")
        if key not in _CACHE:
            _CACHE[key] = self._fields()
        return _CACHE[key]  # type: ignore[no-any-return,unused-ignore]

    def _fields(self) -> dict[str, str]:
        return {
            r.name: r.type
            for r in self.rows
            if r.name and not r.type.startswith(("begin_", "end_", "note"))
        }

    def repeats(self) -> dict[str, list[str]]:
        """Return ``{repeat name: [field names inside it]}``."""
        key = (self.form_id, "repeats")
        if key not in _CACHE:
            _CACHE[key] = self._repeats()
        return _CACHE[key]  # type: ignore[no-any-return,unused-ignore]

    def _repeats(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        stack: list[str] = []
        for r in self.rows:
            if r.type == "begin_repeat":
                stack.append(r.name)
                out[r.name] = []
            elif r.type == "end_repeat":
                stack.pop()
            elif stack and r.name and not r.type.startswith(("begin_", "end_")):
                out[stack[-1]].append(r.name)
        return out

    def required_fields(self) -> list[str]:
        """Return the names of required top-level questions."""
        key = (self.form_id, "required")
        if key not in _CACHE:
            _CACHE[key] = self._required()
        return _CACHE[key]  # type: ignore[no-any-return,unused-ignore]

    def _required(self) -> list[str]:
        inside = {n for names in self.repeats().values() for n in names}
        return [r.name for r in self.rows if r.required and r.name not in inside]


def _choices(enum: type, names: list[str] | None = None) -> tuple[tuple[str, str], ...]:
    values = names if names is not None else [m.value for m in enum]  # type: ignore[attr-defined]
    return tuple((v, label(v)) for v in values)


YES_NO = (("yes", "Yes"), ("no", "No"))

COMMON_CHOICES: dict[str, tuple[tuple[str, str], ...]] = {
    "yes_no": YES_NO,
    "eo_category": _choices(EOCategory),
    "eo_condition": _choices(EOCondition),
    "disposal": _choices(DisposalMethod),
}

_META = (
    Row("start", "start"),
    Row("end", "end"),
    Row("deviceid", "deviceid"),
    Row("username", "username"),
    Row("date", "report_date", "Date of information", required=True),
)

_SADD_CONSTRAINT = ". >= 0 and . <= 100000"


def _sadd(prefix: str, group: str, title: str) -> tuple[Row, ...]:
    return (
        Row("begin_group", group, title),
        *(
            Row(
                "integer",
                f"{prefix}{who}",
                who.capitalize(),
                constraint=_SADD_CONSTRAINT,
                constraint_message="0 to 100000",
            )
            for who in ("women", "men", "girls", "boys")
        ),
        Row("end_group", group),
    )


def _eo_repeat(name: str, title: str) -> tuple[Row, ...]:
    return (
        Row("begin_repeat", name, title),
        Row("select_one eo_category", "eo_category", "EO category", required=True),
        Row("text", "eo_model", "Model (e.g. PMN-2, 152mm HE)"),
        Row(
            "integer",
            "eo_quantity",
            "Quantity",
            required=True,
            constraint=". >= 0",
            constraint_message="a quantity cannot be negative",
        ),
        Row("select_one eo_condition", "eo_condition", "Condition"),
        Row("select_one disposal", "eo_disposal", "Disposal"),
        Row("decimal", "eo_depth_cm", "Depth (cm)", constraint=". >= 0 and . <= 1000"),
        Row("geopoint", "eo_point", "Location of the item"),
        Row("image", "eo_photo", "Photo of the item"),
        Row("end_repeat", name),
    )


HAZARD = Form(
    "ma_hazard",
    "Hazard report (non-technical survey)",
    "hazard",
    (
        *_META,
        Row("text", "hazard_id", "Hazard ID", required=True),
        Row("text", "hazard_name", "Hazard name"),
        Row("select_one classification", "classification", "Classification", required=True),
        Row("select_multiple contamination", "contamination", "Contamination"),
        Row("geoshape", "polygon", "Hazard polygon", required=True),
        Row("geopoint", "benchmark", "Benchmark (fixed reference point)"),
        Row("text", "location", "Location P-code"),
        Row("decimal", "estimated_area_m2", "Estimated area (m²)", constraint=". >= 0"),
        Row("select_multiple blockage", "blockages", "Land use blocked"),
        *_sadd("ben_", "beneficiaries", "Direct beneficiaries"),
        Row("begin_repeat", "evidence", "Evidence"),
        Row("select_one evidence_type", "evidence_type", "Evidence type", required=True),
        Row("select_one evidence_source", "evidence_source", "Source"),
        Row("text", "evidence_description", "Description"),
        Row("image", "evidence_photo", "Photo"),
        Row("end_repeat", "evidence"),
        Row("text", "description", "Description", appearance="multiline"),
    ),
    {
        "classification": _choices(None, ["SHA", "CHA"]),  # type: ignore[arg-type]
        "contamination": _choices(ContaminationType),
        "evidence_type": _choices(EvidenceType),
        "evidence_source": (("observed", "Observed"), ("verbal", "Verbal"), ("records", "Records")),
        "blockage": (
            ("agriculture", "Agriculture"),
            ("housing", "Housing"),
            ("roads", "Roads and paths"),
            ("water", "Water"),
            ("infrastructure", "Infrastructure"),
            ("forest", "Forest"),
            ("other", "Other"),
        ),
    },
)

ACTIVITY = Form(
    "ma_activity",
    "Survey and clearance progress / completion",
    "activity",
    (
        *_META,
        Row("text", "hazard_id", "Hazard ID", required=True),
        Row("select_one activity_type", "activity_type", "Activity", required=True),
        Row("select_one stage", "stage", "Report stage", required=True),
        Row("text", "activity_id", "Task / activity ID"),
        Row("text", "method", "Method"),
        Row("text", "team", "Team"),
        Row("decimal", "team_days", "Team days", constraint=". >= 0"),
        Row("date", "start_date", "Start date", required=True),
        Row(
            "date",
            "end_date",
            "End date",
            constraint=". >= ${start_date}",
            constraint_message="the end date cannot be before the start date",
        ),
        Row(
            "decimal",
            "clearance_depth_cm",
            "Clearance depth (cm)",
            constraint=". > 0 and . <= 1000",
        ),
        Row("begin_repeat", "releases", "Released land"),
        Row("select_one outcome", "release_outcome", "Outcome", required=True),
        Row("geoshape", "release_polygon", "Released polygon", required=True),
        Row("text", "release_method", "Method"),
        Row("decimal", "release_depth_cm", "Depth (cm)", constraint=". > 0 and . <= 1000"),
        Row("decimal", "release_reported_m2", "Area as measured (m²)", constraint=". >= 0"),
        Row("end_repeat", "releases"),
        *_eo_repeat("eo_found", "Explosive ordnance found"),
        Row("begin_group", "reported", "Areas reported by the team"),
        Row("decimal", "reported_cancelled_m2", "Cancelled (m²)", constraint=". >= 0"),
        Row("decimal", "reported_reduced_m2", "Reduced (m²)", constraint=". >= 0"),
        Row("decimal", "reported_cleared_m2", "Cleared (m²)", constraint=". >= 0"),
        Row("end_group", "reported"),
        Row("text", "close_reason", "Reason for closing", relevant="${stage} = 'completion'"),
    ),
    {
        "activity_type": _choices(ActivityType),
        "stage": _choices(ActivityStage),
        "outcome": _choices(ReleaseOutcome),
    },
)

EO_SPOT = Form(
    "ma_eo_spot",
    "EO spot report",
    "eo",
    (
        *_META,
        Row("text", "hazard_id", "Hazard ID (if known)"),
        Row("text", "location", "Location P-code"),
        *_eo_repeat("items", "Items found"),
    ),
)

ACCIDENT = Form(
    "ma_accident",
    "Accident and victim report",
    "accident",
    (
        *_META,
        Row("text", "accident_id", "Accident ID", required=True),
        Row("date", "accident_date", "Date of the accident", required=True),
        Row("geopoint", "accident_point", "Place of the accident", required=True),
        Row("select_one eo_category", "device_category", "Device category", required=True),
        Row("select_one yes_no", "demining", "Demining accident?", required=True),
        Row("text", "hazard_id", "Hazard ID (if known)"),
        Row("text", "location", "Location P-code"),
        Row("text", "description", "What happened", appearance="multiline"),
        Row("begin_repeat", "victims", "Victims"),
        Row("text", "victim_id", "Victim ID"),
        Row("text", "victim_name", "Name"),
        Row("select_one sex", "victim_sex", "Sex", required=True),
        Row(
            "integer",
            "victim_age",
            "Age",
            constraint=". >= 0 and . <= 120",
            constraint_message="age 0 to 120",
        ),
        Row("select_one casualty", "victim_status", "Killed or injured", required=True),
        Row("select_one yes_no", "victim_deminer", "Deminer?"),
        Row("text", "victim_activity", "Activity at the time"),
        Row("end_repeat", "victims"),
    ),
    {"sex": _choices(Sex), "casualty": _choices(CasualtyStatus)},
)

EORE = Form(
    "ma_eore",
    "EORE session",
    "eore",
    (
        *_META,
        Row("text", "session_id", "Session ID", required=True),
        Row("date", "session_date", "Date of the session", required=True),
        Row("geopoint", "session_point", "Place"),
        Row("text", "location", "Location P-code"),
        Row("select_one eore_method", "eore_method", "Method", required=True),
        *_sadd("", "participants", "Participants"),
        Row("integer", "with_disability", "Of whom with disability", constraint=". >= 0"),
    ),
    {
        "eore_method": (
            ("direct", "Direct session"),
            ("interpersonal", "Interpersonal"),
            ("mass_media", "Mass media"),
            ("digital", "Digital"),
        )
    },
)

QM = Form(
    "ma_qm",
    "QA/QC inspection",
    "qm",
    (
        *_META,
        Row("text", "inspection_id", "Inspection ID", required=True),
        Row("date", "inspection_date", "Date of the inspection", required=True),
        Row("select_one qm_kind", "inspection_kind", "QA or QC", required=True),
        Row("text", "inspected_organisation", "Inspected organisation", required=True),
        Row("text", "hazard_id", "Hazard ID"),
        Row("text", "activity_report_id", "Activity report ID"),
        Row("begin_repeat", "nonconformities", "Non-conformities"),
        Row("text", "nc_type", "Type", required=True),
        Row("select_one severity", "nc_severity", "Severity", required=True),
        Row("text", "nc_description", "Description"),
        Row("text", "nc_corrective_action", "Corrective action"),
        Row("select_one yes_no", "nc_closed", "Closed?"),
        Row("end_repeat", "nonconformities"),
    ),
    {
        "qm_kind": (("QA", "Quality assurance"), ("QC", "Quality control")),
        "severity": _choices(Severity),
    },
)

HANDOVER = Form(
    "ma_handover",
    "Handover of released land",
    "handover",
    (
        *_META,
        Row("text", "hazard_id", "Hazard ID", required=True),
        Row("date", "handover_date", "Date of the handover", required=True),
        Row("text", "recipient", "Handed over to", required=True),
        Row("text", "certificate", "Certificate number"),
        *_sadd("com_", "community", "Community members"),
    ),
)

FORMS: dict[str, Form] = {
    f.form_id: f for f in (HAZARD, ACTIVITY, EO_SPOT, ACCIDENT, EORE, QM, HANDOVER)
}


def get_form(form_id: str) -> Form:
    """Return one of our forms by id (raise :class:`ValidationError` naming the known ones)."""
    from mineaction.errors import ValidationError

    try:
        return FORMS[form_id]
    except KeyError:
        raise ValidationError(
            f"unknown form {form_id!r}; known forms: {', '.join(FORMS)}", where="--form"
        ) from None


def _used_lists(form: Form) -> Iterator[str]:
    for r in form.rows:
        if r.type.startswith(("select_one ", "select_multiple ")):
            yield r.type.split()[1]


def sheets(form: Form) -> dict[str, list[list[str]]]:
    """Return the three XLSForm sheets (survey, choices, settings) as rows of cells."""
    survey = [
        [
            "type",
            "name",
            "label",
            "required",
            "constraint",
            "constraint_message",
            "relevant",
            "appearance",
            "hint",
        ]
    ]
    for r in form.rows:
        survey.append(
            [
                r.type,
                r.name,
                r.label,
                "yes" if r.required else "",
                r.constraint,
                r.constraint_message,
                r.relevant,
                r.appearance,
                r.hint,
            ]
        )
    choices = [["list_name", "name", "label"]]
    seen: set[str] = set()
    for name in _used_lists(form):
        if name in seen:
            continue
        seen.add(name)
        for value, text in {**COMMON_CHOICES, **form.choices}[name]:
            choices.append([name, value, text])
    settings = [
        ["form_id", "form_title", "version", "instance_name"],
        [form.form_id, form.title, FORMS_VERSION, "concat(${report_date}, ' ', ${start})"],
    ]
    return {"survey": survey, "choices": choices, "settings": settings}


def to_xlsx(form: Form) -> bytes:
    """Return the form as an XLSForm workbook (``.xlsx`` bytes)."""
    from openpyxl import Workbook

    wb = Workbook()
    first = True
    for name, rows in sheets(form).items():
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        ws.title = name
        first = False
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export(directory: Path) -> list[Path]:
    """Write every form as ``<form_id>.xlsx`` into ``directory``; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for form in FORMS.values():
        path = directory / f"{form.form_id}.xlsx"
        path.write_bytes(to_xlsx(form))
        out.append(path)
    return out


def containers(form: Form) -> set[str]:
    """Return the names of the form's groups and repeats (path segments before a field name)."""
    return {r.name for r in form.rows if r.type in ("begin_group", "begin_repeat")} | {"meta"}


def paths(form: Form) -> dict[str, str]:
    """Return ``{field name: XPath below the root}``, e.g. ``beneficiaries/ben_women``."""
    out: dict[str, str] = {}
    stack: list[str] = []
    for r in form.rows:
        if r.type in ("begin_group", "begin_repeat"):
            stack.append(r.name)
        elif r.type in ("end_group", "end_repeat"):
            stack.pop()
        elif r.name:
            out[r.name] = "/".join([*stack, r.name])
    return out
