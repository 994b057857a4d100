"""Small hand-made reports for tests (boxes near Sudzha, Kursk Oblast)."""

from __future__ import annotations

from typing import Any

from shapely.geometry import box, mapping


def rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    """GeoJSON polygon of a lon/lat rectangle (offsets in degrees from 35.2 E, 51.2 N)."""
    return dict(mapping(box(35.2 + x0, 51.2 + y0, 35.2 + x1, 51.2 + y1)))


def hazard_report(
    rid: str = "R-HA-1",
    hazard_id: str = "H1",
    *,
    date: str = "2024-01-10",
    polygon: dict[str, Any] | None = None,
    evidence: list[str] | None = None,
    org: str = "FSD",
    **extra: Any,
) -> dict[str, Any]:
    """A hazard report."""
    body: dict[str, Any] = {
        "hazard_id": hazard_id,
        "evidence": [{"type": t} for t in (evidence or ["VERBAL_REPORT"])],
        "contamination": ["AP_MINE"],
        **extra,
    }
    if polygon is not False:  # type: ignore[comparison-overlap]
        body["polygon"] = polygon or rect(0, 0, 0.004, 0.002)
    return {
        "report_id": rid,
        "type": "hazard",
        "organisation": org,
        "date_of_information": date,
        "hazard": body,
    }


def activity_report(
    rid: str,
    hazard_id: str = "H1",
    *,
    activity: str = "CLEARANCE",
    date: str = "2024-03-01",
    releases: list[tuple[str, dict[str, Any]]] | None = None,
    stage: str = "progress",
    org: str = "FSD",
    **extra: Any,
) -> dict[str, Any]:
    """An activity report with released polygons [(outcome, polygon)]."""
    body: dict[str, Any] = {
        "hazard_id": hazard_id,
        "activity_type": activity,
        "stage": stage,
        "start_date": date,
        "releases": [{"outcome": o, "polygon": p} for o, p in (releases or [])],
        **extra,
    }
    if activity in ("CLEARANCE", "BAC"):
        body.setdefault("clearance_depth_cm", 20)
    return {
        "report_id": rid,
        "type": "activity",
        "organisation": org,
        "date_of_information": date,
        "activity": body,
    }
