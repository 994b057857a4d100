"""A small, varied programme for reliability tests: hazards, releases, EO, accidents, EORE."""

from __future__ import annotations

from typing import Any

from tests.factories import activity_report, hazard_report, rect

from mineaction.services import ledger
from mineaction.store.engine import Store


def hazard_docs(n: int, *, prefix: str = "K") -> list[dict[str, Any]]:
    """Return ``3 n`` report documents: per hazard a hazard report, an NTS and a clearance."""
    docs: list[dict[str, Any]] = []
    for i in range(n):
        x, y = (i % 20) * 0.01, (i // 20) * 0.01
        hid = f"{prefix}H{i:04d}"
        docs.append(
            hazard_report(f"{prefix}-HA-{i:04d}", hid, polygon=rect(x, y, x + 0.004, y + 0.002))
        )
        docs.append(
            activity_report(
                f"{prefix}-NTS-{i:04d}",
                hid,
                activity="NTS",
                date="2024-02-01",
                releases=[("cancelled", rect(x, y, x + 0.001, y + 0.002))],
            )
        )
        docs.append(
            activity_report(
                f"{prefix}-CL-{i:04d}",
                hid,
                date="2024-03-01",
                releases=[("cleared", rect(x + 0.001, y, x + 0.003, y + 0.002))],
                eo_items=[{"category": "AP_MINE", "model": "PMN-2", "quantity": 1 + i % 3}],
            )
        )
    return docs


def other_docs(prefix: str = "K") -> list[dict[str, Any]]:
    """Accident (with victims, personal data) and EORE reports, with awkward text."""
    point = {"type": "Point", "coordinates": [35.2011, 51.2011]}
    return [
        {
            "report_id": f"{prefix}-ACC-1",
            "type": "accident",
            "organisation": "FSD",
            "date_of_information": "2024-04-02",
            "accident": {
                "accident_id": f"{prefix}-A1",
                "date": "2024-04-01",
                "point": point,
                "device_category": "AP_MINE",
                "description": "<script>alert('x')</script>; DROP TABLE report; --",
                "victims": [
                    {
                        "victim_id": f"{prefix}-V1",
                        "name": "Ольга Ü'Brien",
                        "sex": "female",
                        "age": 34,
                        "status": "injured",
                    },
                    {"victim_id": f"{prefix}-V2", "status": "killed", "deminer": True},
                ],
            },
        },
        {
            "report_id": f"{prefix}-EORE-1",
            "type": "eore",
            "organisation": "FSD",
            "date_of_information": "2024-04-03",
            "eore": {
                "session_id": f"{prefix}-S1",
                "date": "2024-04-03",
                "point": point,
                "beneficiaries": {"women": 10, "men": 5, "girls": 7, "boys": 9},
            },
        },
    ]


def populate(store: Store, n: int = 5, *, prefix: str = "K", approve: bool = True) -> list[str]:
    """Submit (and approve) a small programme; leave one report pending; return report ids."""
    docs = [*hazard_docs(n, prefix=prefix), *other_docs(prefix)]
    ids = []
    for doc in docs:
        ledger.submit(store, doc, submitted_by="alice")
        ids.append(doc["report_id"])
    if approve:
        for rid in ids[:-1]:
            ledger.approve(store, rid, actor="im")
    return ids
