"""Helpers shared by the reports: scoping, land released per report, EO and charts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from shapely.geometry import shape

from mineaction.core.codes import ContaminationType, ReportType, label
from mineaction.core.geometry import geodesic_area_m2
from mineaction.core.projection import HazardState
from mineaction.core.reporting import Chart, Column, Period, ReportDoc, Scope
from mineaction.services.reporting.snapshot import Snapshot, is_contamination
from mineaction.store import schema as s

OUTCOMES = ("cancelled", "reduced", "cleared")
DESTROYED = ("destroyed_in_situ", "destroyed_central")
UPGRADED = "(upgraded to a stronger outcome)"
#: Net changes smaller than this are geometry noise (vertices added on shared edges).
NOISE_M2 = 0.5


@dataclass(frozen=True)
class Options:
    """Report options besides period and scope."""

    admin_level: int = 1


Builder = Callable[[Snapshot, Period, Scope, Options], ReportDoc]


def new_doc(snap: Snapshot, name: str, title: str, period: Period, scope: Scope) -> ReportDoc:
    """Return an empty report document stamped with the snapshot's cut-off and hash."""
    from datetime import UTC, datetime

    doc = ReportDoc(
        name=name,
        title=title,
        period=period,
        scope=scope,
        cut_off=snap.cut_off,
        ledger_hash=snap.ledger_hash,
        report_count=snap.report_count,
        generated_at=datetime.now(UTC),
        programme=snap.programme,
    )
    doc.notes.extend(snap.errors)
    return doc


def hazard_in_scope(state: HazardState, scope: Scope) -> bool:
    """Return True if a hazard lies in the scope (admin area and reporting organisation)."""
    return scope.has_area(state.location) and scope.has_org(state.organisation)


def hazard_location(snap: Snapshot, hazard_id: str | None) -> str | None:
    """Return the P-code of a hazard (as known at the cut-off), or None."""
    if not hazard_id:
        return None
    st = snap.hazards.get(hazard_id)
    return st.location if st else None


def contaminated(
    hazards: Mapping[str, HazardState], scope: Scope, contamination: str | None = None
) -> list[HazardState]:
    """Return the SHA/CHA in scope still holding contamination (of one type, if given)."""
    out = []
    for hid in sorted(hazards):
        st = hazards[hid]
        if not (is_contamination(st) and hazard_in_scope(st, scope)):
            continue
        if contamination and contamination not in st.contamination:
            continue
        out.append(st)
    return out


def released_rows(
    snap: Snapshot,
    period: Period,
    scope: Scope,
    *,
    hazard_filter: Callable[[HazardState], bool] | None = None,
) -> list[dict[str, Any]]:
    """Return the net land released by each activity report in the period.

    Each report's net change per outcome (as the projection accounts it: no m² twice, stronger
    outcome wins) is split between its methods in proportion to their polygons' areas. A negative
    figure means land of that outcome was later released again by a stronger one.
    """
    by_id = {e.report_id: e for e in snap.entries}
    out: list[dict[str, Any]] = []
    for hid, step in snap.steps:
        if step.type != ReportType.ACTIVITY.value or not period.contains(step.date_of_information):
            continue
        st = snap.hazards[hid]
        if not scope.has_area(st.location) or not scope.has_org(step.organisation):
            continue
        if hazard_filter is not None and not hazard_filter(st):
            continue
        body = by_id[step.report_id].body
        for outcome in OUTCOMES:
            delta = float(getattr(step, f"{outcome}_m2"))
            if abs(delta) < NOISE_M2:
                continue
            weights: dict[str, float] = defaultdict(float)
            for rel in body.get("releases", []):
                if rel["outcome"] == outcome:
                    m = rel.get("method") or body.get("method") or label(body["activity_type"])
                    weights[m] += geodesic_area_m2(shape(rel["polygon"]))
            total = sum(weights.values())
            if total <= 0:
                weights = {UPGRADED: 1.0}
                total = 1.0
            for method, w in weights.items():
                out.append(
                    {
                        "hazard_id": hid,
                        "report_id": step.report_id,
                        "date": step.date_of_information,
                        "organisation": step.organisation,
                        "activity_type": body["activity_type"],
                        "outcome": outcome,
                        "method": method,
                        "location": st.location,
                        "m2": delta * w / total,
                    }
                )
    return out


def eo_rows(
    snap: Snapshot,
    scope: Scope,
    *,
    until: date | None = None,
    period: Period | None = None,
    categories: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """Return EO item records in scope, dated in ``period`` or up to ``until``."""
    cats = set(categories) if categories else None
    spot_loc = {
        e.report_id: e.body.get("location") for e in snap.entries if e.type == ReportType.EO
    }
    out = []
    for r in snap.records(s.eo_item):
        if period is not None and not period.contains(r["date"]):
            continue
        if until is not None and r["date"] > until:
            continue
        if cats is not None and r["category"] not in cats:
            continue
        loc = hazard_location(snap, r["hazard_id"]) or spot_loc.get(r["report_id"])
        if not scope.has_area(loc) or not scope.has_org(r["organisation"]):
            continue
        out.append({**r, "location": loc})
    return out


def destroyed(row: Mapping[str, Any]) -> bool:
    """Return True if an EO record was destroyed (in situ or at a central site)."""
    return row.get("disposal") in DESTROYED


def area_columns(level: int) -> list[Column]:
    """Return the admin-area columns (P-code and name)."""
    return [
        Column("admin_pcode", f"Admin {level} P-code"),
        Column("admin_name", f"Admin {level} name"),
    ]


def class_counts(
    snap: Snapshot, states: Iterable[HazardState], level: int
) -> dict[tuple[str, str], dict[str, float]]:
    """Return SHA/CHA counts and remaining m² per admin area."""
    out: dict[tuple[str, str], dict[str, float]] = defaultdict(
        lambda: {"sha_count": 0, "sha_m2": 0.0, "cha_count": 0, "cha_m2": 0.0}
    )
    for st in states:
        key = snap.admin_area(st.location, level)
        c = st.classification.value.lower()
        out[key][f"{c}_count"] += 1
        out[key][f"{c}_m2"] += st.areas.remaining_m2
    return out


def month_chart(name: str, title: str, rows: Iterable[Mapping[str, Any]], period: Period) -> Chart:
    """Return a stacked bar chart of m² released per month by outcome."""
    months = period.months()
    series = {label(o): [0.0] * len(months) for o in OUTCOMES}
    for r in rows:
        key = r["date"].strftime("%Y-%m")
        if key in months:
            series[label(r["outcome"])][months.index(key)] += r["m2"]
    return Chart(name, title, "stacked", months, series, ylabel="m² released")


def remaining_chart(
    name: str, title: str, counts: Mapping[tuple[str, str], Mapping[str, float]]
) -> Chart:
    """Return a horizontal stacked bar chart of remaining SHA/CHA m² per admin area."""
    keys = sorted(counts)
    cats = [_short(n or p) for p, n in keys]
    return Chart(
        name,
        title,
        "stackedh",
        cats,
        {
            "SHA": [counts[k]["sha_m2"] for k in keys],
            "CHA": [counts[k]["cha_m2"] for k in keys],
        },
        ylabel="m² remaining",
    )


def _short(text: str, limit: int = 28) -> str:
    """Shorten a category label for a chart axis.

    >>> _short("Glushkovo district (synthetic)", 20)
    'Glushkovo district…'
    """
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def eo_chart(name: str, title: str, rows: Iterable[Mapping[str, Any]]) -> Chart:
    """Return a bar chart of EO items destroyed by category."""
    totals: dict[str, float] = defaultdict(float)
    for r in rows:
        if destroyed(r):
            totals[label(r["category"])] += r["quantity"]
    cats = sorted(totals)
    return Chart(name, title, "bar", cats, {"Destroyed": [totals[c] for c in cats]}, "items")


def day_before(d: date) -> date:
    """Return the previous day.

    >>> day_before(date(2026, 1, 1))
    datetime.date(2025, 12, 31)
    """
    return d - timedelta(days=1)


CONTAMINATION_TYPES = [c.value for c in ContaminationType]
