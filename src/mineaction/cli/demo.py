"""``mineaction demo``: load the synthetic Kursk border area demo programme."""

from __future__ import annotations

from typing import Any

import click

from mineaction.cli._common import Context, echo_table, fmt_m2, pass_ctx, progress_bar
from mineaction.services.demo import DEFAULT_SEED, PROGRAMME_NAME, DemoSummary, build_demo
from mineaction.services.demo_layers import SCALES

STATUSES = ("open", "worked_on", "closed", "handed_over")


def print_summary(summary: DemoSummary) -> None:
    """Print what the demo contains: hazards, m² by outcome, reports by state."""
    click.echo(f"{PROGRAMME_NAME} (seed {summary.seed}, scale {summary.scale})")
    if summary.already_loaded:
        click.echo("this demo was already in the database: nothing new was loaded")
    click.echo(
        f"{summary.organisations} organisations, {summary.teams} teams, "
        f"{summary.locations} locations (admin 1-3)"
    )
    classes = sorted({c for c, _ in summary.hazards_by_class_status})
    rows: list[list[Any]] = []
    for c in classes:
        counts = [summary.hazards_by_class_status.get((c, st), 0) for st in STATUSES]
        rows.append([c, *counts, sum(counts)])
    totals = [sum(r[i + 1] for r in rows) for i in range(len(STATUSES))]
    rows.append(["total", *totals, sum(totals)])
    click.echo("\nhazards by classification and status")
    echo_table(rows, ["class", *STATUSES, "total"])
    click.echo("\nm² by outcome")
    m2 = summary.m2_by_outcome
    echo_table(
        [
            [k, fmt_m2(m2[k])]
            for k in ("area", "cancelled", "reduced", "cleared", "remaining", "expansion")
        ],
        ["", "m²"],
    )
    click.echo("\nreports by state")
    echo_table(sorted(summary.reports_by_state.items()), ["state", "reports"])
    if summary.reference_features:
        layers = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.reference_features.items()))
        click.echo(f"\nreference layers: {layers}")
    click.echo(f"\ndone in {summary.seconds:.1f} s: all of it is SYNTHETIC DEMO DATA")


@click.command()
@click.option(
    "--seed",
    type=int,
    default=DEFAULT_SEED,
    show_default=True,
    help="Random seed: the same seed gives the same database content.",
)
@click.option(
    "--scale",
    type=click.Choice(list(SCALES)),
    default="region",
    show_default=True,
    help="small (~50 hazards, tests), region (~2,000), national (~100,000 hazards, "
    "~500,000 reports; benchmarks).",
)
@pass_ctx
def demo(ctx: Context, seed: int, scale: str) -> None:
    """Load a synthetic demo programme in the Kursk Oblast border area (SYNTHETIC DATA).

    Creates the database if needed. Refuses a database that holds real (non-demo) reports
    or a demo with another seed or scale; running it again with the same options changes
    nothing.
    """
    store = ctx.store(create=True)
    with (
        progress_bar(None, f"demo {scale}: reports") as advance,
        progress_bar(None, "projection") as advance_projection,
    ):
        summary = build_demo(
            store,
            seed=seed,
            scale=scale,
            progress=advance,
            recompute_progress=advance_projection,
        )
    print_summary(summary)
