"""Monthly operations report, per operator (``--scope org:X``) and for the programme."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mineaction.core.codes import label
from mineaction.core.reporting import Column, Period, ReportDoc, Scope, Table, share
from mineaction.services.reporting import common as c
from mineaction.services.reporting.oslo import method_table
from mineaction.services.reporting.snapshot import Snapshot
from mineaction.store import schema as s

NAME = "operations"
TITLE = "Operations report"


def _in_scope(snap: Snapshot, scope: Scope, hazard_id: str | None, org: str | None) -> bool:
    return scope.has_area(c.hazard_location(snap, hazard_id)) and scope.has_org(org)


def build(snap: Snapshot, period: Period, scope: Scope, opts: c.Options) -> ReportDoc:
    """Build the operations report: land released, productivity, EO, accidents, QM, tasks."""
    doc = c.new_doc(snap, NAME, TITLE, period, scope)
    released = c.released_rows(snap, period, scope)
    activities = [
        r
        for r in snap.records(s.activity)
        if period.contains(r["date_of_information"])
        and _in_scope(snap, scope, r["hazard_id"], r["organisation"])
    ]
    eo = c.eo_rows(snap, scope, period=period)
    accidents = [
        r
        for r in snap.records(s.accident)
        if period.contains(r["date"])
        and scope.has_area(r["location"] or c.hazard_location(snap, r["hazard_id"]))
        and scope.has_org(r["organisation"])
    ]
    qm_all = [
        r
        for r in snap.records(s.qm_inspection)
        if r["date"] <= period.end
        and scope.has_org(r["inspected_organisation"])
        and (scope.area is None or scope.has_area(c.hazard_location(snap, r["hazard_id"])))
    ]
    qm = [r for r in qm_all if period.contains(r["date"])]

    # --- by operator ---------------------------------------------------------------------
    ops: dict[str, dict[str, float]] = defaultdict(
        lambda: dict.fromkeys(
            (
                "cancelled_m2",
                "reduced_m2",
                "cleared_m2",
                "released_m2",
                "team_days",
                "eo_found",
                "eo_destroyed",
                "accidents",
                "inspections",
                "open_cas",
            ),
            0.0,
        )
    )
    for r in released:
        ops[r["organisation"]][f"{r['outcome']}_m2"] += r["m2"]
        ops[r["organisation"]]["released_m2"] += r["m2"]
    for r in activities:
        ops[r["organisation"]]["team_days"] += r["team_days"] or 0
    for r in eo:
        ops[r["organisation"]]["eo_found"] += r["quantity"]
        if c.destroyed(r):
            ops[r["organisation"]]["eo_destroyed"] += r["quantity"]
    for r in accidents:
        ops[r["organisation"]]["accidents"] += 1
    for r in qm:
        ops[r["inspected_organisation"]]["inspections"] += 1
    for r in qm_all:
        ops[r["inspected_organisation"]]["open_cas"] += r["open_corrective_actions"]
    t = Table(
        "by_operator",
        "Summary by operator",
        [
            Column("organisation", "Operator"),
            Column("organisation_name", "Name"),
            Column("cancelled_m2", "Cancelled (m²)", "m2"),
            Column("reduced_m2", "Reduced (m²)", "m2"),
            Column("cleared_m2", "Cleared (m²)", "m2"),
            Column("released_m2", "Released (m²)", "m2"),
            Column("team_days", "Team-days", "float"),
            Column("eo_found", "EO found", "int"),
            Column("eo_destroyed", "EO destroyed", "int"),
            Column("accidents", "Accidents", "int"),
            Column("inspections", "QA/QC inspections", "int"),
            Column("open_cas", "Open corrective actions", "int"),
        ],
        [
            {"organisation": k, "organisation_name": snap.org_name(k), **v}
            for k, v in sorted(ops.items())
        ],
    )
    for r in t.rows:
        for k in ("eo_found", "eo_destroyed", "accidents", "inspections", "open_cas"):
            r[k] = int(r[k])
    t.add_total("organisation", "Programme total")
    doc.tables.append(t)

    doc.tables.append(
        method_table("released_by_method", "Land released by outcome and method", released)
    )

    # --- productivity --------------------------------------------------------------------
    prod: dict[tuple[str, str], dict[str, float]] = defaultdict(
        lambda: {"reports": 0, "team_days": 0.0, "m2": 0.0}
    )
    for r in activities:
        if not r["team_days"]:
            continue
        key = (r["activity_type"], r["method"] or label(r["activity_type"]))
        p = prod[key]
        p["reports"] += 1
        p["team_days"] += r["team_days"]
        p["m2"] += r["cancelled_m2"] + r["reduced_m2"] + r["cleared_m2"]
    t = Table(
        "productivity",
        "Productivity: m² per team-day by activity and method",
        [
            Column("activity_type", "Activity"),
            Column("method", "Method"),
            Column("reports", "Reports", "int"),
            Column("team_days", "Team-days", "float"),
            Column("m2", "Area processed (m²)", "m2"),
            Column("m2_per_team_day", "m² per team-day", "float"),
        ],
        [
            {
                "activity_type": label(a),
                "method": m,
                "reports": int(v["reports"]),
                "team_days": v["team_days"],
                "m2": v["m2"],
                "m2_per_team_day": round(v["m2"] / v["team_days"], 1),
            }
            for (a, m), v in sorted(prod.items())
        ],
        note="From activity reports in the period that give team-days; area processed is the "
        "area of the report's released polygons.",
    )
    doc.tables.append(t)

    # --- EO ------------------------------------------------------------------------------
    eo_agg: dict[str, dict[str, int]] = defaultdict(
        lambda: {"found": 0, "destroyed": 0, "in_land_release": 0, "spot": 0}
    )
    for r in eo:
        a = eo_agg[label(r["category"])]
        a["found"] += r["quantity"]
        a["destroyed"] += r["quantity"] if c.destroyed(r) else 0
        a["in_land_release" if r["source"] == "activity" else "spot"] += r["quantity"]
    t = Table(
        "eo",
        "Explosive ordnance found and destroyed by category",
        [
            Column("category", "Category"),
            Column("found", "Found", "int"),
            Column("destroyed", "Destroyed", "int"),
            Column("in_land_release", "Found in land release", "int"),
            Column("spot", "Spot reports", "int"),
        ],
        [{"category": k, **v} for k, v in sorted(eo_agg.items())],
    )
    t.add_total("category")
    doc.tables.append(t)

    # --- accidents -----------------------------------------------------------------------
    acc: dict[str, dict[str, int]] = defaultdict(
        lambda: {"accidents": 0, "demining": 0, "killed": 0, "injured": 0}
    )
    for r in accidents:
        a = acc[label(r["device_category"])]
        a["accidents"] += 1
        a["demining"] += int(r["demining"])
        a["killed"] += r["killed"]
        a["injured"] += r["injured"]
    t = Table(
        "accidents",
        "Accidents by device category",
        [
            Column("device", "Device category"),
            Column("accidents", "Accidents", "int"),
            Column("demining", "Of which demining accidents", "int"),
            Column("killed", "Killed", "int"),
            Column("injured", "Injured", "int"),
        ],
        [{"device": k, **v} for k, v in sorted(acc.items())],
    )
    t.add_total("device")
    doc.tables.append(t)

    # --- QA/QC ---------------------------------------------------------------------------
    qa: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"inspections": 0, "minor": 0, "major": 0, "critical": 0, "open_cas": 0}
    )
    for r in qm:
        a = qa[(r["inspected_organisation"], r["kind"])]
        a["inspections"] += 1
        for nc in r["nonconformities"]:
            a[nc["severity"]] += 1
    for r in qm_all:
        qa[(r["inspected_organisation"], r["kind"])]["open_cas"] += r["open_corrective_actions"]
    t = Table(
        "qm",
        "QA/QC inspections, non-conformities and open corrective actions",
        [
            Column("organisation", "Inspected organisation"),
            Column("kind", "Kind"),
            Column("inspections", "Inspections", "int"),
            Column("minor", "Minor NCs", "int"),
            Column("major", "Major NCs", "int"),
            Column("critical", "Critical NCs", "int"),
            Column("open_cas", "Open corrective actions", "int"),
        ],
        [{"organisation": k[0], "kind": k[1], **v} for k, v in sorted(qa.items())],
        note="Inspections and non-conformities in the period; open corrective actions from all "
        "inspections dated up to the period end.",
    )
    t.add_total("organisation")
    doc.tables.append(t)

    # --- tasks ---------------------------------------------------------------------------
    end_states = snap.hazards_at(period.end)
    task_rows: list[dict[str, Any]] = []
    for task in snap.tasks:
        st = end_states.get(task["hazard_id"])
        start, end = task["planned_start"], task["planned_end"]
        if (start and start > period.end) or (end and end < period.start):
            continue
        if not scope.has_org(task["organisation"]) or not scope.has_area(
            st.location if st else None
        ):
            continue
        ar = st.areas if st else None
        released_m2 = ar.released_m2 if ar else 0.0
        task_rows.append(
            {
                "task_id": task["task_id"],
                "hazard_id": task["hazard_id"],
                "organisation": task["organisation"],
                "activity_type": label(task["activity_type"]),
                "planned_start": start,
                "planned_end": end,
                "status": task["status"],
                "hazard_status": label(st.status.value) if st else "",
                "area_m2": ar.area_m2 if ar else None,
                "released_m2": released_m2,
                "remaining_m2": ar.remaining_m2 if ar else None,
                "progress_pct": share(released_m2, ar.area_m2 + ar.expansion_m2) if ar else None,
            }
        )
    doc.tables.append(
        Table(
            "tasks",
            "Progress against tasks planned in the period",
            [
                Column("task_id", "Task"),
                Column("hazard_id", "Hazard"),
                Column("organisation", "Operator"),
                Column("activity_type", "Activity"),
                Column("planned_start", "Planned start", "date"),
                Column("planned_end", "Planned end", "date"),
                Column("status", "Task status"),
                Column("hazard_status", "Hazard status"),
                Column("area_m2", "Hazard area (m²)", "m2"),
                Column("released_m2", "Released to period end (m²)", "m2"),
                Column("remaining_m2", "Remaining (m²)", "m2"),
                Column("progress_pct", "Released (%)", "pct"),
            ],
            task_rows,
            note="Task plans are the current plan (they are not part of the report ledger); "
            "hazard figures are from the ledger at the cut-off.",
        )
    )
    year = Period(period.end.replace(month=1, day=1), period.end)
    doc.charts.append(
        c.month_chart(
            "released_by_month",
            f"Land released per month by outcome, {year.start.year} to date",
            c.released_rows(snap, year, scope),
            year,
        )
    )
    doc.charts.append(c.eo_chart("eo_destroyed", "EO destroyed by category", eo))
    doc.notes.append(
        "Released land is net: each m² counted once, under the strongest outcome (cleared > "
        "reduced > cancelled); a negative figure is land released earlier and now released "
        "again by a stronger outcome."
    )
    return doc
