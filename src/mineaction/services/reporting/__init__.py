"""Treaty and programme reports computed from the report ledger at any cut-off.

Each report module has ``NAME``, ``TITLE`` and ``build(snapshot, period, scope, options)``.
:func:`generate` replays the approved ledger at the cut-off and builds the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mineaction.core.reporting import Period, ReportDoc, Scope
from mineaction.errors import NotFoundError
from mineaction.services.reporting import (
    apmbc_article7,
    ccm_form_f,
    ccm_form_g,
    ccm_form_h,
    operations,
    oslo,
)
from mineaction.services.reporting.common import Builder, Options
from mineaction.services.reporting.snapshot import Snapshot, load_store
from mineaction.store.engine import Store


@dataclass(frozen=True)
class ReportSpec:
    """A report that can be generated: name, title, one-line description and builder."""

    name: str
    title: str
    description: str
    build: Builder


REPORTS: dict[str, ReportSpec] = {
    spec.name: spec
    for spec in (
        ReportSpec(
            apmbc_article7.NAME,
            apmbc_article7.TITLE,
            "Mined areas (location, SHA/CHA count and area by contamination) and AP mines "
            "destroyed by type",
            apmbc_article7.build,
        ),
        ReportSpec(
            oslo.NAME,
            oslo.TITLE,
            "SHA/CHA with size at start and end; cancelled by NTS, reduced by TS, cleared; "
            "by admin area",
            oslo.build,
        ),
        ReportSpec(
            ccm_form_f.NAME,
            ccm_form_f.TITLE,
            "CMR-contaminated areas, land released and submunitions destroyed",
            ccm_form_f.build,
        ),
        ReportSpec(
            ccm_form_g.NAME,
            ccm_form_g.TITLE,
            "Risk education sessions and beneficiaries by sex and age",
            ccm_form_g.build,
        ),
        ReportSpec(
            ccm_form_h.NAME,
            ccm_form_h.TITLE,
            "Casualties by device, sex and age (aggregate only, no personal data)",
            ccm_form_h.build,
        ),
        ReportSpec(
            operations.NAME,
            operations.TITLE,
            "Per operator and programme: land released, productivity, EO, accidents, QA/QC, tasks",
            operations.build,
        ),
    )
}


def get_spec(name: str) -> ReportSpec:
    """Return a report by name or raise :class:`NotFoundError` listing the known ones."""
    try:
        return REPORTS[name]
    except KeyError:
        raise NotFoundError(
            f"no report called {name!r}; known reports: {', '.join(REPORTS)} "
            "(see `mineaction report list`)"
        ) from None


def build(
    snapshot: Snapshot,
    name: str,
    period: Period,
    scope: Scope | None = None,
    options: Options | None = None,
) -> ReportDoc:
    """Build one report from an already loaded snapshot."""
    return get_spec(name).build(snapshot, period, scope or Scope(), options or Options())


def generate(
    store: Store,
    name: str,
    period: Period,
    *,
    scope: Scope | None = None,
    cut_off: datetime | None = None,
    options: Options | None = None,
) -> ReportDoc:
    """Generate one report from the reports approved by ``cut_off`` (default: now)."""
    spec = get_spec(name)
    snap = load_store(store, cut_off)
    return spec.build(snap, period, scope or Scope(), options or Options())


__all__ = [
    "REPORTS",
    "Options",
    "ReportDoc",
    "ReportSpec",
    "build",
    "generate",
    "get_spec",
    "load_store",
]
