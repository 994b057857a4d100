"""The REST API: listing, filters, GeoJSON, explanation, review with If-Match, tasks, errors."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import Seeded
from tests.api.seed import Accounts, pending

from mineaction.services import review, users
from mineaction.store.engine import Store
from mineaction.web.app import create_app


def get(shared: Seeded, path: str, who: str = "admin", **params: Any) -> Any:
    r = shared.client.get(path, headers=shared.accounts.headers(who), params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_hazard_list_filters_sorting_and_paging(shared: Seeded) -> None:
    all_ = get(shared, "/api/v1/hazards")
    assert {h["hazard_id"] for h in all_["items"]} == {"HA", "HB"} and all_["total"] == 2
    assert get(shared, "/api/v1/hazards", organisation="ORG-B")["items"][0]["hazard_id"] == "HB"
    assert get(shared, "/api/v1/hazards", admin_area="UA02")["total"] == 1
    assert get(shared, "/api/v1/hazards", **{"class": "SHA"})["total"] == 0
    assert get(shared, "/api/v1/hazards", status="worked_on")["total"] == 2
    west = get(shared, "/api/v1/hazards", bbox="35.19,51.19,35.21,51.21")
    assert [h["hazard_id"] for h in west["items"]] == ["HA"]
    desc = get(shared, "/api/v1/hazards", sort="-hazard_id", limit=1)
    assert [h["hazard_id"] for h in desc["items"]] == ["HB"] and desc["total"] == 2
    page2 = get(shared, "/api/v1/hazards", limit=1, offset=1)
    assert [h["hazard_id"] for h in page2["items"]] == ["HB"]
    assert get(shared, "/api/v1/hazards", date_from="2030-01-01")["total"] == 0
    ha = all_["items"][0]
    assert ha["cleared_m2"] > 0 and ha["remaining_m2"] < ha["area_m2"]
    assert ha["geometry"]["type"] == "Polygon"


def test_geojson_output(shared: Seeded) -> None:
    r = shared.client.get(
        "/api/v1/hazards", params={"format": "geojson"}, headers=shared.accounts.headers("ops")
    )
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["numberMatched"] == 2
    assert {f["id"] for f in fc["features"]} == {"HA", "HB"}
    assert "geometry" not in fc["features"][0]["properties"]
    eo = get(shared, "/api/v1/eo", format="geojson", bbox="35.19,51.19,35.21,51.21")
    assert eo["features"] and all(f["geometry"]["type"] == "Point" for f in eo["features"])
    assert all(f["properties"]["organisation"] == "ORG-A" for f in eo["features"])


def test_hazard_explanation_and_history(shared: Seeded) -> None:
    ex = get(shared, "/api/v1/hazards/HA/explanation", who="viewer")
    assert [s["report_id"] for s in ex["steps"]][:2] == ["R-A-HAZ", "R-A-ACT"]
    assert ex["steps"][1]["cleared_m2"] > 0
    early = get(shared, "/api/v1/hazards/HA/explanation", as_of="2024-02-01")
    assert [s["report_id"] for s in early["steps"]] == ["R-A-HAZ"]
    hist = get(shared, "/api/v1/hazards/HA/history")
    assert [h["report_id"] for h in hist][:2] == ["R-A-HAZ", "R-A-ACT"]


def test_pending_report_shows_predicted_effect(shared: Seeded) -> None:
    r = shared.client.get("/api/v1/reports/R-A-PEND-1", headers=shared.accounts.headers("im"))
    body = r.json()
    assert body["report"]["state"] == "submitted" and r.headers["ETag"] == '"1"'
    assert body["effect"]["before"] is None and body["effect"]["after"]["id"] == "HA-NEW-1"
    assert body["history"][0]["action"] == "submit"


def test_victims_need_the_role_and_reads_are_audited(shared: Seeded) -> None:
    assert (
        shared.client.get("/api/v1/victims", headers=shared.accounts.headers("ops")).status_code
        == 403
    )
    v = get(shared, "/api/v1/victims/V-A", who="im")
    assert v["name"] == "Victim A"
    accidents = get(shared, "/api/v1/accidents", who="viewer")
    assert "name" not in accidents["items"][0] and accidents["items"][0]["injured"] == 1
    lines = users.list_audit(shared.store, entity="victim", actor="im")
    assert lines and lines[0]["action"] == "read" and lines[0]["entity_id"] == "V-A"


def test_bad_parameters_are_400_in_the_error_shape(shared: Seeded) -> None:
    h = shared.accounts.headers("admin")
    for params in (
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"sort": "password"},
        {"limit": "0"},
        {"limit": "lots"},
        {"status": "burning"},
        {"date_from": "yesterday"},
    ):
        r = shared.client.get("/api/v1/hazards", params=params, headers=h)
        assert r.status_code == 400, (params, r.text)
        body = r.json()
        assert set(body) == {"code", "message", "details"} and "Traceback" not in r.text
    r = shared.client.get("/api/v1/eo", params={"filter": "colour=red"}, headers=h)
    assert r.status_code == 400 and "filter" in r.json()["message"]
    missing = shared.client.get("/api/v1/hazards/NOPE", headers=h)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_submit_and_review_with_if_match(store: Store, seeded: Accounts) -> None:
    # one-step approval configured: /approve is the final (and only) level
    review.set_approval_levels(store, [], actor="admin")
    app = create_app(store.url)
    with TestClient(app) as c:
        entry, im = seeded.headers("entry"), seeded.headers("im")
        made = c.post("/api/v1/reports", json=pending("A", 2), headers=entry)
        assert made.status_code == 201 and made.json()["status"] == "new"
        again = c.post("/api/v1/reports", json=pending("A", 2), headers=entry)
        assert again.status_code == 200 and again.json()["status"] == "duplicate"
        bad = c.post("/api/v1/reports", json={"type": "eo", "organisation": "ORG-A"}, headers=entry)
        assert bad.status_code == 400 and bad.json()["details"]
        foreign = c.post("/api/v1/reports", json=pending("B", 2), headers=entry)
        assert foreign.status_code == 403
        url = "/api/v1/reports/R-A-PEND-2"
        tag = c.get(url, headers=im).headers["ETag"]
        assert c.post(f"{url}/approve", headers=im).status_code == 428
        ok = c.post(f"{url}/approve", headers={**im, "If-Match": tag})
        assert ok.status_code == 200 and ok.json()["state"] == "approved"
        stale = c.post(f"{url}/unapprove", json={"reason": "typo"}, headers={**im, "If-Match": tag})
        assert stale.status_code == 412
        assert c.get("/api/v1/hazards/HA-NEW-2", headers=im).status_code == 200
        qc = c.post(
            "/api/v1/reports/R-A-PEND-1/reject",
            json={"reason": "wrong polygon"},
            headers={**seeded.headers("qc"), "If-Match": '"1"'},
        )
        assert qc.status_code == 200 and qc.json()["state"] == "rejected"
        lines = users.list_audit(store, entity="report", actor="im")
        assert lines[0]["action"] == "approve" and lines[0]["remote"] == "testclient"
    app.state.store.dispose()


def test_two_clients_updating_the_same_task_second_gets_412(store: Store, seeded: Accounts) -> None:
    app = create_app(store.url)
    with TestClient(app) as c1, TestClient(app) as c2:
        h = seeded.headers("ops")
        tag1 = c1.get("/api/v1/tasks/T-A", headers=h).headers["ETag"]
        tag2 = c2.get("/api/v1/tasks/T-A", headers=h).headers["ETag"]
        assert tag1 == tag2
        barrier = threading.Barrier(2)
        results: dict[str, int] = {}

        def update(name: str, client: TestClient, tag: str, team: str) -> None:
            barrier.wait()
            r = client.patch(
                "/api/v1/tasks/T-A", json={"team": team}, headers={**h, "If-Match": tag}
            )
            results[name] = r.status_code

        threads = [
            threading.Thread(target=update, args=("one", c1, tag1, "Alpha")),
            threading.Thread(target=update, args=("two", c2, tag2, "Bravo")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == [200, 412], results
        final = c1.get("/api/v1/tasks/T-A", headers=h).json()
        assert final["version"] == 2 and final["team"] in ("Alpha", "Bravo")
        assert c1.patch("/api/v1/tasks/T-A", json={"team": "C"}, headers=h).status_code == 428
    app.state.store.dispose()


@pytest.mark.parametrize("field", ["status", "activity_type"])
def test_clearing_a_required_task_field_is_400_not_500(
    store: Store, seeded: Accounts, field: str
) -> None:
    """Found by the API writes fuzz run: PATCH {"status": null} broke a NOT NULL (500)."""
    app = create_app(store.url)
    with TestClient(app) as c:
        h = seeded.headers("ops")
        tag = c.get("/api/v1/tasks/T-A", headers=h).headers["ETag"]
        r = c.patch("/api/v1/tasks/T-A", json={field: None}, headers={**h, "If-Match": tag})
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "invalid" and field in r.json()["message"]
        assert c.get("/api/v1/tasks/T-A", headers=h).headers["ETag"] == tag  # unchanged
    app.state.store.dispose()
