"""``mineaction report``: treaty and programme reports from the ledger at any cut-off."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from sqlalchemy import select

from mineaction.cli._common import Context, echo_json, echo_table, pass_ctx
from mineaction.core.reporting import Period, Scope
from mineaction.errors import ValidationError
from mineaction.io.reportfiles import FORMATS, write
from mineaction.services import reporting
from mineaction.services.reporting.snapshot import end_of_day, utc
from mineaction.store import schema as s
from mineaction.store.engine import Store


def parse_cut_off(text: str | None) -> datetime | None:
    """Parse ``--as-of``: a date (end of that UTC day) or an ISO date-time (UTC if naive).

    >>> parse_cut_off("2026-06-30").isoformat()
    '2026-06-30T23:59:59.999999+00:00'
    >>> parse_cut_off("2026-06-30T12:00").isoformat()
    '2026-06-30T12:00:00+00:00'
    """
    if not text:
        return None
    try:
        if len(text) == 10:
            return end_of_day(datetime.fromisoformat(text).date())
        return utc(datetime.fromisoformat(text))
    except ValueError:
        raise ValidationError(
            f"{text!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+00:00]",
            where="--as-of",
        ) from None


def resolve_scope(store: Store, text: str | None) -> Scope:
    """Parse ``--scope``; a bare value is an organisation code if one is registered, else a P-code."""
    if not text:
        return Scope()
    parts = []
    with store.read() as conn:
        orgs = {r[0] for r in conn.execute(select(s.organisation.c.code))}
    for part in text.split(","):
        part = part.strip()
        if part and ":" not in part:
            part = f"org:{part}" if part in orgs else f"area:{part}"
        parts.append(part)
    return Scope.parse(",".join(parts))


def format_for(fmt: str | None, out: Path | None) -> str:
    """Return the output format: ``--format`` or the extension of ``--out`` (default json)."""
    if fmt:
        return fmt
    if out is not None and out.suffix.lstrip(".").lower() in FORMATS:
        return out.suffix.lstrip(".").lower()
    return "json"


@click.command("report")
@click.argument("name")
@click.option("--period", help="2026, 2026-03, 2026-01..2026-06 or 2026-01-15..2026-02-10.")
@click.option(
    "--scope",
    help="Admin area P-code prefix or organisation code; or area:PCODE and/or org:ORG.",
)
@click.option(
    "--as-of",
    "as_of",
    help="Data cut-off: only reports approved by then (date or ISO date-time, UTC). Default: now.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Default: from --out.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file (csv writes one file per table next to it).",
)
@click.option(
    "--admin-level",
    default=1,
    show_default=True,
    type=int,
    help="Admin level used for the by-area breakdowns.",
)
@pass_ctx
def report(
    ctx: Context,
    name: str,
    period: str | None,
    scope: str | None,
    as_of: str | None,
    fmt: str | None,
    out: Path | None,
    admin_level: int,
) -> None:
    """Generate report NAME (`mineaction report list` shows them) from approved reports.

    \b
    Examples:
      mineaction report apmbc-article7 --period 2026 --out art7-2026.xlsx
      mineaction report operations --period 2026-03 --scope org:FSD --out ops.pdf
      mineaction report oslo-action-plan --period 2026-01..2026-06 --as-of 2026-07-15 --format json
    """
    if name == "list":
        echo_table(
            [(s.name, s.description) for s in reporting.REPORTS.values()], ["report", "contents"]
        )
        return
    reporting.get_spec(name)
    if not period:
        raise ValidationError("--period is required, e.g. --period 2026 or 2026-01..2026-06")
    doc = reporting.generate(
        ctx.store(),
        name,
        Period.parse(period),
        scope=resolve_scope(ctx.store(), scope),
        cut_off=parse_cut_off(as_of),
        options=reporting.Options(admin_level=admin_level),
    )
    kind = format_for(fmt, out)
    if out is None:
        if kind != "json":
            raise ValidationError(f"--out FILE is needed for {kind} output", where="--out")
        echo_json(doc.as_dict())
        return
    for path in write(doc, kind, out):
        click.echo(f"wrote {path}")
    click.echo(
        f"data cut-off {doc.cut_off:%Y-%m-%d %H:%M:%S} UTC, {doc.report_count} approved reports, "
        f"ledger hash {doc.ledger_hash}",
        err=True,
    )
