"""The fast GeoJSON builders and batch areas of the recompute give exactly what the plain calls give."""

from __future__ import annotations

from typing import Any

import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import shape

from mineaction.core.geometry import (
    _to_equal_area,
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


def _plain_areas(geoms: list[Any]) -> list[float]:
    """The areas the way they were computed before: projected copies, then GEOS's area."""
    return [
        0.0 if g is None else float(shapely.area(shapely.transform(g, _to_equal_area)))
        for g in geoms
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
def test_batch_areas_equal_the_plain_areas_bit_for_bit(geoms: list[Any]) -> None:
    got = geodesic_areas_m2(geoms).tolist() if geoms else []
    want = _plain_areas(geoms)
    assert [v.hex() for v in got] == [v.hex() for v in want]
    assert [geodesic_area_m2(g) for g in geoms] == want


def test_batch_areas_of_rings_of_every_length_and_degenerate_rings() -> None:
    rings = [
        shapely.polygons([(35 + 0.001 * i, 51 + 0.0007 * (i % 3)) for i in range(k)] + [(35, 51)])
        for k in range(3, 30)
    ]
    flat = shapely.polygons([(35, 51), (35.001, 51), (35.002, 51), (35, 51)])  # zero area
    geoms = [*rings, flat, None, *reversed(rings)]
    assert [v.hex() for v in geodesic_areas_m2(geoms).tolist()] == [
        v.hex() for v in _plain_areas(geoms)
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(_point, max_size=8))
def test_points_with_their_xy_equal_shape(points: list[Any]) -> None:
    geoms, xs, ys = points_xy_fast(points)
    assert [shapely.to_wkb(g) for g in geoms] == [shapely.to_wkb(shape(o)) for o in points]
    assert xs == [shape(o).x for o in points] and ys == [shape(o).y for o in points]
    assert bounds_list(geoms) == [list(shape(o).bounds) for o in points]
