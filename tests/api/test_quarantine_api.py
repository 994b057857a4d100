"""``/api/v1/quarantine``: list, filter, show with every reason and repair, and resolve."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape
from tests.api.seed import Accounts

from mineaction.forms import synthetic as syn
from mineaction.services import users
from mineaction.store.engine import Store
from mineaction.web.app import create_app

BOWTIE = "51.2 35.2 0 0;51.21 35.21 0 0;51.2 35.21 0 0;51.21 35.2 0 0;51.2 35.2 0 0"


@pytest.fixture
def api(store: Store, seeded: Accounts) -> Iterator[TestClient]:
    app = create_app(store.url)
    with TestClient(app) as c:
        yield c
    app.state.store.dispose()


def _upload(c: TestClient, seeded: Accounts, who: str, subs: list[Any], name: str) -> Any:
    r = c.post(
        "/api/v1/imports",
        files={"file": (name, orjson.dumps(syn.kobo_json(subs)), "application/json")},
        headers=seeded.headers(who),
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_quarantine_listing_repair_and_actions(
    store: Store, seeded: Accounts, api: TestClient
) -> None:
    hazard = syn.fill("ma_hazard", 41)
    hazard.answers["polygon"] = BOWTIE
    eo = syn.fill("ma_eo_spot", 42)
    eo.repeats["items"][0]["eo_quantity"] = "-4"
    imp = _upload(api, seeded, "entry", [hazard], "hazard.json")
    imp2 = _upload(api, seeded, "entry", [eo], "eo.json")
    outcome = imp["records"][0]
    assert outcome["status"] == "rejected" and outcome["repairs"][0]["field"] == "hazard.polygon"
    qc = seeded.headers("qc")
    page = api.get("/api/v1/quarantine", params={"batch_id": imp["batch_id"]}, headers=qc).json()
    assert page["total"] == 1 and page["items"][0]["repair_proposed"]
    by_form = api.get("/api/v1/quarantine", params={"form": "ma_eo_spot"}, headers=qc).json()
    assert {i["batch_id"] for i in by_form["items"]} == {imp2["batch_id"], "IMP-A"}
    paged = api.get("/api/v1/quarantine", params={"limit": 1, "offset": 1}, headers=qc).json()
    assert paged["total"] == 3 and len(paged["items"]) == 1  # ORG-A's: seed + two here
    assert (
        api.get("/api/v1/quarantine", params={"organisation": "ORG-B"}, headers=qc).json()["total"]
        == 0
    )
    assert api.get("/api/v1/quarantine/2", headers=qc).status_code == 404  # ORG-B's
    hid = page["items"][0]["id"]
    one = api.get(f"/api/v1/quarantine/{hid}", headers=qc)
    rec = one.json()
    assert one.headers["ETag"] == '"1"'
    assert "Self-intersection" in rec["problems"][0]["message"]
    assert rec["raw"] and rec["record"].startswith("hazard.json, submission")
    assert shape(rec["repairs"][0]["proposed"]).is_valid
    # accept the repair explicitly: a submitted report that waits in the review inbox
    assert api.post(f"/api/v1/quarantine/{hid}/accept-repair", headers=qc).status_code == 428
    stale = api.post(f"/api/v1/quarantine/{hid}/accept-repair", headers={**qc, "If-Match": '"5"'})
    assert stale.status_code == 412
    ok = api.post(f"/api/v1/quarantine/{hid}/accept-repair", headers={**qc, "If-Match": '"1"'})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["record"]["resolution"] == "repaired" and body["report_status"] == "new"
    assert ok.headers["ETag"] == '"2"'
    report = api.get(f"/api/v1/reports/{body['report_id']}", headers=qc).json()
    assert report["report"]["state"] == "submitted"
    assert report["payload"]["extensions"]["geometry_repair"][0]["accepted_by"] == "qc"
    inbox = api.get("/api/v1/review/inbox", headers=qc).json()
    assert body["report_id"] in [i["report_id"] for i in inbox["items"]]
    again = api.post(
        f"/api/v1/quarantine/{hid}/discard", json={"reason": "x"}, headers={**qc, "If-Match": "*"}
    )
    assert again.status_code == 409
    # no repair to accept on the EO record; discard it with a reason
    eid = next(i["id"] for i in by_form["items"] if i["batch_id"] == imp2["batch_id"])
    none = api.post(f"/api/v1/quarantine/{eid}/accept-repair", headers={**qc, "If-Match": "*"})
    assert none.status_code == 409 and "no proposed repair" in none.json()["message"]
    gone = api.post(
        f"/api/v1/quarantine/{eid}/discard",
        json={"reason": "training data"},
        headers={**seeded.headers("entry"), "If-Match": '"1"'},
    )
    assert gone.status_code == 200 and gone.json()["record"]["resolution_note"] == "training data"
    assert (
        api.get("/api/v1/quarantine", params={"status": "resolved"}, headers=qc).json()["total"]
        == 2
    )
    # resubmit a corrected document for the seeded ORG-A record
    doc = {
        "report_id": "ORG-A-EO-FIX",
        "type": "eo",
        "organisation": "ORG-A",
        "date_of_information": "2024-05-01",
        "eo": {"items": [{"category": "UXO", "quantity": 3}]},
    }
    wrong = api.post(
        "/api/v1/quarantine/1/resubmit",
        json={"report": {**doc, "organisation": "ORG-B"}},
        headers={**qc, "If-Match": "*"},
    )
    assert wrong.status_code == 400
    fixed = api.post(
        "/api/v1/quarantine/1/resubmit", json={"report": doc}, headers={**qc, "If-Match": "*"}
    )
    assert fixed.status_code == 200 and fixed.json()["report_id"] == "ORG-A-EO-FIX"
    actions = {a["action"] for a in users.list_audit(store, entity="quarantine")}
    assert {"quarantine_repaired", "quarantine_discarded", "quarantine_resubmitted"} <= actions
    assert api.get("/api/v1/quarantine", headers=seeded.headers("ops")).status_code == 403


def test_reading_a_quarantined_accident_is_audited(
    store: Store, seeded: Accounts, api: TestClient
) -> None:
    acc = syn.fill("ma_accident", 43)
    acc.repeats["victims"][0]["victim_age"] = "300"
    _upload(api, seeded, "entry", [acc], "acc.json")
    items = api.get(
        "/api/v1/quarantine", params={"form": "ma_accident"}, headers=seeded.headers("im")
    ).json()["items"]
    api.get(f"/api/v1/quarantine/{items[0]['id']}", headers=seeded.headers("im"))
    lines = users.list_audit(store, entity="quarantine", actor="im")
    assert lines and lines[0]["action"] == "read" and lines[0]["details"]["personal_data"]
