"""``mineaction backup`` and ``mineaction restore``: portable, checksummed archives."""

from __future__ import annotations

import click

from mineaction.cli._common import Context, pass_ctx
from mineaction.store import backup as bk
from mineaction.store.engine import Store


@click.command()
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@pass_ctx
def backup(ctx: Context, out: str) -> None:
    """Write a consistent backup of the whole database to the zip file OUT (online).

    The archive holds every table as JSON Lines with sha256 checksums and the schema
    version; it restores into SQLite or PostgreSQL alike (`mineaction restore`).
    """
    store = ctx.store()
    result = bk.backup(store, out)
    m = result.manifest
    click.echo(
        f"backup written: {result.path} (schema {m.schema_revision}, {len(m.tables)} tables, "
        f"{result.total_rows:,} rows, from {m.source_dialect})"
    )


@click.command()
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--db",
    "target",
    help="Database to restore into (default: the global --db / MINEACTION_DB). It must be "
    "new or empty.",
)
@click.option("--verify-only", is_flag=True, help="Only check the archive; write nothing.")
@pass_ctx
def restore(ctx: Context, archive: str, target: str | None, verify_only: bool) -> None:
    """Restore the backup ARCHIVE into a new, empty database and upgrade it to this version.

    The archive is checked completely first (checksums, row counts, schema version); a damaged
    archive or one from a newer mineaction is refused and nothing is written.
    """
    if verify_only:
        m = bk.verify(archive)
        rows = sum(t.rows for t in m.tables)
        click.echo(
            f"backup ok: {archive} (schema {m.schema_revision}, {rows:,} rows, "
            f"from {m.source_dialect}, {m.created_at})"
        )
        return
    store = Store(target or ctx.db_url, check_schema=False)
    try:
        result = bk.restore(store, archive)
    finally:
        store.dispose()
    m = result.manifest
    click.echo(
        f"restored {result.total_rows:,} rows from {archive} (schema {m.schema_revision}, "
        f"from {m.source_dialect}) into {store.safe_url}, now at schema {store.head_revision()}"
    )
