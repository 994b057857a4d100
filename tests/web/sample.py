"""A small but realistic programme for web tests and screenshots (around Sudzha, Kursk Oblast).

Dates are relative to ``today`` so that "this month" and "this year" figures are not empty.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from shapely.geometry import Point, box, mapping
from sqlalchemy import insert

from mineaction.services import ledger, users
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.store.settings import set_setting

X0, Y0 = 35.0, 51.05
PASSWORD = "correct horse battery"
#: (user name, display name, role, organisation) of the sample accounts.
ACCOUNTS = [
    ("im", "Irina Petrova", "im_officer", None),
    ("halo.qc", "Hanna Kovalenko", "operator_qc", "HALO"),
    ("viewer", "Victor Orlov", "viewer", "FSD"),
]


def _rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return dict(mapping(box(x0, y0, x1, y1)))


def _locations(conn: Any) -> None:
    rows = [
        ("RG1", "Sudzhansky", 1, None, 40_000, box(34.85, 50.95, 35.35, 51.45)),
        ("RG2", "Korenevsky", 1, None, 28_000, box(35.35, 50.95, 35.85, 51.45)),
        ("RG101", "Sudzha", 2, "RG1", 12_000, box(34.85, 50.95, 35.35, 51.2)),
        ("RG102", "Martynovka", 2, "RG1", 9_000, box(34.85, 51.2, 35.35, 51.45)),
        ("RG201", "Korenevo", 2, "RG2", 15_000, box(35.35, 50.95, 35.85, 51.2)),
        ("RG202", "Snagost", 2, "RG2", 7_000, box(35.35, 51.2, 35.85, 51.45)),
        ("RG101S1", "Sudzha town", 3, "RG101", 5_000, Point(35.27, 51.19)),
        ("RG102S1", "Martynovka village", 3, "RG102", 900, Point(35.05, 51.32)),
        ("RG201S1", "Korenevo town", 3, "RG201", 6_500, Point(35.5, 51.1)),
        ("RG202S1", "Snagost village", 3, "RG202", 1_200, Point(35.62, 51.38)),
    ]
    conn.execute(
        insert(s.location),
        [
            {
                "pcode": p,
                "name": n,
                "admin_level": lv,
                "parent_pcode": parent,
                "population": pop,
                "geom": g,
            }
            for p, n, lv, parent, pop, g in rows
        ],
    )


def location_of(x: float, y: float) -> str:
    """Return the admin-2 P-code of a point of the sample area."""
    if x < 35.35:
        return "RG101" if y < 51.2 else "RG102"
    return "RG201" if y < 51.2 else "RG202"


def build(
    store: Store, *, today: date | None = None, hazards: int = 24, seed: int = 7
) -> dict[str, Any]:
    """Fill ``store`` with hazards, activities, EO, an accident, EORE and pending reports."""
    today = today or date.today()
    rng = random.Random(seed)
    with store.write() as conn:
        set_setting(conn, "programme_name", "Kursk Oblast Mine Action Centre")
        _locations(conn)
    for name, display, role, org in ACCOUNTS:
        users.add_user(
            store, name, role=role, organisation=org, password=PASSWORD, display_name=display
        )
    approved: list[str] = []
    pending: list[str] = []
    orgs = ["FSD", "HALO", "DRC"]

    def submit(doc: dict[str, Any], approve: bool = True) -> None:
        ledger.submit(store, doc, submitted_by="field.officer")
        if approve:
            ledger.approve(store, doc["report_id"], actor="im.officer")
            approved.append(doc["report_id"])
        else:
            pending.append(doc["report_id"])

    for i in range(hazards):
        org = orgs[i % 3]
        hid = f"HZ-{i + 1:03d}"
        x = X0 + 0.05 + (i % 6) * 0.12 + rng.uniform(-0.02, 0.02)
        y = Y0 + 0.05 + (i // 6) * 0.08 + rng.uniform(-0.01, 0.01)
        w, h = rng.uniform(0.004, 0.012), rng.uniform(0.003, 0.008)
        start = today - timedelta(days=600 - i * 12)
        direct = i % 3 != 0
        submit(
            {
                "report_id": f"R-{hid}-1",
                "type": "hazard",
                "organisation": org,
                "date_of_information": start.isoformat(),
                "hazard": {
                    "hazard_id": hid,
                    "name": f"Field {i + 1} near {['Sudzha', 'Martynovka', 'Korenevo', 'Snagost'][i % 4]}",
                    "evidence": [{"type": "MARKING" if direct else "VERBAL_REPORT"}],
                    "contamination": ["AP_MINE", "AT_MINE"] if direct else ["UXO_AXO"],
                    "polygon": _rect(x, y, x + w, y + h),
                    "location": location_of(x, y),
                },
            }
        )
        if i % 4 == 0:
            continue
        # Non-technical survey cancels a strip, technical survey reduces one, clearance clears.
        d1 = start + timedelta(days=40 + rng.randint(0, 60))
        submit(
            {
                "report_id": f"R-{hid}-2",
                "type": "activity",
                "organisation": org,
                "date_of_information": d1.isoformat(),
                "activity": {
                    "hazard_id": hid,
                    "activity_type": "NTS",
                    "start_date": (d1 - timedelta(days=3)).isoformat(),
                    "releases": [
                        {"outcome": "cancelled", "polygon": _rect(x, y, x + w * 0.3, y + h)}
                    ],
                },
            }
        )
        if i % 4 == 1:
            continue
        d2 = min(today, d1 + timedelta(days=90 + rng.randint(0, 200)))
        close = i % 4 == 3
        submit(
            {
                "report_id": f"R-{hid}-3",
                "type": "activity",
                "organisation": org,
                "date_of_information": d2.isoformat(),
                "activity": {
                    "hazard_id": hid,
                    "activity_type": "CLEARANCE",
                    "stage": "completion" if close else "progress",
                    "start_date": (d2 - timedelta(days=20)).isoformat(),
                    "clearance_depth_cm": 20,
                    "team_days": 18,
                    "releases": [
                        {
                            "outcome": "cleared",
                            "polygon": _rect(x + w * 0.3, y, x + (w if close else w * 0.7), y + h),
                        }
                    ],
                    "eo_items": [
                        {
                            "category": "AP_MINE",
                            "model": "PMN-2",
                            "quantity": 1 + i % 5,
                            "disposal": "destroyed_in_situ",
                            "point": dict(mapping(Point(x + w * 0.5, y + h * 0.5))),
                        }
                    ],
                    **({"close_reason": "all land released"} if close else {}),
                },
            }
        )
    # Recent activity (this month) for the dashboard.
    d = today
    submit(
        {
            "report_id": "R-HZ-002-9",
            "type": "activity",
            "organisation": "HALO",
            "date_of_information": d.isoformat(),
            "activity": {
                "hazard_id": "HZ-002",
                "activity_type": "TS",
                "start_date": d.isoformat(),
                "releases": [
                    {"outcome": "reduced", "polygon": _hazard_part(store, "HZ-002", 0.3, 0.6)}
                ],
            },
        }
    )
    submit(
        {
            "report_id": "R-EO-1",
            "type": "eo",
            "organisation": "FSD",
            "date_of_information": (today - timedelta(days=20)).isoformat(),
            "eo": {
                "location": "RG101",
                "items": [
                    {
                        "category": "UXO",
                        "model": "122 mm rocket",
                        "quantity": 2,
                        "disposal": "destroyed_central",
                        "point": dict(mapping(Point(35.21, 51.12))),
                    }
                ],
            },
        }
    )
    submit(
        {
            "report_id": "R-ACC-1",
            "type": "accident",
            "organisation": "DRC",
            "date_of_information": (today - timedelta(days=45)).isoformat(),
            "accident": {
                "accident_id": "ACC-1",
                "date": (today - timedelta(days=46)).isoformat(),
                "point": dict(mapping(Point(35.33, 51.17))),
                "device_category": "AP_MINE",
                "location": "RG101",
                "victims": [{"victim_id": "V-1", "sex": "male", "age": 41, "status": "injured"}],
            },
        }
    )
    for k in range(3):
        submit(
            {
                "report_id": f"R-EORE-{k + 1}",
                "type": "eore",
                "organisation": orgs[k],
                "date_of_information": (today - timedelta(days=10 + k * 30)).isoformat(),
                "eore": {
                    "session_id": f"S-{k + 1}",
                    "date": (today - timedelta(days=10 + k * 30)).isoformat(),
                    "location": ["RG101", "RG201", "RG202"][k],
                    "beneficiaries": {"women": 14 + k, "men": 9, "girls": 22, "boys": 19 + k},
                },
            }
        )
    # Pending: a technical survey on HZ-005 and a new hazard with a warning.
    submit(
        {
            "report_id": "R-HZ-005-9",
            "type": "activity",
            "organisation": "HALO",
            "date_of_information": today.isoformat(),
            "activity": {
                "hazard_id": "HZ-005",
                "activity_type": "TS",
                "start_date": (today - timedelta(days=4)).isoformat(),
                "releases": [
                    {"outcome": "reduced", "polygon": _hazard_part(store, "HZ-005", 0.0, 0.5)}
                ],
            },
        },
        approve=False,
    )
    submit(
        {
            "report_id": "R-NEW-1",
            "type": "hazard",
            "organisation": "DRC",
            "date_of_information": today.isoformat(),
            "hazard": {
                "hazard_id": "HZ-NEW-1",
                "name": "Tree line east of Korenevo",
                "evidence": [{"type": "FORMER_FRONTLINE"}],
                "contamination": ["UXO_AXO"],
                "polygon": _rect(35.55, 51.08, 35.58, 51.095),
                "location": "RG201",
            },
        },
        approve=False,
    )
    return {"approved": approved, "pending": pending}


def _hazard_part(store: Store, hazard_id: str, f0: float, f1: float) -> dict[str, Any]:
    """A vertical slice (fractions of the width) of a hazard's bounding box."""
    from mineaction.store import projections as proj

    with store.read() as conn:
        row = proj.get_hazard(conn, hazard_id)
    x0, y0, x1, y1 = row["geom"].bounds
    return _rect(x0 + (x1 - x0) * f0, y0, x0 + (x1 - x0) * f1, y1)
