"""``mineaction reference``: reference layers (settlements, roads, farmland ...) for prioritisation."""

from __future__ import annotations

import sys

import click
from tqdm import tqdm

from mineaction.cli._common import Context, echo_json, echo_table, pass_ctx
from mineaction.services import reference as ref


@click.group()
def reference() -> None:
    """Reference layers used to score hazards: import GIS files, list what is loaded."""


@reference.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--layer", required=True, type=click.Choice(list(ref.LAYERS)), help="Target layer.")
@click.option("--crs", help="CRS of the file when it does not declare one, e.g. EPSG:32637.")
@click.option("--source-layer", help="Layer inside a multi-layer file (GeoPackage).")
@click.option("--append", is_flag=True, help="Add to the layer instead of replacing its features.")
@pass_ctx
def import_(
    ctx: Context, file: str, layer: str, crs: str | None, source_layer: str | None, append: bool
) -> None:
    """Import FILE (GeoPackage, Shapefile, GeoJSON, FlatGeobuf) into a reference layer.

    \b
    Properties read per layer:
      settlements     population (or pop)
      roads           class (or highway/fclass) and optional market_access weight
      farmland        landuse (or kind)
      infrastructure  kind/amenity/power: school, clinic, water_point, power_line ...
    """
    store = ctx.store()
    with tqdm(
        desc=f"loading {layer}", unit=" features", file=sys.stderr, disable=None, leave=False
    ) as bar:
        n = ref.import_file(
            store,
            file,
            layer,
            crs=crs,
            source_layer=source_layer,
            replace=not append,
            progress=bar.update,
        )
    click.echo(f"{'added' if append else 'loaded'} {n} features into layer {layer}")


@reference.command("list")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@pass_ctx
def list_(ctx: Context, fmt: str) -> None:
    """List the reference layers: feature counts by kind, sources and load time."""
    layers = ref.list_layers(ctx.store())
    if fmt == "json":
        echo_json(
            [
                {
                    "layer": s.layer,
                    "features": s.features,
                    "kinds": s.kinds,
                    "sources": s.sources,
                    "loaded_at": s.loaded_at.isoformat() if s.loaded_at else None,
                }
                for s in layers
            ]
        )
        return
    echo_table(
        [
            (
                s.layer,
                s.features,
                ", ".join(
                    f"{k} {n}" for k, n in sorted(s.kinds.items(), key=lambda kv: -kv[1])[:5]
                ),
                ", ".join(s.sources)[:60],
                s.loaded_at.strftime("%Y-%m-%d %H:%M") if s.loaded_at else "",
            )
            for s in layers
        ],
        ["layer", "features", "kinds", "sources", "loaded"],
    )
