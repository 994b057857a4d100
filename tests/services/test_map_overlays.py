"""Map overlays filtered in SQL (both stores): EO finds, accidents and activities by view,
date, organisation, admin area and scope, against a plain Python filter of every record."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from shapely.geometry import Point, mapping
from sqlalchemy import select
from tests.factories import activity_report, hazard_report, rect

from mineaction.services import ledger, mapdata
from mineaction.services.dashboard import Scope
from mineaction.store import schema as s
from mineaction.store.engine import Store

ORGS = ("FSD", "HALO")
DAY0 = date(2024, 1, 1)


def _programme(store: Store) -> None:
    """Four hazards with NTS/TS/clearance/EOD activities, 40 EO finds and an accident."""
    rng = random.Random(5)
    reports: list[dict[str, Any]] = []
    for i in range(4):
        org, hid, dx = ORGS[i % 2], f"H{i}", 0.02 * i
        reports.append(
            hazard_report(
                f"R-H{i}",
                hid,
                org=org,
                polygon=rect(dx, 0, dx + 0.004, 0.002),
                location=f"RU46{i % 2}",
            )
        )
        kinds = [("NTS", "cancelled"), ("TS", "reduced"), ("CLEARANCE", "cleared"), ("EOD", None)]
        act, outcome = kinds[i]
        releases = [(outcome, rect(dx, 0, dx + 0.001, 0.002))] if outcome else []
        extra = {"clearance_depth_cm": 20} if act == "CLEARANCE" else {}
        reports.append(
            activity_report(
                f"R-A{i}",
                hid,
                activity=act,
                org=org,
                releases=releases,
                date=(DAY0 + timedelta(days=30 * (i + 1))).isoformat(),
                **extra,
            )
        )
    for k in range(8):
        items = []
        for _ in range(5):
            x, y = 35.2 + rng.uniform(-0.01, 0.08), 51.2 + rng.uniform(-0.01, 0.01)
            items.append(
                {
                    "category": "UXO",
                    "quantity": rng.randint(1, 3),
                    "point": dict(mapping(Point(x, y))),
                }
            )
        reports.append(
            {
                "report_id": f"R-EO-{k}",
                "type": "eo",
                "organisation": ORGS[k % 2],
                "date_of_information": (DAY0 + timedelta(days=20 * k)).isoformat(),
                "eo": {"hazard_id": f"H{k % 4}" if k % 3 else None, "items": items},
            }
        )
    reports.append(
        {
            "report_id": "R-ACC",
            "type": "accident",
            "organisation": "FSD",
            "date_of_information": "2024-02-02",
            "accident": {
                "accident_id": "ACC-1",
                "date": "2024-02-01",
                "point": dict(mapping(Point(35.205, 51.201))),
                "device_category": "AP_MINE",
                "location": "RU460",
                "victims": [{"victim_id": "V-1", "sex": "female", "status": "injured"}],
            },
        }
    )
    for doc in reports:
        if doc["type"] == "eo" and doc["eo"]["hazard_id"] is None:
            del doc["eo"]["hazard_id"]
        ledger.submit(store, doc, submitted_by="t")
        ledger.approve(store, doc["report_id"], actor="im")


def _expected_finds(
    store: Store, bbox: list[float], f: mapdata.OverlayFilter, scope: Scope
) -> set[int]:
    """EO finds of a view by brute force: every row read, geometry tested in Python."""
    with store.read() as conn:
        loc = dict(conn.execute(select(s.hazard.c.hazard_id, s.hazard.c.location)).all())
        rows = conn.execute(select(s.eo_item)).mappings().all()
    out = set()
    for r in rows:
        p = r["geom"]
        area = loc.get(r["hazard_id"]) or ""
        if not (bbox[0] <= p.x <= bbox[2] and bbox[1] <= p.y <= bbox[3]):
            continue
        if f.organisation and r["organisation"] != f.organisation:
            continue
        if scope.organisation and r["organisation"] != scope.organisation:
            continue
        if any(pre and not area.startswith(pre) for pre in (f.location, scope.location)):
            continue
        if (f.since and r["date"] < f.since) or (f.until and r["date"] > f.until):
            continue
        out.add(int(r["id"]))
    return out


def test_eo_finds_and_activities_are_filtered_in_sql(store: Store) -> None:
    _programme(store)
    rng = random.Random(11)
    for _ in range(25):
        x0, y0 = 35.2 + rng.uniform(-0.02, 0.06), 51.2 + rng.uniform(-0.015, 0.005)
        bbox = [x0, y0, x0 + rng.uniform(0.005, 0.1), y0 + rng.uniform(0.002, 0.02)]
        f = mapdata.OverlayFilter(
            organisation=rng.choice([None, *ORGS]),
            location=rng.choice([None, "RU460"]),
            since=rng.choice([None, DAY0 + timedelta(days=rng.randint(0, 160))]),
            until=rng.choice([None, DAY0 + timedelta(days=rng.randint(0, 160))]),
        )
        scope = rng.choice([Scope(), Scope(organisation="HALO"), Scope(location="RU461")])
        got = mapdata.finds_in_view(store, bbox, accidents=False, zoom=15, filters=f, scope=scope)
        assert got["modes"]["eo"] == "points"
        ids = {ft["properties"]["id"] for ft in got["features"]}
        assert ids == _expected_finds(store, bbox, f, scope), (bbox, f, scope)
    everything = [35.0, 51.0, 35.5, 51.5]
    # zoomed out: clusters computed in SQL add up to every find and its quantity
    clusters = mapdata.finds_in_view(store, everything, accidents=True, zoom=6)
    assert clusters["modes"] == {"eo": "clusters", "accident": "clusters"}
    eo_clusters = [ft for ft in clusters["features"] if ft["properties"]["kind"] == "eo-cluster"]
    with store.read() as conn:
        items = conn.execute(select(s.eo_item.c.quantity)).scalars().all()
    assert sum(ft["properties"]["n"] for ft in eo_clusters) == len(items) == 40
    assert sum(ft["properties"]["sum"] for ft in eo_clusters) == sum(items)
    # too many finds for points: clusters even up close
    crowded = mapdata.finds_in_view(store, everything, accidents=False, zoom=15, limit=10)
    assert crowded["modes"]["eo"] == "clusters"
    # accidents (for roles allowed to see them) as points with their casualties
    acc = mapdata.finds_in_view(store, everything, accidents=True, zoom=14)
    [accident] = [ft for ft in acc["features"] if ft["properties"]["kind"] == "accident"]
    assert accident["properties"]["injured"] == 1 and acc["counts"]["accident"] == 1

    # activities: by their hazard's box, type, organisation, dates and scope
    points = mapdata.activities_in_view(store, everything, 11)
    assert points["mode"] == "points" and points["count"] == 4
    types = {ft["properties"]["type"]: ft for ft in points["features"]}
    assert set(types) == {"NTS", "TS", "CLEARANCE", "EOD"}
    assert types["NTS"]["properties"]["hazard"] == "H0" and types["NTS"]["properties"]["m2"] > 0
    close = mapdata.activities_in_view(store, everything, 15)
    shapes = {ft["properties"]["type"]: ft["geometry"]["type"] for ft in close["features"]}
    assert shapes == {"NTS": "Polygon", "TS": "Polygon", "CLEARANCE": "Polygon", "EOD": "Point"}
    only = mapdata.activities_in_view(
        store, everything, 15, filters=mapdata.OverlayFilter(activity_type="TS")
    )
    assert [ft["id"] for ft in only["features"]] == ["R-A1"]
    halo = mapdata.activities_in_view(store, everything, 15, scope=Scope(organisation="HALO"))
    assert {ft["properties"]["org"] for ft in halo["features"]} == {"HALO"}
    dated = mapdata.activities_in_view(
        store,
        everything,
        15,
        filters=mapdata.OverlayFilter(
            since=DAY0 + timedelta(days=40), until=DAY0 + timedelta(days=70)
        ),
    )
    assert [ft["id"] for ft in dated["features"]] == ["R-A1"]
    west = mapdata.activities_in_view(store, [35.19, 51.19, 35.21, 51.21], 15)
    assert [ft["id"] for ft in west["features"]] == ["R-A0"]
    grouped = mapdata.activities_in_view(store, everything, 6)
    assert grouped["mode"] == "clusters"
    assert sum(ft["properties"]["n"] for ft in grouped["features"]) == 4
