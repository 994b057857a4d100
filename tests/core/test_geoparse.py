"""Geo answer parsing: ODK/Kobo strings, GeoJSON, WKT, MGRS, Gauss-Kruger."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mineaction.core.geoparse import (
    gauss_kruger_crs,
    parse_gauss_kruger,
    parse_geo_answer,
    parse_mgrs,
    parse_odk_geo,
    parse_position,
    transform_xy,
)
from mineaction.errors import GeometryError, UnsafeCoordinateError, ValidationError


def test_central_unit_test_examples() -> None:
    # Expected outputs copied from ODK Central's own unit tests (lib/data/odata.js).
    line = parse_odk_geo("1.1 2.2 3.3 4.4;5.5 6.6 7.7 8.8;", "geotrace")
    assert line.geometry == {
        "type": "LineString",
        "coordinates": [[2.2, 1.1, 3.3], [6.6, 5.5, 7.7]],
    }
    assert line.accuracies == [4.4, 8.8]
    shape = parse_odk_geo("11.1 22.2;33.3 44.4;55.5 66.6;11.1 22.2;", "geoshape")
    assert shape.geometry == {
        "type": "Polygon",
        "coordinates": [[[22.2, 11.1], [44.4, 33.3], [66.6, 55.5], [22.2, 11.1]]],
    }
    assert parse_geo_answer("POINT (15.16 4.8 23.42)", "geopoint").geometry["coordinates"] == [
        15.16,
        4.8,
        23.42,
    ]


def test_separators_and_unclosed_shape() -> None:
    shape = parse_odk_geo("50 36 0 5; 50.01 36 0 5; 50.01 36.01 0 5", "geoshape")
    ring = shape.geometry["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 4
    assert parse_odk_geo("50 36", "geopoint").geometry == {
        "type": "Point",
        "coordinates": [36.0, 50.0],
    }


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("", "geopoint", "empty"),
        ("50", "geopoint", "latitude longitude"),
        ("nan 36", "geopoint", "not a finite number"),
        ("1e400 36", "geopoint", "not a finite number"),
        ("95 36", "geopoint", "out of range"),
        ("50 36;51 36", "geopoint", "one point"),
        ("50 36", "geotrace", "at least 2"),
        ("50 36;50.1 36;50 36", "geoshape", "3 distinct"),
        ("50 36 1e9", "geopoint", "altitude"),
    ],
)
def test_bad_odk_strings(text: str, kind: str, message: str) -> None:
    with pytest.raises(GeometryError, match=message):
        parse_odk_geo(text, kind, where="q")


def test_geojson_from_central_with_accuracy() -> None:
    ans = parse_geo_answer(
        {
            "type": "Polygon",
            "coordinates": [[[36, 50], [36.01, 50], [36.01, 50.01], [36, 50]]],
            "properties": {"accuracies": [3, 4, 5, 3]},
        },
        "geoshape",
    )
    assert ans.accuracies == [3.0, 4.0, 5.0, 3.0]
    with pytest.raises(GeometryError, match="must be a Polygon"):
        parse_geo_answer({"type": "Point", "coordinates": [36, 50]}, "geoshape")
    with pytest.raises(GeometryError, match="finite"):
        parse_geo_answer({"type": "Point", "coordinates": [float("nan"), 50]}, "geopoint")
    with pytest.raises(UnsafeCoordinateError, match="absurdly large"):
        parse_geo_answer({"type": "Point", "coordinates": [1e300, 50]}, "geopoint")
    with pytest.raises(GeometryError, match="out of range"):
        parse_geo_answer({"type": "Point", "coordinates": [200.5, 50]}, "geopoint")


def test_mgrs() -> None:
    lon, lat = parse_mgrs("37UDB1234567890")
    assert math.isclose(lat, 55.64896, abs_tol=1e-4) and math.isclose(lon, 37.60710, abs_tol=1e-4)
    assert parse_mgrs("37U DB 1234 6789") == pytest.approx(parse_mgrs("37UDB12346789"))
    for bad in ("37UDB123", "61UDB1234567890", "hello", "37UDB12345678901234"):
        with pytest.raises(GeometryError):
            parse_mgrs(bad)


def test_gauss_kruger_zones() -> None:
    assert gauss_kruger_crs(4) == "EPSG:28404" and gauss_kruger_crs(32) == "EPSG:28432"
    with pytest.raises(GeometryError):
        gauss_kruger_crs(3)
    # Zone 7 (central meridian 39°E): the easting 7 500 000 lies on the central meridian.
    lon, lat = parse_gauss_kruger(5_600_000, 7_500_000)
    assert math.isclose(lon, 39.0, abs_tol=0.002) and 50 < lat < 51
    # A zone given explicitly must match the easting's prefix.
    with pytest.raises(GeometryError, match="zone 8"):
        parse_gauss_kruger(5_600_000, 7_500_000, zone=8)
    # Pulkovo 1942 differs from WGS84 by ~100 m here: the datum shift is applied.
    lon2, lat2 = transform_xy(7_500_000, 5_600_000, "EPSG:28407")
    assert (lon, lat) == pytest.approx((lon2, lat2))


def test_positions() -> None:
    assert parse_position("50.5 36.25") == (36.25, 50.5)
    assert parse_position("X = 5 600 000, Y = 7 500 000")[0] == pytest.approx(39.0, abs=0.002)
    assert parse_position("37U DB 12345 67890")[1] == pytest.approx(55.649, abs=1e-3)
    with pytest.raises(GeometryError):
        parse_position("somewhere near the river")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.sampled_from(["geopoint", "geotrace", "geoshape", "bogus"]))
def test_random_text_never_crashes(text: str, kind: str) -> None:
    for fn in (
        lambda: parse_odk_geo(text, kind),
        lambda: parse_geo_answer(text, kind),
        lambda: parse_position(text),
        lambda: parse_mgrs(text),
    ):
        try:
            fn()
        except ValidationError as exc:
            assert str(exc)


_num = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["Point", "LineString", "Polygon", "MultiPolygon", "Circle", None]),
    st.recursive(st.lists(_num, max_size=4), lambda c: st.lists(c, max_size=5), max_leaves=30),
    st.sampled_from(["geopoint", "geotrace", "geoshape"]),
)
def test_random_geojson_never_crashes(gtype: str | None, coords: object, kind: str) -> None:
    try:
        ans = parse_geo_answer({"type": gtype, "coordinates": coords}, kind)
    except ValidationError as exc:
        assert str(exc)
    else:
        assert ans.geometry["type"] in ("Point", "LineString", "Polygon", "MultiPolygon")


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.floats(), st.integers(-(10**12), 10**12)),
    st.one_of(st.floats(), st.integers(-(10**12), 10**12)),
    st.sampled_from(["EPSG:28407", "EPSG:32637", "EPSG:4326", "EPSG:3857"]),
)
def test_random_xy_never_crashes(x: float, y: float, crs: str) -> None:
    for fn in (lambda: transform_xy(x, y, crs), lambda: parse_gauss_kruger(x, y)):
        try:
            lon, lat = fn()
        except ValidationError as exc:
            assert str(exc)
        else:
            assert math.isfinite(lon) and math.isfinite(lat)
