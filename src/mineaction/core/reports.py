"""The report format: every change to the national picture enters the ledger as a report.

A report is one JSON document (``format: mineaction.report/1``) with an envelope (who, what,
date of information) and one body named after its ``type``. Geometry is GeoJSON in the CRS
named by ``crs`` (default EPSG:4326, longitude first); it is checked and stored as WGS84.
See ``docs/report-format.md`` for the full description and an example of each type.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError
from shapely.geometry.base import BaseGeometry

from mineaction.core.codes import (
    ALLOWED_OUTCOMES,
    ActivityStage,
    ActivityType,
    CasualtyStatus,
    ContaminationType,
    DisposalMethod,
    EOCategory,
    EOCondition,
    EvidenceKind,
    EvidenceType,
    HazardClassification,
    ReleaseOutcome,
    ReportType,
    Severity,
    Sex,
)
from mineaction.core.geometry import (
    BBox,
    check_point,
    check_polygon,
    from_geojson,
    normalise_crs,
    to_geojson,
    to_wgs84,
)
from mineaction.errors import GeometryError, ValidationError

FORMAT = "mineaction.report/1"

Identifier = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\w.:/\-]+$")]
Text = Annotated[str, Field(max_length=2000)]
Count = Annotated[int, Field(ge=0, le=10_000_000)]
SquareMetres = Annotated[float, Field(ge=0, le=1e11, allow_inf_nan=False)]
GeoJSON = dict[str, Any]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SADD(_Model):
    """People disaggregated by sex and age (women, men, girls, boys), optionally with disability."""

    women: Count = 0
    men: Count = 0
    girls: Count = 0
    boys: Count = 0
    with_disability: Count | None = None

    @property
    def total(self) -> int:
        """Return women + men + girls + boys."""
        return self.women + self.men + self.girls + self.boys


class Evidence(_Model):
    """One piece of evidence of contamination."""

    type: EvidenceType
    kind: EvidenceKind | None = None
    source: Literal["observed", "verbal", "records"] | None = None
    description: Text | None = None


class EOItem(_Model):
    """Explosive ordnance found: category, model, quantity, condition, disposal, place."""

    category: EOCategory
    model: Annotated[str, Field(max_length=100)] | None = None
    quantity: Count = 1
    condition: EOCondition = EOCondition.UNKNOWN
    disposal: DisposalMethod | None = None
    depth_cm: Annotated[float, Field(ge=0, le=1000)] | None = None
    point: GeoJSON | None = None


class HazardBody(_Model):
    """A hazard (land) report: new hazard or an update (evidence, boundary, status)."""

    hazard_id: Identifier
    name: Annotated[str, Field(max_length=200)] | None = None
    classification: HazardClassification | None = None
    evidence: list[Evidence] = []
    contamination: list[ContaminationType] = []
    polygon: GeoJSON | None = None
    benchmark: GeoJSON | None = None
    location: Annotated[str, Field(max_length=50)] | None = None
    estimated_area_m2: SquareMetres | None = None
    blockages: list[Annotated[str, Field(max_length=100)]] = []
    beneficiaries: SADD | None = None
    status: Literal["open", "closed"] | None = None
    status_reason: Text | None = None
    description: Text | None = None

    @model_validator(mode="after")
    def _status_needs_reason(self) -> HazardBody:
        if self.status is not None and not self.status_reason:
            raise ValueError("status_reason is required when a hazard report sets status")
        return self


class Release(_Model):
    """A released polygon with its outcome, method and criteria."""

    outcome: ReleaseOutcome
    polygon: GeoJSON
    method: Annotated[str, Field(max_length=100)] | None = None
    criteria: list[Annotated[str, Field(max_length=200)]] = []
    depth_cm: Annotated[float, Field(gt=0, le=1000)] | None = None
    reported_m2: SquareMetres | None = None


class ReportedAreas(_Model):
    """Operator-typed areas, kept next to the computed ones and compared on review."""

    cancelled_m2: SquareMetres | None = None
    reduced_m2: SquareMetres | None = None
    cleared_m2: SquareMetres | None = None


class ActivityBody(_Model):
    """An activity progress or completion report (NTS, TS, clearance, BAC, EOD)."""

    hazard_id: Identifier
    activity_type: ActivityType
    stage: ActivityStage = ActivityStage.PROGRESS
    activity_id: Identifier | None = None
    method: Annotated[str, Field(max_length=100)] | None = None
    assets: list[Annotated[str, Field(max_length=100)]] = []
    team: Annotated[str, Field(max_length=100)] | None = None
    team_days: Annotated[float, Field(ge=0, le=100_000)] | None = None
    start_date: date
    end_date: date | None = None
    clearance_depth_cm: Annotated[float, Field(gt=0, le=1000)] | None = None
    releases: list[Release] = []
    eo_items: list[EOItem] = []
    reported: ReportedAreas | None = None
    close_reason: Text | None = None

    @field_validator("end_date")
    @classmethod
    def _end_not_before_start(cls, v: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start_date")
        if v is not None and start is not None and v < start:
            raise ValueError(f"end_date {v} is before start_date {start}")
        return v

    @model_validator(mode="after")
    def _rules(self) -> ActivityBody:
        allowed = ALLOWED_OUTCOMES[self.activity_type]
        for i, rel in enumerate(self.releases):
            if rel.outcome not in allowed:
                names = ", ".join(sorted(allowed)) or "no land release"
                raise ValueError(
                    f"releases[{i}]: a {self.activity_type} report cannot release land as "
                    f"{rel.outcome} (IMAS 07.11: {self.activity_type} gives {names})"
                )
            if (
                rel.outcome == ReleaseOutcome.CLEARED
                and rel.depth_cm is None
                and self.clearance_depth_cm is None
            ):
                raise ValueError(
                    f"releases[{i}]: cleared land needs the clearance depth (depth_cm on the "
                    "release or clearance_depth_cm on the activity; IMAS 09.10)"
                )
        return self


class EOBody(_Model):
    """An EO spot report: items found (and destroyed) outside a land-release activity."""

    hazard_id: Identifier | None = None
    location: Annotated[str, Field(max_length=50)] | None = None
    items: Annotated[list[EOItem], Field(min_length=1)]


class Victim(_Model):
    """A person killed or injured (personal data: stored apart from the accident)."""

    victim_id: Identifier
    name: Annotated[str, Field(max_length=200)] | None = None
    sex: Sex = Sex.UNKNOWN
    age: Annotated[int, Field(ge=0, le=120)] | None = None
    status: CasualtyStatus
    deminer: bool = False
    activity: Annotated[str, Field(max_length=200)] | None = None
    tampered: bool | None = None


class AccidentBody(_Model):
    """An accident with its victims."""

    accident_id: Identifier
    date: date
    point: GeoJSON
    device_category: EOCategory
    demining: bool = False
    hazard_id: Identifier | None = None
    location: Annotated[str, Field(max_length=50)] | None = None
    description: Text | None = None
    victims: list[Victim] = []


class EOREBody(_Model):
    """An explosive ordnance risk education session."""

    session_id: Identifier
    date: date
    point: GeoJSON | None = None
    location: Annotated[str, Field(max_length=50)] | None = None
    method: Annotated[str, Field(max_length=100)] = "direct"
    beneficiaries: SADD


class NonConformity(_Model):
    """A QM finding with its severity and corrective action."""

    type: Annotated[str, Field(max_length=200)]
    severity: Severity
    description: Text | None = None
    corrective_action: Text | None = None
    closed: bool = False


class QMBody(_Model):
    """A quality-management inspection (QA by the authority, QC by the operator)."""

    inspection_id: Identifier
    date: date
    kind: Literal["QA", "QC"] = "QA"
    inspected_organisation: Annotated[str, Field(max_length=100)]
    hazard_id: Identifier | None = None
    activity_report_id: Identifier | None = None
    nonconformities: list[NonConformity] = []


class HandoverBody(_Model):
    """Formal handover of released land to its users (IMAS 08.30)."""

    hazard_id: Identifier
    date: date
    recipient: Annotated[str, Field(min_length=1, max_length=200)]
    certificate: Annotated[str, Field(max_length=100)] | None = None
    community: SADD | None = None


class Report(_Model):
    """A report as submitted: envelope plus the body named by ``type``."""

    format: Literal["mineaction.report/1"] = "mineaction.report/1"
    report_id: Identifier
    type: ReportType
    organisation: Identifier
    date_of_information: date
    crs: Annotated[str, Field(max_length=200)] | None = None
    supersedes: Identifier | None = None
    nmas_edition: Annotated[str, Field(max_length=100)] | None = None
    submitted_by: Annotated[str, Field(max_length=100)] | None = None
    source: dict[str, Any] | None = None
    extensions: dict[str, Any] = {}
    hazard: HazardBody | None = None
    activity: ActivityBody | None = None
    eo: EOBody | None = None
    accident: AccidentBody | None = None
    eore: EOREBody | None = None
    qm: QMBody | None = None
    handover: HandoverBody | None = None

    @field_validator("date_of_information")
    @classmethod
    def _not_in_future(cls, v: date, info: ValidationInfo) -> date:
        if v.year < 1950:
            raise ValueError(f"date_of_information {v} is implausibly early")
        return v

    @model_validator(mode="after")
    def _one_body(self) -> Report:
        bodies = [t.value for t in ReportType if getattr(self, t.value) is not None]
        if bodies != [self.type.value]:
            raise ValueError(
                f"a {self.type.value!r} report needs exactly one body named {self.type.value!r}; "
                f"found {bodies or 'none'}"
            )
        return self

    @field_validator("activity")
    @classmethod
    def _activity_not_after_information(
        cls, v: ActivityBody | None, info: ValidationInfo
    ) -> ActivityBody | None:
        day = info.data.get("date_of_information")
        if v is not None and day is not None:
            end = v.end_date or v.start_date
            if end > day:
                which = "end_date" if v.end_date else "start_date"
                raise ValueError(
                    f"the activity's {which} {end} is after the date_of_information {day}"
                )
        return v

    @property
    def body(self) -> BaseModel:
        """Return the body of this report's type."""
        body = getattr(self, self.type.value)
        assert body is not None
        return body

    @property
    def hazard_id(self) -> str | None:
        """Return the hazard this report is about, if any."""
        return getattr(self.body, "hazard_id", None)


def _loc_text(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_report(data: Any, *, where: str = "report") -> Report:
    """Validate a report document; raise :class:`ValidationError` listing every problem.

    >>> r = parse_report({"report_id": "R-1", "type": "eo", "organisation": "FSD",
    ...     "date_of_information": "2024-05-01",
    ...     "eo": {"items": [{"category": "UXO", "quantity": 2}]}})
    >>> r.eo.items[0].quantity
    2
    >>> parse_report({"report_id": "R-2", "type": "eo", "organisation": "FSD",
    ...     "date_of_information": "2024-05-01", "eo": {"items": [{"category": "UXO",
    ...     "quantity": -1}]}})
    Traceback (most recent call last):
    ...
    mineaction.errors.ValidationError: report: eo.items[0].quantity: Input should be ...
    """
    if not isinstance(data, dict):
        raise ValidationError("a report must be a JSON object", where=where)
    try:
        return Report.model_validate(data)
    except PydanticValidationError as exc:
        problems = [
            {"field": _loc_text(tuple(e["loc"])), "message": e["msg"].removeprefix("Value error, ")}
            for e in exc.errors()
        ]
        text = "; ".join(
            f"{p['field']}: {p['message']}" if p["field"] else p["message"] for p in problems
        )
        raise ValidationError(text, where=where, details=problems) from None


def _poly(
    obj: GeoJSON, crs: str, field: str, area: BBox | None, warnings: list[str]
) -> BaseGeometry:
    geom = to_wgs84(from_geojson(obj, where=field), crs)
    checked = check_polygon(geom, where=field, programme_area=area)
    warnings.extend(checked.warnings)
    return checked.geometry


def _point(obj: GeoJSON, crs: str, field: str, area: BBox | None) -> BaseGeometry:
    return check_point(
        to_wgs84(from_geojson(obj, where=field), crs), where=field, programme_area=area
    )


def normalise_report(
    report: Report, *, programme_area: BBox | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Check every geometry, transform it to WGS84 and return the stored payload and warnings.

    The payload is the report as JSON-compatible data with ``crs`` removed (all WGS84).
    Raises :class:`GeometryError` naming the field (e.g. ``activity.releases[1].polygon``).
    """
    crs = normalise_crs(report.crs)
    warnings: list[str] = []
    data = report.model_dump(mode="json", exclude_none=True, exclude={"crs"})
    kind = report.type.value
    body = data[kind]

    def fix_items(items: list[dict[str, Any]], prefix: str) -> None:
        for i, item in enumerate(items):
            if "point" in item:
                item["point"] = to_geojson(
                    _point(item["point"], crs, f"{prefix}[{i}].point", programme_area)
                )

    if kind == "hazard":
        if "polygon" in body:
            body["polygon"] = to_geojson(
                _poly(body["polygon"], crs, "hazard.polygon", programme_area, warnings)
            )
        if "benchmark" in body:
            body["benchmark"] = to_geojson(
                _point(body["benchmark"], crs, "hazard.benchmark", programme_area)
            )
    elif kind == "activity":
        for i, rel in enumerate(body.get("releases", [])):
            field = f"activity.releases[{i}].polygon"
            rel["polygon"] = to_geojson(_poly(rel["polygon"], crs, field, programme_area, warnings))
        fix_items(body.get("eo_items", []), "activity.eo_items")
    elif kind == "eo":
        fix_items(body["items"], "eo.items")
    elif kind in ("accident", "eore") and body.get("point") is not None:
        body["point"] = to_geojson(_point(body["point"], crs, f"{kind}.point", programme_area))
    return orjson.loads(orjson.dumps(data)), warnings


__all__ = [
    "FORMAT",
    "AccidentBody",
    "ActivityBody",
    "EOBody",
    "EOItem",
    "EOREBody",
    "Evidence",
    "GeometryError",
    "HandoverBody",
    "HazardBody",
    "QMBody",
    "Release",
    "Report",
    "SADD",
    "Victim",
    "normalise_report",
    "parse_report",
]
