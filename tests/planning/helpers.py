"""Shared builders of small planning problems for tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from mineaction.core.planning.model import (
    AssetClass,
    Calendar,
    Closure,
    PlanningProblem,
    ReleaseRatios,
    Stage,
    Team,
    WorkPackage,
)

START = dt.date(2026, 3, 1)


def month_window(k: int) -> tuple[dt.date, dt.date]:
    """First and last day of month ``k`` counted from January 2024."""
    y, m = divmod(k, 12)
    y1, m1 = divmod(k + 1, 12)
    return dt.date(2024 + y, m + 1, 1), dt.date(2024 + y1, m1 + 1, 1) - dt.timedelta(days=1)


def tiny_problem(
    seed: int, n_packages: int = 3, n_teams: int = 2, chains: bool = True, ts_share: float = 0.4
) -> PlanningProblem:
    """Random tiny problem with regional calendars, closures, travel, chains and eligibility."""
    rng = np.random.default_rng(seed)
    regions = ["A", "B"]
    calendars = {}
    for g in regions:
        monthly = tuple(float(x) for x in rng.choice([0.0, 0.5, 1.0], size=12, p=[0.2, 0.3, 0.5]))
        if max(monthly) == 0:
            monthly = (1.0,) * 12
        closures = ()
        if rng.uniform() < 0.6:
            a = START + dt.timedelta(days=int(rng.integers(0, 40)))
            closures = (Closure(a, a + dt.timedelta(days=int(rng.integers(1, 20))), 0.0),)
        rest = (int(rng.integers(0, 7)),) if rng.uniform() < 0.5 else ()
        calendars[g] = Calendar(monthly_fraction=monthly, weekly_rest=rest, closures=closures)
    packages = []
    for j in range(n_packages):
        stage = Stage.CLEARANCE
        if chains and rng.uniform() < ts_share:
            stage = Stage.TS
        packages.append(
            WorkPackage(
                id=f"p{j}",
                hazard_id=f"h{j}",
                region=regions[int(rng.integers(0, 2))],
                area_m2=float(rng.integers(200, 6000)),
                terrain=str(rng.choice(["open", "steep"])),
                weight=float(rng.integers(1, 20)),
                first_stage=stage,
                release=ReleaseRatios(0.0, 0.5, 0.5),
                near_water=bool(rng.uniform() < 0.2),
            )
        )
    assets = [AssetClass.MANUAL, AssetClass.MECHANICAL, AssetClass.DOGS]
    teams = [Team(f"t{i}", assets[i % 3], regions[int(rng.integers(0, 2))]) for i in range(n_teams)]
    if chains and any(p.first_stage is Stage.TS for p in packages):
        teams.append(Team("ts", AssetClass.TS, "A"))
    return PlanningProblem(
        packages=tuple(packages),
        teams=tuple(teams),
        start=START,
        calendars=calendars,
        travel_days={("A", "B"): float(rng.choice([0.0, 0.5, 2.0]))},
    )


def solved_tiny_case(
    seed: int, n_packages: int, n_teams: int, ts_share: float, horizon_scale: float
) -> tuple[Any, Any, float, Any]:
    """A tiny compiled instance (at most 6 operations), its brute-force optimum, a horizon and
    the LP's first prices: the common start of the bound-versus-optimum property tests."""
    from mineaction.core.planning.bounds import lp_bound
    from mineaction.core.planning.exact import brute_force
    from mineaction.core.planning.instance import compile_problem

    inst = compile_problem(tiny_problem(seed, n_packages, n_teams, ts_share=ts_share))
    if inst.n_ops > 6:
        inst = compile_problem(tiny_problem(seed, 2, n_teams, ts_share=ts_share))
    best = brute_force(inst)
    horizon = float(max(1.0, horizon_scale * best.end.max()))
    prices: list = []
    lp_bound(inst, horizon, prices_out=prices)
    return inst, best, horizon, prices[0]
