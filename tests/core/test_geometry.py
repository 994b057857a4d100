"""Geometry entry checks: clear errors naming the problem, CRS handling, geodesic areas."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon, box

from mineaction.core.geometry import (
    BBox,
    approx_area_m2,
    check_point,
    check_polygon,
    from_geojson,
    geodesic_area_m2,
    geodesic_area_m2_geod,
    normalise_crs,
    to_wgs84,
)
from mineaction.errors import GeometryError

KURSK = BBox(34.0, 50.8, 38.6, 52.5)


def test_valid_polygon_passes_without_warnings() -> None:
    assert check_polygon(box(35.2, 51.1, 35.21, 51.11), programme_area=KURSK).warnings == []


def test_self_intersecting_ring_is_rejected_with_repaired_geometry_offered() -> None:
    bowtie = Polygon([(35, 51), (35.01, 51.01), (35.01, 51), (35, 51.01)])
    with pytest.raises(GeometryError) as err:
        check_polygon(bowtie, where="hazard.polygon")
    assert "not valid" in str(err.value) and "Self-intersection" in str(err.value)
    assert err.value.where == "hazard.polygon"
    repaired = err.value.details["repaired"]
    assert repaired["type"] in ("MultiPolygon", "Polygon")
    assert geodesic_area_m2(from_geojson(repaired)) > 0


def test_too_few_vertices() -> None:
    sliver = Polygon([(35, 51), (35.01, 51), (35, 51), (35.01, 51)])
    with pytest.raises(GeometryError, match="distinct vertices"):
        check_polygon(sliver)


def test_swapped_latitude_longitude_is_detected() -> None:
    swapped = box(51.1, 35.2, 51.11, 35.21)
    with pytest.raises(GeometryError, match="swapped"):
        check_polygon(swapped, programme_area=KURSK)
    with pytest.raises(GeometryError, match="swapped"):
        check_point(Point(51.5, 35.5), programme_area=KURSK)


def test_outside_programme_area() -> None:
    with pytest.raises(GeometryError, match="outside the programme area"):
        check_polygon(box(10, 10, 10.01, 10.01), programme_area=KURSK)


def test_projected_metres_without_crs_are_out_of_range() -> None:
    with pytest.raises(GeometryError, match="out of range"):
        check_polygon(box(500000, 5650000, 500100, 5650100))


def test_implausible_vertex_spacing() -> None:
    long_edge = Polygon([(35, 51), (36, 51), (36, 51.001), (35, 51.001)])
    with pytest.raises(GeometryError, match="km apart"):
        check_polygon(long_edge)
    medium = Polygon([(35, 51), (35.1, 51), (35.1, 51.001), (35, 51.001)])
    assert any("km apart" in w for w in check_polygon(medium).warnings)


def test_nan_coordinates_rejected() -> None:
    with pytest.raises(GeometryError, match="NaN"):
        from_geojson({"type": "Point", "coordinates": [float("nan"), 51.0]})


def test_malformed_geojson_rejected() -> None:
    with pytest.raises(GeometryError, match="malformed|GeoJSON"):
        from_geojson({"type": "Polygon", "coordinates": [[1, 2]]})
    with pytest.raises(GeometryError):
        from_geojson("POLYGON((0 0, 1 1))")


def test_utm_input_is_transformed_and_area_preserved() -> None:
    # 100 m x 100 m square in UTM 36N near Sudzha
    sq = box(600000, 5670000, 600100, 5670100)
    ll = to_wgs84(sq, "EPSG:32636")
    assert KURSK.contains(ll)
    # UTM scale factor near the zone edge distorts areas slightly (< 0.2 %)
    assert abs(geodesic_area_m2(ll) - 10_000) < 20


def test_pulkovo_gauss_kruger_zone_transformed() -> None:
    # Pulkovo 1942 / Gauss-Kruger zone 6 (EPSG:28406): central meridian 33 E, false easting
    # 6,500,000 m; the central meridian point at 5,650 km north lies near 51 N.
    pt = to_wgs84(Point(6_500_000, 5_650_000), "EPSG:28406")
    assert 32.99 < pt.x < 33.01 and 50.9 < pt.y < 51.1


def test_unknown_crs_message() -> None:
    with pytest.raises(GeometryError, match="unknown coordinate reference system"):
        normalise_crs("EPSG:99999999")


def test_multipolygon_area_is_sum_of_parts() -> None:
    a, b = box(35, 51, 35.001, 51.001), box(35.002, 51, 35.003, 51.001)
    assert abs(geodesic_area_m2(MultiPolygon([a, b])) - 2 * geodesic_area_m2(a)) < 1.0


def test_hole_is_subtracted() -> None:
    outer = box(35, 51, 35.002, 51.002)
    hole = box(35.0005, 51.0005, 35.0015, 51.0015)
    with_hole = Polygon(outer.exterior.coords, [hole.exterior.coords])
    expected = geodesic_area_m2(outer) - geodesic_area_m2(hole)
    assert abs(geodesic_area_m2(with_hole) - expected) < 0.01


@settings(max_examples=100, deadline=None)
@given(
    lon=st.floats(34.0, 38.0),
    lat=st.floats(50.9, 52.4),
    w=st.floats(1e-4, 0.2),
    h=st.floats(1e-4, 0.2),
    n=st.integers(3, 12),
)
def test_equal_area_measure_agrees_with_geodesic_reference(
    lon: float, lat: float, w: float, h: float, n: int
) -> None:
    # an irregular convex polygon up to ~14 x 22 km
    import math

    ring = [
        (
            lon + w * (0.5 + 0.5 * math.cos(2 * math.pi * k / n)),
            lat + h * (0.5 + 0.5 * math.sin(2 * math.pi * k / n)),
        )
        for k in range(n)
    ]
    poly = Polygon(ring)
    ref = geodesic_area_m2_geod(poly)
    assert abs(geodesic_area_m2(poly) - ref) <= 1e-6 * ref
    assert abs(approx_area_m2(poly) - ref) <= 1e-4 * ref
