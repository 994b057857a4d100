"""A small two-organisation programme for API and OGC tests (ORG-A and ORG-B)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from shapely.geometry import box, mapping
from tests.factories import activity_report, hazard_report, rect

from mineaction.forms import synthetic as syn
from mineaction.services import importing, ledger, tasks, users
from mineaction.store.engine import Store
from mineaction.store.reference import upsert_organisation
from mineaction.store.schema import location

PASSWORD = "correct horse battery"

#: (username, role, organisation): one account per role; scoped accounts belong to ORG-A.
ACCOUNTS = [
    ("admin", "admin", None),
    ("im", "im_officer", None),
    ("ops", "operations", None),
    ("entry", "operator_entry", "ORG-A"),
    ("qc", "operator_qc", "ORG-A"),
    ("viewer", "viewer", "ORG-A"),
]
ROLES = [r for _, r, _ in ACCOUNTS] + ["public"]
USER_OF_ROLE = {r: u for u, r, _ in ACCOUNTS} | {"public": "public"}

#: ids of each organisation's records (own = ORG-A, other = ORG-B)
IDS = {
    "A": {"org": "ORG-A", "hazard": "HA", "area": "UA01", "dx": 0.0},
    "B": {"org": "ORG-B", "hazard": "HB", "area": "UA02", "dx": 0.05},
}


@dataclass
class Accounts:
    """Tokens of the test accounts, by user name."""

    tokens: dict[str, str]

    def headers(self, username: str) -> dict[str, str]:
        """Return Bearer headers for a user (empty for the anonymous public)."""
        if username == "public":
            return {}
        return {"Authorization": f"Bearer {self.tokens[username]}"}


def point(x: float, y: float) -> dict[str, Any]:
    """GeoJSON point at an offset from 35.2 E, 51.2 N."""
    return {"type": "Point", "coordinates": [35.2 + x, 51.2 + y]}


def _reports(k: str) -> list[dict[str, Any]]:
    d = IDS[k]
    org, hid, dx, area = d["org"], d["hazard"], float(d["dx"]), d["area"]  # type: ignore[misc]
    return [
        hazard_report(
            f"R-{k}-HAZ",
            str(hid),
            org=str(org),
            polygon=rect(dx, 0, dx + 0.004, 0.002),
            evidence=["EO_OBSERVED"],
            location=f"{area}01",
            name=f"Field {k}",
        ),
        activity_report(
            f"R-{k}-ACT",
            str(hid),
            org=str(org),
            activity="CLEARANCE",
            releases=[("cleared", rect(dx, 0, dx + 0.001, 0.002))],
            eo_items=[{"category": "AP_MINE", "quantity": 2, "point": point(dx + 0.0005, 0.001)}],
            team="T1",
            end_date="2024-03-01",
        ),
        {
            "report_id": f"R-{k}-EO",
            "type": "eo",
            "organisation": org,
            "date_of_information": "2024-04-01",
            "eo": {
                "hazard_id": hid,
                "items": [{"category": "UXO", "quantity": 1, "point": point(dx + 0.003, 0.001)}],
            },
        },
        {
            "report_id": f"R-{k}-EO2",
            "type": "eo",
            "organisation": org,
            "date_of_information": "2024-04-01",
            "eo": {"hazard_id": hid, "items": [{"category": "UXO", "quantity": 3}]},
        },
        {
            "report_id": f"R-{k}-ACC",
            "type": "accident",
            "organisation": org,
            "date_of_information": "2024-04-02",
            "accident": {
                "accident_id": f"ACC-{k}",
                "date": "2024-04-01",
                "point": point(dx + 0.002, 0.003),
                "device_category": "AP_MINE",
                "location": f"{area}01",
                "victims": [
                    {
                        "victim_id": f"V-{k}",
                        "name": f"Victim {k}",
                        "sex": "male",
                        "age": 34,
                        "status": "injured",
                    }
                ],
            },
        },
        {
            "report_id": f"R-{k}-EORE",
            "type": "eore",
            "organisation": org,
            "date_of_information": "2024-04-03",
            "eore": {
                "session_id": f"S-{k}",
                "date": "2024-04-03",
                "point": point(dx + 0.001, 0.004),
                "location": f"{area}01",
                "beneficiaries": {"women": 10, "men": 8, "girls": 5, "boys": 6},
            },
        },
        {
            "report_id": f"R-{k}-QM",
            "type": "qm",
            "organisation": "NMAC",
            "date_of_information": "2024-04-04",
            "qm": {
                "inspection_id": f"QM-{k}",
                "date": "2024-04-04",
                "inspected_organisation": org,
                "hazard_id": hid,
                "nonconformities": [{"type": "marking", "severity": "minor"}],
            },
        },
    ]


def pending(k: str, n: int = 1) -> dict[str, Any]:
    """A submitted (not approved) hazard report of organisation ``k``."""
    d = IDS[k]
    dx = float(d["dx"])  # type: ignore[arg-type]
    return hazard_report(
        f"R-{k}-PEND-{n}",
        f"{d['hazard']}-NEW-{n}",
        org=str(d["org"]),
        polygon=rect(dx, 0.01, dx + 0.002, 0.012),
        location=f"{d['area']}01",
    )


def seed(store: Store, *, accounts: bool = True) -> dict[str, str]:
    """Load both organisations' data; return API tokens by user name."""
    with store.write() as conn:
        for code, name in (("ORG-A", "Operator A"), ("ORG-B", "Operator B"), ("NMAC", "NMAC")):
            upsert_organisation(
                conn, code, name, kind="authority" if code == "NMAC" else "operator"
            )
        for k, (x0, name) in {"UA01": (0.0, "Alpha"), "UA02": (0.05, "Bravo")}.items():
            conn.execute(
                location.insert(),
                [
                    {
                        "pcode": k,
                        "name": name,
                        "admin_level": 1,
                        "geom": box(35.2 + x0 - 0.01, 51.19, 35.2 + x0 + 0.02, 51.22),
                    },
                    {
                        "pcode": f"{k}01",
                        "name": f"{name} 1",
                        "admin_level": 2,
                        "parent_pcode": k,
                        "geom": box(35.2 + x0 - 0.005, 51.195, 35.2 + x0 + 0.01, 51.21),
                    },
                ],
            )
    for k in ("A", "B"):
        for doc in _reports(k):
            ledger.submit(store, doc, submitted_by="seed")
            ledger.approve(store, doc["report_id"], actor="seed")
        ledger.submit(store, pending(k), submitted_by="seed")
        tasks.create_task(
            store,
            {"hazard_id": IDS[k]["hazard"], "task_id": f"T-{k}", "activity_type": "CLEARANCE"},
            actor="seed",
        )
    seed_plan(store)
    for n, k in enumerate(("A", "B")):
        seed_imports(store, k, 10 * n)
    tokens: dict[str, str] = {}
    if accounts:
        for name, role, org in ACCOUNTS:
            users.add_user(store, name, role=role, organisation=org, password=PASSWORD)
            tokens[name] = users.create_token(store, name).token
    return tokens


#: Teams of the seeded plan (one per class, home in ORG-A's district).
PLAN_TEAMS = [
    {"id": "SEED-NTS", "asset": "nts", "home": "UA0101"},
    {"id": "SEED-TS", "asset": "ts", "home": "UA0101"},
    {"id": "SEED-MANUAL", "asset": "manual", "home": "UA0101"},
]


def seed_plan(store: Store, plan_id: str = "P-SEED") -> None:
    """A stored draft plan of the open hazards (id ``P-SEED``)."""
    from mineaction.services import planning

    inputs = planning.build_inputs(
        store,
        planning.load_programme(store),
        planning.PlanOptions(bound=True, time_limit=0.5, bound_time=5),
        teams_rows=PLAN_TEAMS,
    )
    result = planning.make_plan(inputs, planning.PlanOptions(bound=True, time_limit=0.5))
    result.plan_id = plan_id
    planning.save_plan(store, result, created_by="seed")


def eo_file(*seeds: int, bad: tuple[int, ...] = ()) -> bytes:
    """A KoboToolbox JSON export of EO spot reports; ``bad`` ones have a negative quantity."""
    subs = [syn.fill("ma_eo_spot", i) for i in seeds]
    for i, sub in zip(seeds, subs, strict=True):
        if i in bad:
            sub.repeats["items"][0]["eo_quantity"] = "-3"
    return orjson.dumps(syn.kobo_json(subs))


def seed_imports(store: Store, k: str, base: int) -> None:
    """An import with one rejected record (quarantine) and a checked dry run, per organisation.

    Ids: import ``IMP-A`` / ``IMP-B``, dry run ``CHK-A`` / ``CHK-B``; quarantine record 1 is
    ORG-A's, 2 is ORG-B's. Nothing is submitted, so report counts stay as they were.
    """
    org = str(IDS[k]["org"])
    importing.import_bytes(
        store,
        eo_file(base + 1, bad=(base + 1,)),
        f"eo-{k}.json",
        organisation=org,
        actor="seed",
        batch_id=f"IMP-{k}",
    )
    importing.check_upload(
        store,
        eo_file(base + 2),
        f"eo-check-{k}.json",
        organisation=org,
        actor="seed",
        batch_id=f"CHK-{k}",
    )


__all__ = ["mapping", "seed"]
