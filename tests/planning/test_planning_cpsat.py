import numpy as np
import pytest

from mineaction.core.planning.check import assert_feasible
from mineaction.core.planning.cpsat import cpsat_plan
from mineaction.core.planning.exact import brute_force
from mineaction.core.planning.generate import generate_problem
from mineaction.core.planning.instance import compile_problem
from mineaction.core.planning.model import AssetClass, PlanningProblem, Team, WorkPackage
from mineaction.core.planning.schedule import dispatch_schedule


@pytest.mark.parametrize("seed", range(3))
def test_cpsat_proves_brute_force_optimum_without_calendars(seed):
    rng = np.random.default_rng(seed)
    pk = tuple(
        WorkPackage(
            f"p{j}", "h", "R", 400.0 * int(rng.integers(1, 9)), "open", float(rng.integers(1, 9))
        )
        for j in range(5)
    )
    teams = (Team("a", AssetClass.MANUAL, "R"), Team("b", AssetClass.MANUAL, "R"))
    inst = compile_problem(PlanningProblem(pk, teams))
    got = cpsat_plan(inst, time_limit=10)
    assert_feasible(got)
    assert "OPTIMAL" in got.notes[-1]
    assert got.objective() == pytest.approx(brute_force(inst).objective())


def test_cpsat_plan_is_feasible_on_generated_instance():
    inst = compile_problem(generate_problem(60, seed=4))
    got = cpsat_plan(inst, time_limit=3, hint=dispatch_schedule(inst))
    assert_feasible(got)
