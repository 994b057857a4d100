"""Plans over HTTP: run, read (JSON, CSV, GeoJSON, charts), accept once, forecast, calibration."""

from __future__ import annotations

import pytest
from tests.api.conftest import Seeded
from tests.api.seed import PLAN_TEAMS

from mineaction.services import planning as svc
from mineaction.store.settings import set_setting


def test_plan_run_read_accept_forecast(shared: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    c, acc = shared.client, shared.accounts
    ops = acc.headers("ops")
    r = c.post(
        "/api/v1/plans",
        headers=ops,
        json={"time_limit": 0.5, "bound": True, "bound_time": 5, "teams": PLAN_TEAMS},
    )
    assert r.status_code == 201, r.text
    meta = r.json()
    pid = meta["plan_id"]
    assert r.headers["Location"] == f"/api/v1/plans/{pid}"
    assert meta["status"] == "draft" and meta["bound"] <= meta["objective"] * (1 + 1e-9)
    assert pid in [p["plan_id"] for p in c.get("/api/v1/plans", headers=ops).json()]
    full = c.get(f"/api/v1/plans/{pid}", headers=ops, params={"items": "true"}).json()
    items = full["items"]
    assert items and {i["team"] for i in items} <= {t["id"] for t in PLAN_TEAMS}
    assert full["summary"]["calibration"]["stages"][0]["stage"] == "nts"
    csv = c.get(f"/api/v1/plans/{pid}/tasks.csv", headers=ops)
    assert csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.strip().splitlines()) == len(items) + 1
    gj = c.get(f"/api/v1/plans/{pid}/tasks.geojson", headers=ops)
    assert gj.headers["content-type"] == "application/geo+json"
    assert len(gj.json()["features"]) == len(items)
    png = c.get(f"/api/v1/plans/{pid}/gantt", headers=ops)
    assert png.content[:4] == b"\x89PNG"
    svg = c.get(f"/api/v1/plans/{pid}/curves", headers=ops, params={"format": "svg"})
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    a = c.post(f"/api/v1/plans/{pid}/accept", headers=ops)
    assert a.status_code == 200 and a.json()["tasks_created"] == len(items)
    again = c.post(f"/api/v1/plans/{pid}/accept", headers=ops)
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    tasks = c.get("/api/v1/tasks", headers=ops, params={"limit": 1000}).json()["items"]
    assert sum(1 for t in tasks if t["plan_id"] == pid) == len(items)
    # the operator's roles may not plan
    assert c.post(f"/api/v1/plans/{pid}/accept", headers=acc.headers("entry")).status_code == 403
    assert c.get("/api/v1/plans", headers=acc.headers("viewer")).status_code == 403
    # forecast from the database's teams
    no_teams = c.get("/api/v1/forecast", headers=ops, params={"samples": 2})
    assert no_teams.status_code == 400 and "no teams" in no_teams.json()["message"]
    with shared.store.write() as conn:
        set_setting(
            conn,
            "teams",
            [{"code": t["id"], "kind": t["asset"], "organisation": "ORG-A"} for t in PLAN_TEAMS],
        )
    f = c.get(
        "/api/v1/forecast",
        headers=ops,
        params={"samples": 5, "deadline": "2040-01-01", "marginal": "true"},
    )
    assert f.status_code == 200, f.text
    fd = f.json()
    # this history shows no hazard taken up in its months: at the observed pace nothing is
    # done, and the answer says so (no invented date)
    assert fd["scenario"] == "observed_pace"
    assert fd["scenario_label"].startswith("at the programme's observed pace")
    assert fd["pace"]["first_take_ups_per_month"] == 0 and fd["packages_without_date"] > 0
    prog = next(r for r in fd["regions"] if r["region"] == "programme")
    assert prog["p50"] is None and 0 <= fd["p_deadline"] < 0.5
    assert {m["asset"] for m in fd["marginal"]} == {"nts", "ts", "manual"}
    w = c.get(
        "/api/v1/forecast",
        headers=ops,
        params={"samples": 3, "deadline": "2040-01-01", "whole_stock": "true", "compare": "true"},
    ).json()
    assert w["scenario"] == "whole_stock" and w["packages_without_date"] == 0
    prog = next(r for r in w["regions"] if r["region"] == "programme")
    assert prog["p10"] <= prog["p50"] <= prog["p90"] and 0 <= w["p_deadline"] <= 1
    assert w["compare"]["scenario"] == "observed_pace"
    # a forecast too large for a request is refused, with where to run it instead
    monkeypatch.setattr(svc, "HTTP_FORECAST_WORK", 10)
    big = c.get("/api/v1/forecast", headers=ops, params={"samples": 5})
    assert big.status_code == 400, big.text
    assert "too large to run inside a web request" in big.json()["message"]
    assert "mineaction plan forecast" in big.json()["message"]
    # the marginal effect runs one more forecast per asset class: it counts
    _, _, inputs = svc.run_forecast(shared.store, samples=1)
    monkeypatch.setattr(svc, "HTTP_FORECAST_WORK", len(inputs.problem.packages) * 3)
    plain = c.get("/api/v1/forecast", headers=ops, params={"samples": 2})
    assert plain.status_code == 200, plain.text
    marginal = {"samples": 2, "marginal": "true"}
    assert c.get("/api/v1/forecast", headers=ops, params=marginal).status_code == 400
    cal = c.get("/api/v1/calibration", headers=ops).json()
    assert cal["min_hazards_per_stage"] == 10 and cal["min_reports_per_rate"] == 8


def test_plan_run_with_team_availability(shared: Seeded) -> None:
    c, ops = shared.client, shared.accounts.headers("ops")
    away = dict(PLAN_TEAMS[2]) | {
        "availability": {"closures": [{"start": "2000-01-01", "end": "2100-01-01"}]}
    }
    teams = [*PLAN_TEAMS, {"id": "SEED-MANUAL-2", "asset": "manual", "home": "UA0101"}]
    teams[2] = away
    body = {"time_limit": 0.2, "bound": False, "teams": teams}
    r = c.post("/api/v1/plans", headers=ops, json=body)
    assert r.status_code == 201, r.text
    items = c.get(f"/api/v1/plans/{r.json()['plan_id']}", headers=ops, params={"items": "true"})
    worked = {i["team"] for i in items.json()["items"]}
    assert "SEED-MANUAL-2" in worked and "SEED-MANUAL" not in worked  # on leave for ever
    teams[2] = dict(PLAN_TEAMS[2]) | {"availability": {"rotation": {"days_on": 0, "days_off": 1}}}
    bad = c.post("/api/v1/plans", headers=ops, json=body)
    assert bad.status_code == 400, bad.text
    assert "teams[2].availability.rotation" in bad.text
