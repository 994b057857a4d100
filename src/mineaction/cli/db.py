"""``mineaction init`` and ``mineaction db``: create and upgrade the database."""

from __future__ import annotations

import click

from mineaction.cli._common import Context, pass_ctx
from mineaction.core.geometry import BBox
from mineaction.errors import ValidationError
from mineaction.store.engine import Store
from mineaction.store.settings import get_setting, set_setting


@click.command()
@click.option(
    "--programme-area",
    metavar="BBOX",
    help="Area of operations as min_lon,min_lat,max_lon,max_lat; geometries outside "
    "it are rejected on entry.",
)
@click.option("--name", "programme_name", help="Programme name shown on reports and pages.")
@click.option(
    "--map-tile-url",
    metavar="URL",
    help="Tile layer drawn under the web map, e.g. https://tiles.example.org/{z}/{x}/{y}.png "
    "or a path on this server; '' removes it (default: none, the map draws admin boundaries "
    "and settlements from the database and works offline).",
)
@pass_ctx
def init(
    ctx: Context,
    programme_area: str | None,
    programme_name: str | None,
    map_tile_url: str | None,
) -> None:
    """Create the database (or upgrade it to this version's schema) and set its settings."""
    store = Store(ctx.db_url, check_schema=False)
    store.upgrade()
    with store.write() as conn:
        if programme_area:
            set_setting(conn, "programme_area", BBox.parse(programme_area).as_list())
        if programme_name:
            set_setting(conn, "programme_name", programme_name)
        if map_tile_url is not None:
            set_setting(conn, "map_tile_url", check_tile_url(map_tile_url))
        name = get_setting(conn, "programme_name", "(unnamed programme)")
    click.echo(f"database ready: {store.safe_url} (schema {store.head_revision()}, {name})")


def check_tile_url(url: str) -> str | None:
    """Return a map tile URL template (None for "": no tile layer) or raise ValidationError.

    >>> check_tile_url(" https://tile.openstreetmap.org/{z}/{x}/{y}.png ")
    'https://tile.openstreetmap.org/{z}/{x}/{y}.png'
    >>> check_tile_url("") is None
    True
    >>> check_tile_url("https://tiles.example.org/{z}/{x}.png")
    Traceback (most recent call last):
    ...
    mineaction.errors.ValidationError: --map-tile-url: a tile URL needs {z}, {x} and {y}: ...
    """
    url = url.strip()
    if not url:
        return None
    if not all(part in url for part in ("{z}", "{x}", "{y}")):
        raise ValidationError(
            f"a tile URL needs {{z}}, {{x}} and {{y}}: {url!r}", where="--map-tile-url"
        )
    if not url.startswith(("https://", "http://", "/")):
        raise ValidationError(
            f"a tile URL starts with https://, http:// or / (this server): {url!r}",
            where="--map-tile-url",
        )
    return url


@click.group()
def db() -> None:
    """Database schema: show the version, upgrade."""


@db.command()
@pass_ctx
def upgrade(ctx: Context) -> None:
    """Upgrade the database schema to this program's version (keeps all data)."""
    store = Store(ctx.db_url, check_schema=False)
    before = store.current_revision()
    store.upgrade()
    click.echo(f"schema {before or 'none'} -> {store.head_revision()}")


@db.command()
@pass_ctx
def current(ctx: Context) -> None:
    """Print the database's schema version and the one this program needs."""
    store = Store(ctx.db_url, check_schema=False)
    click.echo(f"database: {store.current_revision() or 'not initialised'}")
    click.echo(f"program:  {store.head_revision()}")
