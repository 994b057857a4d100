"""Shared pieces of the CLI: context, error handling, output formatting, progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click
import orjson
from tqdm import tqdm

from mineaction.errors import MineActionError
from mineaction.store.engine import Store, open_store


@dataclass
class Context:
    """Global CLI options."""

    db_url: str
    debug: bool = False
    _store: Store | None = None

    def store(self, *, create: bool = False) -> Store:
        """Open (once) the selected store."""
        if self._store is None:
            self._store = open_store(self.db_url, create=create)
        return self._store


pass_ctx = click.make_pass_decorator(Context)


def run_guarded(command: click.Command, argv: Sequence[str]) -> Any:
    """Run a click command; turn domain errors into one clear line and a non-zero exit."""
    debug = "--debug" in argv
    try:
        return command.main(list(argv), prog_name="mineaction", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except MineActionError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        details = exc.details
        if isinstance(details, list):
            for d in details[:20]:
                if isinstance(d, dict) and "field" in d:
                    click.echo(f"  - {d['field']}: {d['message']}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted: nothing was written by the unfinished step", err=True)
        sys.exit(130)


def echo_json(obj: Any) -> None:
    """Print an object as indented JSON."""
    click.echo(orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())


def fmt_m2(value: float | None) -> str:
    """Format square metres with thousands separators.

    >>> fmt_m2(1234567.8)
    '1,234,568'
    """
    return "" if value is None else f"{value:,.0f}"


def echo_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    """Print rows as an aligned text table (numbers right-aligned)."""
    text = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], len(v))
    numeric = [
        all(isinstance(r[i], int | float) or r[i] is None for r in rows) if rows else False
        for i in range(len(headers))
    ]

    def line(vals: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]) for i, v in enumerate(vals)
        ).rstrip()

    click.echo(line(list(headers)))
    click.echo("  ".join("-" * w for w in widths))
    for row in text:
        click.echo(line(row))


@contextmanager
def progress_bar(total: int | None, desc: str) -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(n)`` callback drawing a progress bar on stderr (hidden when not a TTY)."""
    bar = tqdm(total=total, desc=desc, unit=" reports", file=sys.stderr, disable=None, leave=False)
    try:
        yield bar.update
    finally:
        bar.close()
