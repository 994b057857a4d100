"""Plan outputs as pure data: team task lists, cumulative curves, annual targets by region."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from mineaction.core.planning.instance import FloatArray
from mineaction.core.planning.model import Stage
from mineaction.core.planning.schedule import Plan


@dataclass(frozen=True)
class TaskRow:
    """One line of a team's task list."""

    order: int
    package_id: str
    hazard_id: str
    stage: Stage
    region: str
    area_m2: float
    start: dt.date
    end: dt.date
    start_day: float
    end_day: float
    frozen: bool


def day_to_date(start: dt.date, day: float) -> dt.date:
    """Calendar date of a (fractional) plan day.

    >>> day_to_date(dt.date(2026, 1, 1), 31.5)
    datetime.date(2026, 2, 1)
    """
    return start + dt.timedelta(days=math.floor(day))


def team_task_lists(plan: Plan) -> dict[str, list[TaskRow]]:
    """Per team, its ordered work with start and end dates (end = last working day)."""
    start = plan.instance.problem.start
    out: dict[str, list[TaskRow]] = {t.id: [] for t in plan.instance.problem.teams}
    for a in plan.assignments():
        rows = out[a.team_id]
        last_day = max(a.start_day, math.ceil(a.end_day) - 1)
        rows.append(
            TaskRow(
                len(rows) + 1,
                a.package_id,
                a.hazard_id,
                a.stage,
                a.region,
                round(a.area_m2, 1),
                day_to_date(start, a.start_day),
                day_to_date(start, last_day),
                a.start_day,
                a.end_day,
                a.frozen,
            )
        )
    return out


@dataclass(frozen=True)
class Curves:
    """Cumulative benefit (weight of completed packages) and expected released m2 over time."""

    days: FloatArray
    dates: tuple[dt.date, ...]
    benefit: FloatArray
    released_m2: FloatArray


def cumulative_curves(plan: Plan, step_days: float = 30.0) -> Curves:
    """Cumulative benefit and released area sampled every ``step_days`` until the last end."""
    inst = plan.instance
    last = float(plan.end.max(initial=0.0))
    days = np.arange(0.0, last + step_days, step_days)
    comp = plan.completion()
    w = np.asarray([p.weight for p in inst.problem.packages])
    o1 = np.argsort(comp)
    benefit = np.concatenate([[0.0], np.cumsum(w[o1])])[np.searchsorted(comp[o1], days, "right")]
    o2 = np.argsort(plan.end)
    rel = np.concatenate([[0.0], np.cumsum(inst.op_released[o2])])
    released = rel[np.searchsorted(plan.end[o2], days, "right")]
    dates = tuple(day_to_date(inst.problem.start, d) for d in days)
    return Curves(days, dates, benefit, released)


@dataclass(frozen=True)
class AnnualTarget:
    """Expected m2 released in a calendar year and region, by land-release method."""

    year: int
    region: str
    cancelled_m2: float
    reduced_m2: float
    cleared_m2: float
    packages_completed: int

    @property
    def released_m2(self) -> float:
        """Total m2 released (cancelled + reduced + cleared)."""
        return self.cancelled_m2 + self.reduced_m2 + self.cleared_m2


def annual_targets(plan: Plan) -> list[AnnualTarget]:
    """Annual targets by region (the shape of an Article 5 work plan), year then region."""
    inst = plan.instance
    start = inst.problem.start
    acc: dict[tuple[int, str], list[float]] = {}
    kind = {Stage.NTS: 0, Stage.TS: 1, Stage.CLEARANCE: 2}
    last = set(inst.pkg_last_op.tolist())
    for o in range(inst.n_ops):
        year = day_to_date(start, max(0.0, float(plan.end[o]) - 1e-9)).year
        key = (year, inst.regions[int(inst.op_region[o])])
        row = acc.setdefault(key, [0.0, 0.0, 0.0, 0.0])
        row[kind[inst.op_stage[o]]] += float(inst.op_released[o])
        row[3] += o in last
    return [
        AnnualTarget(y, g, round(v[0], 1), round(v[1], 1), round(v[2], 1), int(v[3]))
        for (y, g), v in sorted(acc.items())
    ]
