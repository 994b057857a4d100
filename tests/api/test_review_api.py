"""The review workflow over the API: levels, inbox, per-level decisions, If-Match, scoping."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.seed import Accounts

from mineaction.services import review, users
from mineaction.store.engine import Store
from mineaction.web.app import create_app

URL = "/api/v1/reports/R-A-PEND-1"


@pytest.fixture
def api(store: Store, seeded: Accounts) -> Iterator[TestClient]:
    app = create_app(store.url)
    with TestClient(app) as c:
        yield c
    app.state.store.dispose()


def decide(c: TestClient, seeded: Accounts, who: str, decision: str, **kw: Any) -> Any:
    tag = kw.pop("tag", None) or c.get(URL, headers=seeded.headers("admin")).headers["ETag"]
    return c.post(
        f"{URL}/review",
        json={"decision": decision, **kw},
        headers={**seeded.headers(who), "If-Match": tag},
    )


def inbox(c: TestClient, seeded: Accounts, who: str, **params: Any) -> list[str]:
    r = c.get("/api/v1/review/inbox", params=params, headers=seeded.headers(who))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"])
    return [i["report_id"] for i in body["items"]]


def test_three_levels_one_at_a_time(store: Store, seeded: Accounts, api: TestClient) -> None:
    levels = api.get("/api/v1/review/levels", headers=seeded.headers("ops")).json()
    assert [lv["state"] for lv in levels["levels"]] == ["verified", "ops_approved", "approved"]
    assert levels["my_steps"] == ["ops_approved"] and "operator_qc" in levels["reject_roles"]
    # the one-step approve does not skip the levels any more
    tag = api.get(URL, headers=seeded.headers("im")).headers["ETag"]
    skip = api.post(f"{URL}/approve", headers={**seeded.headers("im"), "If-Match": tag})
    assert skip.status_code == 409 and "'verified'" in skip.json()["message"]
    # inboxes follow the caller's level and scope
    assert inbox(api, seeded, "qc") == ["R-A-PEND-1"]  # ORG-A's only
    assert inbox(api, seeded, "ops") == []  # nothing verified yet
    assert inbox(api, seeded, "ops", all="true") == ["R-A-PEND-1", "R-B-PEND-1"]
    assert inbox(api, seeded, "im", step="verified") == ["R-A-PEND-1", "R-B-PEND-1"]
    assert inbox(api, seeded, "im", step="approved") == []
    # operator QC verifies; the next level belongs to operations
    shown = api.get(f"{URL}/review", headers=seeded.headers("qc")).json()
    assert shown["next_step"] == "verified" and shown["decisions"] == ["verify", "reject"]
    assert shown["effect"]["applies"] and shown["proposals"][0]["kind"] == "new_hazard"
    wrong = decide(api, seeded, "qc", "ops_approve")
    assert wrong.status_code == 403 and "ops_approved" in wrong.json()["message"]
    ok = decide(api, seeded, "qc", "verify")
    assert ok.status_code == 200, ok.text
    assert ok.json()["to_state"] == "verified" and ok.json()["report"]["state"] == "verified"
    assert ok.headers["ETag"] == '"2"'
    assert inbox(api, seeded, "ops") == ["R-A-PEND-1"] and inbox(api, seeded, "qc") == []
    # operations approve; a stale tag is 412, a skipped level 409
    assert decide(api, seeded, "ops", "ops_approve", tag='"1"').status_code == 412
    assert decide(api, seeded, "im", "approve").status_code == 409
    assert decide(api, seeded, "ops", "ops_approve").json()["to_state"] == "ops_approved"
    # the IM officer's final approval: hazard created, effect returned
    detail = api.get(f"{URL}/review", headers=seeded.headers("im")).json()
    assert detail["decisions"] == ["approve", "reject"] and detail["effect"]["applies"]
    final = decide(api, seeded, "im", "approve")
    assert final.status_code == 200, final.text
    body = final.json()
    assert body["report"]["state"] == "approved" and body["effect"]["status"]["after"] == "open"
    assert api.get("/api/v1/hazards/HA-NEW-1", headers=seeded.headers("im")).status_code == 200
    # unapprove with a reason: IM officer only
    tag = final.headers["ETag"]
    assert (
        api.post(
            f"{URL}/unapprove",
            json={"reason": "wrong"},
            headers={**seeded.headers("qc"), "If-Match": tag},
        ).status_code
        == 403
    )
    un = api.post(
        f"{URL}/unapprove",
        json={"reason": "wrong field"},
        headers={**seeded.headers("im"), "If-Match": tag},
    )
    assert un.status_code == 200 and un.json()["state"] == "unapproved"
    history = api.get(URL, headers=seeded.headers("im")).json()["history"]
    assert [h["action"] for h in history] == [
        "submit",
        "verify",
        "ops_approve",
        "approve",
        "unapprove",
    ]
    assert [h["actor"] for h in history[1:4]] == ["qc", "ops", "im"]
    assert history[-1]["reason"] == "wrong field"
    audited = {a["action"] for a in users.list_audit(store, entity="report")}
    assert {"verify", "ops_approve", "approve", "unapprove"} <= audited


def test_reject_needs_a_reason_and_roles_and_scope_hold(
    store: Store, seeded: Accounts, api: TestClient
) -> None:
    missing = decide(api, seeded, "qc", "reject")
    assert missing.status_code == 400 and "reason" in missing.json()["message"]
    assert decide(api, seeded, "entry", "reject", reason="no").status_code == 403
    other = api.post(
        "/api/v1/reports/R-B-PEND-1/review",
        json={"decision": "verify"},
        headers={**seeded.headers("qc"), "If-Match": '"1"'},
    )
    assert other.status_code == 404
    no_tag = api.post(f"{URL}/review", json={"decision": "verify"}, headers=seeded.headers("qc"))
    assert no_tag.status_code == 428
    ok = decide(api, seeded, "ops", "reject", reason="polygon is the village")
    assert ok.status_code == 200 and ok.json()["report"]["state"] == "rejected"
    again = decide(api, seeded, "qc", "verify")
    assert again.status_code == 409
    # back to the submitter: the operator's data entry sees it among its rejected reports,
    # with the reason and who rejected it
    mine = api.get(
        "/api/v1/reports", params={"state": "rejected"}, headers=seeded.headers("entry")
    ).json()
    row = next(i for i in mine["items"] if i["report_id"] == "R-A-PEND-1")
    assert row["reason"] == "polygon is the village" and row["organisation"] == "ORG-A"
    history = api.get(URL, headers=seeded.headers("entry")).json()["history"]
    assert history[-1]["action"] == "reject" and history[-1]["actor"] == "ops"
    assert history[-1]["reason"] == "polygon is the village"
    assert api.get(f"{URL}/review", headers=seeded.headers("qc")).json()["decisions"] == []


def test_one_level_configured_keeps_the_one_step_approval(
    store: Store, seeded: Accounts, api: TestClient
) -> None:
    review.set_approval_levels(store, [], actor="admin")
    assert inbox(api, seeded, "qc") == []  # QC has no level left
    assert inbox(api, seeded, "im") == ["R-A-PEND-1", "R-B-PEND-1"]
    tag = api.get(URL, headers=seeded.headers("im")).headers["ETag"]
    ok = api.post(f"{URL}/approve", headers={**seeded.headers("admin"), "If-Match": tag})
    assert ok.status_code == 200 and ok.json()["state"] == "approved"


def test_racing_decisions_on_one_version_one_wins_the_other_412(
    store: Store, seeded: Accounts
) -> None:
    app = create_app(store.url)
    with TestClient(app) as c1, TestClient(app) as c2:
        tag = c1.get(URL, headers=seeded.headers("qc")).headers["ETag"]
        barrier = threading.Barrier(2)
        codes: list[int] = []

        def go(c: TestClient, decision: dict[str, str]) -> None:
            barrier.wait()
            r = c.post(
                f"{URL}/review", json=decision, headers={**seeded.headers("qc"), "If-Match": tag}
            )
            codes.append(r.status_code)

        threads = [
            threading.Thread(target=go, args=(c1, {"decision": "verify"})),
            threading.Thread(target=go, args=(c2, {"decision": "reject", "reason": "dup"})),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(codes) == [200, 412], codes
    app.state.store.dispose()


def test_reconcile_attaches_to_an_existing_hazard(
    store: Store, seeded: Accounts, api: TestClient
) -> None:
    qc = seeded.headers("qc")
    proposals = api.get(f"{URL}/review", headers=qc).json()["proposals"]
    assert proposals[0]["kind"] == "new_hazard"
    stale = api.post(
        f"{URL}/reconcile", json={"hazard_id": "HA"}, headers={**qc, "If-Match": '"9"'}
    )
    assert stale.status_code == 412
    no_tag = api.post(f"{URL}/reconcile", json={"hazard_id": "HA"}, headers=qc)
    assert no_tag.status_code == 428
    r = api.post(f"{URL}/reconcile", json={"hazard_id": "HA"}, headers={**qc, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["new_report_id"] == "R-A-PEND-1.HA" and body["report"]["hazard_id"] == "HA"
    old = api.get(URL, headers=qc).json()["report"]
    assert old["state"] == "superseded"
    ops = api.post(
        f"/api/v1/reports/{body['new_report_id']}/reconcile",
        json={"hazard_id": "HA"},
        headers={**seeded.headers("ops"), "If-Match": "*"},
    )
    assert ops.status_code == 403
