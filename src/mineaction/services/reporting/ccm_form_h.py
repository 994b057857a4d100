"""CCM Article 7 Form H: victim assistance figures (casualties, aggregate only)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mineaction.core.codes import label
from mineaction.core.reporting import Column, Period, ReportDoc, Scope, Table, age_group
from mineaction.services.reporting import common as c
from mineaction.services.reporting.snapshot import Snapshot
from mineaction.store import schema as s

NAME = "ccm-form-h"
TITLE = "CCM Article 7 Form H: casualties for victim assistance (aggregate)"
GROUPS = ("women", "men", "girls", "boys", "unknown")


def _columns() -> list[Column]:
    return [
        Column("accidents", "Accidents", "int"),
        Column("killed", "Killed", "int"),
        Column("injured", "Injured", "int"),
        *(Column(g, g.capitalize(), "int") for g in GROUPS),
        Column("deminers", "Of whom deminers", "int"),
        Column("total", "Total casualties", "int"),
    ]


def casualty_table(
    snap: Snapshot, scope: Scope, *, name: str, title: str, keep: Any, by: Any
) -> Table:
    """Return casualties aggregated by a key of the accident (no personal data)."""
    accidents = {
        r["accident_id"]: r
        for r in snap.records(s.accident)
        if keep(r)
        and scope.has_area(r["location"] or c.hazard_location(snap, r["hazard_id"]))
        and scope.has_org(r["organisation"])
    }
    blank = dict.fromkeys(("accidents", "killed", "injured", *GROUPS, "deminers", "total"), 0)
    agg: dict[str, dict[str, int]] = defaultdict(lambda: dict(blank))
    for a in accidents.values():
        agg[by(a)]["accidents"] += 1
    for v in snap.records(s.victim):
        acc = accidents.get(v["accident_id"])
        if acc is None:
            continue
        row = agg[by(acc)]
        row[v["status"]] += 1
        row[age_group(v["sex"], v["age"])] += 1
        row["deminers"] += int(bool(v["deminer"]))
        row["total"] += 1
    t = Table(
        name,
        title,
        [Column("key", "Device category"), *_columns()],
        [{"key": k, **v} for k, v in sorted(agg.items())],
    )
    t.add_total("key")
    return t


def build(snap: Snapshot, period: Period, scope: Scope, opts: c.Options) -> ReportDoc:
    """Build Form H: casualties in the period and to date, by device category."""
    doc = c.new_doc(snap, NAME, TITLE, period, scope)

    def device(a: dict[str, Any]) -> str:
        return str(label(a["device_category"]))

    doc.tables.append(
        casualty_table(
            snap,
            scope,
            name="casualties_period",
            title="Casualties in the period by device category, sex and age",
            keep=lambda a: period.contains(a["date"]),
            by=device,
        )
    )
    doc.tables.append(
        casualty_table(
            snap,
            scope,
            name="casualties_cumulative",
            title="Casualties recorded up to the period end by device category",
            keep=lambda a: a["date"] <= period.end,
            by=device,
        )
    )
    area = casualty_table(
        snap,
        scope,
        name="casualties_by_admin",
        title="Casualties in the period by admin area",
        keep=lambda a: period.contains(a["date"]),
        by=lambda a: " ".join(
            x
            for x in snap.admin_area(
                a["location"] or c.hazard_location(snap, a["hazard_id"]), opts.admin_level
            )
            if x
        ),
    )
    area.columns[0] = Column("key", f"Admin {opts.admin_level} area")
    doc.tables.append(area)
    doc.notes.append(
        "Aggregate figures only: no names, ages or identifiers of victims are included. "
        "Girls and boys are casualties under 18; 'unknown' when sex or age was not recorded. "
        "Cluster munition casualties are those of the Submunition category."
    )
    return doc
