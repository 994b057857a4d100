"""The vectorised measurement equals a brute-force pair-by-pair computation (random instances)."""

from __future__ import annotations

from datetime import date

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from mineaction.services import prioritise as svc
from mineaction.services.reference import LayerData

from .helpers import wgs

AS_OF = date(2026, 6, 30)


def _instance(seed: int) -> tuple[svc.HazardSet, dict[str, LayerData], svc.AccidentSet]:
    rng = np.random.default_rng(seed)
    span = 20_000.0

    def pts(k: int) -> list[shapely.Geometry]:
        return [wgs(shapely.Point(x, y)) for x, y in rng.uniform(-span, span, (k, 2))]

    def polys(k: int, lo: float, hi: float) -> list[shapely.Geometry]:
        out = []
        for x, y in rng.uniform(-span, span, (k, 2)):
            r = rng.uniform(lo, hi)
            n = int(rng.integers(3, 9))
            ang = np.sort(rng.uniform(0, 2 * np.pi, n))
            ring = [(x + r * np.cos(a), y + r * np.sin(a)) for a in ang]
            g = shapely.Polygon(ring)
            out.append(wgs(g if g.is_valid else g.convex_hull))
        return out

    def lines(k: int) -> list[shapely.Geometry]:
        out = []
        for x, y in rng.uniform(-span, span, (k, 2)):
            steps = rng.normal(0, 800, (3, 2)).cumsum(axis=0) + (x, y)
            out.append(wgs(shapely.LineString(steps)))
        return out

    n = 40
    hz = polys(n, 20, 900)
    hazards = svc.HazardSet.build([f"H{k:03d}" for k in range(n)], hz, remaining_m2=[1e4] * n)
    multi = [wgs(shapely.MultiPoint([(0, 0), (3_000, 3_000)]))]
    layers = {
        "settlements": LayerData.build(
            "settlements", pts(400), values=rng.integers(1, 900, 400).tolist()
        ),
        "roads": LayerData.build("roads", lines(200), kinds=["primary", "track"] * 100),
        "farmland": LayerData.build("farmland", polys(200, 50, 700)),
        "infrastructure": LayerData.build("infrastructure", pts(150) + lines(20) + multi),
        "protected": LayerData.build("protected", polys(10, 1_000, 4_000)),
        "water": LayerData.build("water", polys(50, 20, 400)),
    }
    k = 80
    accidents = svc.AccidentSet.build(
        pts(k),
        [
            date(2023, 1, 1) + (date(2026, 12, 1) - date(2023, 1, 1)) * float(f)
            for f in rng.uniform(0, 1, k)
        ],
        rng.integers(1, 4, k).tolist(),
        [f"H{int(v):03d}" if v < n else None for v in rng.integers(0, 3 * n, k)],
    )
    return hazards, layers, accidents


def _brute(
    hazards: svc.HazardSet, layers: dict[str, LayerData], acc: svc.AccidentSet
) -> dict[str, np.ndarray]:

    tr = svc.local_transformer(hazards.geoms)
    pj = {name: svc.project(layer.geoms, tr) for name, layer in layers.items()}
    hz = svc.project(hazards.geoms, tr)
    ag = svc.project(acc.geoms, tr)
    out: dict[str, list[float]] = {
        k: []
        for k in (
            "people_1km",
            "people_5km",
            "roads_blocked",
            "farmland_m2",
            "infrastructure_blocked",
            "protected_area",
            "near_water",
            "casualties_recent",
        )
    }
    start = np.datetime64(date(2024, 6, 30))
    for i, h in enumerate(hz):
        d = np.array([h.distance(g) for g in pj["settlements"]])
        pop = layers["settlements"].values
        out["people_1km"].append(float(pop[d <= 1000].sum()))
        out["people_5km"].append(float(pop[d <= 5000].sum()))
        out["roads_blocked"].append(float(sum(h.distance(g) <= 100 for g in pj["roads"])))
        out["farmland_m2"].append(float(sum(h.intersection(g).area for g in pj["farmland"])))
        out["infrastructure_blocked"].append(
            0.5 * float(sum(h.distance(g) <= 100 for g in pj["infrastructure"]))
        )
        out["protected_area"].append(float(any(h.intersects(g) for g in pj["protected"])))
        out["near_water"].append(float(any(h.distance(g) <= 100 for g in pj["water"])))
        cas = 0.0
        for j, g in enumerate(ag):
            if start <= acc.dates[j] <= np.datetime64(AS_OF) and (
                h.distance(g) <= 1000 or acc.hazard_ids[j] == hazards.ids[i]
            ):
                cas += acc.casualties[j]
        out["casualties_recent"].append(cas)
    return {k: np.array(v) for k, v in out.items()}


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 10_000), chunk=st.sampled_from([7, 5_000]))
def test_vectorised_equals_brute_force(seed: int, chunk: int) -> None:
    hazards, layers, acc = _instance(seed)
    cfg = svc.load_config(preset="development")
    fast = svc.measure(cfg, hazards, layers, acc, as_of=AS_OF, chunk=chunk)
    slow = _brute(hazards, layers, acc)
    for k, v in slow.items():
        assert np.allclose(fast[k], v, rtol=1e-9, atol=1e-6), k
