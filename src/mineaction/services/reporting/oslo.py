"""Oslo Action Plan breakdown: SHA/CHA with size, and land released by cancelled/reduced/cleared."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from mineaction.core.codes import ContaminationType, label
from mineaction.core.projection import HazardState
from mineaction.core.reporting import Column, Period, ReportDoc, Scope, Table
from mineaction.services.reporting import common as c
from mineaction.services.reporting.snapshot import Snapshot

NAME = "oslo-action-plan"
TITLE = "Oslo Action Plan: contamination and progress by admin area"


def breakdown(
    snap: Snapshot,
    period: Period,
    scope: Scope,
    level: int,
    contamination: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[tuple[str, str], dict[str, float]]]:
    """Return (rows by admin area, released rows, end counts) for one contamination type."""
    start = c.contaminated(snap.hazards_at(c.day_before(period.start)), scope, contamination)
    end_states = snap.hazards_at(period.end)
    end = c.contaminated(end_states, scope, contamination)
    start_counts = c.class_counts(snap, start, level)
    end_counts = c.class_counts(snap, end, level)
    start_ids = {st.hazard_id for st in start}

    def has_type(st: HazardState) -> bool:
        return contamination in st.contamination

    released = c.released_rows(snap, period, scope, hazard_filter=has_type)
    rel: dict[tuple[str, str], dict[str, float]] = defaultdict(
        lambda: {"cancelled": 0.0, "reduced": 0.0, "cleared": 0.0}
    )
    for r in released:
        rel[snap.admin_area(r["location"], level)][r["outcome"]] += r["m2"]
    new: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    for st in end_states.values():
        if (
            period.contains(st.first_date)
            and st.hazard_id not in start_ids
            and has_type(st)
            and c.hazard_in_scope(st, scope)
            and st.classification.value in ("SHA", "CHA")
        ):
            key = snap.admin_area(st.location, level)
            new[key][0] += 1
            new[key][1] += st.areas.area_m2
    zero = {"sha_count": 0, "sha_m2": 0.0, "cha_count": 0, "cha_m2": 0.0}
    rows = []
    for key in sorted(set(start_counts) | set(end_counts) | set(rel) | set(new)):
        s0 = start_counts.get(key, zero)
        s1 = end_counts.get(key, zero)
        r = rel.get(key, {"cancelled": 0.0, "reduced": 0.0, "cleared": 0.0})
        start_m2 = s0["sha_m2"] + s0["cha_m2"]
        end_m2 = s1["sha_m2"] + s1["cha_m2"]
        released_m2 = r["cancelled"] + r["reduced"] + r["cleared"]
        added = new.get(key, [0, 0.0])
        rows.append(
            {
                "admin_pcode": key[0],
                "admin_name": key[1],
                "start_sha_count": s0["sha_count"],
                "start_sha_m2": s0["sha_m2"],
                "start_cha_count": s0["cha_count"],
                "start_cha_m2": s0["cha_m2"],
                "new_count": added[0],
                "new_m2": added[1],
                "cancelled_m2": r["cancelled"],
                "reduced_m2": r["reduced"],
                "cleared_m2": r["cleared"],
                "other_m2": end_m2 - start_m2 - added[1] + released_m2,
                "end_sha_count": s1["sha_count"],
                "end_sha_m2": s1["sha_m2"],
                "end_cha_count": s1["cha_count"],
                "end_cha_m2": s1["cha_m2"],
                "end_m2": end_m2,
            }
        )
    return rows, released, end_counts


def breakdown_columns(level: int) -> list[Column]:
    """Return the columns of the Oslo breakdown table."""
    return [
        *c.area_columns(level),
        Column("start_sha_count", "SHA at start (number)", "int"),
        Column("start_sha_m2", "SHA at start (m²)", "m2"),
        Column("start_cha_count", "CHA at start (number)", "int"),
        Column("start_cha_m2", "CHA at start (m²)", "m2"),
        Column("new_count", "New hazards (number)", "int"),
        Column("new_m2", "New hazards (m²)", "m2"),
        Column("cancelled_m2", "Cancelled by NTS (m²)", "m2"),
        Column("reduced_m2", "Reduced by TS (m²)", "m2"),
        Column("cleared_m2", "Cleared (m²)", "m2"),
        Column("other_m2", "Other changes (m²)", "m2"),
        Column("end_sha_count", "SHA at end (number)", "int"),
        Column("end_sha_m2", "SHA at end (m²)", "m2"),
        Column("end_cha_count", "CHA at end (number)", "int"),
        Column("end_cha_m2", "CHA at end (m²)", "m2"),
        Column("end_m2", "Remaining at end (m²)", "m2"),
    ]


def method_table(name: str, title: str, released: list[dict[str, Any]]) -> Table:
    """Return land released by outcome, activity type and method."""
    agg: dict[tuple[str, str, str], float] = defaultdict(float)
    for r in released:
        agg[(r["outcome"], r["activity_type"], r["method"])] += r["m2"]
    order = {o: i for i, o in enumerate(c.OUTCOMES)}
    rows = [
        {"outcome": label(o), "activity_type": label(a), "method": m, "m2": v}
        for (o, a, m), v in sorted(agg.items(), key=lambda kv: (order[kv[0][0]], kv[0][1:]))
    ]
    t = Table(
        name,
        title,
        [
            Column("outcome", "Outcome"),
            Column("activity_type", "Activity"),
            Column("method", "Method"),
            Column("m2", "Area (m²)", "m2"),
        ],
        rows,
    )
    t.add_total("outcome")
    return t


def build_for(
    snap: Snapshot,
    period: Period,
    scope: Scope,
    opts: c.Options,
    *,
    name: str,
    title: str,
    contamination: str,
    what: str,
    extra: Callable[[Any], None] | None = None,
) -> ReportDoc:
    """Build an Oslo-style breakdown for one contamination type."""
    doc = c.new_doc(snap, name, title, period, scope)
    rows, released, end_counts = breakdown(snap, period, scope, opts.admin_level, contamination)
    t = Table(
        "breakdown",
        f"{what}: SHA and CHA at period start and end, and land released in the period",
        breakdown_columns(opts.admin_level),
        rows,
        note="Start is the day before the period begins, end the last day of the period. "
        "Other changes are boundary changes and land released outside the recorded "
        "boundary: end = start + new - cancelled - reduced - cleared + other.",
    )
    t.add_total("admin_pcode")
    doc.tables.append(t)
    doc.tables.append(
        method_table(
            "released_by_method", "Land released in the period by outcome and method", released
        )
    )
    doc.charts.append(
        c.month_chart("released_by_month", "Land released per month by outcome", released, period)
    )
    doc.charts.append(
        c.remaining_chart("remaining_by_admin", "Remaining area by admin area", end_counts)
    )
    return doc


def build(snap: Snapshot, period: Period, scope: Scope, opts: c.Options) -> ReportDoc:
    """Build the Oslo Action Plan breakdown for areas with AP mines."""
    doc = build_for(
        snap,
        period,
        scope,
        opts,
        name=NAME,
        title=TITLE,
        contamination=ContaminationType.AP_MINE.value,
        what="Areas containing AP mines",
    )
    doc.notes.append(
        "Covers SHA/CHA whose contamination includes AP mines (APMBC scope). Released land is "
        "net: a square metre is counted once, under the strongest outcome (cleared > reduced > "
        "cancelled)."
    )
    return doc
