"""A dense synthetic programme for map tests: hazard, EO find and activity rows written straight
into the projection tables (no ledger), at national-like density over the sample area."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely
from sqlalchemy import insert

from mineaction.store import schema as s
from mineaction.store.engine import Store

TYPES = ("NTS", "TS", "CLEARANCE", "BAC", "EOD")
AREA = (34.9, 50.95, 35.8, 51.45)


def build(store: Store, *, hazards: int = 4000, finds: int = 30000, seed: int = 3) -> None:
    """Write ``hazards`` hazards, two activities each and ``finds`` EO finds around them."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = AREA
    cx = rng.uniform(x0, x1, hazards)
    cy = rng.uniform(y0, y1, hazards)
    day0 = date(2024, 1, 1)
    hz: list[dict[str, Any]] = []
    acts: list[dict[str, Any]] = []
    for i in range(hazards):
        poly = shapely.box(cx[i] - 0.002, cy[i] - 0.001, cx[i] + 0.002, cy[i] + 0.001)
        hid = f"D-{i:05d}"
        hz.append(
            {
                "hazard_id": hid,
                "organisation": f"ORG{i % 5}",
                "classification": "CHA" if i % 3 else "SHA",
                "status": "worked_on",
                "location": "RG101",
                "contamination": ["AP_MINE"],
                "area_m2": 38_000.0,
                "cancelled_m2": 0.0,
                "reduced_m2": 0.0,
                "cleared_m2": 0.0,
                "remaining_m2": 38_000.0,
                "expansion_m2": 0.0,
                "eo_found": {},
                "eo_total": 0,
                "report_count": 3,
                "flags": [],
                "details": {},
                "geom": poly,
                "remaining_geom": poly,
                "minx": cx[i] - 0.002,
                "miny": cy[i] - 0.001,
                "maxx": cx[i] + 0.002,
                "maxy": cy[i] + 0.001,
                "first_date": day0,
                "last_date": day0 + timedelta(days=200),
                "version": 3,
            }
        )
        for k in range(2):
            start = day0 + timedelta(days=int(rng.integers(0, 300)))
            acts.append(
                {
                    "report_id": f"R-D-{i:05d}-{k}",
                    "hazard_id": hid,
                    "organisation": f"ORG{i % 5}",
                    "activity_type": TYPES[(i + k) % 5],
                    "stage": "progress",
                    "start_date": start,
                    "end_date": start + timedelta(days=10),
                    "date_of_information": start + timedelta(days=10),
                    "cancelled_m2": 0.0,
                    "reduced_m2": 0.0,
                    "cleared_m2": 0.0,
                }
            )
    owner = rng.integers(0, hazards, finds)
    fx = cx[owner] + rng.uniform(-0.002, 0.002, finds)
    fy = cy[owner] + rng.uniform(-0.001, 0.001, finds)
    eo = [
        {
            "report_id": f"R-D-{int(owner[j]):05d}-0",
            "hazard_id": f"D-{int(owner[j]):05d}",
            "organisation": f"ORG{int(owner[j]) % 5}",
            "date": day0 + timedelta(days=int(j % 300)),
            "source": "activity",
            "category": "AP_MINE" if j % 4 else "UXO",
            "quantity": 1,
            "geom": shapely.Point(float(fx[j]), float(fy[j])),
            "x": float(fx[j]),
            "y": float(fy[j]),
        }
        for j in range(finds)
    ]
    with store.write() as conn:
        conn.execute(insert(s.hazard), hz)
        conn.execute(insert(s.activity), acts)
        for i in range(0, len(eo), 10_000):
            conn.execute(insert(s.eo_item), eo[i : i + 10_000])
