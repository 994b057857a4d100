"""``mineaction reports``: submit, list, show, approve, reject, unapprove."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import orjson

from mineaction.cli._common import Context, echo_json, echo_table, fmt_m2, pass_ctx
from mineaction.errors import ValidationError
from mineaction.services import ledger
from mineaction.store import reports as repo


def read_report_file(path: Path) -> list[tuple[str, Any]]:
    """Read a report file: one JSON report, a JSON list, or JSON Lines; return (where, doc)."""
    raw = path.read_bytes()
    name = str(path)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        lines = [ln for ln in raw.splitlines() if ln.strip()]
        if len(lines) > 1:
            out = []
            for i, ln in enumerate(lines, 1):
                try:
                    out.append((f"{name}, line {i}", orjson.loads(ln)))
                except orjson.JSONDecodeError as e2:
                    raise ValidationError(
                        f"not valid JSON: {e2}", where=f"{name}, line {i}"
                    ) from None
            return out
        raise ValidationError(f"not valid JSON: {exc}", where=name) from None
    if isinstance(data, list):
        return [(f"{name}, item {i}", d) for i, d in enumerate(data, 1)]
    return [(name, data)]


@click.group()
def reports() -> None:
    """Field reports: the ledger every hazard's state is derived from."""


@reports.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--by", "submitted_by", default=None, help="Who submits (recorded in the audit log).")
@click.option(
    "--approve", "approve_now", is_flag=True, help="Approve each report right after submission."
)
@pass_ctx
def submit(
    ctx: Context, files: tuple[Path, ...], submitted_by: str | None, approve_now: bool
) -> None:
    """Submit report files (our JSON format, see docs/report-format.md).

    A file holds one report, a JSON list of reports, or one report per line. Every report is
    checked first; if any is invalid nothing is submitted. Re-submitting identical reports
    changes nothing.
    """
    store = ctx.store()
    docs = [item for f in files for item in read_report_file(f)]
    results = []
    with store.write() as conn:
        for where, doc in docs:
            results.append(ledger.submit_in(conn, doc, submitted_by=submitted_by, where=where))
    new = [r for r in results if r.status == "new"]
    for r in results:
        click.echo(f"{r.status:9} {r.report_id}")
        for w in r.warnings:
            click.echo(f"  warning: {w}")
    if approve_now:
        # Every report of the files still pending, also those submitted by an earlier run that
        # was interrupted before approving them: re-running the command finishes the job.
        for r in results:
            with store.read() as conn:
                state = repo.get_report(conn, r.report_id)["state"]
            if state in ledger.PENDING_STATES:
                ledger.approve(store, r.report_id, actor=submitted_by)
                click.echo(f"approved  {r.report_id}")
    click.echo(f"{len(new)} submitted, {len(results) - len(new)} already present")


@reports.command("list")
@click.option(
    "--state",
    type=click.Choice(
        [
            "submitted",
            "verified",
            "ops_approved",
            "approved",
            "rejected",
            "unapproved",
            "superseded",
        ]
    ),
)
@click.option(
    "--type",
    "rtype",
    type=click.Choice(["hazard", "activity", "eo", "accident", "eore", "qm", "handover"]),
)
@click.option("--hazard", "hazard_id")
@click.option("--org", "organisation")
@click.option("--limit", default=50, show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@pass_ctx
def list_(
    ctx: Context,
    state: str | None,
    rtype: str | None,
    hazard_id: str | None,
    organisation: str | None,
    limit: int,
    fmt: str,
) -> None:
    """List reports, newest first."""
    with ctx.store().read() as conn:
        rows = repo.list_reports(
            conn,
            state=state,
            type=rtype,
            hazard_id=hazard_id,
            organisation=organisation,
            limit=limit,
        )
    if fmt == "json":
        echo_json([_row_summary(r) for r in rows])
        return
    echo_table(
        [
            (
                r["report_id"],
                r["type"],
                r["organisation"],
                r["hazard_id"],
                r["date_of_information"],
                r["state"],
                len(r["warnings"] or []),
            )
            for r in rows
        ],
        ["report", "type", "org", "hazard", "date of information", "state", "warnings"],
    )


def _row_summary(r: Any) -> dict[str, Any]:
    return {
        "report_id": r["report_id"],
        "type": r["type"],
        "organisation": r["organisation"],
        "hazard_id": r["hazard_id"],
        "date_of_information": r["date_of_information"].isoformat(),
        "state": r["state"],
        "approval_seq": r["approval_seq"],
        "submitted_by": r["submitted_by"],
        "approved_by": r["approved_by"],
        "reason": r["reason"],
        "warnings": r["warnings"],
    }


@reports.command()
@click.argument("report_id")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@pass_ctx
def show(ctx: Context, report_id: str, fmt: str) -> None:
    """Show a report, its workflow history and (if pending) what approving it would change."""
    store = ctx.store()
    with store.read() as conn:
        row = repo.get_report(conn, report_id)
        history = repo.events(conn, report_id)
    effect = ledger.predict(store, report_id) if row["state"] in ledger.PENDING_STATES else None
    if fmt == "json":
        out = _row_summary(row)
        out["payload"] = row["payload"]
        out["history"] = [
            {
                "at": h["at"].isoformat(),
                "actor": h["actor"],
                "action": h["action"],
                "to_state": h["to_state"],
                "reason": h["reason"],
            }
            for h in history
        ]
        if effect:
            out["effect"] = {"before": effect.before, "after": effect.after, "error": effect.error}
        echo_json(out)
        return
    click.echo(
        f"report {row['report_id']} ({row['type']}) from {row['organisation']}, "
        f"date of information {row['date_of_information']}: {row['state']}"
    )
    if row["hazard_id"]:
        click.echo(f"hazard: {row['hazard_id']}")
    for w in row["warnings"] or []:
        click.echo(f"warning: {w}")
    for h in history:
        reason = f" ({h['reason']})" if h["reason"] else ""
        click.echo(
            f"  {h['at']:%Y-%m-%d %H:%M} {h['action']:10} -> {h['to_state']} by {h['actor'] or '-'}{reason}"
        )
    if effect:
        if effect.error:
            click.echo(f"approving would be refused: {effect.error}")
        elif effect.after:
            b, a = effect.before or {}, effect.after
            click.echo("if approved:")
            for key in (
                "status",
                "classification",
                "area_m2",
                "cancelled_m2",
                "reduced_m2",
                "cleared_m2",
                "remaining_m2",
            ):
                old, new = b.get(key), a.get(key)
                fmt_v = fmt_m2 if key.endswith("m2") else str
                mark = "" if old == new else "   (changes)"
                click.echo(
                    f"  {key:15} {fmt_v(old) if old is not None else '-':>15} -> {fmt_v(new):>15}{mark}"
                )
            if effect.step:
                for note in effect.step.notes:
                    click.echo(f"  note: {note}")


@reports.command()
@click.argument("report_ids", nargs=-1, required=True)
@click.option("--by", "actor", default=None, help="Who approves (recorded).")
@pass_ctx
def approve(ctx: Context, report_ids: tuple[str, ...], actor: str | None) -> None:
    """Approve pending reports, each in its own transaction (a refused one changes nothing).

    Reports already approved are skipped, so an interrupted run can simply be repeated.
    """
    store = ctx.store()
    for rid in report_ids:
        with store.read() as conn:
            if repo.get_report(conn, rid)["state"] == "approved":
                # idempotent: re-running an interrupted approval finishes the rest
                click.echo(f"already approved {rid}")
                continue
        effect = ledger.approve(store, rid, actor=actor)
        extra = ""
        if effect.after:
            extra = f": hazard {effect.hazard_id} {effect.after['status']}, remaining {fmt_m2(effect.after['remaining_m2'])} m²"
        click.echo(f"approved {rid}{extra}")


@reports.command()
@click.argument("report_id")
@click.option("--reason", required=True, help="Why (sent back to the submitter).")
@click.option("--by", "actor", default=None)
@pass_ctx
def reject(ctx: Context, report_id: str, reason: str, actor: str | None) -> None:
    """Reject a pending report with a reason."""
    ledger.reject(ctx.store(), report_id, reason=reason, actor=actor)
    click.echo(f"rejected {report_id}")


@reports.command()
@click.argument("report_id")
@click.option("--reason", required=True, help="Why the approved report is withdrawn.")
@click.option("--by", "actor", default=None)
@pass_ctx
def unapprove(ctx: Context, report_id: str, reason: str, actor: str | None) -> None:
    """Withdraw an approved report from the national picture (recorded, reversible)."""
    ledger.unapprove(ctx.store(), report_id, reason=reason, actor=actor)
    click.echo(f"unapproved {report_id}")
