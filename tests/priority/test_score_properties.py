"""Properties of weights and normalisation (hypothesis)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mineaction.core import priority as pr
from mineaction.errors import ValidationError

NAMES = sorted(pr.CRITERIA)

criterion_spec = st.fixed_dictionaries(
    {
        "weight": st.floats(0, 100, allow_nan=False),
        "normalise": st.sampled_from(pr.NORMALISATIONS),
        "cap": st.floats(0.01, 1e6, allow_nan=False),
        "threshold": st.floats(0, 100, allow_nan=False),
    }
)
configs = st.dictionaries(
    st.sampled_from(NAMES), criterion_spec, min_size=1, max_size=len(NAMES)
).map(lambda c: pr.parse_config({"name": "h", "version": "1", "criteria": c}))
value = st.floats(0, 1e7, allow_nan=False)
values = st.fixed_dictionaries({n: value for n in NAMES})


@settings(max_examples=100, deadline=None)
@given(
    cfg=configs, base=values, name=st.sampled_from(NAMES), bump=st.floats(0, 1e7, allow_nan=False)
)
def test_monotone_in_each_benefit_criterion(
    cfg: pr.PriorityConfig, base: dict[str, float], name: str, bump: float
) -> None:
    more = dict(base, **{name: base[name] + bump})
    s0, _ = pr.breakdown(cfg, base)
    s1, _ = pr.breakdown(cfg, more)
    assert s1 >= s0 - 1e-9


@settings(max_examples=100, deadline=None)
@given(cfg=configs, rows=st.lists(values, min_size=1, max_size=8))
def test_contributions_sum_to_score_and_match_breakdown(
    cfg: pr.PriorityConfig, rows: list[dict[str, float]]
) -> None:
    arrays = {n: np.array([r[n] for r in rows]) for n in NAMES}
    scores, contributions = pr.score_arrays(cfg, arrays, len(rows))
    summed = sum(contributions.values())
    assert np.allclose(summed, scores, rtol=1e-12, atol=1e-9)
    for k, r in enumerate(rows):
        s, terms = pr.breakdown(cfg, r)
        assert s == pytest.approx(scores[k], rel=1e-12, abs=1e-9)
        assert sum(t.contribution for t in terms) == pytest.approx(s, rel=1e-12, abs=1e-9)
        assert all(t.contribution >= 0 for t in terms)
        if s > 0:
            assert sum(t.share for t in terms) == pytest.approx(1.0)


@settings(max_examples=100, deadline=None)
@given(cfg=configs, row=values, factor=st.floats(0.1, 10, allow_nan=False))
def test_scaling_all_weights_scales_the_score(
    cfg: pr.PriorityConfig, row: dict[str, float], factor: float
) -> None:
    data: dict[str, Any] = cfg.as_dict()
    for spec in data["criteria"].values():
        spec["weight"] *= factor
    scaled = pr.parse_config(data)
    assert pr.breakdown(scaled, row)[0] == pytest.approx(
        pr.breakdown(cfg, row)[0] * factor, rel=1e-9, abs=1e-9
    )


@settings(max_examples=100, deadline=None)
@given(cfg=configs, v=value)
def test_bounded_normalisations_stay_in_unit_interval(cfg: pr.PriorityConfig, v: float) -> None:
    for c in cfg.criteria:
        n = float(c.normalised([v])[0])
        assert n >= 0
        if c.normalise != "raw":
            assert n <= 1


@settings(max_examples=100, deadline=None)
@given(cfg=configs)
def test_canonical_config_round_trips_with_the_same_hash(cfg: pr.PriorityConfig) -> None:
    again = pr.parse_config(cfg.as_dict())
    assert again.hash == cfg.hash


def test_hash_changes_with_any_value() -> None:
    base = {"name": "t", "version": "1", "criteria": {"evidence": {"weight": 1}}}
    h = pr.parse_config(base).hash
    assert pr.parse_config(dict(base, version="2")).hash != h
    assert pr.parse_config(dict(base, criteria={"evidence": {"weight": 2}})).hash != h
    assert pr.parse_config(dict(base, parameters={"blocking_distance_m": 50})).hash != h
    assert pr.parse_config(dict(base, feasibility={"cost_per_team_day": 1})).hash != h
    # the same values written differently give the same hash
    assert (
        pr.parse_config(
            dict(base, criteria={"evidence": {"weight": 1.0, "normalise": "linear"}})
        ).hash
        == h
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"criteria": {"evidence": {"weight": -1}}}, "must be >= 0"),
        (
            {"criteria": {"evidence": {"weight": 1, "normalise": "sqrt"}}},
            "normalise 'sqrt' unknown",
        ),
        (
            {"criteria": {"evidence": {"weight": 1, "normalise": "log", "cap": 0}}},
            "cap must be > 0",
        ),
        ({"criteria": {}}, "at least one criterion"),
        ({"weights": {}}, "unknown key"),
        ({"parameters": {"people_near_m": 9000}}, "people_near_m must be <= people_far_m"),
        (
            {
                "feasibility": {
                    "release_ratios": {"SHA": {"cancelled": 0.5, "reduced": 0.5, "cleared": 0.5}}
                }
            },
            "sum to 1",
        ),
        ({"format": 2}, "not supported"),
    ],
)
def test_invalid_configurations_are_refused(change: dict[str, Any], message: str) -> None:
    base = {"name": "t", "version": "1", "criteria": {"evidence": {"weight": 1}}}
    with pytest.raises(ValidationError, match=message):
        pr.parse_config({**base, **change})


def test_presets_parse_and_differ() -> None:
    from mineaction.services.prioritise import load_config

    lis = load_config(preset="lis")
    dev = load_config(preset="development")
    assert (lis.name, dev.name) == ("lis", "development")
    assert lis.hash != dev.hash
    assert sum(c.weight for c in dev.criteria) == 100
    assert [k.name for k in lis.classes] == ["high", "medium", "low"]
