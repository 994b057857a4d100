"""Hand-computed prioritisation of two hazards (the arithmetic is written next to each check)."""

from __future__ import annotations

from datetime import date

import pytest

from mineaction.core import priority as pr
from mineaction.services import prioritise as svc
from mineaction.services.reference import LayerData

from .helpers import line, point, square

AS_OF = date(2026, 6, 30)


def _world() -> tuple[svc.HazardSet, dict[str, LayerData], svc.AccidentSet]:
    # H1: a 100 m x 100 m SHA centred on the origin; H2: the same 20 km east, alone.
    hazards = svc.HazardSet.build(
        ["H1", "H2"],
        [square(0, 0, 100), square(20_000, 0, 100)],
        classification=["SHA", "CHA"],
        remaining_m2=[10_000, 10_000],
        contamination=[["AP_MINE"], ["UXO_AXO"]],
        evidence=[[{"type": "VERBAL_REPORT"}, {"type": "FORMER_FRONTLINE"}], []],
        blockages=[2, 0],
        beneficiaries=[120, 0],
        eo_total=[0, 3],
    )
    layers = {
        # 550 m from H1's edge (x=50): near and far; 3,050 m: far only; 7 km: neither.
        "settlements": LayerData.build(
            "settlements",
            [point(600, 0), point(0, 3_100), point(0, -7_000)],
            values=[100, 1_000, 50_000],
        ),
        # crosses H1 (primary, weight 1.0); a track 50 m from the edge (0.1); a secondary
        # 2 km away (not blocked: blocking distance 100 m).
        "roads": LayerData.build(
            "roads",
            [
                line((-500, 0), (500, 0)),
                line((-500, 100), (500, 100)),
                line((-500, 2_000), (500, 2_000)),
            ],
            kinds=["primary", "track", "secondary"],
        ),
        # farmland covering the northern half of H1: 100 m x 50 m = 5,000 m²
        "farmland": LayerData.build("farmland", [square(0, 50, 100)]),
        # a school 40 m from H1's edge, a clinic 1 km away (not blocked)
        "infrastructure": LayerData.build(
            "infrastructure", [point(90, 0), point(1_050, 0)], kinds=["school", "clinic"]
        ),
        # a protected area containing H2, a water body 1 km from H1 (not near)
        "protected": LayerData.build("protected", [square(20_000, 0, 1_000)]),
        "water": LayerData.build("water", [square(0, 1_100, 200)]),
    }
    accidents = svc.AccidentSet.build(
        # 300 m from H1, 2 casualties, in the window; linked to H1 but 5 km away, 1 casualty;
        # near H1 but 30 months before the cut-off (outside 24 months), 5 casualties;
        # after the cut-off, 4 casualties.
        [point(350, 0), point(-5_000, 0), point(0, 200), point(0, -200)],
        [date(2025, 12, 1), date(2024, 7, 1), date(2023, 12, 30), date(2026, 7, 2)],
        [2, 1, 5, 4],
        ["", "H1", None, None],
    )
    return hazards, layers, accidents


def test_measured_criteria() -> None:
    hazards, layers, accidents = _world()
    cfg = svc.load_config(preset="lis")
    v = svc.measure(cfg, hazards, layers, accidents, as_of=AS_OF)
    assert v["people_1km"].tolist() == [100, 0]
    assert v["people_5km"].tolist() == [1_100, 0]  # 100 + 1,000
    assert v["roads_blocked"].tolist() == [2, 0]
    assert v["market_access_cut"].tolist() == pytest.approx([1.1, 0])  # 1.0 + 0.1
    assert v["farmland_m2"][0] == pytest.approx(5_000, rel=1e-3)
    assert v["farmland_m2"][1] == 0
    assert v["infrastructure_blocked"].tolist() == [1.0, 0]  # the school only
    assert v["casualties_recent"].tolist() == [3, 0]  # 2 near + 1 linked
    assert v["protected_area"].tolist() == [0, 1]
    assert v["near_water"].tolist() == [0, 0]
    # LIS contamination values: mines 2, UXO only 1
    assert v["contamination"].tolist() == [2, 1]
    # noisy-OR of 0.3 and 0.4 = 1 - 0.7 x 0.6 = 0.58; EO found = 1
    assert v["evidence"].tolist() == pytest.approx([0.58, 1.0])
    assert v["reported_blockages"].tolist() == [2, 0]
    assert v["beneficiaries"].tolist() == [120, 0]


def test_lis_score_and_feasibility() -> None:
    hazards, layers, accidents = _world()
    cfg = svc.load_config(preset="lis")
    r = svc.score(cfg, hazards, layers, accidents, as_of=AS_OF)
    # H1: contamination 2 + casualties 2 x 3 + roads 1 + farmland 1 + infrastructure 1
    #     + residential (people within 1 km) 1 + water 0 + reported blockages 2 = 14 -> high
    # H2: contamination 1 (UXO only) = 1 -> low
    assert r.scores.tolist() == [14.0, 1.0]
    assert r.classes == ["high", "low"]
    assert r.ranks.tolist() == [1, 2]
    assert r.contributions["casualties_recent"].tolist() == [6.0, 0.0]
    # SHA 10,000 m²: 10,000/20,000 + 6,800/3,000 + 4,400/400 = 13.7667 team-days
    # CHA 10,000 m²: (TS) 10,000/3,000 + (clearance) 6,500/400 = 19.5833 team-days
    assert r.team_days.tolist() == pytest.approx([13.76667, 19.58333], rel=1e-5)
    # cost US$4,000 per team-day; value for money = score / (cost / 1,000)
    assert r.cost.tolist() == pytest.approx([55_066.67, 78_333.33], rel=1e-5)
    assert r.vfm.tolist() == pytest.approx([14 / 55.06667, 1 / 78.33333], rel=1e-5)
    rec = r.record(0)
    assert sum(rec["contributions"].values()) == pytest.approx(rec["score"])


def test_custom_weights_hand_computed() -> None:
    hazards, layers, accidents = _world()
    cfg = pr.parse_config(
        {
            "name": "t",
            "version": "1",
            "criteria": {
                "people_5km": {"weight": 40, "normalise": "linear", "cap": 2_000},
                "farmland_m2": {"weight": 30, "normalise": "log", "cap": 4_999},
                "evidence": {"weight": 30, "normalise": "linear", "cap": 1},
            },
        }
    )
    r = svc.score(cfg, hazards, layers, accidents, as_of=AS_OF)
    # H1: 40 x 1,100/2,000 = 22; 30 x min(log(1+5,000)/log(1+4,999), 1) = 30; 30 x 0.58 = 17.4
    assert r.scores[0] == pytest.approx(22 + 30 + 17.4, rel=1e-6)
    # H2: people 0, farmland 0, evidence 1 (EO found) -> 30
    assert r.scores[1] == pytest.approx(30.0)
    _, terms = pr.breakdown(cfg, r.record(0)["criteria"])
    assert [t.criterion for t in terms] == ["farmland_m2", "people_5km", "evidence"]


def test_scale_error_of_local_projection_is_small() -> None:
    # a settlement 10 km from a hazard 300 km east of another: distances stay within 0.3 %
    hazards = svc.HazardSet.build(
        ["A", "B"], [square(0, 0, 10), square(300_000, 0, 10)], remaining_m2=[100, 100]
    )
    layers = {
        "settlements": LayerData.build(
            "settlements", [point(300_000, 4_985), point(300_000, 5_020)], values=[1, 10]
        )
    }
    cfg = svc.load_config(preset="development")
    v = svc.measure(cfg, hazards, layers, None, as_of=AS_OF)
    assert v["people_5km"].tolist() == [0, 1]  # 4,980 m inside 5 km; 5,015 m outside


def test_invalid_geometry_is_repaired_for_the_analysis() -> None:
    from shapely.geometry import Polygon

    from .helpers import wgs

    # a self-intersecting "bow-tie" field over H1: GEOS overlay fails on it unless repaired;
    # make_valid gives two triangles (base 100 m, height 50 m) inside H1 = 2 x 2,500 m²
    bowtie = wgs(Polygon([(-50, -50), (50, 50), (50, -50), (-50, 50)]))
    hazards = svc.HazardSet.build(["H1"], [square(0, 0, 100)], remaining_m2=[10_000])
    layers = {"farmland": LayerData.build("farmland", [bowtie])}
    cfg = svc.load_config(preset="development")
    notes: list[str] = []
    v = svc.measure(cfg, hazards, layers, None, as_of=AS_OF, notes=notes)
    assert v["farmland_m2"][0] == pytest.approx(5_000, rel=1e-3)
    assert notes == ["1 invalid farmland geometries repaired (make_valid) for the analysis"]
