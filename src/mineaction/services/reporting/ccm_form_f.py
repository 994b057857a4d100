"""CCM Article 7 Form F: cluster munition remnant contaminated areas, clearance, submunitions."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mineaction.core.codes import ContaminationType, EOCategory
from mineaction.core.reporting import Column, Period, ReportDoc, Scope, Table
from mineaction.services.reporting import common as c
from mineaction.services.reporting.oslo import build_for
from mineaction.services.reporting.snapshot import Snapshot

NAME = "ccm-form-f"
TITLE = "CCM Article 7 Form F: cluster munition contaminated areas and clearance"
CMR = ContaminationType.CLUSTER_MUNITION.value
SUB = EOCategory.SUBMUNITION.value


def build(snap: Snapshot, period: Period, scope: Scope, opts: c.Options) -> ReportDoc:
    """Build Form F: CMR areas by admin area, land released, submunitions destroyed."""
    doc = build_for(
        snap,
        period,
        scope,
        opts,
        name=NAME,
        title=TITLE,
        contamination=CMR,
        what="Cluster munition remnant (CMR) areas",
    )
    rows: list[dict[str, Any]] = []
    for st in c.contaminated(snap.hazards_at(period.end), scope, CMR):
        pcode, name = snap.admin_area(st.location, opts.admin_level)
        pt = st.polygon.representative_point()
        rows.append(
            {
                "admin_pcode": pcode,
                "admin_name": name,
                "hazard_id": st.hazard_id,
                "name": st.name,
                "classification": st.classification.value,
                "remaining_m2": st.areas.remaining_m2,
                "lat": round(pt.y, 6),
                "lon": round(pt.x, 6),
            }
        )
    rows.sort(key=lambda r: (r["admin_pcode"], r["hazard_id"]))
    t = Table(
        "cmr_areas",
        "CMR-contaminated areas: size and location (at period end)",
        [
            *c.area_columns(opts.admin_level),
            Column("hazard_id", "Hazard"),
            Column("name", "Name"),
            Column("classification", "Class"),
            Column("remaining_m2", "Area (m²)", "m2"),
            Column("lat", "Latitude", "coord"),
            Column("lon", "Longitude", "coord"),
        ],
        rows,
    )
    t.add_total("admin_pcode")
    doc.tables.insert(1, t)

    models: dict[str, dict[str, int]] = defaultdict(lambda: {"period_total": 0, "cumulative": 0})
    for r in c.eo_rows(snap, scope, period=period, categories=[SUB]):
        if c.destroyed(r):
            models[r["model"] or "(type not recorded)"]["period_total"] += r["quantity"]
    for r in c.eo_rows(snap, scope, until=period.end, categories=[SUB]):
        if c.destroyed(r):
            models[r["model"] or "(type not recorded)"]["cumulative"] += r["quantity"]
    t = Table(
        "submunitions_destroyed",
        "Submunitions destroyed, by type",
        [
            Column("model", "Type (model)"),
            Column("period_total", "In the period", "int"),
            Column("cumulative", "Cumulative to period end", "int"),
        ],
        [{"model": k, **v} for k, v in sorted(models.items())],
    )
    t.add_total("model")
    doc.tables.append(t)
    doc.notes.append(
        "Covers SHA/CHA whose contamination includes cluster munition remnants. Released land "
        "is net: each m² once, under the strongest outcome."
    )
    return doc
