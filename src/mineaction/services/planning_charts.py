"""Planning charts (matplotlib, Agg backend): Gantt chart, cumulative curves, forecast bands."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mineaction.core.planning.forecast import Forecast  # noqa: E402
from mineaction.core.planning.model import Stage  # noqa: E402
from mineaction.core.planning.outputs import cumulative_curves, team_task_lists  # noqa: E402
from mineaction.core.planning.schedule import Plan  # noqa: E402

STAGE_COLOURS = {Stage.NTS: "#9ecae1", Stage.TS: "#fdae6b", Stage.CLEARANCE: "#d62728"}


def _num(start: dt.date, day: float) -> float:
    """Matplotlib date number of a plan day."""
    return float(mdates.date2num(start)) + day


def gantt_chart(plan: Plan, path: str | Path, max_teams: int = 60, title: str = "") -> Path:
    """Write a Gantt chart (PNG or SVG by extension): one row per team, bars by stage."""
    path = Path(path)
    start = plan.instance.problem.start
    lists = team_task_lists(plan)
    teams = [t for t, rows in lists.items() if rows][:max_teams]
    fig, ax = plt.subplots(figsize=(12, max(3.0, 0.25 * len(teams) + 1.5)))
    for y, team in enumerate(teams):
        rows = lists[team]
        for stage, colour in STAGE_COLOURS.items():
            spans = [
                (_num(start, r.start_day), r.end_day - r.start_day)
                for r in rows
                if r.stage is stage
            ]
            if spans:
                ax.broken_barh(spans, (y - 0.4, 0.8), facecolors=colour, edgecolor="none")
        frozen = [(_num(start, r.start_day), r.end_day - r.start_day) for r in rows if r.frozen]
        if frozen:
            ax.broken_barh(frozen, (y - 0.4, 0.8), facecolors="none", edgecolor="black", hatch="//")
    ax.set_yticks(range(len(teams)), teams, fontsize=6)
    ax.invert_yaxis()
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in STAGE_COLOURS.values()]
    ax.legend(handles, [s.value for s in STAGE_COLOURS], loc="lower right", fontsize=7)
    ax.set_title(title or f"Plan ({plan.method}): {len(teams)} teams shown")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def curves_chart(plan: Plan, path: str | Path, step_days: float = 30.0) -> Path:
    """Write cumulative benefit and released-area curves (two panels)."""
    path = Path(path)
    c = cumulative_curves(plan, step_days)
    x = [mdates.date2num(d) for d in c.dates]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    a1.plot(x, c.benefit, color="#2ca02c")
    a1.set_title("Cumulative priority-weighted benefit")
    a2.plot(x, np.asarray(c.released_m2) / 1e6, color="#1f77b4")
    a2.set_title("Expected land released (km²)")
    for ax in (a1, a2):
        ax.xaxis_date()
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def forecast_chart(result: Forecast, path: str | Path, deadline: dt.date | None = None) -> Path:
    """Write P10-P90 completion bands per region and for the programme."""
    path = Path(path)
    rows = result.table()
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(rows) + 1.5))
    known = [row[k] for row in rows for k in ("p10", "p50", "p90") if row[k] is not None]
    right = mdates.date2num(max(known)) if known else 0.0  # type: ignore[type-var]
    for y, row in enumerate(rows):
        if row["p10"] is None:  # never completes at the observed pace: no date
            ax.annotate("no date", (right, y), fontsize=7, va="center", color="#b00")
            continue
        p10 = mdates.date2num(row["p10"])
        p90 = mdates.date2num(row["p90"]) if row["p90"] is not None else right
        ax.plot([p10, p90], [y, y], color="#1f77b4", lw=4, alpha=0.5)
        if row["p50"] is not None:
            ax.plot([mdates.date2num(row["p50"])], [y], "o", color="#1f77b4")
    if deadline is not None:
        ax.axvline(mdates.date2num(deadline), color="red", ls="--", label="deadline")
        ax.legend(fontsize=7)
    ax.set_yticks(range(len(rows)), [str(r["region"]) for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.xaxis_date()
    ax.set_title("Completion forecast: P10-P90 (bar), P50 (dot)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
