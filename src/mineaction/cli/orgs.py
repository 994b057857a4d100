"""``mineaction orgs``: organisations (operators, the national authority, QA bodies)."""

from __future__ import annotations

import click

from mineaction.cli._common import Context, echo_json, echo_table, pass_ctx
from mineaction.store.reference import list_organisations, upsert_organisation


@click.group()
def orgs() -> None:
    """Organisations that report, are inspected or receive land.

    Once any organisation is registered, reports from unregistered ones are refused.
    """


@orgs.command()
@click.argument("code")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(["authority", "operator", "ngo", "commercial", "military", "qa"]),
    default="operator",
    show_default=True,
)
@click.option("--country")
@pass_ctx
def add(ctx: Context, code: str, name: str, kind: str, country: str | None) -> None:
    """Register an organisation (or update its name and kind)."""
    with ctx.store().write() as conn:
        upsert_organisation(conn, code, name, kind=kind, country=country)
    click.echo(f"organisation {code}: {name} ({kind})")


@orgs.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def list_(ctx: Context, fmt: str) -> None:
    """List registered organisations."""
    with ctx.store().read() as conn:
        rows = list_organisations(conn)
    if fmt == "json":
        echo_json([dict(r) for r in rows])
    else:
        echo_table(
            [(r["code"], r["name"], r["kind"], r["country"]) for r in rows],
            ["code", "name", "kind", "country"],
        )
