"""``mineaction hazards`` and ``mineaction recompute``: the derived national picture."""

from __future__ import annotations

import sys
from typing import Any

import click

from mineaction.cli._common import Context, echo_json, echo_table, fmt_m2, pass_ctx, progress_bar
from mineaction.core.geometry import BBox, to_geojson
from mineaction.services import ledger
from mineaction.store import projections as proj
from mineaction.store import reports as repo

SUMMARY_FIELDS = (
    "id",
    "name",
    "organisation",
    "classification",
    "status",
    "location",
    "area_m2",
    "cancelled_m2",
    "reduced_m2",
    "cleared_m2",
    "remaining_m2",
    "expansion_m2",
    "eo_total",
    "last_date",
    "version",
)


def hazard_summary(row: Any) -> dict[str, Any]:
    """Return the machine-readable summary of a stored hazard row."""
    out: dict[str, Any] = {
        "id": row["hazard_id"],
        "name": row["name"],
        "organisation": row["organisation"],
        "classification": row["classification"],
        "status": row["status"],
        "status_reason": row["status_reason"],
        "location": row["location"],
        "contamination": row["contamination"],
    }
    for f in (
        "area_m2",
        "cancelled_m2",
        "reduced_m2",
        "cleared_m2",
        "remaining_m2",
        "expansion_m2",
    ):
        out[f] = round(row[f], 2)
    out.update(
        eo_found=row["eo_found"],
        eo_total=row["eo_total"],
        first_date=row["first_date"].isoformat() if row["first_date"] else None,
        last_date=row["last_date"].isoformat() if row["last_date"] else None,
        closed_on=row["closed_on"].isoformat() if row["closed_on"] else None,
        handed_over_on=row["handed_over_on"].isoformat() if row["handed_over_on"] else None,
        report_count=row["report_count"],
        flags=row["flags"],
        version=row["version"],
    )
    return out


@click.group()
def hazards() -> None:
    """Hazards (SHA/CHA): current state derived from approved reports."""


@hazards.command("list")
@click.option("--status", type=click.Choice(["open", "worked_on", "closed", "handed_over"]))
@click.option("--class", "classification", type=click.Choice(["SHA", "CHA", "EOD_SPOT"]))
@click.option("--org", "organisation")
@click.option("--location", help="Admin area P-code (prefix match).")
@click.option("--bbox", help="min_lon,min_lat,max_lon,max_lat")
@click.option("--limit", type=int, default=None, help="At most this many (default: all).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "geojson"]),
    default="table",
    show_default=True,
)
@pass_ctx
def list_(
    ctx: Context,
    status: str | None,
    classification: str | None,
    organisation: str | None,
    location: str | None,
    bbox: str | None,
    limit: int | None,
    fmt: str,
) -> None:
    """List hazards with their areas in m² (released by cancelled / reduced / cleared)."""
    box = BBox.parse(bbox) if bbox else None
    with ctx.store().read() as conn:
        rows = proj.list_hazards(
            conn,
            status=status,
            classification=classification,
            organisation=organisation,
            location=location,
            bbox=box.as_list() if box else None,
            limit=limit,
        )
    if fmt == "json":
        echo_json([hazard_summary(r) for r in rows])
    elif fmt == "geojson":
        echo_json({"type": "FeatureCollection", "features": [_feature(r) for r in rows]})
    else:
        echo_table(
            [
                (
                    r["hazard_id"],
                    r["classification"],
                    r["status"],
                    r["organisation"],
                    fmt_m2(r["area_m2"]),
                    fmt_m2(r["cancelled_m2"]),
                    fmt_m2(r["reduced_m2"]),
                    fmt_m2(r["cleared_m2"]),
                    fmt_m2(r["remaining_m2"]),
                )
                for r in rows
            ],
            [
                "hazard",
                "class",
                "status",
                "org",
                "area m²",
                "cancelled",
                "reduced",
                "cleared",
                "remaining",
            ],
        )
        total = sum(r["remaining_m2"] for r in rows)
        click.echo(f"{len(rows)} hazards, {fmt_m2(total)} m² remaining", err=True)


def _feature(row: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": row["hazard_id"],
        "geometry": to_geojson(row["geom"]),
        "properties": hazard_summary(row),
    }


@hazards.command()
@click.argument("hazard_id")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "geojson"]),
    default="text",
    show_default=True,
)
@click.option(
    "--explain", is_flag=True, help="Show how the current state was reached, report by report."
)
@pass_ctx
def show(ctx: Context, hazard_id: str, fmt: str, explain: bool) -> None:
    """Show one hazard's current state (and with --explain, why)."""
    store = ctx.store()
    with store.read() as conn:
        row = proj.get_hazard(conn, hazard_id)
    summary = hazard_summary(row)
    steps = ledger.explain(store, hazard_id)[1] if explain else []
    if fmt == "json":
        out = dict(summary)
        out["geometry"] = to_geojson(row["geom"])
        out["remaining_geometry"] = to_geojson(row["remaining_geom"])
        if explain:
            out["explanation"] = [s.as_dict() for s in steps]
        echo_json(out)
        return
    if fmt == "geojson":
        echo_json(_feature(row))
        return
    click.echo(f"hazard {summary['id']} {summary['name'] or ''}".rstrip())
    click.echo(
        f"  {summary['classification']}, {summary['status']}"
        + (f" ({summary['status_reason']})" if summary["status_reason"] else "")
    )
    click.echo(f"  organisation {summary['organisation']}, location {summary['location'] or '-'}")
    for f in (
        "area_m2",
        "cancelled_m2",
        "reduced_m2",
        "cleared_m2",
        "remaining_m2",
        "expansion_m2",
    ):
        click.echo(f"  {f:13} {fmt_m2(summary[f]):>14}")
    if summary["eo_total"]:
        click.echo(f"  EO found: {summary['eo_found']}")
    for flag in summary["flags"]:
        click.echo(f"  flag: {flag}")
    if explain:
        click.echo("")
        click.echo("how the current state was reached (reports in order of date of information):")
        echo_table(
            [
                (
                    s.date_of_information.isoformat(),
                    s.report_id,
                    s.type,
                    s.organisation,
                    _delta(s.cancelled_m2),
                    _delta(s.reduced_m2),
                    _delta(s.cleared_m2),
                    fmt_m2(s.remaining_m2),
                    s.status_after,
                )
                for s in steps
            ],
            [
                "date",
                "report",
                "type",
                "org",
                "cancelled",
                "reduced",
                "cleared",
                "remaining",
                "status",
            ],
        )
        for s in steps:
            for note in s.notes:
                click.echo(f"  {s.report_id}: {note}")


def _delta(v: float) -> str:
    return "" if abs(v) < 0.005 else f"{v:+,.0f}"


@click.command()
@click.option(
    "--check",
    is_flag=True,
    help="Rebuild in memory and report differences from what is stored (exit 1 if any).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: one per CPU for a large ledger, 1 for a small one).",
)
@pass_ctx
def recompute(ctx: Context, check: bool, jobs: int | None) -> None:
    """Rebuild every hazard's state from the approved reports.

    The whole rebuild is one transaction (an interrupted recompute changes nothing); rows
    that already hold what the ledger gives are left as they are, the rest is rewritten.
    """
    store = ctx.store()
    with store.read() as conn:
        total = repo.count_by_state(conn).get("approved", 0)
    with progress_bar(total, "checking" if check else "recomputing") as advance:
        result = (
            ledger.check(store, progress=advance, jobs=jobs)
            if check
            else ledger.recompute(store, progress=advance, jobs=jobs)
        )
    for err in result.errors:
        click.echo(f"error: {err}", err=True)
    if check:
        for d in result.differences[:100]:
            click.echo(d)
        if result.differences:
            click.echo(
                f"{len(result.differences)} difference(s) between the stored projection and the ledger"
            )
            sys.exit(1)
        click.echo(f"ok: {result.hazards} hazards match their {result.reports} approved reports")
    else:
        click.echo(
            f"recomputed {result.hazards} hazards from {result.reports} approved reports "
            f"({result.rows_inserted} derived rows rewritten)"
        )
    if result.errors:
        sys.exit(1)
