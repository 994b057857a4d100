"""Geometry rules: geodesic areas in m², CRS handling and entry checks for polygons and points.

All stored geometry is WGS84 longitude/latitude (EPSG:4326, x = longitude). Areas and distances
are computed on the WGS84 ellipsoid with :class:`pyproj.Geod`, never in degrees.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import MultiPolygon, Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from mineaction.errors import GeometryError

WGS84 = "EPSG:4326"
_GEOD = Geod(ellps="WGS84")

#: Consecutive vertices further apart than this are flagged (GICHD geocheck uses 5 km).
VERTEX_SPACING_WARN_M = 5_000.0
#: Consecutive vertices further apart than this are rejected as implausible.
VERTEX_SPACING_MAX_M = 50_000.0


@dataclass(frozen=True)
class BBox:
    """A longitude/latitude rectangle, e.g. the programme's area of operations."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def contains(self, geom: BaseGeometry) -> bool:
        """Return True if the geometry's bounds lie inside the box.

        >>> BBox(0, 0, 10, 10).contains(Point(5, 5))
        True
        """
        x0, y0, x1, y1 = geom.bounds
        return (
            x0 >= self.min_lon and x1 <= self.max_lon and y0 >= self.min_lat and y1 <= self.max_lat
        )

    def as_list(self) -> list[float]:
        """Return ``[min_lon, min_lat, max_lon, max_lat]``."""
        return [self.min_lon, self.min_lat, self.max_lon, self.max_lat]

    @classmethod
    def parse(cls, text: str) -> BBox:
        """Parse ``"min_lon,min_lat,max_lon,max_lat"``.

        >>> BBox.parse("34,50.8,38.6,52.5").max_lat
        52.5
        """
        try:
            a, b, c, d = (float(v) for v in text.split(","))
        except ValueError as exc:
            raise GeometryError(
                f"bbox {text!r} must be four numbers: min_lon,min_lat,max_lon,max_lat"
            ) from exc
        if not (a < c and b < d):
            raise GeometryError(f"bbox {text!r} has min >= max")
        return cls(a, b, c, d)


# WGS84 ellipsoid constants for the cylindrical equal-area mapping used to measure areas.
_A = 6378137.0
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)
_E = math.sqrt(_E2)
_K2 = (_A * math.pi / 180) ** 2


def geodesic_areas_m2(geoms: Any) -> np.ndarray:
    """Return the areas in m² of an array of lon/lat geometries on the WGS84 ellipsoid.

    Edges are straight in longitude/latitude, as GEOS overlays (and PostGIS ``geometry``, QGIS)
    cut them; the area is that region's exact area on the ellipsoid: each edge's integral in
    the ellipsoid's cylindrical equal-area plane, where such an edge is a curve (the plane's
    trapezoid plus its curvature term, :func:`_ring_signed_areas`). So the pieces an overlay
    cuts out of a polygon add up to the polygon's area (to ~1e-12), at any size. Holes are
    subtracted; points, lines and ``None`` count as 0.

    >>> from shapely.geometry import box
    >>> [round(a) for a in geodesic_areas_m2([box(30, 50, 30.001, 50.001), None])]
    [7975, 0]
    """
    arr = np.asarray(geoms, dtype=object)
    out = np.zeros(arr.shape, dtype=float)
    flat = arr.reshape(-1)
    present = np.flatnonzero(~shapely.is_missing(flat))
    if not len(present):
        return out
    parts, owner = flat[present], present
    while True:  # multi-part geometries and collections down to their single parts
        multi = shapely.get_type_id(parts) >= 4  # multi-part types and collections
        if not multi.any():
            break
        sub, idx = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], sub])
        owner = np.concatenate([owner[~multi], owner[multi][idx]])
    types = shapely.get_type_id(parts)
    holed = shapely.get_num_interior_rings(parts) > 0
    simple = (types == 3) & ~holed & ~shapely.is_empty(parts)
    part_m2 = np.zeros(len(parts), dtype=float)
    if simple.any():  # nearly all: the polygon's coordinates are its one ring's
        coords, ring_of = shapely.get_coordinates(parts[simple], return_index=True)
        part_m2[simple] = np.abs(_ring_signed_areas(coords, ring_of, int(simple.sum())))
    if holed.any():
        rings, ring_part = shapely.get_rings(parts[holed], return_index=True)
        coords, ring_of = shapely.get_coordinates(rings, return_index=True)
        ring_m2 = np.abs(_ring_signed_areas(coords, ring_of, len(rings)))
        exterior = np.empty(len(rings), dtype=bool)
        exterior[0] = True
        exterior[1:] = ring_part[1:] != ring_part[:-1]
        signed = np.where(exterior, ring_m2, -ring_m2)
        part_m2[holed] = np.bincount(ring_part, weights=signed, minlength=int(holed.sum()))
    out.reshape(-1)[:] += np.bincount(owner, weights=part_m2, minlength=flat.size)
    return out


_Y = (_A / 2) * (1 - _E2)  # y = a * q(lat) / 2 = _Y * q(lat) / (1 - e²)
_YPP = _A * (1 - _E2)


def _y_and_curvature(lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the equal-area plane's y (m) and d2y/dlat2 at latitudes in radians."""
    s = np.sin(lat)
    s2 = s * s
    d = 1 - _E2 * s2
    # q / (1 - e²) = s / d - ln((1 - e s) / (1 + e s)) / (2 e) = s / d + artanh(e s) / e
    y = _Y * (s / d + np.arctanh(_E * s) / _E)
    ypp = _YPP * s * ((4 * _E2) * (1 - s2) / d - 1) / (d * d)
    return y, ypp


_Ends = tuple[np.ndarray, np.ndarray]


def _edge_terms(lon: _Ends, lat: _Ends, y: _Ends, ypp: _Ends, y0: np.ndarray | float) -> np.ndarray:
    """Return each edge's ``-integral of y dx`` (lon, lat of its start then end vertices)."""
    dx = _A * np.radians(lon[1] - lon[0])
    dlat = lat[1] - lat[0]
    return dx * ((y[0] + y[1] - 2 * y0) / -2 + dlat * dlat * (ypp[0] + ypp[1]) / 24)


def _one_ring_signed_area(coords: np.ndarray) -> float:
    """Return :func:`_ring_signed_areas` of one closed ring (the same doubles)."""
    if len(coords) < 2:
        return 0.0
    lat = np.radians(coords[:, 1])
    y, ypp = _y_and_curvature(lat)
    lon = coords[:, 0]
    terms = _edge_terms(
        (lon[:-1], lon[1:]), (lat[:-1], lat[1:]), (y[:-1], y[1:]), (ypp[:-1], ypp[1:]), y[0]
    )
    return float(np.bincount(np.zeros(len(terms), dtype=np.intp), weights=terms, minlength=1)[0])


def _ring_signed_areas(coords: np.ndarray, ring_of: np.ndarray, n_rings: int) -> np.ndarray:
    """Return the signed areas (counter-clockwise > 0) of closed lon/lat rings, in m².

    In the equal-area plane (x = a*lon, y = a*q(lat)/2) a ring's area is ``-sum(integral of y
    dx)`` over its edges. Along an edge straight in lon/lat, ``y`` is a function of the
    latitude, which changes linearly, so each edge's integral is the plane's trapezoid
    ``dx * (y1 + y2) / 2`` minus ``dx * dlat**2 * y''/ 12`` (Euler-Maclaurin, ``y''`` averaged
    over the two ends; what is left is of order ``dlat**4``: below 1e-8 of the area for
    polygons 160 km across). The trapezoid alone (what GEOS computes on projected
    coordinates) is off by up to ~2e-5 of the area for a 1 km polygon with long oblique edges,
    and the pieces an overlay cuts out of a polygon do not add up to it.
    """
    lat = np.radians(coords[:, 1])
    y, ypp = _y_and_curvature(lat)
    edge = np.flatnonzero(ring_of[1:] == ring_of[:-1])  # edge i -> i + 1 (rings are closed)
    nxt = edge + 1
    first = np.zeros(n_rings, dtype=np.intp)
    np.cumsum(np.bincount(ring_of, minlength=n_rings)[:-1], out=first[1:])
    y0 = y[first[ring_of[edge]]]  # y from the ring's first vertex: fewer digits lost
    lon = coords[:, 0]
    terms = _edge_terms(
        (lon[edge], lon[nxt]), (lat[edge], lat[nxt]), (y[edge], y[nxt]), (ypp[edge], ypp[nxt]), y0
    )
    return np.bincount(ring_of[edge], weights=terms, minlength=n_rings)


def _ring_area(coords: Any) -> float:
    arr = np.asarray(coords, dtype=float)
    if len(arr) < 4:
        return 0.0
    area, _ = _GEOD.polygon_area_perimeter(arr[:, 0], arr[:, 1])
    return abs(float(area))


def geodesic_area_m2(geom: BaseGeometry | None) -> float:
    """Return the area of a lon/lat geometry in m² on the WGS84 ellipsoid.

    Holes are subtracted; points and lines have zero area. Edges are straight in lon/lat
    (see :func:`geodesic_areas_m2`); for field-sized polygons this is within ~1e-5 of pyproj's
    geodesic-edged area (:func:`geodesic_area_m2_geod`), closer for short or axis-parallel edges.

    >>> sq = Polygon([(30, 50), (30.001, 50), (30.001, 50.001), (30, 50.001)])
    >>> round(geodesic_area_m2(sq))
    7975
    >>> geodesic_area_m2(Point(30, 50))
    0.0
    """
    if geom is None or geom.is_empty:
        return 0.0
    # polygons and multipolygons (nearly every call): the same terms and sums as
    # geodesic_areas_m2 (rings, then parts, added in the same order), less overhead
    if isinstance(geom, Polygon):
        if not shapely.get_num_interior_rings(geom):
            return abs(_one_ring_signed_area(shapely.get_coordinates(geom)))
        rings = shapely.get_rings(geom)
        ring_part = [0] * len(rings)
    elif isinstance(geom, MultiPolygon):
        rings, index = shapely.get_rings(shapely.get_parts(geom), return_index=True)
        ring_part = index.tolist()
    else:
        return float(geodesic_areas_m2([geom])[0])
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    ring_m2 = np.abs(_ring_signed_areas(coords, ring_of, len(rings))).tolist()
    total, part = 0.0, 0.0
    for k, m2 in enumerate(ring_m2):
        if k == 0 or ring_part[k] != ring_part[k - 1]:  # an exterior ring: a new part
            total, part = (total + part if k else total), m2
        else:  # a hole of the part
            part -= m2
    return total + part


def approx_area_m2(geom: BaseGeometry | None) -> float:
    """Return a fast area estimate in m² for a field-sized lon/lat polygon.

    Scales the planar area in degrees by the ellipsoid's equal-area factor at the centroid's
    latitude (error about 1e-8 relative at 1 km, 1e-5 at 20 km). Used for bounds and review
    notes; stored areas use :func:`geodesic_area_m2`.

    >>> from shapely.geometry import box
    >>> g = box(35, 51, 35.01, 51.01)
    >>> abs(approx_area_m2(g) - geodesic_area_m2(g)) < 1e-6 * geodesic_area_m2(g)
    True
    """
    if geom is None or geom.is_empty:
        return 0.0
    lat = math.radians(shapely.get_y(shapely.centroid(geom)))
    sin = math.sin(lat)
    factor = _K2 * (1 - _E2) * math.cos(lat) / (1 - _E2 * sin * sin) ** 2
    return float(shapely.area(geom)) * factor


def geodesic_area_m2_geod(geom: BaseGeometry | None) -> float:
    """Return the area in m² with geodesic edges (pyproj.Geod), the reference computation.

    >>> sq = Polygon([(30, 50), (30.001, 50), (30.001, 50.001), (30, 50.001)])
    >>> abs(geodesic_area_m2_geod(sq) - geodesic_area_m2(sq)) < 1e-3
    True
    """
    if geom is None or geom.is_empty:
        return 0.0
    if isinstance(geom, Polygon):
        return max(
            0.0,
            _ring_area(geom.exterior.coords) - sum(_ring_area(r.coords) for r in geom.interiors),
        )
    if hasattr(geom, "geoms"):
        return sum(geodesic_area_m2_geod(g) for g in geom.geoms)
    return 0.0


def shape_fast(obj: Any) -> BaseGeometry:
    """Build a shapely geometry from a trusted GeoJSON mapping (fast path for polygons).

    >>> shape_fast({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}).area
    0.5
    """
    kind = obj.get("type")
    coords = obj.get("coordinates")
    if kind == "Polygon" and len(coords) == 1:
        return shapely.polygons(np.asarray(coords[0], dtype=float))
    if kind == "MultiPolygon" and all(len(p) == 1 for p in coords):
        return shapely.multipolygons(
            [shapely.polygons(np.asarray(p[0], dtype=float)) for p in coords]
        )
    return shape(obj)


def shapes_fast(objs: list[Any]) -> list[BaseGeometry]:
    """Build many geometries from trusted GeoJSON mappings at once; same as :func:`shape_fast`.

    Single-ring polygons (nearly all field polygons) are built in one vectorised call.

    >>> sq = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    >>> [g.area for g in shapes_fast([sq, {"type": "Point", "coordinates": [1, 2]}])]
    [0.5, 0.0]
    """
    out: list[Any] = [None] * len(objs)
    simple = [
        i for i, o in enumerate(objs) if o.get("type") == "Polygon" and len(o["coordinates"]) == 1
    ]
    if simple:
        rings = [objs[i]["coordinates"][0] for i in simple]
        lens = np.fromiter(map(len, rings), dtype=np.intp, count=len(rings))
        coords = _xy_array(itertools.chain.from_iterable(rings), int(lens.sum()))
        if coords is not None and (lens >= 4).all():
            idx = np.repeat(np.arange(len(rings)), lens)
            polys = shapely.polygons(shapely.linearrings(coords, indices=idx))
            if len(simple) == len(objs):
                return list(polys)
            for i, g in zip(simple, polys, strict=True):
                out[i] = g
    for i, o in enumerate(objs):
        if out[i] is None:
            out[i] = shape_fast(o)
    return out


def _xy_array(points: Iterable[Any], n: int) -> np.ndarray | None:
    """Return ``n`` coordinate pairs as an (n, 2) float array, or None if one is not a pair.

    The same values as ``np.array(list(points), dtype=float)``, built flat (faster).

    >>> _xy_array([[1, 2], [3.5, 4]], 2).tolist(), _xy_array([[1, 2, 3]], 1), _xy_array([1], 1)
    ([[1.0, 2.0], [3.5, 4.0]], None, None)
    """
    pts = points if isinstance(points, list) else list(points)
    if len(pts) != n:
        return None
    try:
        if n and not (np.fromiter(map(len, pts), dtype=np.intp, count=n) == 2).all():
            return None
        flat = np.fromiter(itertools.chain.from_iterable(pts), dtype=float, count=2 * n)
    except (TypeError, ValueError):  # not sequences of numbers: the caller's slow path
        return None
    return flat.reshape(n, 2)


def points_fast(objs: list[Any]) -> list[BaseGeometry]:
    """Build many GeoJSON points at once (same geometries as ``shape``).

    >>> [p.wkt for p in points_fast([{"type": "Point", "coordinates": [1, 2]}])]
    ['POINT (1 2)']
    """
    if not objs:
        return []
    if all(o.get("type") == "Point" and len(o["coordinates"]) == 2 for o in objs):
        coords = [o["coordinates"] for o in objs]
        flat = np.fromiter(itertools.chain.from_iterable(coords), dtype=float, count=2 * len(objs))
        return list(shapely.points(flat.reshape(len(objs), 2)))
    plain = [
        i for i, o in enumerate(objs) if o.get("type") == "Point" and len(o["coordinates"]) == 2
    ]
    out: list[Any] = [None] * len(objs)
    if plain:
        built = shapely.points(np.array([objs[i]["coordinates"] for i in plain], dtype=float))
        for i, g in zip(plain, built, strict=True):
            out[i] = g
    return [shape(o) if g is None else g for o, g in zip(objs, out, strict=True)]


def points_xy_fast(objs: list[Any]) -> tuple[list[BaseGeometry], list[float], list[float]]:
    """Build many GeoJSON points at once (as :func:`points_fast`) with their x and y.

    >>> g, x, y = points_xy_fast([{"type": "Point", "coordinates": [1, 2.5]}])
    >>> [p.wkt for p in g], x, y
    (['POINT (1 2.5)'], [1.0], [2.5])
    """
    n = len(objs)
    if n and all(o.get("type") == "Point" and len(o["coordinates"]) == 2 for o in objs):
        flat = np.fromiter(
            itertools.chain.from_iterable([o["coordinates"] for o in objs]),
            dtype=float,
            count=2 * n,
        )
        # the points keep these doubles: their x/y are the same values
        return list(shapely.points(flat.reshape(n, 2))), flat[0::2].tolist(), flat[1::2].tolist()
    geoms = points_fast(objs)
    arr = np.asarray(geoms, dtype=object)
    return geoms, shapely.get_x(arr).tolist(), shapely.get_y(arr).tolist()


def approx_areas_m2(geoms: list[BaseGeometry]) -> list[float]:
    """Return :func:`approx_area_m2` of many geometries (GEOS calls vectorised, same values).

    >>> from shapely.geometry import box
    >>> g = box(35, 51, 35.01, 51.01)
    >>> approx_areas_m2([g]) == [approx_area_m2(g)]
    True
    """
    if not geoms:
        return []
    arr = np.asarray(geoms, dtype=object)
    empty = shapely.is_empty(arr)
    planar = shapely.area(arr)
    lats = shapely.get_y(shapely.centroid(arr))
    out = []
    for is_empty, area, lat_deg in zip(empty.tolist(), planar.tolist(), lats.tolist(), strict=True):
        if is_empty:
            out.append(0.0)
            continue
        lat = math.radians(lat_deg)
        sin = math.sin(lat)
        factor = _K2 * (1 - _E2) * math.cos(lat) / (1 - _E2 * sin * sin) ** 2
        out.append(area * factor)
    return out


def bounds_list(geoms: list[BaseGeometry]) -> list[list[float]]:
    """Return ``[minx, miny, maxx, maxy]`` of many geometries (one vectorised call; ``.bounds``).

    >>> from shapely.geometry import box
    >>> bounds_list([box(1, 2, 3, 4)]), bounds_list([])
    ([[1.0, 2.0, 3.0, 4.0]], [])
    """
    if not geoms:
        return []
    out: list[list[float]] = shapely.bounds(np.asarray(geoms, dtype=object)).tolist()
    return out


def geodesic_distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Return the geodesic distance in metres between two lon/lat points.

    >>> round(geodesic_distance_m((30, 50), (30, 51)))
    111239
    """
    _, _, dist = _GEOD.inv(a[0], a[1], b[0], b[1])
    return float(dist)


@lru_cache(maxsize=64)
def _transformer(crs: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(crs), CRS.from_epsg(4326), always_xy=True)


@lru_cache(maxsize=256)
def normalise_crs(crs: str | None) -> str:
    """Return a canonical ``AUTHORITY:CODE`` for a CRS name, URN or URL (default EPSG:4326).

    >>> normalise_crs("urn:ogc:def:crs:OGC:1.3:CRS84")
    'EPSG:4326'
    >>> normalise_crs("EPSG:32637")
    'EPSG:32637'
    """
    if crs is None or crs == "":
        return WGS84
    return _normalise_crs_text(str(crs).strip())


@lru_cache(maxsize=256)
def _normalise_crs_text(text: str) -> str:
    """Parse a CRS name once (pyproj parsing costs ~0.5 ms; bulk loads call this per geometry)."""
    if "CRS84" in text.upper():
        return WGS84
    try:
        parsed = CRS.from_user_input(text)
    except CRSError as exc:
        raise GeometryError(
            f"unknown coordinate reference system {text!r}: give an EPSG code such as EPSG:4326"
        ) from exc
    auth = parsed.to_authority()
    return f"{auth[0]}:{auth[1]}" if auth else parsed.to_wkt()


def to_wgs84(geom: BaseGeometry, crs: str | None) -> BaseGeometry:
    """Transform a geometry given in ``crs`` (x = easting/longitude) to WGS84 lon/lat.

    >>> g = to_wgs84(Point(500000, 5540000), "EPSG:32637")
    >>> round(g.x, 3), round(g.y, 3)
    (39.0, 50.012)
    """
    code = normalise_crs(crs)
    if code == WGS84:
        return geom
    tr = _transformer(code)

    def _apply(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, _apply)


def from_geojson(obj: Any, *, where: str = "geometry") -> BaseGeometry:
    """Build a 2D shapely geometry from a GeoJSON mapping, with a clear error if malformed.

    Altitudes (a third coordinate, as GPS and ODK give) are dropped: positions are stored in 2D.

    >>> from_geojson({"type": "Point", "coordinates": [35.1, 51.2]}).x
    35.1
    >>> from_geojson({"type": "Point", "coordinates": [35.1, 51.2, 180.0]}).has_z
    False
    """
    if not isinstance(obj, dict) or "type" not in obj:
        raise GeometryError("not a GeoJSON geometry (needs 'type' and 'coordinates')", where=where)
    try:
        geom = shape(obj)
    except Exception as exc:  # shapely raises several types for malformed input
        raise GeometryError(f"malformed {obj.get('type')} coordinates: {exc}", where=where) from exc
    if geom.has_z:
        geom = shapely.force_2d(geom)
    coords = shapely.get_coordinates(geom)
    if coords.size and not np.isfinite(coords).all():
        raise GeometryError("coordinates contain NaN or infinity", where=where)
    return geom


def to_geojson(geom: BaseGeometry | None) -> dict[str, Any] | None:
    """Return the GeoJSON mapping of a geometry (None for None or empty)."""
    if geom is None or geom.is_empty:
        return None
    return dict(mapping(geom))


def geojson_texts(geoms: Iterable[BaseGeometry | None]) -> list[str | None]:
    """Return each geometry as compact GeoJSON text (None for None), in one vectorised call.

    The text the OGC API serves for hazards; stored next to the geometry (``geom_geojson``).

    >>> geojson_texts([Point(35.25, 51.5), None])
    ['{"type":"Point","coordinates":[35.25,51.5]}', None]
    """
    out = shapely.to_geojson(np.asarray(list(geoms), dtype=object))
    return [None if t is None else str(t) for t in out]


@dataclass
class GeometryCheck:
    """The outcome of entry checks: the accepted geometry and any warnings."""

    geometry: BaseGeometry
    warnings: list[str]


def _check_lonlat(geom: BaseGeometry, where: str, programme_area: BBox | None) -> None:
    coords = shapely.get_coordinates(geom)
    if coords.size == 0:
        raise GeometryError("geometry is empty", where=where)
    xs, ys = coords[:, 0], coords[:, 1]
    if (np.abs(xs) > 180).any() or (np.abs(ys) > 90).any():
        raise GeometryError(
            "coordinates out of range for longitude/latitude (|lon| <= 180, |lat| <= 90); "
            "name the file's CRS if they are projected metres",
            where=where,
        )
    if programme_area is not None and not programme_area.contains(geom):
        swapped = shapely.transform(geom, lambda xy: xy[:, ::-1])
        if programme_area.contains(swapped):
            raise GeometryError(
                "latitude and longitude look swapped (the swapped geometry lies in the "
                "programme area); GeoJSON order is [longitude, latitude]",
                where=where,
            )
        x0, y0, x1, y1 = geom.bounds
        raise GeometryError(
            f"geometry (bounds {x0:.5f},{y0:.5f},{x1:.5f},{y1:.5f}) lies outside the programme "
            f"area {programme_area.as_list()}",
            where=where,
        )


def _polygons(geom: BaseGeometry) -> Iterable[Polygon]:
    if isinstance(geom, Polygon):
        yield geom
    elif isinstance(geom, MultiPolygon):
        yield from geom.geoms


def check_polygon(
    geom: BaseGeometry,
    *,
    where: str = "polygon",
    programme_area: BBox | None = None,
) -> GeometryCheck:
    """Check a lon/lat (Multi)Polygon on entry; raise :class:`GeometryError` or return warnings.

    Checks: type, finite coordinates in range, swapped latitude/longitude, programme area,
    at least 3 distinct vertices per ring, valid rings (an invalid polygon is rejected and the
    repaired geometry is offered in the error details, never repaired silently) and implausible
    vertex spacing.

    >>> ok = check_polygon(Polygon([(35, 51), (35.01, 51), (35.01, 51.01)]))
    >>> ok.warnings
    []
    >>> check_polygon(Polygon([(35, 51), (35.01, 51.01), (35.01, 51), (35, 51.01)]))
    Traceback (most recent call last):
    ...
    mineaction.errors.GeometryError: polygon: polygon is not valid (Self-intersection...
    """
    if not isinstance(geom, Polygon | MultiPolygon):
        raise GeometryError(
            f"expected a Polygon or MultiPolygon, got {geom.geom_type}", where=where
        )
    _check_lonlat(geom, where, programme_area)
    warnings: list[str] = []
    for i, poly in enumerate(_polygons(geom)):
        rings = [poly.exterior, *poly.interiors]
        for j, ring in enumerate(rings):
            distinct = {tuple(c) for c in ring.coords}
            if len(distinct) < 3:
                part = f"part {i + 1}, " if isinstance(geom, MultiPolygon) else ""
                kind = "outer ring" if j == 0 else f"hole {j}"
                raise GeometryError(
                    f"{part}{kind} has {len(distinct)} distinct vertices; a polygon needs at "
                    "least 3",
                    where=where,
                )
            arr = np.asarray(ring.coords)
            _, _, dists = _GEOD.inv(arr[:-1, 0], arr[:-1, 1], arr[1:, 0], arr[1:, 1])
            longest = float(np.max(dists)) if len(dists) else 0.0
            if longest > VERTEX_SPACING_MAX_M:
                raise GeometryError(
                    f"two consecutive vertices are {longest / 1000:.1f} km apart (limit "
                    f"{VERTEX_SPACING_MAX_M / 1000:.0f} km): check for a mistyped coordinate",
                    where=where,
                )
            if longest > VERTEX_SPACING_WARN_M:
                warnings.append(
                    f"{where}: two consecutive vertices are {longest / 1000:.1f} km apart "
                    f"(more than {VERTEX_SPACING_WARN_M / 1000:.0f} km)"
                )
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        repaired = shapely.make_valid(geom)
        repaired_polys = shapely.get_parts(repaired)
        polys = [p for p in repaired_polys if isinstance(p, Polygon | MultiPolygon)]
        offer = shapely.unary_union(polys) if polys else None
        raise GeometryError(
            f"polygon is not valid ({reason}); fix the ring or accept the repaired geometry "
            "offered in the details",
            where=where,
            details={"reason": reason, "repaired": to_geojson(offer)},
        )
    if geodesic_area_m2(geom) <= 0.0:
        raise GeometryError("polygon has zero area", where=where)
    return GeometryCheck(geometry=geom, warnings=warnings)


def check_point(
    geom: BaseGeometry, *, where: str = "point", programme_area: BBox | None = None
) -> Point:
    """Check a lon/lat Point on entry (range, swapped axes, programme area).

    >>> check_point(Point(35.2, 51.7)).y
    51.7
    """
    if not isinstance(geom, Point):
        raise GeometryError(f"expected a Point, got {geom.geom_type}", where=where)
    _check_lonlat(geom, where, programme_area)
    return geom


def plausible(value: float) -> bool:
    """Return True for a finite, non-negative number (an area or a quantity).

    >>> plausible(12.5), plausible(float("nan")), plausible(-1)
    (True, False, False)
    """
    return math.isfinite(value) and value >= 0
