import datetime as dt

import numpy as np
import pytest

from mineaction.core.planning.instance import compile_problem
from mineaction.core.planning.model import (
    AssetClass,
    Calendar,
    Closure,
    EnvironmentalRules,
    FrozenWork,
    PlanningInputError,
    PlanningProblem,
    ReleaseRatios,
    Stage,
    Team,
    WorkPackage,
)


def test_stage_chain_areas_follow_release_ratios():
    pk = WorkPackage("p", "h", "r", 1000.0, "open", first_stage=Stage.NTS)
    assert pk.stage_areas() == ((Stage.NTS, 1000.0), (Stage.TS, 680.0), (Stage.CLEARANCE, 440.0))
    released = dict(pk.released_by_stage())
    assert released == pytest.approx({Stage.NTS: 320.0, Stage.TS: 240.0, Stage.CLEARANCE: 440.0})
    ts = WorkPackage("q", "h", "r", 1000.0, "open", first_stage=Stage.TS)
    assert ts.stage_areas()[1] == (Stage.CLEARANCE, pytest.approx(1000 * 0.44 / 0.68, abs=1e-5))


def test_release_ratios_must_sum_to_one():
    with pytest.raises(PlanningInputError, match="sum to 1"):
        ReleaseRatios(0.5, 0.5, 0.5)


def test_calendar_season_rest_holiday_closure():
    cal = Calendar(
        monthly_fraction=(0.5,) + (1.0,) * 11,
        weekly_rest=(6,),
        holidays=(dt.date(2026, 2, 3),),
        annual_holidays=((2, 5),),
        closures=(Closure(dt.date(2026, 2, 9), dt.date(2026, 2, 10), 0.0),),
    )
    f = cal.fractions(dt.date(2026, 1, 30), 13)  # Fri 30 Jan .. Wed 11 Feb
    assert f.tolist() == [0.5, 0.5, 0.0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1]


def test_environmental_rule_and_exemption():
    mech = Team("m", AssetClass.MECHANICAL, "r")
    manual = Team("h", AssetClass.MANUAL, "r")
    protected = WorkPackage("p", "h", "r", 10.0, "open", protected_area=True)
    exempt = WorkPackage("q", "h", "r", 10.0, "open", protected_area=True, mechanical_allowed=True)
    rules = EnvironmentalRules()
    assert not rules.allows(mech, protected)
    assert rules.allows(manual, protected)
    assert rules.allows(mech, exempt)
    inst = compile_problem(PlanningProblem((protected, exempt), (mech, manual)))
    assert np.isinf(inst.p(0, 0)) and np.isfinite(inst.p(0, 1)) and np.isfinite(inst.p(1, 0))
    assert inst.env_restricted == (0,) and inst.env_exempted == (1,)


def test_inputs_are_validated_with_useful_messages():
    t = Team("t", AssetClass.MANUAL, "r")
    with pytest.raises(PlanningInputError, match="appears twice"):
        compile_problem(PlanningProblem((WorkPackage("a", "h", "r", 1, "open"),) * 2, (t,)))
    with pytest.raises(PlanningInputError, match="area_m2"):
        compile_problem(PlanningProblem((WorkPackage("a", "h", "r", 0, "open"),), (t,)))
    with pytest.raises(PlanningInputError, match="start_day=0"):
        FrozenWork("a", Stage.CLEARANCE, "t", -1)
    with pytest.raises(PlanningInputError, match="first remaining"):
        compile_problem(
            PlanningProblem(
                (WorkPackage("a", "h", "r", 1, "open", first_stage=Stage.TS),),
                (t, Team("s", AssetClass.TS, "r")),
                frozen=(FrozenWork("a", Stage.CLEARANCE, "t", 0),),
            )
        )


def test_finish_walks_through_closed_days():
    pb = PlanningProblem(
        (WorkPackage("a", "h", "r", 1, "open"),),
        (Team("t", AssetClass.MANUAL, "r"),),
        start=dt.date(2026, 1, 1),
        calendars={"r": Calendar(monthly_fraction=(0.5,) + (1.0,) * 11)},
    )
    inst = compile_problem(pb, horizon_days=10)
    assert inst.finish(0, 0.0, 1.0) == pytest.approx(2.0)
    assert inst.finish(0, 30.0, 1.0) == pytest.approx(31.0 + 0.5)  # half of Jan 31, then Feb 1
    assert inst.finish(0, 0.0, 400.0) > 400  # horizon grows on demand
    v = inst.finish_many(0, np.array([0.0, 30.0]), np.array([1.0, 1.0]))
    assert v.tolist() == pytest.approx([2.0, 31.5])
