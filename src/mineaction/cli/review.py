"""``mineaction review``: the approval workbench (queue, show, verify, approve, reject, unapprove)."""

from __future__ import annotations

from dataclasses import asdict

import click

from mineaction.cli._common import Context, echo_json, echo_table, fmt_m2, pass_ctx
from mineaction.services import review as svc


@click.group()
def review() -> None:
    """Review submitted reports: operator QC verify -> operations approve -> IM approve.

    The number of levels is configurable (`mineaction review levels`); `reports approve`
    still gives a final approval directly.
    """


@review.command("queue")
@click.option("--state", type=click.Choice(["submitted", "verified", "ops_approved"]), default=None)
@click.option("--org", "organisation", default=None)
@click.option("--limit", default=100, show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@pass_ctx
def queue_(ctx: Context, state: str | None, organisation: str | None, limit: int, fmt: str) -> None:
    """List pending reports, oldest first, with the step each needs next."""
    items = svc.queue(ctx.store(), state=state, organisation=organisation, limit=limit)
    if fmt == "json":
        echo_json([asdict(i) for i in items])
        return
    echo_table(
        [
            (
                i.report_id,
                i.type,
                i.organisation,
                i.hazard_id,
                i.date_of_information,
                i.state,
                i.next_step,
                i.warnings,
            )
            for i in items
        ],
        ["report", "type", "org", "hazard", "date", "state", "next step", "warnings"],
    )


@review.command("show")
@click.argument("report_id")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@pass_ctx
def show(ctx: Context, report_id: str, fmt: str) -> None:
    """Show a report with its warnings, proposals and what approving it would change."""
    rv = svc.review(ctx.store(), report_id)
    if fmt == "json":
        echo_json(asdict(rv))
        return
    r = rv.report
    click.echo(
        f"report {r['report_id']} ({r['type']}) from {r['organisation']}, date of information "
        f"{r['date_of_information']}: {r['state']}"
        + (f", next step: {rv.next_step}" if rv.next_step else "")
    )
    if r["hazard_id"]:
        click.echo(f"hazard: {r['hazard_id']}")
    if r["source_system"]:
        click.echo(f"source: {r['source_system']} {r['source_key']}")
    for w in r["warnings"]:
        click.echo(f"warning: {w}")
    for p in rv.proposals:
        click.echo(f"proposal ({p.kind}): {p.message}")
    e = rv.effect
    if e and e.get("error"):
        click.echo(f"approving would be refused: {e['error']}")
    elif e and e.get("applies"):
        click.echo("if approved:")
        for k, v in e["released_m2"].items():
            click.echo(f"  {k + ' m²':15} {fmt_m2(v):>15}")
        st = e["status"]
        click.echo(f"  {'status':15} {st['before'] or '-':>15} -> {st['after']}")
        rem = e["remaining_m2"]
        before = fmt_m2(rem["before"]) if rem["before"] is not None else "-"
        click.echo(f"  {'remaining m²':15} {before:>15} -> {fmt_m2(rem['after'])}")
        for note in e.get("notes", []):
            click.echo(f"  note: {note}")
    for h in rv.history:
        reason = f" ({h['reason']})" if h["reason"] else ""
        click.echo(
            f"  {h['at'][:16]} {h['action']:11} -> {h['to_state']} by {h['actor'] or '-'}{reason}"
        )


def _done(a: svc.Advance) -> None:
    extra = ""
    if a.effect is not None and a.effect.after:
        extra = (
            f": hazard {a.effect.hazard_id} {a.effect.after['status']}, remaining "
            f"{fmt_m2(a.effect.after['remaining_m2'])} m²"
        )
    click.echo(f"{a.report_id}: {a.from_state} -> {a.to_state}{extra}")


@review.command("verify")
@click.argument("report_ids", nargs=-1, required=True)
@click.option("--by", "actor", default=None, help="Who verifies (recorded).")
@pass_ctx
def verify(ctx: Context, report_ids: tuple[str, ...], actor: str | None) -> None:
    """Operator QC verification of submitted reports."""
    for rid in report_ids:
        _done(svc.verify(ctx.store(), rid, actor=actor))


@review.command("approve")
@click.argument("report_ids", nargs=-1, required=True)
@click.option("--by", "actor", default=None, help="Who approves (recorded).")
@pass_ctx
def approve(ctx: Context, report_ids: tuple[str, ...], actor: str | None) -> None:
    """Approve at the next level: operations approval, then the IM officer's final approval."""
    for rid in report_ids:
        _done(svc.approve(ctx.store(), rid, actor=actor))


@review.command("reject")
@click.argument("report_id")
@click.option("--reason", required=True, help="Why (sent back to the submitter).")
@click.option("--by", "actor", default=None)
@pass_ctx
def reject(ctx: Context, report_id: str, reason: str, actor: str | None) -> None:
    """Reject a pending report with a reason."""
    svc.reject(ctx.store(), report_id, reason=reason, actor=actor)
    click.echo(f"{report_id}: rejected")


@review.command("unapprove")
@click.argument("report_id")
@click.option("--reason", required=True, help="Why the approved report is withdrawn.")
@click.option("--by", "actor", default=None)
@pass_ctx
def unapprove(ctx: Context, report_id: str, reason: str, actor: str | None) -> None:
    """Withdraw an approved report from the national picture, with a reason."""
    svc.unapprove(ctx.store(), report_id, reason=reason, actor=actor)
    click.echo(f"{report_id}: unapproved")


@review.command("reconcile")
@click.argument("report_id")
@click.option("--hazard", "hazard_id", required=True, help="Existing hazard to attach it to.")
@click.option("--by", "actor", default=None)
@pass_ctx
def reconcile(ctx: Context, report_id: str, hazard_id: str, actor: str | None) -> None:
    """Attach a pending report to an existing hazard (update or link) instead of its own."""
    new_id = svc.reconcile(ctx.store(), report_id, hazard_id=hazard_id, actor=actor)
    click.echo(f"{report_id}: superseded by {new_id} (hazard {hazard_id})")


@review.command("levels")
@click.option(
    "--set",
    "levels",
    default=None,
    help="Intermediate levels, comma-separated, from: verified,ops_approved ('' for none).",
)
@click.option("--by", "actor", default=None)
@pass_ctx
def levels_(ctx: Context, levels: str | None, actor: str | None) -> None:
    """Show (or set) the approval chain."""
    store = ctx.store()
    chain = (
        svc.set_approval_levels(store, levels.split(","), actor=actor)
        if levels is not None
        else svc.approval_levels(store)
    )
    click.echo("submitted -> " + " -> ".join(chain))
