"""Probabilistic completion forecasts: Monte Carlo with the fast planner re-run per sample.

Each sample draws (planning.md sections 4.1, 5.2):

* productivity: a programme-wide factor per (asset class, terrain) and a factor per team,
  both lognormal with mean 1 (no published distribution exists: sigmas are priors to be
  replaced by fits to the programme's own completion reports);
* survey outcomes: each package's cancelled / reduced / cleared shares ~ Dirichlet around
  its expected ratios (so TS and clearance areas are random);
* capacity: each team is unavailable for the whole horizon with a probability (funding);
* security closures: extra closures per region (Poisson count, exponential length).

Then the plan is rebuilt (calendar-aware dispatching, optionally a bounded local search) and package
completion days are recorded. Samples use common random numbers, so adding a team changes
only that team's draws: this is how the marginal effect of one more team is measured.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mineaction.core.planning.instance import FloatArray, compile_problem
from mineaction.core.planning.model import (
    DEFAULT_TERRAINS,
    AssetClass,
    Calendar,
    Closure,
    PlanningProblem,
    ReleaseRatios,
    Stage,
    Team,
)
from mineaction.core.planning.schedule import dispatch_schedule
from mineaction.core.planning.search import local_search


@dataclass(frozen=True)
class ForecastSettings:
    """Uncertainty priors and sampling options of a forecast."""

    samples: int = 200
    seed: int = 0
    productivity_sigma: float = 0.3  # programme-wide factor per (asset class, terrain)
    team_sigma: float = 0.2  # factor per team
    release_concentration: float = 20.0  # Dirichlet concentration (higher = less spread)
    team_loss_probability: float = 0.05
    closures_per_region_year: float = 0.5
    mean_closure_days: float = 30.0
    local_search_moves: int = 0  # 0: dispatching only (fastest)


@dataclass(frozen=True)
class Forecast:
    """Completion days per sample, by package, region and for the whole programme."""

    start: dt.date
    regions: tuple[str, ...]
    package_days: FloatArray  # (samples, packages)
    region_days: Mapping[str, FloatArray]
    programme_days: FloatArray
    objective: FloatArray
    settings: ForecastSettings = field(default_factory=ForecastSettings)

    def percentiles(self, region: str | None = None) -> tuple[dt.date, dt.date, dt.date]:
        """P10, P50 and P90 completion dates of a region (``None``: the programme)."""
        days = self.programme_days if region is None else self.region_days[region]
        p10, p50, p90 = np.percentile(days, [10, 50, 90])
        return tuple(self.start + dt.timedelta(days=float(x)) for x in (p10, p50, p90))  # type: ignore[return-value]

    def probability_by(self, deadline: dt.date, region: str | None = None) -> float:
        """Probability that a region (``None``: the programme) is complete by ``deadline``."""
        days = self.programme_days if region is None else self.region_days[region]
        limit = (deadline - self.start).days
        return float(np.mean(days <= limit))

    def table(self) -> list[dict[str, object]]:
        """Rows of region, P10, P50, P90 (dates), programme last."""
        rows: list[dict[str, object]] = []
        for name in [*self.regions, None]:
            p10, p50, p90 = self.percentiles(name)
            rows.append({"region": name or "programme", "p10": p10, "p50": p50, "p90": p90})
        return rows


def _sample_problem(
    problem: PlanningProblem, settings: ForecastSettings, sample: int, horizon_days: int
) -> PlanningProblem:
    """One random variant of the problem (draws in a fixed order: common random numbers)."""
    rng = np.random.default_rng([settings.seed, sample])
    s = settings.productivity_sigma
    terrains = sorted({p.terrain for p in problem.packages} | set(DEFAULT_TERRAINS))
    class_factor = {
        (a, t): float(rng.lognormal(-s * s / 2, s)) for a in AssetClass for t in terrains
    }
    packages = []
    conc = settings.release_concentration
    for p in problem.packages:
        alpha = np.maximum(
            np.array([p.release.cancelled, p.release.reduced, p.release.cleared]) * conc, 1e-3
        )
        c, r, _ = rng.dirichlet(alpha)
        if p.first_stage is Stage.CLEARANCE:
            packages.append(p)
        else:
            ratios = ReleaseRatios(float(c), float(r), float(max(0.0, 1.0 - c - r)))
            packages.append(dataclasses.replace(p, release=ratios))
    calendars: dict[str, Calendar] = {}
    years = horizon_days / 365.0
    for region in problem.regions():
        cal = problem.calendars.get(region, Calendar())
        k = int(rng.poisson(settings.closures_per_region_year * years))
        extra = []
        for _ in range(k):
            a = problem.start + dt.timedelta(days=int(rng.integers(0, max(1, horizon_days))))
            length = max(1, int(rng.exponential(settings.mean_closure_days)))
            extra.append(Closure(a, a + dt.timedelta(days=length - 1), 0.0, "security (sampled)"))
        calendars[region] = dataclasses.replace(cal, closures=cal.closures + tuple(extra))
    teams = []
    ts = settings.team_sigma
    for t in problem.teams:
        lost = rng.uniform() < settings.team_loss_probability
        f = float(rng.lognormal(-ts * ts / 2, ts))
        if lost and not any(fw.team_id == t.id for fw in problem.frozen):
            continue
        rates = {tr: t.rate(tr) * f * class_factor[(t.asset, tr)] for tr in terrains}
        teams.append(dataclasses.replace(t, rates=rates))
    kept = {t.asset for t in teams}
    for t in problem.teams:  # never lose a whole asset class
        if t.asset not in kept:
            teams.append(t)
            kept.add(t.asset)
    return dataclasses.replace(
        problem, packages=tuple(packages), teams=tuple(teams), calendars=calendars
    )


def forecast(problem: PlanningProblem, settings: ForecastSettings | None = None) -> Forecast:
    """Monte Carlo completion forecast (re-plans each sample; reproducible with the seed).

    >>> from mineaction.core.planning.generate import generate_problem
    >>> f = forecast(generate_problem(30, seed=2), ForecastSettings(samples=8, seed=1))
    >>> p10, p50, p90 = f.percentiles()
    >>> p10 <= p50 <= p90
    True
    """
    settings = settings or ForecastSettings()
    base = dispatch_schedule(compile_problem(problem))
    horizon = int(base.end.max() * 2) + 365
    regions = problem.regions()
    pkg_region = np.asarray([regions.index(p.region) for p in problem.packages])
    pkg_days = np.zeros((settings.samples, len(problem.packages)))
    objective = np.zeros(settings.samples)
    for k in range(settings.samples):
        variant = _sample_problem(problem, settings, k, horizon)
        inst = compile_problem(variant)
        plan = dispatch_schedule(inst)
        if settings.local_search_moves > 0:
            plan = local_search(plan, time_limit=1e9, max_moves=settings.local_search_moves, seed=k)
        pkg_days[k] = plan.completion()
        objective[k] = plan.objective()
    region_days = {}
    for g, name in enumerate(regions):
        cols = pkg_region == g
        if cols.any():
            region_days[name] = pkg_days[:, cols].max(axis=1)
    return Forecast(
        start=problem.start,
        regions=tuple(region_days),
        package_days=pkg_days,
        region_days=region_days,
        programme_days=pkg_days.max(axis=1),
        objective=objective,
        settings=settings,
    )


@dataclass(frozen=True)
class MarginalEffect:
    """Effect of one more team of an asset class (same samples, common random numbers)."""

    asset: AssetClass
    p50_days_saved: float  # programme P50 completion, days earlier
    p90_days_saved: float
    objective_saved_share: float  # relative drop of mean sum weight x completion


def marginal_team_effects(
    problem: PlanningProblem,
    settings: ForecastSettings | None = None,
    assets: Sequence[AssetClass] | None = None,
    baseline: Forecast | None = None,
) -> list[MarginalEffect]:
    """For each asset class: forecast again with one more team of that class."""
    settings = settings or ForecastSettings()
    base = baseline or forecast(problem, settings)
    out = []
    present = [a for a in AssetClass if any(t.asset is a for t in problem.teams)]
    for asset in assets or present:
        like = [t for t in problem.teams if t.asset is asset]
        homes = [t.home_region for t in like] or [problem.regions()[0]]
        home = max(set(homes), key=homes.count)
        extra = Team(f"extra-{asset.value}", asset, home, dict(like[0].rates) if like else {})
        more = forecast(dataclasses.replace(problem, teams=problem.teams + (extra,)), settings)
        out.append(
            MarginalEffect(
                asset,
                float(np.median(base.programme_days) - np.median(more.programme_days)),
                float(
                    np.percentile(base.programme_days, 90) - np.percentile(more.programme_days, 90)
                ),
                float(1.0 - more.objective.mean() / base.objective.mean()),
            )
        )
    return out
