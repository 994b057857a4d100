"""``mineaction prioritise``: score hazards, explain a score, export the ranking."""

from __future__ import annotations

import sys
from datetime import date

import click
from tqdm import tqdm

from mineaction.cli._common import Context, echo_json, echo_table, fmt_m2, pass_ctx
from mineaction.errors import ValidationError
from mineaction.services import prioritise as svc


@click.command()
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), help="YAML configuration."
)
@click.option(
    "--preset",
    type=click.Choice(list(svc.PRESETS)),
    help="Shipped configuration: lis (LIS-style impact score, the default) or development "
    "(GICHD development criteria, 0-100).",
)
@click.option("--scope", help="Only hazards of this organisation code or location P-code prefix.")
@click.option(
    "--as-of",
    "as_of",
    help="Data cut-off YYYY-MM-DD (default: today): hazards and accidents as the approved "
    "ledger stood at the end of that day (replayed), recent casualties counted back from it.",
)
@click.option("--explain", "explain_id", metavar="HAZARD_ID", help="Explain this hazard's score.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Export the scores to FILE.csv or FILE.json.",
)
@click.option(
    "--run",
    "run_id",
    metavar="RUN_ID|latest",
    help="Do not score again: show, explain or export a stored run.",
)
@click.option("--top", type=int, default=20, show_default=True, help="Rows to show.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option("--no-save", is_flag=True, help="Do not store the run.")
@pass_ctx
def prioritise(
    ctx: Context,
    config_file: str | None,
    preset: str | None,
    scope: str | None,
    as_of: str | None,
    explain_id: str | None,
    out: str | None,
    run_id: str | None,
    top: int,
    fmt: str,
    no_save: bool,
) -> None:
    """Score open hazards by impact (multi-criteria), rank them, and show value for money.

    Criteria are measured against the reference layers (`mineaction reference import`) and
    the accidents in the database. Every score is stored with its per-criterion contributions,
    the configuration version (sha256) and the data cut-off, so it can be explained
    (--explain) and reproduced.

    \b
    Examples:
      mineaction prioritise --preset development --out scores.csv
      mineaction prioritise --scope UA59 --explain HZ-0042
      mineaction prioritise --run latest --explain HZ-0042
    """
    if out and not out.lower().endswith((".csv", ".json")):
        raise ValidationError("export file must end in .csv or .json", where="--out")
    store = ctx.store()
    if run_id is not None:
        if config_file or preset or scope or as_of:
            raise ValidationError(
                "--run shows a stored run: drop --config/--preset/--scope/--as-of"
            )
        run = svc.get_run(store, None if run_id == "latest" else run_id)
        records = svc.latest_scores(store, run_id=run["run_id"])
    else:
        config = svc.load_config(config_file, preset=preset)
        cutoff = _parse_date(as_of) if as_of else None
        bar = tqdm(desc="prioritising", unit=" hazards", file=sys.stderr, disable=None, leave=False)

        def _total(n: int) -> None:
            bar.reset(total=n)

        try:
            result = svc.prioritise(
                store,
                config,
                scope=scope,
                as_of=cutoff,
                save=not no_save,
                progress=bar.update,
                on_total=_total,
            )
        finally:
            bar.close()
        run = result.meta()
        records = result.records()
        click.echo(
            f"scored {len(records)} hazards with {config.name} {config.version} "
            f"(sha256 {config.hash[:12]}), data cut-off {result.data_cutoff}, "
            f"in {result.duration_s:.1f} s" + ("" if no_save else f"; stored as {result.run_id}"),
            err=True,
        )
    if out:
        svc.export(out, run, records)
        click.echo(f"wrote {len(records)} scores to {out}", err=True)
    if explain_id:
        if run_id is None and no_save:
            raise ValidationError("--explain needs a stored run: drop --no-save")
        ex = svc.explain_score(store, explain_id, run_id=run["run_id"])
        if fmt == "json":
            echo_json(ex.as_dict())
        else:
            for line in ex.lines():
                click.echo(line)
        return
    if fmt == "json":
        echo_json({"run": run, "scores": records[:top]})
        return
    classes: dict[str, int] = {}
    for r in records:
        classes[r["priority_class"]] = classes.get(r["priority_class"], 0) + 1
    echo_table(
        [
            (
                r["rank"],
                r["hazard_id"],
                round(r["score"], 2),
                r["priority_class"],
                _top_terms(r["contributions"]),
                fmt_m2(r["remaining_m2"]),
                round(r["expected_team_days"], 1),
                r["vfm_rank"],
            )
            for r in records[:top]
        ],
        [
            "rank",
            "hazard",
            "score",
            "class",
            "main criteria",
            "remaining m²",
            "team-days",
            "vfm rank",
        ],
    )
    click.echo(
        "classes: "
        + ", ".join(f"{k} {v}" for k, v in sorted(classes.items(), key=lambda kv: -kv[1])),
        err=True,
    )


def _top_terms(contributions: dict[str, float]) -> str:
    top = sorted(((v, k) for k, v in contributions.items() if v > 0), reverse=True)[:3]
    return ", ".join(f"{k} {v:.1f}" for v, k in top)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"--as-of {text!r} is not a date YYYY-MM-DD") from exc
