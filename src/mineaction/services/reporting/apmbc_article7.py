"""Mine Ban Convention (APMBC) Article 7: mined areas (Form C) and AP mines destroyed (Form G)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mineaction.core.codes import ContaminationType, label
from mineaction.core.reporting import Column, Period, ReportDoc, Scope, Table
from mineaction.services.reporting import common as c
from mineaction.services.reporting.snapshot import Snapshot

NAME = "apmbc-article7"
TITLE = "APMBC Article 7: mined areas and anti-personnel mines destroyed"
AP = ContaminationType.AP_MINE.value


def build(snap: Snapshot, period: Period, scope: Scope, opts: c.Options) -> ReportDoc:
    """Build the Article 7 tables at the end of the period."""
    doc = c.new_doc(snap, NAME, TITLE, period, scope)
    level = opts.admin_level
    end_states = snap.hazards_at(period.end)
    mined = c.contaminated(end_states, scope, AP)

    rows: list[dict[str, Any]] = []
    for st in mined:
        pcode, name = snap.admin_area(st.location, level)
        pt = st.polygon.representative_point()
        rows.append(
            {
                "admin_pcode": pcode,
                "admin_name": name,
                "location": st.location,
                "hazard_id": st.hazard_id,
                "name": st.name,
                "classification": st.classification.value,
                "contamination": ", ".join(st.contamination),
                "remaining_m2": st.areas.remaining_m2,
                "lat": round(pt.y, 6),
                "lon": round(pt.x, 6),
                "first_recorded": st.first_date,
            }
        )
    rows.sort(key=lambda r: (r["admin_pcode"], r["hazard_id"]))
    t = Table(
        "mined_areas",
        "Form C: areas containing or suspected to contain AP mines (at period end)",
        [
            *c.area_columns(level),
            Column("location", "Location P-code"),
            Column("hazard_id", "Hazard"),
            Column("name", "Name"),
            Column("classification", "Class"),
            Column("contamination", "Contamination"),
            Column("remaining_m2", "Area (m²)", "m2"),
            Column("lat", "Latitude", "coord"),
            Column("lon", "Longitude", "coord"),
            Column("first_recorded", "First recorded", "date"),
        ],
        rows,
        note="Area is the remaining (not yet released) area of each SHA/CHA, geodesic m².",
    )
    t.add_total("admin_pcode")
    doc.tables.append(t)

    counts = c.class_counts(snap, mined, level)
    by_area = []
    for (pcode, name), v in sorted(counts.items()):
        by_area.append(
            {
                "admin_pcode": pcode,
                "admin_name": name,
                **v,
                "total_m2": v["sha_m2"] + v["cha_m2"],
            }
        )
    t = Table(
        "mined_areas_by_admin",
        "Mined areas by admin area: SHA and CHA count and area (at period end)",
        [*c.area_columns(level), *_class_columns()],
        by_area,
    )
    t.add_total("admin_pcode")
    doc.tables.append(t)

    all_cont = c.contaminated(end_states, scope)
    by_type: dict[str, dict[str, float]] = {
        k: {"sha_count": 0, "sha_m2": 0.0, "cha_count": 0, "cha_m2": 0.0}
        for k in c.CONTAMINATION_TYPES
    }
    for st in all_cont:
        for ct in st.contamination or ["UNKNOWN"]:
            v = by_type.setdefault(
                ct, {"sha_count": 0, "sha_m2": 0.0, "cha_count": 0, "cha_m2": 0.0}
            )
            k = st.classification.value.lower()
            v[f"{k}_count"] += 1
            v[f"{k}_m2"] += st.areas.remaining_m2
    doc.tables.append(
        Table(
            "contamination_by_type",
            "All hazardous areas by contamination type (at period end)",
            [Column("contamination", "Contamination type"), *_class_columns()],
            [
                {
                    "contamination": label(k),
                    **v,
                    "total_m2": v["sha_m2"] + v["cha_m2"],
                }
                for k, v in by_type.items()
            ],
            note="A hazard with several contamination types is counted under each of them.",
        )
    )

    in_period = c.eo_rows(snap, scope, period=period, categories=[AP])
    to_date = c.eo_rows(snap, scope, until=period.end, categories=[AP])
    models: dict[str, dict[str, int]] = defaultdict(
        lambda: {"land_release": 0, "spot": 0, "period_total": 0, "cumulative": 0}
    )
    for r in in_period:
        if c.destroyed(r):
            m = models[r["model"] or "(type not recorded)"]
            m["land_release" if r["source"] == "activity" else "spot"] += r["quantity"]
            m["period_total"] += r["quantity"]
    for r in to_date:
        if c.destroyed(r):
            models[r["model"] or "(type not recorded)"]["cumulative"] += r["quantity"]
    t = Table(
        "ap_mines_destroyed",
        "Form G: AP mines destroyed, by type",
        [
            Column("model", "Type (model)"),
            Column("land_release", "During land release", "int"),
            Column("spot", "Spot EOD", "int"),
            Column("period_total", "Period total", "int"),
            Column("cumulative", "Cumulative to period end", "int"),
        ],
        [{"model": k, **v} for k, v in sorted(models.items())],
        note="Destroyed in situ or at a central demolition site; cumulative counts every "
        "approved record dated up to the period end.",
    )
    t.add_total("model")
    doc.tables.append(t)
    doc.charts.append(
        c.remaining_chart("remaining_by_admin", "Remaining mined area by admin area", counts)
    )
    doc.charts.append(
        c.eo_chart(
            "eo_destroyed",
            "EO destroyed in the period by category",
            c.eo_rows(snap, scope, period=period),
        )
    )
    doc.notes.append(
        "Mined areas are SHA/CHA whose contamination includes AP mines, open or worked on, "
        "with remaining area > 0, as known at the data cut-off from reports dated up to the "
        "period end."
    )
    return doc


def _class_columns() -> list[Column]:
    return [
        Column("sha_count", "SHA (number)", "int"),
        Column("sha_m2", "SHA area (m²)", "m2"),
        Column("cha_count", "CHA (number)", "int"),
        Column("cha_m2", "CHA area (m²)", "m2"),
        Column("total_m2", "Total area (m²)", "m2"),
    ]


class_columns = _class_columns
