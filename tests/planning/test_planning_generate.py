import numpy as np

from mineaction.core.planning.generate import generate_problem
from mineaction.core.planning.model import Stage


def test_generator_is_seeded_and_shaped_like_demining():
    a = generate_problem(1000, seed=3)
    b = generate_problem(1000, seed=3)
    c = generate_problem(1000, seed=4)
    assert a == b and a != c
    assert len(a.packages) == 1000
    assert {t.asset for t in a.teams} == {"manual", "dogs", "mechanical", "ts", "nts"}
    hazard_area: dict[str, float] = {}
    for p in a.packages:
        hazard_area[p.hazard_id] = hazard_area.get(p.hazard_id, 0.0) + p.area_m2
    areas = np.array(list(hazard_area.values()))
    assert areas.max() / np.median(areas) > 10  # heavy-tailed hazards, cut into packages
    stages = {p.first_stage for p in a.packages}
    assert stages == {Stage.NTS, Stage.TS, Stage.CLEARANCE}
    assert any(p.protected_area or p.near_water for p in a.packages)
    assert any(c.closures for c in a.calendars.values())
    assert len({p.hazard_id for p in a.packages}) < 1000  # large hazards were cut
