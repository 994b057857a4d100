"""A small hand-made programme, built through ledger.submit/approve, for golden report tests.

Every figure in the reports can be worked out by hand from the rectangles below: areas are
computed independently with pyproj.Geod (see ``area``), not with mineaction's own geometry.

Hazards (all in 2025-2026, approved in this order):

- H1 DEM, UA5902 (admin 1 UA59), AP mines, SHA (verbal report), recorded 2025-11-10:
  RECT_H1 = lon 34.900..34.904, lat 50.500..50.502. NTS 2026-02-15 cancels the western half
  H1_CANCELLED (34.900..34.902); 2 team-days.
- H2 DEM, UA5902, AP + AT mines, CHA (minefield record), recorded 2026-01-05 (new in 2026):
  RECT_H2 = 34.950..34.952 x 50.500..50.502.
  TS (DEM, 2026-03-10) reduces H2_REDUCED = 34.950..34.952 x 50.5000..50.5005, 4 team-days.
  Clearance (DEM, 2026-04-20, "manual", 10 team-days) clears H2_MANUAL = 34.950..34.951 x
  50.5005..50.502, finding 3 AP mines PMN-2 destroyed in situ and 1 AT mine TM-62 destroyed
  centrally.
  Clearance (HAL, 2026-04-22, "mechanical", 2 team-days) clears H2_MECH = 34.951..34.952 x
  50.5005..50.501. Remaining: 34.951..34.952 x 50.501..50.502.
- H3 HAL, UA6304 (admin 1 UA63), cluster munitions, CHA (EO observed), recorded 2025-12-01:
  RECT_H3 = 35.100..35.103 x 50.600..50.603. BAC (HAL, 2026-05-05, 5 team-days) clears
  H3_CLEARED = 35.100..35.101 x 50.600..50.603, 7 submunitions PTAB-2.5M destroyed in situ.
- H5 DEM, UA5902, AP mines, SHA, recorded 2026-07-15 (after the first half of 2026):
  RECT_H5 = 34.980..34.981 x 50.510..50.511.

Other records: EO spot reports (2025-10-01: 1 AP mine PMN destroyed; 2026-02-01: 2 PMN-2 and
5 UXO destroyed, UA5902); accidents (2026-03-03 UA6304 submunition: woman 34 killed, boy 12
injured, man of unknown age injured; 2026-04-01 UA5902 AP mine demining accident: deminer man
29 injured); EORE (2026-02-10 UA5902: 10/8/12/15, 2 with disability; 2026-03-15 UA6304:
5/5/20/18; 2026-08-01 UA5902: 100/100/100/100); QA by NMAC (2026-04-25 on DEM: one minor
closed, one major open; 2026-05-10 on HAL: one critical open); a task T-1 on H2 (2026-04).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pyproj import Geod
from shapely.geometry import Point, box, mapping
from sqlalchemy import insert

from mineaction.services import ledger
from mineaction.store import schema as s
from mineaction.store.engine import Store

GEOD = Geod(ellps="WGS84")

RECT_H1 = (34.900, 50.500, 34.904, 50.502)
H1_CANCELLED = (34.900, 50.500, 34.902, 50.502)
RECT_H2 = (34.950, 50.500, 34.952, 50.502)
H2_REDUCED = (34.950, 50.500, 34.952, 50.5005)
H2_MANUAL = (34.950, 50.5005, 34.951, 50.502)
H2_MECH = (34.951, 50.5005, 34.952, 50.501)
RECT_H3 = (35.100, 50.600, 35.103, 50.603)
H3_CLEARED = (35.100, 50.600, 35.101, 50.603)
RECT_H5 = (34.980, 50.510, 34.981, 50.511)


def area(rect: tuple[float, float, float, float]) -> float:
    """Geodesic area in m² of a lon/lat rectangle, computed directly with pyproj."""
    x0, y0, x1, y1 = rect
    a, _ = GEOD.polygon_area_perimeter([x0, x1, x1, x0], [y0, y0, y1, y1])
    return abs(a)


def poly(rect: tuple[float, float, float, float]) -> dict[str, Any]:
    """GeoJSON polygon of a rectangle."""
    return dict(mapping(box(*rect)))


def pt(lon: float, lat: float) -> dict[str, Any]:
    """GeoJSON point."""
    return {"type": "Point", "coordinates": [lon, lat]}


def hazard(rid: str, org: str, doi: str, hid: str, rect: Any, **body: Any) -> dict[str, Any]:
    """A hazard report."""
    return {
        "report_id": rid,
        "type": "hazard",
        "organisation": org,
        "date_of_information": doi,
        "hazard": {"hazard_id": hid, "polygon": poly(rect), **body},
    }


def activity(rid: str, org: str, doi: str, hid: str, kind: str, **body: Any) -> dict[str, Any]:
    """An activity report."""
    return {
        "report_id": rid,
        "type": "activity",
        "organisation": org,
        "date_of_information": doi,
        "activity": {"hazard_id": hid, "activity_type": kind, "start_date": doi, **body},
    }


def rel(outcome: str, rect: Any, method: str | None = None) -> dict[str, Any]:
    """A release."""
    out: dict[str, Any] = {"outcome": outcome, "polygon": poly(rect)}
    if method:
        out["method"] = method
    return out


def reports() -> list[dict[str, Any]]:
    """The programme's reports in approval order."""
    return [
        hazard(
            "R-H1",
            "DEM",
            "2025-11-10",
            "H1",
            RECT_H1,
            name="North field",
            location="UA5902",
            contamination=["AP_MINE"],
            evidence=[{"type": "VERBAL_REPORT"}],
        ),
        hazard(
            "R-H3",
            "HAL",
            "2025-12-01",
            "H3",
            RECT_H3,
            name="Orchard",
            location="UA6304",
            contamination=["CLUSTER_MUNITION"],
            evidence=[{"type": "EO_OBSERVED"}],
        ),
        hazard(
            "R-H2",
            "DEM",
            "2026-01-05",
            "H2",
            RECT_H2,
            name="Railway embankment",
            location="UA5902",
            contamination=["AP_MINE", "AT_MINE"],
            evidence=[{"type": "MINEFIELD_RECORD_HIGH"}],
        ),
        activity(
            "R-NTS1",
            "DEM",
            "2026-02-15",
            "H1",
            "NTS",
            team_days=2,
            releases=[rel("cancelled", H1_CANCELLED)],
        ),
        activity(
            "R-TS2",
            "DEM",
            "2026-03-10",
            "H2",
            "TS",
            method="TS mechanical",
            team_days=4,
            releases=[rel("reduced", H2_REDUCED)],
        ),
        activity(
            "R-CL2a",
            "DEM",
            "2026-04-20",
            "H2",
            "CLEARANCE",
            method="manual",
            team_days=10,
            clearance_depth_cm=13,
            releases=[rel("cleared", H2_MANUAL)],
            eo_items=[
                {
                    "category": "AP_MINE",
                    "model": "PMN-2",
                    "quantity": 3,
                    "disposal": "destroyed_in_situ",
                },
                {
                    "category": "AT_MINE",
                    "model": "TM-62",
                    "quantity": 1,
                    "disposal": "destroyed_central",
                },
            ],
        ),
        activity(
            "R-CL2b",
            "HAL",
            "2026-04-22",
            "H2",
            "CLEARANCE",
            method="mechanical",
            team_days=2,
            clearance_depth_cm=20,
            releases=[rel("cleared", H2_MECH)],
        ),
        activity(
            "R-BAC3",
            "HAL",
            "2026-05-05",
            "H3",
            "BAC",
            method="BAC",
            team_days=5,
            clearance_depth_cm=30,
            releases=[rel("cleared", H3_CLEARED)],
            eo_items=[
                {
                    "category": "SUBMUNITION",
                    "model": "PTAB-2.5M",
                    "quantity": 7,
                    "disposal": "destroyed_in_situ",
                }
            ],
        ),
        hazard(
            "R-H5",
            "DEM",
            "2026-07-15",
            "H5",
            RECT_H5,
            name="Well",
            location="UA5902",
            contamination=["AP_MINE"],
            evidence=[{"type": "VERBAL_REPORT"}],
        ),
        {
            "report_id": "R-EO0",
            "type": "eo",
            "organisation": "DEM",
            "date_of_information": "2025-10-01",
            "eo": {
                "location": "UA5902",
                "items": [
                    {
                        "category": "AP_MINE",
                        "model": "PMN",
                        "quantity": 1,
                        "disposal": "destroyed_in_situ",
                        "point": pt(34.91, 50.52),
                    }
                ],
            },
        },
        {
            "report_id": "R-EO1",
            "type": "eo",
            "organisation": "DEM",
            "date_of_information": "2026-02-01",
            "eo": {
                "location": "UA5902",
                "items": [
                    {
                        "category": "AP_MINE",
                        "model": "PMN-2",
                        "quantity": 2,
                        "disposal": "destroyed_central",
                        "point": pt(34.92, 50.52),
                    },
                    {
                        "category": "UXO",
                        "model": "82mm mortar",
                        "quantity": 5,
                        "disposal": "destroyed_in_situ",
                        "point": pt(34.93, 50.52),
                    },
                ],
            },
        },
        {
            "report_id": "R-ACC1",
            "type": "accident",
            "organisation": "HAL",
            "date_of_information": "2026-03-04",
            "accident": {
                "accident_id": "A-1",
                "date": "2026-03-03",
                "point": pt(35.11, 50.61),
                "device_category": "SUBMUNITION",
                "location": "UA6304",
                "victims": [
                    {
                        "victim_id": "V-1",
                        "name": "Olena Kovalenko",
                        "sex": "female",
                        "age": 34,
                        "status": "killed",
                    },
                    {
                        "victim_id": "V-2",
                        "name": "Taras Kovalenko",
                        "sex": "male",
                        "age": 12,
                        "status": "injured",
                    },
                    {"victim_id": "V-3", "sex": "male", "status": "injured"},
                ],
            },
        },
        {
            "report_id": "R-ACC2",
            "type": "accident",
            "organisation": "DEM",
            "date_of_information": "2026-04-01",
            "accident": {
                "accident_id": "A-2",
                "date": "2026-04-01",
                "point": pt(34.9505, 50.5012),
                "device_category": "AP_MINE",
                "demining": True,
                "hazard_id": "H2",
                "location": "UA5902",
                "victims": [
                    {
                        "victim_id": "V-4",
                        "name": "Petro Shevchenko",
                        "sex": "male",
                        "age": 29,
                        "status": "injured",
                        "deminer": True,
                    }
                ],
            },
        },
        {
            "report_id": "R-EORE1",
            "type": "eore",
            "organisation": "DEM",
            "date_of_information": "2026-02-10",
            "eore": {
                "session_id": "S-1",
                "date": "2026-02-10",
                "location": "UA5902",
                "method": "direct",
                "beneficiaries": {
                    "women": 10,
                    "men": 8,
                    "girls": 12,
                    "boys": 15,
                    "with_disability": 2,
                },
            },
        },
        {
            "report_id": "R-EORE2",
            "type": "eore",
            "organisation": "HAL",
            "date_of_information": "2026-03-15",
            "eore": {
                "session_id": "S-2",
                "date": "2026-03-15",
                "location": "UA6304",
                "method": "direct",
                "beneficiaries": {"women": 5, "men": 5, "girls": 20, "boys": 18},
            },
        },
        {
            "report_id": "R-EORE3",
            "type": "eore",
            "organisation": "DEM",
            "date_of_information": "2026-08-01",
            "eore": {
                "session_id": "S-3",
                "date": "2026-08-01",
                "location": "UA5902",
                "method": "mass media",
                "beneficiaries": {"women": 100, "men": 100, "girls": 100, "boys": 100},
            },
        },
        {
            "report_id": "R-QA1",
            "type": "qm",
            "organisation": "NMAC",
            "date_of_information": "2026-04-25",
            "qm": {
                "inspection_id": "Q-1",
                "date": "2026-04-25",
                "kind": "QA",
                "inspected_organisation": "DEM",
                "hazard_id": "H2",
                "nonconformities": [
                    {"type": "marking", "severity": "minor", "closed": True},
                    {"type": "depth", "severity": "major", "closed": False},
                ],
            },
        },
        {
            "report_id": "R-QA2",
            "type": "qm",
            "organisation": "NMAC",
            "date_of_information": "2026-05-10",
            "qm": {
                "inspection_id": "Q-2",
                "date": "2026-05-10",
                "kind": "QA",
                "inspected_organisation": "HAL",
                "hazard_id": "H3",
                "nonconformities": [{"type": "safety distance", "severity": "critical"}],
            },
        },
    ]


LOCATIONS = [
    ("UA59", "Sumska", 1, None, box(34.85, 50.45, 35.00, 50.56)),
    ("UA5902", "Okhtyrskyi", 2, "UA59", box(34.85, 50.45, 35.00, 50.56)),
    ("UA63", "Kharkivska", 1, None, box(35.00, 50.45, 35.15, 50.65)),
    ("UA6304", "Bohodukhivskyi", 2, "UA63", box(35.00, 50.45, 35.15, 50.65)),
    ("UA5902001", "Sadky", 4, "UA5902", Point(34.93, 50.51)),
    ("UA6304001", "Hai", 4, "UA6304", Point(35.09, 50.62)),
]


def build(store: Store, *, skip: tuple[str, ...] = ()) -> None:
    """Load gazetteer, organisations and a task, then submit and approve every report."""
    now = datetime.now(UTC)
    with store.write() as conn:
        conn.execute(
            insert(s.location),
            [
                {"pcode": p, "name": n, "admin_level": lv, "parent_pcode": par, "geom": g}
                for p, n, lv, par, g in LOCATIONS
            ],
        )
        conn.execute(
            insert(s.organisation),
            [
                {"code": "DEM", "name": "Demining Org", "kind": "operator"},
                {"code": "HAL", "name": "Humanitarian Action League", "kind": "operator"},
                {"code": "NMAC", "name": "National MAC", "kind": "authority"},
            ],
        )
        conn.execute(
            insert(s.task),
            [
                {
                    "task_id": "T-1",
                    "hazard_id": "H2",
                    "organisation": "DEM",
                    "activity_type": "CLEARANCE",
                    "team": "MT-1",
                    "planned_start": date(2026, 4, 1),
                    "planned_end": date(2026, 4, 30),
                    "status": "in_progress",
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
    for r in reports():
        if r["report_id"] in skip:
            continue
        ledger.submit(store, r)
        ledger.approve(store, r["report_id"], actor="im")


_BUILT: dict[str, Path] = {}


def golden_sqlite(tmp_path: Path) -> Store:
    """A SQLite store holding the programme: built once per test process, then copied."""
    import sqlite3
    import tempfile

    from mineaction.store.engine import open_store

    if "db" not in _BUILT:
        folder = Path(tempfile.mkdtemp(prefix="mineaction-golden-"))
        built = open_store(f"sqlite:///{folder}/golden.db", create=True)
        build(built)
        built.dispose()
        _BUILT["db"] = folder / "golden.db"
    target = tmp_path / "golden.db"
    with sqlite3.connect(_BUILT["db"]) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return open_store(f"sqlite:///{target}")
