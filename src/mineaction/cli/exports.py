"""``mineaction export``: GIS files of the national picture (GeoPackage, GeoJSON, KML, ...)."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from mineaction.cli._common import Context, pass_ctx
from mineaction.cli.reporting import resolve_scope
from mineaction.core.access import Role
from mineaction.io.gisexport import FORMATS
from mineaction.services import exports


def cli_actor() -> str:
    """Return the audit actor of a command-line user (``cli:`` + the OS account)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@click.command("export")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), help="Default: from OUT.")
@click.option(
    "--layers",
    help=f"Comma separated: {', '.join(exports.LAYERS)} (default all); "
    "victims needs --include-personal-data.",
)
@click.option(
    "--scope",
    help="Admin area P-code prefix or organisation code; or area:PCODE and/or org:ORG.",
)
@click.option(
    "--include-personal-data",
    is_flag=True,
    help="Add the victims layer (names, sex, age). Recorded in the audit log.",
)
@pass_ctx
def export(
    ctx: Context,
    out: Path,
    fmt: str | None,
    layers: str | None,
    scope: str | None,
    include_personal_data: bool,
) -> None:
    """Export hazards, remaining/released land, activities, EO and accidents to OUT.

    GeoPackage (gpkg) writes every layer into one file; geojson, kml, shp, fgb and csv write
    one file per layer into the directory OUT (or into OUT itself for a single layer).

    \b
    Examples:
      mineaction export national.gpkg
      mineaction export --format geojson --layers hazards,remaining --scope area:UA59 out/
    """
    kind = fmt or out.suffix.lstrip(".").lower()
    if kind not in FORMATS:
        raise click.UsageError(f"give --format ({', '.join(FORMATS)}) or an OUT with that suffix")
    # A command-line user works on the database directly, with the rights of its owner;
    # exports of personal data are still written to the audit log under their OS account.
    result = exports.export(
        ctx.store(),
        kind,
        out,
        layers=exports.parse_layers(layers, personal=include_personal_data) if layers else None,
        scope=resolve_scope(ctx.store(), scope),
        include_personal_data=include_personal_data,
        role=Role.ADMIN,
        actor=cli_actor(),
    )
    for name, n in result.counts.items():
        click.echo(f"{name}: {n} features")
    for f in result.files:
        click.echo(f"wrote {f}")
    if include_personal_data:
        click.echo("personal data exported: recorded in the audit log", err=True)
