"""Charts of a stored plan (Gantt, cumulative curves, forecast bands) and its output files."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

from mineaction.core.cells import csv_cell

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

STAGE_COLOURS = {"nts": "#9ecae1", "ts": "#fdae6b", "clearance": "#d62728"}


def _d(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _save(fig: Any, fmt: str) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=110)
    plt.close(fig)
    return buf.getvalue()


def gantt(
    items: Sequence[Mapping[str, Any]],
    fmt: str = "png",
    max_teams: int = 80,
    title: str = "",
    texts: Mapping[str, str] | None = None,
) -> bytes:
    """Gantt chart of plan items: one row per team, bars coloured by stage, work in progress
    hatched. ``fmt``: png or svg; ``texts``: the legend's words in another language (keys: the
    English words, and ``more`` with {n} and {m} for the teams left out)."""
    say = dict(texts or {})
    teams: list[str] = []
    for r in items:
        if r["team"] not in teams:
            teams.append(str(r["team"]))
    shown = teams[:max_teams]
    row = {t: i for i, t in enumerate(shown)}
    fig, ax = plt.subplots(figsize=(12, max(3.0, 0.22 * len(shown) + 1.6)))
    spans: dict[str, list[tuple[float, float]]] = {k: [] for k in STAGE_COLOURS}
    for r in items:
        if r["team"] not in row:
            continue
        a = mdates.date2num(_d(r["start_date"]))
        b = mdates.date2num(_d(r["end_date"])) + 1
        y = row[str(r["team"])]
        ax.broken_barh(
            [(a, b - a)],
            (y - 0.4, 0.8),
            facecolors=STAGE_COLOURS.get(str(r["stage"]), "#999999"),
            edgecolor="black" if r.get("frozen") else "none",
            hatch="//" if r.get("frozen") else None,
            linewidth=0.5,
        )
        spans[str(r["stage"])].append((a, b))
    ax.set_yticks(range(len(shown)), shown, fontsize=6)
    ax.set_ylim(len(shown) - 0.5, -0.5)
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in STAGE_COLOURS.values()]
    labels = [say.get(w, w) for w in ("NTS", "TS", "clearance")]
    handles.append(plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="black", hatch="//"))
    labels.append(say.get("in progress (kept)", "in progress (kept)"))
    ax.legend(handles, labels, loc="lower right", fontsize=7)
    more = ""
    if len(teams) > max_teams:
        more = say.get("more", " (first {n} of {m} teams)").format(n=max_teams, m=len(teams))
    ax.set_title((title or "Plan") + more, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _save(fig, fmt)


def curves(
    summary: Mapping[str, Any], fmt: str = "png", texts: Mapping[str, str] | None = None
) -> bytes:
    """Cumulative priority-weighted benefit and expected land released (two panels).

    ``texts`` gives the two titles in another language (keys: the English titles).
    """
    say = dict(texts or {})
    c = summary["curves"]
    x = [mdates.date2num(_d(d)) for d in c["dates"]]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.6))
    a1.plot(x, c["benefit"], color="#2ca02c")
    a1.set_title(say.get("benefit", "Cumulative priority-weighted benefit"), fontsize=10)
    a2.plot(x, [v / 1e6 for v in c["released_m2"]], color="#1f77b4")
    a2.set_title(say.get("released", "Expected land released (km²)"), fontsize=10)
    for ax in (a1, a2):
        ax.xaxis_date()
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return _save(fig, fmt)


def forecast_bands(
    result: Mapping[str, Any], fmt: str = "png", texts: Mapping[str, str] | None = None
) -> bytes:
    """P10-P90 completion bands (bar) and P50 (dot) per region and programme.

    ``texts`` gives the chart's words in another language (keys: the English words ``title``,
    ``deadline``, ``no date``, ``programme`` and the scenario's name); English by default.
    """
    say = dict(texts or {})
    rows = result["regions"]
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.6))
    known = [_d(r[k]) for r in rows for k in ("p10", "p50", "p90") if r[k] is not None]
    right = mdates.date2num(max(known)) if known else None
    for y, r in enumerate(rows):
        if r["p10"] is None or right is None:  # never completes at the pace: no date
            ax.annotate(
                say.get("no date", "no date"),
                (right or 0.0, y),
                fontsize=7,
                va="center",
                color="#b00",
            )
            continue
        p10 = mdates.date2num(_d(r["p10"]))
        p90 = mdates.date2num(_d(r["p90"])) if r["p90"] is not None else right
        ax.plot([p10, p90], [y, y], color="#1f77b4", lw=5, alpha=0.5)
        if r["p50"] is not None:
            ax.plot([mdates.date2num(_d(r["p50"]))], [y], "o", color="#1f77b4")
    if result.get("deadline"):
        ax.axvline(
            mdates.date2num(_d(result["deadline"])),
            color="red",
            ls="--",
            label=say.get("deadline", "deadline"),
        )
        ax.legend(fontsize=7)
    names = [str(r["region"]) for r in rows]
    ax.set_yticks(range(len(rows)), [say.get(n, n) for n in names], fontsize=7)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.xaxis_date()
    scenario = result.get("scenario_label")
    title = say.get("title", "Completion forecast: P10-P90 (bar), P50 (dot)")
    if scenario:
        name = str(scenario).split(":")[0]
        title += "\n" + say.get(name, name)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, fmt)


def _csv(path: Path, rows: Sequence[Mapping[str, Any]], cols: Sequence[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(cols), extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: csv_cell(v) for k, v in r.items()})


ITEM_COLS = (
    "team",
    "seq",
    "package_id",
    "hazard_id",
    "stage",
    "region",
    "area_m2",
    "start_date",
    "end_date",
    "frozen",
    "task_id",
)


def write_outputs(plan: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Write a stored plan's files: plan.csv, per-team task lists, Gantt PNG/SVG, curves,
    annual targets by region, calibration and summary JSON. Returns the files written."""
    import json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "teams").mkdir(exist_ok=True)
    items = plan["items"]
    summary = plan["summary"]
    written = [out / "plan.csv"]
    _csv(out / "plan.csv", items, ITEM_COLS)
    by_team: dict[str, list[Mapping[str, Any]]] = {}
    for r in items:
        by_team.setdefault(str(r["team"]), []).append(r)
    for team, rows in sorted(by_team.items()):
        p = out / "teams" / f"{team}.csv"
        _csv(p, rows, ITEM_COLS)
        written.append(p)
    title = f"Plan {plan['plan_id']} ({plan['method']})"
    for ext in ("png", "svg"):
        p = out / f"gantt.{ext}"
        p.write_bytes(gantt(items, ext, title=title))
        written.append(p)
    p = out / "curves.png"
    p.write_bytes(curves(summary, "png"))
    written.append(p)
    p = out / "annual_targets.csv"
    _csv(
        p,
        summary["annual_targets"],
        (
            "year",
            "region",
            "cancelled_m2",
            "reduced_m2",
            "cleared_m2",
            "released_m2",
            "packages_completed",
        ),
    )
    written.append(p)
    p = out / "calibration.json"
    p.write_text(json.dumps(summary["calibration"], indent=2), encoding="utf-8")
    written.append(p)
    meta = {k: v for k, v in plan.items() if k not in ("items", "summary")}
    p = out / "summary.json"
    p.write_text(
        json.dumps(
            meta | {k: v for k, v in summary.items() if k != "curves"}, indent=2, default=str
        ),
        encoding="utf-8",
    )
    written.append(p)
    return written
