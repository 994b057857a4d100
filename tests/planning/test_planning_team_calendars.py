"""Per-team availability calendars (leave, rotations, stand-downs) on top of region calendars."""

import dataclasses
import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mineaction.core.planning.check import assert_feasible, check_plan
from mineaction.core.planning.exact import brute_force
from mineaction.core.planning.generate import generate_problem
from mineaction.core.planning.instance import compile_problem
from mineaction.core.planning.model import (
    AssetClass,
    Calendar,
    Closure,
    FrozenWork,
    PlanningInputError,
    PlanningProblem,
    Stage,
    Team,
    WorkPackage,
)
from mineaction.core.planning.packages import teams_from_list
from mineaction.core.planning.planner import plan
from mineaction.core.planning.schedule import dispatch_schedule, list_schedule, make_plan

START = dt.date(2027, 1, 4)  # a Monday


def _leave(first: int, last: int) -> Calendar:
    return Calendar(
        closures=(
            Closure(
                START + dt.timedelta(days=first), START + dt.timedelta(days=last), 0.0, "leave"
            ),
        )
    )


def _problem(teams, packages=None, calendars=None):
    pk = packages or (WorkPackage("p", "h", "r", 2000.0, "open"),)  # 5 team-days at 400 m2
    return PlanningProblem(tuple(pk), tuple(teams), START, calendars=calendars or {})


def test_leave_at_the_start_delays_the_work_by_its_length():
    pb = _problem([Team("t", AssetClass.MANUAL, "r", availability=_leave(0, 9))])
    result = plan(pb, time_limit=1)
    assert result.end[0] == pytest.approx(15.0)
    assert_feasible(result)


def test_region_and_team_calendars_multiply():
    region = Calendar(monthly_fraction=(0.5,) * 12)
    team = Calendar(weekly_rest=(5, 6))  # Saturday and Sunday off
    pb = _problem([Team("t", AssetClass.MANUAL, "r", availability=team)], calendars={"r": region})
    result = plan(pb, time_limit=1)
    # 5 team-days at half days on weekdays only: 10 weekdays = Mon 4 .. Fri 15 (two weekends)
    assert result.end[0] == pytest.approx(12.0)
    assert check_plan(result) == []


def test_rotation_days_off_are_not_worked():
    rot = Calendar(rotation=(3, 4), rotation_start=START)
    pb = _problem([Team("t", AssetClass.MANUAL, "r", availability=rot)])
    result = plan(pb, time_limit=1)
    assert result.end[0] == pytest.approx(7 + 2.0)  # 3 days, 4 off, then 2 more
    assert_feasible(result)


def test_dispatch_prefers_the_team_that_is_not_on_leave():
    teams = [
        Team("away", AssetClass.MANUAL, "r", availability=_leave(0, 59)),
        Team("here", AssetClass.MANUAL, "r"),
    ]
    inst = compile_problem(_problem(teams))
    for result in (dispatch_schedule(inst), list_schedule(inst, "wspt"), plan(inst)):
        assert result.sequences[1] == [0]
        assert result.end[0] == pytest.approx(5.0)
        assert_feasible(result)


def test_checker_finds_work_during_leave():
    on_leave = Team("t", AssetClass.MANUAL, "r", availability=_leave(0, 9))
    timed_without = plan(_problem([dataclasses.replace(on_leave, availability=None)]))
    inst = compile_problem(_problem([on_leave]))
    forged = dataclasses.replace(timed_without, instance=inst)
    bad = check_plan(forged)
    assert bad and "workable days" in bad[0]


def test_frozen_work_keeps_its_start_and_runs_through_the_teams_calendar():
    t = Team("t", AssetClass.MANUAL, "r", availability=_leave(2, 4))
    pb = dataclasses.replace(_problem([t]), frozen=(FrozenWork("p", Stage.CLEARANCE, "t", 0.0),))
    result = plan(pb, time_limit=1)
    assert result.start[0] == 0.0 and result.end[0] == pytest.approx(8.0)
    assert_feasible(result)


def test_teams_with_different_availability_are_different_types():
    a = Team("a", AssetClass.MANUAL, "r", availability=_leave(0, 3))
    b = Team("b", AssetClass.MANUAL, "r", availability=_leave(0, 3))
    c = Team("c", AssetClass.MANUAL, "r")
    inst = compile_problem(_problem([a, b, c]))
    assert inst.team_type[0] == inst.team_type[1] != inst.team_type[2]
    assert inst.has_team_calendars and len(inst.team_cals) == 2


def test_teams_file_availability_is_parsed_and_bad_input_says_where():
    rows = [
        {"id": "M1", "asset": "manual", "home": "R", "availability": {"weekly_rest": [4]}},
        {"id": "M2", "asset": "manual", "home": "R"},
    ]
    teams = teams_from_list(rows, {}, "R")
    assert teams[0].availability == Calendar(weekly_rest=(4,)) and teams[1].availability is None
    bad = [
        {"id": "M1", "asset": "manual", "availability": {"rotation": {"days_on": 0, "days_off": 3}}}
    ]
    with pytest.raises(PlanningInputError) as exc:
        teams_from_list(bad, {}, "R")
    assert "teams[0].availability.rotation" in str(exc.value.where)
    with pytest.raises(PlanningInputError, match="unknown calendar keys"):
        teams_from_list([{"id": "M", "asset": "manual", "availability": {"leave": 1}}], {}, "R")


def _with_random_availability(seed: int, n: int):
    pb = generate_problem(n, seed=seed)
    rng = np.random.default_rng(seed)
    teams = []
    for t in pb.teams:
        roll = rng.uniform()
        if roll < 0.3:
            a = int(rng.integers(0, 200))
            teams.append(
                dataclasses.replace(t, availability=_leave(a, a + int(rng.integers(5, 60))))
            )
        elif roll < 0.5:
            on, off = int(rng.integers(5, 30)), int(rng.integers(1, 15))
            rot = Calendar(
                rotation=(on, off),
                rotation_start=START - dt.timedelta(days=int(rng.integers(0, 30))),
            )
            teams.append(dataclasses.replace(t, availability=rot))
        else:
            teams.append(t)
    return dataclasses.replace(pb, teams=tuple(teams))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_plans_never_break_team_calendars(seed):
    pb = _with_random_availability(seed, 25)
    inst = compile_problem(pb)
    for result in (dispatch_schedule(inst), list_schedule(inst, "wspt")):
        assert check_plan(result) == []
    searched = plan(inst, time_limit=5, max_moves=300, seed=seed)
    assert check_plan(searched) == []
    # the search's result is timed with the team calendars (re-timing it changes nothing)
    again = make_plan(inst, searched.sequences)
    assert np.allclose(again.end, searched.end)


def test_brute_force_respects_team_calendars():
    teams = [
        Team("a", AssetClass.MANUAL, "r", availability=_leave(0, 20)),
        Team("b", AssetClass.MANUAL, "r", availability=Calendar(weekly_rest=(0, 1, 2))),
    ]
    pk = [WorkPackage(f"p{j}", "h", "r", 400.0 * (j + 2), "open", 1.0 + j) for j in range(3)]
    best = brute_force(compile_problem(_problem(teams, pk)))
    assert check_plan(best) == []
    assert best.objective() <= plan(_problem(teams, pk), exact_up_to=0).objective() + 1e-9
