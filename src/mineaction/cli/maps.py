"""``mineaction map``: a printable map of hazards by status (PDF or PNG, A4/A3)."""

from __future__ import annotations

from pathlib import Path

import click

from mineaction.cli._common import Context, pass_ctx
from mineaction.cli.reporting import parse_cut_off, resolve_scope
from mineaction.services import maps


@click.command("map")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="map.pdf or map.png",
)
@click.option(
    "--scope",
    help="Admin area P-code prefix or organisation code; or area:PCODE and/or org:ORG.",
)
@click.option("--size", type=click.Choice(list(maps.SIZES)), default="A4", show_default=True)
@click.option("--as-of", "as_of", help="Data cut-off (date or ISO date-time, UTC). Default: now.")
@click.option("--title", help="Map title.")
@click.option(
    "--marking",
    default=maps.DEFAULT_MARKING,
    show_default=True,
    help="Classification marking printed at the top and bottom.",
)
@pass_ctx
def map_(
    ctx: Context,
    out: Path,
    scope: str | None,
    size: str,
    as_of: str | None,
    title: str | None,
    marking: str,
) -> None:
    """Draw hazards by status over admin boundaries and settlements, ready to print."""
    data = maps.render(
        ctx.store(),
        out,
        size=size,
        scope=resolve_scope(ctx.store(), scope),
        cut_off=parse_cut_off(as_of),
        title=title,
        marking=marking,
    )
    click.echo(
        f"wrote {out} ({len(data.hazards)} hazards, cut-off {data.cut_off:%Y-%m-%d %H:%M} UTC)"
    )
