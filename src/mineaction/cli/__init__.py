"""The ``mineaction`` command line: thin commands over the services."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from mineaction import __version__
from mineaction.cli._common import Context, run_guarded

#: Modules that add commands to the group: ``module:attribute``.
COMMANDS = [
    "mineaction.cli.db:init",
    "mineaction.cli.db:db",
    "mineaction.cli.reports:reports",
    "mineaction.cli.hazards:hazards",
    "mineaction.cli.hazards:recompute",
    "mineaction.cli.serve:serve",
    "mineaction.cli.orgs:orgs",
    "mineaction.cli.reference:reference",
    "mineaction.cli.users:users",
    "mineaction.cli.users:tokens",
    "mineaction.cli.users:audit",
    "mineaction.cli.prioritise:prioritise",
    "mineaction.cli.reporting:report",
    "mineaction.cli.backup:backup",
    "mineaction.cli.backup:restore",
    "mineaction.cli.demo:demo",
    "mineaction.cli.importing:import_",
    "mineaction.cli.importing:forms",
    "mineaction.cli.importing:quarantine",
    "mineaction.cli.review:review",
    "mineaction.cli.exports:export",
    "mineaction.cli.maps:map_",
    "mineaction.cli.plan:plan",
]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    "db_url",
    envvar="MINEACTION_DB",
    default="sqlite:///mineaction.db",
    show_default=True,
    help="Database URL: sqlite:///FILE (embedded) or postgresql://USER@HOST/DB (server mode). "
    "Also from MINEACTION_DB.",
)
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(__version__, prog_name="mineaction")
@click.pass_context
def cli(ctx: click.Context, db_url: str, debug: bool) -> None:
    """Information management and planning for humanitarian mine action.

    Approved field reports are the source of truth; hazard state (class, status, remaining
    area, released m² by cancelled/reduced/cleared) is derived from them and can be explained.

    \b
    Quick start:
      mineaction init                 create the database (mineaction.db)
      mineaction demo                 load the synthetic Kursk border demo programme
      mineaction hazards list         current state of every hazard
      mineaction serve                web app on http://127.0.0.1:8000
    """
    ctx.obj = Context(db_url=db_url, debug=debug)


def _register() -> None:
    for spec in COMMANDS:
        module, attr = spec.split(":")
        cli.add_command(getattr(importlib.import_module(module), attr))


_register()


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI (entry point of the ``mineaction`` command)."""
    return run_guarded(cli, argv if argv is not None else sys.argv[1:])
