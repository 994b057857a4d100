"""CCM Article 7 Form G: risk education sessions and beneficiaries by sex and age."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mineaction.core.reporting import Chart, Column, Period, ReportDoc, Scope, Table
from mineaction.services.reporting import common as c
from mineaction.services.reporting.snapshot import Snapshot
from mineaction.store import schema as s

NAME = "ccm-form-g"
TITLE = "CCM Article 7 Form G: explosive ordnance risk education"
GROUPS = ("women", "men", "girls", "boys")


def _columns() -> list[Column]:
    return [
        Column("sessions", "Sessions", "int"),
        Column("women", "Women", "int"),
        Column("men", "Men", "int"),
        Column("girls", "Girls", "int"),
        Column("boys", "Boys", "int"),
        Column("total", "Total beneficiaries", "int"),
        Column("with_disability", "Of whom with disability", "int"),
    ]


def _add(acc: dict[str, int], r: dict[str, Any]) -> None:
    acc["sessions"] += 1
    for g in GROUPS:
        acc[g] += r[g]
    acc["total"] += sum(r[g] for g in GROUPS)
    acc["with_disability"] += r["with_disability"] or 0


def build(snap: Snapshot, period: Period, scope: Scope, opts: c.Options) -> ReportDoc:
    """Build Form G: EORE sessions and beneficiaries by admin area and by method."""
    doc = c.new_doc(snap, NAME, TITLE, period, scope)
    sessions = [
        r
        for r in snap.records(s.eore_session)
        if period.contains(r["date"])
        and scope.has_area(r["location"])
        and scope.has_org(r["organisation"])
    ]

    def blank() -> dict[str, int]:
        return dict.fromkeys(("sessions", *GROUPS, "total", "with_disability"), 0)

    by_area: dict[tuple[str, str], dict[str, int]] = defaultdict(blank)
    by_method: dict[str, dict[str, int]] = defaultdict(blank)
    for r in sessions:
        _add(by_area[snap.admin_area(r["location"], opts.admin_level)], r)
        _add(by_method[r["method"]], r)
    t = Table(
        "eore_by_admin",
        "Risk education sessions and beneficiaries by admin area",
        [*c.area_columns(opts.admin_level), *_columns()],
        [{"admin_pcode": k[0], "admin_name": k[1], **v} for k, v in sorted(by_area.items())],
    )
    t.add_total("admin_pcode")
    doc.tables.append(t)
    t = Table(
        "eore_by_method",
        "Risk education by delivery method",
        [Column("method", "Method"), *_columns()],
        [{"method": k, **v} for k, v in sorted(by_method.items())],
    )
    t.add_total("method")
    doc.tables.append(t)
    totals = {g: sum(r[g] for r in sessions) for g in GROUPS}
    doc.charts.append(
        Chart(
            "beneficiaries",
            "Beneficiaries by sex and age",
            "bar",
            [g.capitalize() for g in GROUPS],
            {"Beneficiaries": [float(totals[g]) for g in GROUPS]},
            "people",
        )
    )
    doc.notes.append("Girls and boys are beneficiaries under 18 years of age.")
    return doc
