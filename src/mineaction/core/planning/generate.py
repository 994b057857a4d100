"""Seeded generator of demining-shaped planning instances (planning.md section 6.1, suite 2)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from mineaction.core.planning.model import (
    DEFAULT_RATES_M2_PER_DAY,
    DEFAULT_TERRAINS,
    AssetClass,
    Calendar,
    Closure,
    PlanningProblem,
    ReleaseRatios,
    Stage,
    Team,
    WorkPackage,
)

#: Share of teams by asset class in generated instances.
TEAM_MIX: dict[AssetClass, float] = {
    AssetClass.MANUAL: 0.70,
    AssetClass.DOGS: 0.09,
    AssetClass.MECHANICAL: 0.05,
    AssetClass.TS: 0.09,
    AssetClass.NTS: 0.07,
}


def generate_problem(
    n_packages: int,
    seed: int = 0,
    *,
    packages_per_team: float = 16.0,
    n_regions: int | None = None,
    start: dt.date = dt.date(2026, 1, 1),
    chain_share: float = 0.3,
    closures_per_region_year: float = 1.5,
    max_team_days: float = 60.0,
) -> PlanningProblem:
    """Random but reproducible instance: heavy-tailed areas, 5 asset classes, 3 terrains.

    Hazard areas ~ lognormal(ln 15000, 1.1) m2, each cut into equal work packages of at most
    ``max_team_days`` manual team-days (weight shared by area); hazard weights ~
    lognormal(ln 50, 1) x (area/15000)^0.3 (weak link to area);
    regions have a wet season, a weekly rest day, annual holidays and random security
    closures; ``chain_share`` of packages start at NTS or TS (planning.md Appendix A, E2).

    >>> pb = generate_problem(50, seed=1)
    >>> len(pb.packages), len({t.asset for t in pb.teams})
    (50, 5)
    """
    rng = np.random.default_rng(seed)
    if n_regions is None:
        n_regions = int(np.clip(round(5 * (n_packages / 1000) ** 0.3), 3, 25))
    regions = [f"R{g:02d}" for g in range(n_regions)]
    xy = rng.uniform(0, 600, size=(n_regions, 2))  # km
    travel: dict[tuple[str, str], float] = {}
    for a in range(n_regions):
        for b in range(a + 1, n_regions):
            km = float(np.hypot(*(xy[a] - xy[b])))
            travel[(regions[a], regions[b])] = float(np.ceil(km / 200 * 2) / 2)
    years = 12
    rest_day = int(rng.choice([4, 6]))  # programme-wide working week
    calendars: dict[str, Calendar] = {}
    for name in regions:
        wet_start = int(rng.integers(0, 12))
        wet_len = int(rng.integers(2, 5))
        wet_frac = float(rng.choice([0.0, 0.3, 0.5]))
        monthly = [float(rng.uniform(0.85, 1.0)) for _ in range(12)]
        for k in range(wet_len):
            monthly[(wet_start + k) % 12] = wet_frac
        closures = []
        n_cl = int(rng.poisson(closures_per_region_year * years))
        for _ in range(n_cl):
            day = int(rng.integers(0, 365 * years))
            length = int(rng.integers(5, 60))
            c0 = start + dt.timedelta(days=day)
            closures.append(Closure(c0, c0 + dt.timedelta(days=length - 1), 0.0, "security"))
        calendars[name] = Calendar(
            monthly_fraction=tuple(monthly),
            weekly_rest=(rest_day,),
            annual_holidays=((1, 1), (int(rng.integers(3, 11)), int(rng.integers(1, 28)))),
            closures=tuple(closures),
        )
    terrain_p = np.array([0.5, 0.3, 0.2])
    manual = DEFAULT_RATES_M2_PER_DAY[AssetClass.MANUAL]
    packages: list[WorkPackage] = []
    h = 0
    while len(packages) < n_packages:
        # one hazardous area, cut into packages of at most `max_team_days` manual team-days
        area = float(np.clip(rng.lognormal(np.log(15000), 1.1), 200, 2_000_000))
        terrain = DEFAULT_TERRAINS[int(rng.choice(3, p=terrain_p))]
        region = regions[int(rng.integers(0, n_regions))]
        weight = float(rng.lognormal(np.log(50), 1.0) * (area / 15000) ** 0.3)
        u = float(rng.uniform())
        stage = (
            Stage.NTS if u < chain_share / 2 else Stage.TS if u < chain_share else Stage.CLEARANCE
        )
        c, r, _ = (round(float(x), 4) for x in rng.dirichlet([8.0, 6.0, 11.0]))
        release = ReleaseRatios(c, r, round(1.0 - c - r, 4))
        protected = bool(rng.uniform() < 0.05)
        water = bool(rng.uniform() < 0.08)
        exempt = bool((protected or water) and rng.uniform() < 0.2)
        cut = max(1, int(np.ceil(area / (manual[terrain] * max_team_days))))
        cut = min(cut, n_packages - len(packages))
        for q in range(cut):
            packages.append(
                WorkPackage(
                    id=f"WP{len(packages):06d}",
                    hazard_id=f"HA{h:06d}",
                    region=region,
                    area_m2=round(area / cut, 1),
                    terrain=terrain,
                    weight=round(weight / cut, 4),
                    first_stage=stage,
                    release=release,
                    protected_area=protected,
                    near_water=water,
                    mechanical_allowed=exempt,
                )
            )
            del q
        h += 1
    n_teams = max(len(TEAM_MIX), round(n_packages / packages_per_team))
    teams = []
    for asset, share in TEAM_MIX.items():
        for k in range(max(1, round(n_teams * share))):
            teams.append(
                Team(
                    id=f"{asset.value.upper()}-{k:04d}",
                    asset=asset,
                    home_region=regions[int(rng.integers(0, n_regions))],
                    rates=dict(DEFAULT_RATES_M2_PER_DAY[asset]),
                )
            )
    return PlanningProblem(
        packages=tuple(packages),
        teams=tuple(teams),
        start=start,
        calendars=calendars,
        travel_days=travel,
        default_travel_days=0.0,
    )
