import dataclasses
import itertools

import numpy as np
import pytest
from tests.planning.helpers import tiny_problem

from mineaction.core.planning.check import InfeasiblePlan, assert_feasible, check_plan
from mineaction.core.planning.exact import brute_force
from mineaction.core.planning.generate import generate_problem
from mineaction.core.planning.instance import compile_problem
from mineaction.core.planning.model import (
    AssetClass,
    FrozenWork,
    PlanningProblem,
    Stage,
    Team,
    WorkPackage,
)
from mineaction.core.planning.planner import plan, plan_with_equity_floors
from mineaction.core.planning.schedule import list_schedule
from mineaction.core.planning.search import local_search


def _single_team(seed: int, n: int) -> PlanningProblem:
    rng = np.random.default_rng(seed)
    pk = tuple(
        WorkPackage(
            f"p{j}", "h", "r", float(rng.integers(100, 5000)), "open", float(rng.integers(1, 30))
        )
        for j in range(n)
    )
    return PlanningProblem(pk, (Team("t", AssetClass.MANUAL, "r"),))


@pytest.mark.parametrize("seed", range(5))
def test_single_team_is_solved_exactly_by_wspt(seed):
    pb = _single_team(seed, 9)
    inst = compile_problem(pb)
    p = np.array([pk.area_m2 / 400.0 for pk in pb.packages])
    w = np.array([pk.weight for pk in pb.packages])
    order = np.argsort(-w / p, kind="stable")
    smith = float((w[order] * np.cumsum(p[order])).sum())
    result = plan(inst, time_limit=2, max_moves=500)
    assert result.objective() == pytest.approx(smith, rel=1e-12)
    # Smith's rule is optimal: no permutation is better
    best = min(
        float((w[list(q)] * np.cumsum(p[list(q)])).sum()) for q in itertools.permutations(range(7))
    )
    sub = compile_problem(dataclasses.replace(pb, packages=pb.packages[:7]))
    assert plan(sub, exact_up_to=0, max_moves=500).objective() == pytest.approx(best, rel=1e-12)
    assert_feasible(result)


def _tiny(seed: int):
    return compile_problem(tiny_problem(seed, n_packages=3 + seed % 2, n_teams=2 + seed % 2))


TINY_SEEDS = [s for s in range(60) if _tiny(s).n_ops <= 6][:30]


@pytest.mark.parametrize("seed", TINY_SEEDS)
def test_tiny_instances_match_brute_force_optimum(seed):
    inst = _tiny(seed)
    opt = brute_force(inst)
    got = plan(inst)
    assert_feasible(opt)
    assert_feasible(got)
    assert got.objective() == pytest.approx(opt.objective(), rel=1e-9)


def test_local_search_alone_reaches_brute_force_optimum_on_most_tiny_instances():
    hits = total = 0
    for seed in TINY_SEEDS:
        inst = _tiny(seed)
        total += 1
        opt = brute_force(inst).objective()
        got = plan(inst, exact_up_to=0, max_moves=3000)
        assert_feasible(got)
        assert got.objective() >= opt - 1e-9
        hits += got.objective() <= opt * (1 + 1e-9)
    assert total >= 25 and hits >= 0.9 * total


@pytest.mark.parametrize("rule", ["wspt", "greedy", "static"])
def test_list_schedules_are_feasible_and_search_improves(rule):
    inst = compile_problem(generate_problem(300, seed=4))
    base = list_schedule(inst, rule)
    assert check_plan(base) == []
    better = local_search(base, time_limit=5, max_moves=3000, seed=1)
    assert check_plan(better) == []
    assert better.objective() <= base.objective()


def test_planner_beats_static_ranking():
    inst = compile_problem(generate_problem(400, seed=2))
    static = list_schedule(inst, "static").objective()
    ours = plan(inst, time_limit=5, max_moves=20000)
    assert_feasible(ours)
    assert ours.objective() < 0.9 * static


def test_checker_reports_violations():
    inst = compile_problem(generate_problem(60, seed=5))
    good = list_schedule(inst)
    assert check_plan(good) == []
    # overlap / calendar: pull one start earlier
    bad = dataclasses.replace(good, start=good.start.copy(), end=good.end.copy())
    seq = next(s for s in good.sequences if len(s) > 1)
    bad.start[seq[1]] = good.end[seq[0]] - 1.0
    msgs = check_plan(bad)
    assert any("before team is free" in m for m in msgs)
    assert any("workable days" in m for m in msgs)
    with pytest.raises(InfeasiblePlan):
        assert_feasible(bad)
    # eligibility: put a steep-terrain package on a dog team
    steep = next(
        o
        for o in range(inst.n_ops)
        if inst.problem.packages[int(inst.op_pkg[o])].terrain == "steep"
        and inst.op_stage[o] is Stage.CLEARANCE
    )
    dog = next(i for i, t in enumerate(inst.problem.teams) if t.asset is AssetClass.DOGS)
    seqs = [[q for q in s if q != steep] for s in good.sequences]
    seqs[dog].append(steep)
    moved = dataclasses.replace(good, sequences=seqs)
    assert any("rate 0" in m for m in check_plan(moved))
    # precedence
    chain = next(o for o in range(inst.n_ops) if inst.op_pred[o] >= 0)
    early = dataclasses.replace(good, start=good.start.copy())
    early.start[chain] = 0.0
    assert any("previous stage" in m for m in check_plan(early))
    # an operation planned twice
    dup = dataclasses.replace(good, sequences=[list(s) for s in good.sequences])
    dup.sequences[0].append(good.sequences[1][0])
    assert any("planned 2 times" in m for m in check_plan(dup))


def test_replanning_keeps_work_in_progress_in_place():
    pb = generate_problem(120, seed=6)
    first = plan(pb, time_limit=2, max_moves=3000)
    # freeze the first operation of five teams where it is the package's first stage
    frozen = []
    for a in first.assignments():
        pk = next(p for p in pb.packages if p.id == a.package_id)
        free_team = all(f.team_id != a.team_id for f in frozen)
        if a.stage is pk.first_stage and a.start_day < 30 and len(frozen) < 5 and free_team:
            frozen.append(FrozenWork(a.package_id, a.stage, a.team_id, 12.5))
    assert len(frozen) == 5
    again = plan(dataclasses.replace(pb, frozen=tuple(frozen)), time_limit=2, max_moves=3000)
    assert_feasible(again)
    kept = {(a.package_id, a.stage): a for a in again.assignments()}
    for f in frozen:
        a = kept[(f.package_id, f.stage)]
        assert (a.team_id, a.start_day, a.frozen) == (f.team_id, 12.5, True)


def test_horizon_objective_and_equity_floors():
    pb = generate_problem(200, seed=8)
    inst = compile_problem(pb)
    h = 365.0
    base = plan(inst, time_limit=2, max_moves=3000)
    capped = plan(inst, time_limit=2, max_moves=3000, horizon_day=h)
    assert_feasible(capped)
    cap = lambda p: float(inst.op_weight @ np.minimum(p.end, h))  # noqa: E731
    assert cap(capped) <= cap(list_schedule(inst)) + 1e-6
    assert base.weighted_area_released_by(h) > 0
    regions = inst.regions
    floors = {regions[0]: 0.3}
    eq = plan_with_equity_floors(pb, floors, by_day=h, time_limit=1, max_moves=2000)
    assert_feasible(eq.plan)
    assert eq.floors_met[regions[0]] == (eq.share_by_region[regions[0]] >= 0.3)
    assert eq.floors_met[regions[0]] or eq.rounds == 6


def test_incremental_search_objective_matches_retimed_plan():
    """The early exit of incremental evaluation (unchanged tail) keeps the exact objective."""
    import random
    import time

    from mineaction.core.planning.schedule import dispatch_schedule, make_plan
    from mineaction.core.planning.search import _eligibility, _moves, _State, adjacent_pass

    inst = compile_problem(generate_problem(250, seed=6))
    state = _State(dispatch_schedule(inst))
    before = state.total
    moves, _ = _moves(
        state, _eligibility(inst), random.Random(3), float("inf"), 4000, 0.0, time.perf_counter
    )
    adjacent_pass(state)
    retimed = make_plan(inst, state.seqs)
    assert moves > 0 and state.total < before
    assert state.total == pytest.approx(retimed.objective(), rel=1e-9)
    assert np.allclose(np.asarray(state.en), retimed.end)
    assert check_plan(retimed) == []


@pytest.mark.parametrize("advantage", [0.0, 0.5, 1.0])
def test_dispatch_variants_are_feasible(advantage):
    from mineaction.core.planning.schedule import dispatch_schedule

    inst = compile_problem(generate_problem(200, seed=8))
    pkw = np.asarray([p.weight for p in inst.problem.packages])[inst.op_pkg]
    got = dispatch_schedule(inst, priority=pkw * 2.0, advantage=advantage)
    assert check_plan(got) == []
    assert sorted(o for s in got.sequences for o in s) == list(range(inst.n_ops))


@pytest.mark.parametrize("own_calendars", [False, True])
def test_layered_evaluation_of_upstream_moves_is_exact(own_calendars):
    """Moving an NTS or TS operation re-times its later stages on other teams exactly
    (also with teams' own availability calendars and package release days)."""
    import datetime as dt
    import random

    from mineaction.core.planning.model import Calendar, Closure
    from mineaction.core.planning.schedule import dispatch_schedule, make_plan
    from mineaction.core.planning.search import _State

    pb = generate_problem(150, seed=4, chain_share=0.6, packages_per_team=5)
    if own_calendars:
        leave = Calendar(closures=(Closure(dt.date(2026, 2, 1), dt.date(2026, 3, 15)),))
        teams = tuple(
            dataclasses.replace(t, availability=leave) if k % 2 else t
            for k, t in enumerate(pb.teams)
        )
        pk = tuple(
            dataclasses.replace(p, release_day=float(k % 7) * 9.5)
            for k, p in enumerate(pb.packages)
        )
        pb = dataclasses.replace(pb, teams=teams, packages=pk)
    inst = compile_problem(pb)
    state = _State(dispatch_schedule(inst))
    assert state.layered
    state.proxy_slack = float("inf")  # evaluate every move, not only promising ones
    rng = random.Random(5)
    upstream = [o for o in state.upstream]
    checked = 0
    for _ in range(400):
        o = upstream[rng.randrange(len(upstream))]
        a = state.team[o]
        el = [int(i) for i in inst.eligible_teams(o)]
        b = el[rng.randrange(len(el))]
        if b == a:
            continue
        ia = state.pos[o]
        new_a = state.seqs[a][:ia] + state.seqs[a][ia + 1 :]
        kb = rng.randrange(len(state.seqs[b]) + 1)
        new_b = state.seqs[b][:kb] + [o] + state.seqs[b][kb:]
        mods = {a: (new_a, ia, ia), b: (new_b, kb, kb + 1)}
        res = state.evaluate(mods)
        assert res is not None
        seqs = [list(s) for s in state.seqs]
        seqs[a], seqs[b] = new_a, new_b
        retimed = make_plan(inst, seqs)
        assert state.total + res[0] == pytest.approx(retimed.objective(), rel=1e-9)
        state.apply(mods, res)
        assert np.allclose(np.asarray(state.en), retimed.end)
        assert np.allclose(np.asarray(state.st), retimed.start)
        assert all(state.seqs[state.team[q]][state.pos[q]] == q for q in range(inst.n_ops))
        checked += 1
    assert checked > 20
    assert check_plan(make_plan(inst, state.seqs)) == []


def test_parallel_search_is_feasible_reproducible_and_not_worse():
    inst = compile_problem(generate_problem(120, seed=2))
    start = plan(inst, max_moves=0)
    one = plan(inst, max_moves=2000, workers=2, rounds=2)
    two = plan(inst, max_moves=2000, workers=2, rounds=2)
    assert check_plan(one) == []
    assert one.sequences == two.sequences
    assert one.objective() <= start.objective()
    assert any("parallel search" in n for n in one.notes)
