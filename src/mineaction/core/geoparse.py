"""Geo answers as field tools write them: ODK/Kobo strings, GeoJSON, WKT, MGRS, Gauss-Kruger.

Everything here is pure: text in, GeoJSON (WGS84 longitude/latitude) out, or a
:class:`~mineaction.errors.GeometryError` saying what was wrong. ODK/Kobo geo strings put the
**latitude first** (``"lat lon altitude accuracy"``, points separated by ``;``); GeoJSON puts the
longitude first. Accuracy (metres) is kept apart, as QA information.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from mineaction.errors import GeometryError, UnsafeCoordinateError

GeoKind = Literal["geopoint", "geotrace", "geoshape"]
GEO_KINDS: tuple[str, ...] = ("geopoint", "geotrace", "geoshape")

#: Longest geo answer accepted (characters) and most vertices (ODK forms never come close).
MAX_GEO_TEXT = 1_000_000
MAX_POINTS = 20_000

#: Largest magnitude of any coordinate in any CRS on Earth is ~6.1e7 (Gauss-Kruger eastings with
#: the zone prefix); beyond this a value is corrupt or hostile and the whole file is refused.
ABSURD_COORDINATE = 1e8
_NOT_FINITE = {"nan", "inf", "infinity"}

_SEP = re.compile(r";\s*")
_NUM = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass
class GeoAnswer:
    """A parsed geo answer: GeoJSON geometry (lon/lat[/alt]) and per-vertex accuracy in metres."""

    geometry: dict[str, Any]
    accuracies: list[float | None] = field(default_factory=list)

    @property
    def worst_accuracy(self) -> float | None:
        """Return the largest (worst) accuracy reported for any vertex, if any.

        >>> parse_odk_geo("50 36 0 4;50.1 36 0 12", "geotrace").worst_accuracy
        12.0
        """
        vals = [a for a in self.accuracies if a is not None]
        return max(vals) if vals else None


def check_sane(value: float, what: str, where: str) -> float:
    """Raise :class:`UnsafeCoordinateError` for NaN, infinity or an absurd magnitude.

    >>> check_sane(35.2, "longitude", "p")
    35.2
    >>> check_sane(1e300, "longitude", "p")
    Traceback (most recent call last):
    ...
    mineaction.errors.UnsafeCoordinateError: p: longitude 1e+300 is absurdly large ...
    """
    if not math.isfinite(value):
        raise UnsafeCoordinateError(
            f"{what} {value!r} is not a finite number (NaN or infinity): a corrupted or hostile "
            "file; nothing was imported",
            where=where,
        )
    if abs(value) > ABSURD_COORDINATE:
        raise UnsafeCoordinateError(
            f"{what} {value:.6g} is absurdly large (beyond {ABSURD_COORDINATE:.0e} in any CRS): "
            "a corrupted or hostile file; nothing was imported",
            where=where,
        )
    return value


def _number(text: str, what: str, where: str) -> float:
    if text.strip().lower().lstrip("+-") in _NOT_FINITE:
        check_sane(float(text), what, where)
    if not _NUM.match(text):
        raise GeometryError(f"{what} {text[:40]!r} is not a number", where=where)
    return check_sane(float(text), what, where)


def _odk_point(text: str, where: str) -> tuple[list[float], float | None]:
    parts = text.split()
    if len(parts) < 2 or len(parts) > 4:
        raise GeometryError(
            f"point {text[:60]!r} must be 'latitude longitude [altitude [accuracy]]'", where=where
        )
    lat = _number(parts[0], "latitude", where)
    lon = _number(parts[1], "longitude", where)
    if abs(lat) > 90 or abs(lon) > 180:
        raise GeometryError(
            f"point {text[:60]!r} is out of range (|latitude| <= 90, |longitude| <= 180; "
            "ODK order is latitude first)",
            where=where,
        )
    coords = [lon, lat]
    if len(parts) >= 3:
        alt = _number(parts[2], "altitude", where)
        if abs(alt) > 100_000:
            raise GeometryError(f"altitude {alt} m is implausible", where=where)
        coords.append(alt)
    acc = _number(parts[3], "accuracy", where) if len(parts) == 4 else None
    if acc is not None and acc < 0:
        raise GeometryError(f"accuracy {acc} is negative", where=where)
    return coords, acc


def parse_odk_geo(text: str, kind: str, *, where: str = "geo") -> GeoAnswer:
    """Parse an ODK/Kobo geopoint, geotrace or geoshape string into GeoJSON (lon, lat order).

    Follows ODK Central's reading: points split on ``;`` (optionally followed by spaces), a
    trailing ``;`` is ignored, and an unclosed geoshape (older clients) is closed.

    >>> parse_odk_geo("-1.2625482 36.7924794 0.0 21.0", "geopoint").geometry
    {'type': 'Point', 'coordinates': [36.7924794, -1.2625482, 0.0]}
    >>> parse_odk_geo("1.1 2.2 3.3 4.4;5.5 6.6 7.7 8.8;", "geotrace").geometry["coordinates"]
    [[2.2, 1.1, 3.3], [6.6, 5.5, 7.7]]
    >>> parse_odk_geo("11.1 22.2;33.3 44.4;55.5 66.6;11.1 22.2;", "geoshape").geometry
    {'type': 'Polygon', 'coordinates': [[[22.2, 11.1], [44.4, 33.3], [66.6, 55.5], [22.2, 11.1]]]}
    >>> parse_odk_geo("91 0", "geopoint")
    Traceback (most recent call last):
    ...
    mineaction.errors.GeometryError: geo: point '91 0' is out of range ...
    """
    if kind not in GEO_KINDS:
        raise GeometryError(f"unknown geo type {kind!r}; expected one of {GEO_KINDS}", where=where)
    if not isinstance(text, str):
        raise GeometryError(f"a {kind} must be text, got {type(text).__name__}", where=where)
    if len(text) > MAX_GEO_TEXT:
        raise GeometryError(f"{kind} answer is longer than {MAX_GEO_TEXT} characters", where=where)
    chunks = [c.strip() for c in _SEP.split(text.strip())]
    chunks = [c for c in chunks if c]
    if not chunks:
        raise GeometryError(f"{kind} answer is empty", where=where)
    if len(chunks) > MAX_POINTS:
        raise GeometryError(f"{kind} has more than {MAX_POINTS} points", where=where)
    points: list[list[float]] = []
    accs: list[float | None] = []
    for i, chunk in enumerate(chunks):
        coords, acc = _odk_point(chunk, f"{where}, point {i + 1}" if len(chunks) > 1 else where)
        points.append(coords)
        accs.append(acc)
    if kind == "geopoint":
        if len(points) != 1:
            raise GeometryError(f"a geopoint has one point, got {len(points)}", where=where)
        return GeoAnswer({"type": "Point", "coordinates": points[0]}, accs)
    if kind == "geotrace":
        if len(points) < 2:
            raise GeometryError("a geotrace needs at least 2 points", where=where)
        return GeoAnswer({"type": "LineString", "coordinates": points}, accs)
    if points[0][:2] != points[-1][:2]:
        points.append(list(points[0]))
        accs.append(accs[0])
    if len({tuple(p[:2]) for p in points}) < 3:
        raise GeometryError(
            "a geoshape needs at least 3 distinct points (4 with the closing point)", where=where
        )
    return GeoAnswer({"type": "Polygon", "coordinates": [points]}, accs)


_WKT = re.compile(r"^\s*(POINT|LINESTRING|POLYGON)\s*(Z\s*)?\(", re.IGNORECASE)


def _wkt(text: str, kind: str, where: str) -> GeoAnswer:
    import shapely
    from shapely.geometry import mapping

    try:
        geom = shapely.from_wkt(text)
    except Exception as exc:  # shapely raises GEOSException with a long message
        raise GeometryError(f"malformed WKT: {str(exc)[:120]}", where=where) from None
    gj = _check_geojson(dict(mapping(geom)), kind, where)
    return GeoAnswer(gj, [])


_EXPECTED = {"geopoint": "Point", "geotrace": "LineString", "geoshape": "Polygon"}


def _walk(coords: Any, depth: int, where: str) -> list[Any]:
    if depth == 0:
        if not isinstance(coords, list | tuple) or not 2 <= len(coords) <= 4:
            raise GeometryError("a position must be [longitude, latitude(, altitude)]", where=where)
        out = []
        for v in coords:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise GeometryError(f"coordinate {v!r} is not a number", where=where)
            out.append(check_sane(float(v), "coordinate", where))
        if abs(out[0]) > 180 or abs(out[1]) > 90:
            raise GeometryError(
                f"position {out[:2]} is out of range (GeoJSON order is [longitude, latitude])",
                where=where,
            )
        return out[:3]
    if not isinstance(coords, list | tuple):
        raise GeometryError("malformed GeoJSON coordinates", where=where)
    if len(coords) > MAX_POINTS:
        raise GeometryError(f"more than {MAX_POINTS} positions", where=where)
    return [_walk(c, depth - 1, where) for c in coords]


def _check_geojson(obj: dict[str, Any], kind: str | None, where: str) -> dict[str, Any]:
    gtype = obj.get("type")
    depth = {"Point": 0, "LineString": 1, "Polygon": 2, "MultiPolygon": 3}.get(str(gtype))
    if depth is None:
        raise GeometryError(f"unsupported GeoJSON type {str(gtype)[:40]!r}", where=where)
    if (
        kind is not None
        and gtype != _EXPECTED[kind]
        and not (kind == "geoshape" and gtype == "MultiPolygon")
    ):
        raise GeometryError(f"a {kind} must be a {_EXPECTED[kind]}, got {gtype}", where=where)
    coords = _walk(obj.get("coordinates"), depth, where)
    if gtype == "LineString" and len(coords) < 2:
        raise GeometryError("a line needs at least 2 positions", where=where)
    if gtype in ("Polygon", "MultiPolygon"):
        polys = [coords] if gtype == "Polygon" else coords
        for poly in polys:
            if not poly:
                raise GeometryError("polygon has no rings", where=where)
            for ring in poly:
                if len(ring) < 4 or ring[0][:2] != ring[-1][:2]:
                    raise GeometryError(
                        "a polygon ring needs at least 4 positions, the last equal to the first",
                        where=where,
                    )
    return {"type": gtype, "coordinates": coords}


def parse_geo_answer(value: Any, kind: str, *, where: str = "geo") -> GeoAnswer:
    """Parse a geo answer in any encoding we meet: ODK string, GeoJSON object or text, or WKT.

    ODK Central's OData gives GeoJSON (accuracy in ``properties``), ``$wkt=true`` gives WKT,
    Kobo and the CSV exports give the raw ODK string.

    >>> parse_geo_answer({"type": "Point", "coordinates": [36.8, -1.3, 5],
    ...                   "properties": {"accuracy": 4.5}}, "geopoint").accuracies
    [4.5]
    >>> parse_geo_answer("POINT (15.16 4.8 23.42)", "geopoint").geometry["coordinates"]
    [15.16, 4.8, 23.42]
    """
    if isinstance(value, dict):
        gj = _check_geojson(value, kind, where)
        props = value.get("properties") or {}
        accs: list[float | None] = []
        if isinstance(props, dict):
            if isinstance(props.get("accuracy"), int | float):
                accs = [float(props["accuracy"])]
            elif isinstance(props.get("accuracies"), list):
                accs = [
                    float(a) if isinstance(a, int | float) else None for a in props["accuracies"]
                ]
        return GeoAnswer(gj, accs)
    if not isinstance(value, str):
        raise GeometryError(f"a {kind} answer must be text or GeoJSON", where=where)
    text = value.strip()
    if text.startswith("{"):
        import orjson

        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise GeometryError("malformed GeoJSON text", where=where) from None
        if not isinstance(obj, dict):
            raise GeometryError("malformed GeoJSON text", where=where)
        return parse_geo_answer(obj, kind, where=where)
    if _WKT.match(text):
        return _wkt(text, kind, where)
    return parse_odk_geo(text, kind, where=where)


# --- grid references: MGRS and Gauss-Kruger ---------------------------------------------------

_MGRS = re.compile(r"^\s*(\d{1,2})\s*([C-HJ-NP-X])\s*([A-HJ-NP-Z]{2})\s*(\d+)\s*(\d*)\s*$", re.I)


def parse_mgrs(text: str, *, where: str = "mgrs") -> tuple[float, float]:
    """Return ``(longitude, latitude)`` of an MGRS grid reference (any precision, spaces allowed).

    >>> lon, lat = parse_mgrs("37U DB 12345 67890")
    >>> round(lon, 4), round(lat, 4)
    (37.6071, 55.649)
    >>> parse_mgrs("99Z AA 1 2")
    Traceback (most recent call last):
    ...
    mineaction.errors.GeometryError: mgrs: '99Z AA 1 2' is not an MGRS reference ...
    """
    import mgrs

    m = _MGRS.match(text or "") if isinstance(text, str) else None
    bad = GeometryError(
        f"{str(text)[:40]!r} is not an MGRS reference (e.g. '37U DB 12345 67890')", where=where
    )
    if not m:
        raise bad
    zone, band, square, east, north = m.groups()
    digits = east + north
    if not north:
        if len(east) % 2:
            raise bad
    elif len(east) != len(north):
        raise bad
    if not 1 <= int(zone) <= 60 or len(digits) > 10:
        raise bad
    ref = f"{int(zone):02d}{band.upper()}{square.upper()}{digits}"
    try:
        lat, lon = mgrs.MGRS().toLatLon(ref)
    except Exception:  # the C library raises MGRSError or ValueError
        raise bad from None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise bad
    return float(lon), float(lat)


#: Pulkovo 1942 / Gauss-Kruger zones 4..32 (6° zones, zone number prefixed to the easting).
PULKOVO_1942_GK_FIRST_EPSG = 28400
#: Ukraine's USK-2000 / Gauss-Kruger 6° zones 4..7 are EPSG:5562..5565 (for reference).
GK_ZONES = range(4, 33)


def gauss_kruger_crs(zone: int, *, datum: str = "pulkovo1942") -> str:
    """Return the EPSG code of a Gauss-Kruger 6° zone (``pulkovo1942`` or ``usk2000``).

    >>> gauss_kruger_crs(7)
    'EPSG:28407'
    >>> gauss_kruger_crs(6, datum="usk2000")
    'EPSG:5564'
    """
    if datum == "pulkovo1942":
        if zone not in GK_ZONES:
            raise GeometryError(f"Pulkovo 1942 Gauss-Kruger zone {zone} does not exist (4..32)")
        return f"EPSG:{PULKOVO_1942_GK_FIRST_EPSG + zone}"
    if datum == "usk2000":
        if zone not in range(4, 8):
            raise GeometryError(f"USK-2000 Gauss-Kruger zone {zone} does not exist (4..7)")
        return f"EPSG:{5558 + zone}"
    raise GeometryError(f"unknown Gauss-Kruger datum {datum!r}: use pulkovo1942 or usk2000")


@lru_cache(maxsize=64)
def _to_wgs84(crs: str) -> Transformer:
    try:
        src = CRS.from_user_input(crs)
    except CRSError as exc:
        raise GeometryError(f"unknown CRS {crs!r}: give an EPSG code such as EPSG:28407") from exc
    return Transformer.from_crs(src, CRS.from_epsg(4326), always_xy=True)


def parse_gauss_kruger(
    x: float, y: float, *, zone: int | None = None, datum: str = "pulkovo1942", where: str = "gk"
) -> tuple[float, float]:
    """Return ``(longitude, latitude)`` of Soviet-style rectangular coordinates.

    ``x`` is the northing and ``y`` the easting in metres, as printed on Soviet/Russian/Ukrainian
    military maps; ``y`` carries the zone number in front (``7 412 345`` is zone 7), so the zone
    can be left out.

    >>> lon, lat = parse_gauss_kruger(5_712_345, 7_412_345)
    >>> round(lon, 3), round(lat, 3)
    (37.735, 51.534)
    """
    for v in (x, y):
        if not isinstance(v, int | float):
            raise GeometryError(f"coordinate {v!r} is not a number", where=where)
        check_sane(float(v), "coordinate", where)
    if zone is None:
        zone = int(y // 1_000_000)
    if not (0 < x < 10_000_000) or int(y // 1_000_000) != zone:
        raise GeometryError(
            f"X={x:.0f} Y={y:.0f} are not Gauss-Kruger zone {zone} coordinates (X is the northing, "
            "Y the easting with the zone number in front)",
            where=where,
        )
    lon, lat = _to_wgs84(gauss_kruger_crs(zone, datum=datum)).transform(y, x)
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise GeometryError("coordinates could not be transformed", where=where)
    return float(lon), float(lat)


def transform_xy(x: float, y: float, crs: str, *, where: str = "xy") -> tuple[float, float]:
    """Return ``(longitude, latitude)`` of a point given as x (easting) / y (northing) in ``crs``.

    >>> lon, lat = transform_xy(500000, 5540000, "EPSG:32637")
    >>> round(lon, 3), round(lat, 3)
    (39.0, 50.012)
    """
    for v in (x, y):
        if not isinstance(v, int | float):
            raise GeometryError(f"coordinate {v!r} is not a number", where=where)
        check_sane(float(v), "coordinate", where)
    lon, lat = _to_wgs84(crs).transform(x, y)
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lon) > 180 or abs(lat) > 90:
        raise GeometryError(
            f"({x}, {y}) in {crs} does not give a position on Earth: check the CRS", where=where
        )
    return float(lon), float(lat)


_LATLON = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*[,;\s]\s*([+-]?\d+(?:\.\d+)?)\s*$")
_GK = re.compile(
    r"^\s*X\s*[=:]?\s*([\d ]{5,12}(?:\.\d+)?)\s*[,;]?\s*Y\s*[=:]?\s*([\d ]{5,12}(?:\.\d+)?)\s*$",
    re.I,
)


def parse_position(text: str, *, where: str = "position") -> tuple[float, float]:
    """Return ``(longitude, latitude)`` of a typed position: ``lat, lon``, MGRS or ``X=… Y=…``.

    >>> parse_position("51.5, 35.25")
    (35.25, 51.5)
    >>> [round(v, 3) for v in parse_position("X=5712345 Y=7412345")]
    [37.735, 51.534]
    """
    if not isinstance(text, str) or not text.strip():
        raise GeometryError("position is empty", where=where)
    if len(text) > 200:
        raise GeometryError("position text is too long", where=where)
    m = _LATLON.match(text)
    if m:
        lat = check_sane(float(m.group(1)), "latitude", where)
        lon = check_sane(float(m.group(2)), "longitude", where)
        if abs(lat) > 90 or abs(lon) > 180:
            raise GeometryError(f"{text!r} is out of range (latitude first)", where=where)
        return lon, lat
    m = _GK.match(text)
    if m:
        x = float(m.group(1).replace(" ", ""))
        y = float(m.group(2).replace(" ", ""))
        return parse_gauss_kruger(x, y, where=where)
    if _MGRS.match(text):
        return parse_mgrs(text, where=where)
    raise GeometryError(
        f"{text[:40]!r} is not a position: write 'latitude, longitude', an MGRS reference or "
        "Gauss-Kruger 'X=… Y=…'",
        where=where,
    )
