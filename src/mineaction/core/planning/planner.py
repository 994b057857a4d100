"""Top-level planner: list scheduling + local search, re-planning and equity floors."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from mineaction.core.planning.exact import brute_force
from mineaction.core.planning.instance import Instance, compile_problem
from mineaction.core.planning.model import PlanningProblem
from mineaction.core.planning.schedule import Plan, dispatch_schedule, list_schedule, make_plan
from mineaction.core.planning.search import local_search


def plan(
    problem: PlanningProblem | Instance,
    time_limit: float = 10.0,
    seed: int = 0,
    max_moves: int | None = None,
    horizon_day: float | None = None,
    exact_up_to: int = 6,
    clock: Callable[[], float] = time.perf_counter,
    workers: int = 1,
    rounds: int = 4,
) -> Plan:
    """Plan: calendar-aware construction, then local search for ``time_limit`` seconds.

    Minimises sum of weight x completion day (or, with ``horizon_day``, maximising
    weighted benefit delivered by that day: minimise sum of weight x min(completion, horizon)).

    Work in progress in ``problem.frozen`` keeps its team and start day. Plans with at most
    ``exact_up_to`` operations are solved exactly by enumeration.

    ``workers`` > 1 runs the search in that many processes (different seeds), each with
    ``time_limit`` of its own ``clock``, in ``rounds``: after each round every process
    continues from the best plan found so far. With ``max_moves`` the result is reproducible.

    >>> from mineaction.core.planning.generate import generate_problem
    >>> p = plan(generate_problem(40, seed=3), time_limit=1.0, max_moves=2000)
    >>> p.method in ("dispatch+ls", "wspt+ls")
    True
    """
    t0 = clock()
    inst = problem if isinstance(problem, Instance) else compile_problem(problem)
    if inst.n_ops <= exact_up_to and horizon_day is None:
        return brute_force(inst)
    start = construct(inst, horizon_day)
    if workers > 1 and inst.n_ops > 60:
        remaining = max(0.0, time_limit - (clock() - t0))
        return parallel_search(
            start, remaining, workers, rounds, seed, max_moves, horizon_day, clock
        )
    return local_search(
        start,
        time_limit=max(0.0, time_limit - (clock() - t0)),
        max_moves=max_moves,
        seed=seed,
        horizon_day=horizon_day,
        clock=clock,
    )


_SEARCH_START: tuple[Plan, Callable[[], float]] | None = None


def _search_worker(
    args: tuple[list[list[int]] | None, float, int, int | None, float | None],
) -> tuple[float, list[list[int]], list[str]]:
    """One search round in a worker process (start plan and clock are inherited at fork)."""
    sequences, limit, seed, max_moves, horizon_day = args
    assert _SEARCH_START is not None
    base, clock = _SEARCH_START
    if sequences is not None:
        base = make_plan(base.instance, sequences, base.method)
    out = local_search(
        base, time_limit=limit, max_moves=max_moves, seed=seed, horizon_day=horizon_day, clock=clock
    )
    return objective_of(out, horizon_day), out.sequences, out.notes


def parallel_search(
    start: Plan,
    time_limit: float,
    workers: int = 2,
    rounds: int = 4,
    seed: int = 0,
    max_moves: int | None = None,
    horizon_day: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Plan:
    """Local search in ``workers`` processes with different seeds; after each of ``rounds``
    rounds (``time_limit / rounds`` each) all continue from the best plan so far.

    Uses fork (the instance is inherited, not copied through a pipe); where fork is not
    available the search runs in this process for ``time_limit`` (same result type).
    """
    global _SEARCH_START
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():  # pragma: no cover - not on Linux
        return local_search(start, time_limit, max_moves, seed, clock, horizon_day)
    _SEARCH_START = (start, clock)
    best_value = objective_of(start, horizon_day)
    best: list[list[int]] | None = None
    notes: list[str] = []
    per_round = None if max_moves is None else max(1, max_moves // rounds)
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            for r in range(rounds):
                jobs = [
                    (best, time_limit / rounds, seed + 1000 * r + k, per_round, horizon_day)
                    for k in range(workers)
                ]
                results = pool.map(_search_worker, jobs)
                value, seqs, worker_notes = min(results, key=lambda x: x[0])
                if value < best_value:
                    best_value, best = value, seqs
                notes.append(
                    f"round {r + 1}: "
                    + ", ".join(f"{v:.6g}" for v, _, _ in results)
                    + f" ({worker_notes[-1]})"
                )
    finally:
        _SEARCH_START = None
    out = make_plan(start.instance, best if best is not None else start.sequences, start.method)
    out.method = start.method + "+ls"
    out.notes.extend(notes)
    out.notes.append(f"parallel search: {workers} processes x {rounds} rounds")
    return out


def construct(inst: Instance, horizon_day: float | None = None) -> Plan:
    """Best of calendar-aware dispatching (plain, and with comparative advantage) and WSPT
    list scheduling (the search start)."""
    cands = [dispatch_schedule(inst)]
    if inst.n_ops <= 20_000:
        cands.append(dispatch_schedule(inst, advantage=0.5))
        cands.append(list_schedule(inst, "wspt"))
    return min(cands, key=lambda p: objective_of(p, horizon_day))


@dataclass(frozen=True)
class EquityResult:
    """A plan with equity floors per region and whether each floor is met."""

    plan: Plan
    share_by_region: Mapping[str, float]
    floors_met: Mapping[str, bool]
    rounds: int


def released_share_by_region(result: Plan, by_day: float) -> dict[str, float]:
    """Share of the expected m2 released by ``by_day`` that falls in each region."""
    inst = result.instance
    done = result.end <= by_day
    total = float(inst.op_released[done].sum())
    out: dict[str, float] = {}
    for g, name in enumerate(inst.regions):
        part = float(inst.op_released[done & (inst.op_region == g)].sum())
        out[name] = part / total if total > 0 else 0.0
    return out


def plan_with_equity_floors(
    problem: PlanningProblem,
    floors: Mapping[str, float],
    by_day: float = 365.0,
    rounds: int = 6,
    boost: float = 1.5,
    time_limit: float = 5.0,
    seed: int = 0,
    max_moves: int | None = None,
) -> EquityResult:
    """Equity floors: each region gets at least ``floors[region]`` of the area released by
    ``by_day``. Simple, explainable method: re-plan with the weights of regions below their
    floor multiplied by ``boost`` until all floors are met or ``rounds`` is reached.
    """
    import dataclasses

    factor = dict.fromkeys(floors, 1.0)
    current = problem
    result = plan(current, time_limit=time_limit, seed=seed, max_moves=max_moves)
    for r in range(rounds + 1):
        share = released_share_by_region(result, by_day)
        met = {g: share.get(g, 0.0) + 1e-12 >= f for g, f in floors.items()}
        if all(met.values()) or r == rounds:
            return EquityResult(result, share, met, r)
        for g, ok in met.items():
            if not ok:
                factor[g] *= boost
        pk = tuple(
            dataclasses.replace(p, weight=p.weight * factor.get(p.region, 1.0))
            for p in problem.packages
        )
        current = dataclasses.replace(problem, packages=pk)
        boosted = plan(current, time_limit=time_limit, seed=seed, max_moves=max_moves)
        # report the plan against the original weights
        result = Plan(
            compile_problem(problem),
            boosted.sequences,
            boosted.start,
            boosted.end,
            boosted.method + "+equity",
        )
    raise AssertionError("unreachable")  # pragma: no cover


def objective_of(result: Plan, horizon_day: float | None = None) -> float:
    """Sum of weight x completion (capped at ``horizon_day`` when given)."""
    end = result.end if horizon_day is None else np.minimum(result.end, horizon_day)
    return float(result.instance.op_weight @ end)
