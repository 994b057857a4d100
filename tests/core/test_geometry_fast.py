"""The fast GeoJSON builders and batch areas of the recompute give exactly what the plain calls give."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import shape

from mineaction.core.geometry import (
    bounds_list,
    geodesic_area_m2,
    geodesic_areas_m2,
    points_fast,
    points_xy_fast,
    shapes_fast,
)

_coord = st.one_of(
    st.floats(-180, 180, allow_nan=False, allow_infinity=False), st.integers(-180, 180)
)
_pair = st.lists(_coord, min_size=2, max_size=2)


@st.composite
def _ring(draw: Any) -> list[list[Any]]:
    pts = draw(st.lists(_pair, min_size=3, max_size=8))
    return [*pts, pts[0]]


_polygon = st.builds(lambda r: {"type": "Polygon", "coordinates": [r]}, _ring())
_point = st.builds(lambda c: {"type": "Point", "coordinates": c}, _pair)


@settings(max_examples=200, deadline=None)
@given(st.lists(_polygon, min_size=1, max_size=6), st.lists(_point, max_size=6))
def test_fast_builders_equal_shape_bit_for_bit(polys: list[Any], points: list[Any]) -> None:
    built = shapes_fast(polys)
    assert [shapely.to_wkb(g) for g in built] == [shapely.to_wkb(shape(o)) for o in polys]
    got = points_fast(points)
    assert [shapely.to_wkb(g) for g in got] == [shapely.to_wkb(shape(o)) for o in points]


def test_odd_inputs_take_the_slow_path() -> None:
    ring3d = [[0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 0, 1]]
    odd = [
        {"type": "Polygon", "coordinates": [ring3d]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
        {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]},
    ]
    assert [g.wkt for g in shapes_fast(odd)] == [shape(o).wkt for o in odd]
    pts = [{"type": "Point", "coordinates": [1, 2, 3]}, {"type": "Point", "coordinates": [4, 5]}]
    assert [g.wkt for g in points_fast(pts)] == [shape(o).wkt for o in pts]


def _to_equal_area(xy: np.ndarray) -> np.ndarray:
    """Map lon/lat to the ellipsoid's cylindrical equal-area plane (x = a*lon, y = a*q/2), with
    the textbook authalic q (log form; the code under test uses the artanh form)."""
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    e = math.sqrt(e2)
    s = np.sin(np.radians(xy[:, 1]))
    q = (1 - e2) * (s / (1 - e2 * s * s) - (1 / (2 * e)) * np.log((1 - e * s) / (1 + e * s)))
    out = np.empty_like(xy)
    out[:, 0] = a * np.radians(xy[:, 0])
    out[:, 1] = a * q / 2
    return out


def _dense_ring(coords: Any, step: float) -> Any:
    """The ring with every edge cut into steps of at most ``step`` degrees (same shape)."""
    pts = np.asarray(coords, dtype=float)
    out = [pts[:1]]
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        k = max(1, math.ceil(float(np.abs(b - a).max()) / step))
        out.append(a + (b - a) * (np.arange(1, k + 1)[:, None] / k))
    return np.concatenate(out)


def _dense(g: Any, step: float) -> Any:
    if g.geom_type == "Polygon":
        return shapely.Polygon(
            _dense_ring(g.exterior.coords, step),
            [_dense_ring(r.coords, step) for r in g.interiors],
        )
    return shapely.MultiPolygon([_dense(p, step) for p in g.geoms])


def _reference_areas(geoms: list[Any]) -> list[float]:
    """An independent computation: the equal-area plane's trapezoid (GEOS's area of the
    projected copy) with edges cut into 2e-4 and 1e-4 degree steps, whose error shrinks with
    the step squared, extrapolated to step 0 (Richardson): exact to ~1e-12 here."""

    def plane(g: Any, step: float) -> float:
        return float(shapely.area(shapely.transform(_dense(g, step), _to_equal_area)))

    return [
        0.0 if g is None or g.is_empty else (4 * plane(g, 1e-4) - plane(g, 2e-4)) / 3 for g in geoms
    ]


_lon = st.floats(34.0, 38.6, allow_nan=False, allow_infinity=False)
_lat = st.floats(50.8, 52.5, allow_nan=False, allow_infinity=False)


@st.composite
def _field_geometry(draw: Any) -> Any:
    """A field-sized polygon (any vertex count, sometimes holed or multi), None or an empty one."""
    kind = draw(st.sampled_from(["ring", "ring", "ring", "holed", "multi", "none", "empty"]))
    if kind == "none":
        return None
    if kind == "empty":
        return shapely.from_wkt("POLYGON EMPTY")
    x, y = draw(_lon), draw(_lat)
    n = draw(st.integers(3, 40))
    steps = draw(st.lists(st.floats(1e-5, 3e-3, allow_nan=False), min_size=2 * n, max_size=2 * n))
    pts = [(x + steps[2 * i], y + steps[2 * i + 1] * (1 if i % 2 else -1)) for i in range(n)]
    ring = shapely.polygons([*pts, pts[0]])
    if kind == "holed":
        hole = shapely.buffer(shapely.centroid(ring), 1e-6, quad_segs=2)
        return shapely.polygons(shapely.get_exterior_ring(ring), holes=[hole.exterior])
    if kind == "multi":
        far = shapely.affinity.translate(ring, 0.01, 0.01)
        return shapely.multipolygons([ring, far])
    return ring


@settings(max_examples=200, deadline=None)
@given(st.lists(_field_geometry(), max_size=12))
def test_batch_areas_are_the_lonlat_regions_areas(geoms: list[Any]) -> None:
    got = geodesic_areas_m2(geoms).tolist() if geoms else []
    # one at a time: the same doubles (each ring summed in the same order)
    assert [geodesic_area_m2(g) for g in geoms] == got
    for mine, ref in zip(got, _reference_areas(geoms), strict=True):
        assert abs(mine - ref) <= 1e-8 * ref + 1e-3


def test_batch_areas_of_rings_of_every_length_and_degenerate_rings() -> None:
    rings = [
        shapely.polygons([(35 + 0.001 * i, 51 + 0.0007 * (i % 3)) for i in range(k)] + [(35, 51)])
        for k in range(3, 30)
    ]
    flat = shapely.polygons([(35, 51), (35.001, 51), (35.002, 51), (35, 51)])  # zero area
    geoms = [*rings, flat, None, *reversed(rings)]
    got = geodesic_areas_m2(geoms).tolist()
    assert got[len(rings)] == 0.0 and got[len(rings) + 1] == 0.0
    assert got[: len(rings)] == got[len(rings) + 2 :][::-1]
    for mine, ref in zip(got, _reference_areas(geoms), strict=True):
        assert abs(mine - ref) <= 1e-8 * ref + 1e-3


def test_oblique_edges_are_measured_as_straight_in_lonlat() -> None:
    # four long oblique edges: the plane's trapezoid alone was 16.5 m² (1.9e-5) short and
    # pyproj's geodesic edges 33 m² over; cutting the edges into 1e-5 degree steps agrees
    kite = shapely.Polygon([(35.2067, 51.3), (35.2, 51.3088), (35.1886, 51.3), (35.2, 51.2965)])
    dense = _reference_areas([kite])[0]
    assert abs(geodesic_area_m2(kite) - dense) < 1e-9 * dense
    trapezoid = float(shapely.area(shapely.transform(kite, _to_equal_area)))
    assert geodesic_area_m2(kite) - trapezoid > 10


@settings(max_examples=100, deadline=None)
@given(st.lists(_point, max_size=8))
def test_points_with_their_xy_equal_shape(points: list[Any]) -> None:
    geoms, xs, ys = points_xy_fast(points)
    assert [shapely.to_wkb(g) for g in geoms] == [shapely.to_wkb(shape(o)) for o in points]
    assert xs == [shape(o).x for o in points] and ys == [shape(o).y for o in points]
    assert bounds_list(geoms) == [list(shape(o).bounds) for o in points]
