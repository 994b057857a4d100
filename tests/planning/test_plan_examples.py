"""The example teams and calendars files in docs/examples parse into planning inputs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from mineaction.core.planning.model import AssetClass, PlanningInputError
from mineaction.core.planning.packages import calendars_from_dict, teams_from_list

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def test_example_files_parse() -> None:
    teams = teams_from_list(
        yaml.safe_load((EXAMPLES / "plan-teams.yaml").read_text())["teams"],
        {AssetClass.DOGS: {"open": 1500.0}},
        "SYN-KRS-04",
    )
    assert [t.asset for t in teams].count(AssetClass.MANUAL) == 3
    own = next(t for t in teams if t.availability is not None)
    # rotation 24 on / 6 off from 2 Nov 2026; annual leave 20 Dec - 10 Jan; half in March
    f = own.availability.fractions(dt.date(2026, 11, 25), 3)  # days 24, 25 (off), 26 (off)
    assert f.tolist() == [1.0, 0.0, 0.0]
    assert own.availability.fractions(dt.date(2027, 1, 1), 1).tolist() == [0.0]
    assert own.availability.fractions(dt.date(2027, 3, 2), 1).tolist() == [0.5]
    dogs = next(t for t in teams if t.asset is AssetClass.DOGS)
    assert dogs.rates == {"open": 900.0, "vegetated": 600.0, "steep": 0.0}
    cfg = calendars_from_dict(yaml.safe_load((EXAMPLES / "plan-calendars.yaml").read_text()))
    cal = cfg.regions["SYN-KRS-04"]
    f = cal.fractions(dt.date(2027, 3, 30), 4)  # Tue 30 Mar .. Fri 2 Apr 2027
    assert f.tolist() == [0.0, 0.0, 0.5, 0.5]
    assert cfg.travel_days == {("SYN-KRS-03", "SYN-KRS-04"): 2.0}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"default": {"monthly_fraction": [1] * 11}}, "12 values"),
        ({"regions": {"R": {"closures": [{"start": "2027-01-01"}]}}}, "start and end"),
        ({"travel": {"pairs": [["A", "B"]]}}, "travel pairs"),
        ({"default": {"weekly_rest": [7]}}, "weekly_rest"),
        ({"holidays": []}, "unknown keys"),
        ({"regions": ["R"]}, "must be a mapping"),
        ({"default": {"monthly_fraction": ["x"] * 12}}, "not a valid calendar"),
    ],
)
def test_bad_calendars_say_where(data: dict, message: str) -> None:
    with pytest.raises(PlanningInputError, match=message) as exc:
        calendars_from_dict(data)
    assert exc.value.where and exc.value.where.startswith("calendars")
