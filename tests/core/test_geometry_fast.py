"""The fast GeoJSON builders of the recompute give exactly the geometries ``shape`` gives."""

from __future__ import annotations

from typing import Any

import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import shape

from mineaction.core.geometry import points_fast, shapes_fast

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
