"""Two clients acting on the same report version at once: the loser always gets 412.

The race: a client reads a report (ETag "v"), another client approves it, then the first
client's approve arrives. Its If-Match was checked against the row read before the write
lock, so it used to reach the workflow rule ("already approved", 409). The version is now
checked again inside the write transaction (writers are serialised: SQLite BEGIN IMMEDIATE,
PostgreSQL advisory lock), before any workflow rule: a stale client is told 412 Precondition
Failed. 409 stays the answer for acting on the *current* version of a report whose state
forbids the action (approving an approved report with its current ETag or ``If-Match: *``).
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import pytest
from tests.factories import hazard_report, rect

from mineaction.errors import ConflictError, StaleVersionError
from mineaction.services import ledger, review, users
from mineaction.store import reports as repo
from mineaction.store.engine import Store
from mineaction.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _submit(store: Store, n: int, prefix: str = "S") -> list[str]:
    ids = []
    for i in range(n):
        x = 0.01 * i
        doc = hazard_report(f"{prefix}-{i}", f"{prefix}H{i}", polygon=rect(x, 0, x + 0.004, 0.002))
        ids.append(ledger.submit(store, doc).report_id)
    return ids


def _version(store: Store, rid: str) -> int:
    with store.read() as conn:
        return int(repo.get_report(conn, rid)["version"])


def test_the_race_interleaved_by_hand_answers_stale_not_conflict(store: Store) -> None:
    """Read at v, someone else approves, approve at v: StaleVersionError, nothing changes."""
    (rid,) = _submit(store, 1)
    v = _version(store, rid)
    ledger.approve(store, rid, actor="winner", expected_version=v)
    with pytest.raises(StaleVersionError, match="someone acted on it meanwhile"):
        ledger.approve(store, rid, actor="loser", expected_version=v)
    with pytest.raises(StaleVersionError):
        ledger.reject(store, rid, reason="late", actor="loser", expected_version=v)
    with pytest.raises(StaleVersionError):
        ledger.unapprove(store, rid, reason="late", actor="loser", expected_version=v)
    # with the current version the workflow rule speaks: a state conflict, 409
    with pytest.raises(ConflictError, match="only submitted reports can be approved"):
        ledger.approve(store, rid, actor="x", expected_version=v + 1)
    with store.read() as conn:
        events = [e["action"] for e in repo.events(conn, rid)]
    assert events.count("approve") == 1


def test_review_levels_check_the_version_inside_the_transaction(store: Store) -> None:
    (rid,) = _submit(store, 1)
    v = _version(store, rid)
    review.verify(store, rid, actor="qc", expected_version=v)
    with pytest.raises(StaleVersionError):
        review.verify(store, rid, actor="qc2", expected_version=v)
    with pytest.raises(StaleVersionError):
        review.approve(store, rid, actor="ops", expected_version=v)
    review.approve(store, rid, actor="ops", expected_version=v + 1)  # ops_approved
    review.approve(store, rid, actor="im", expected_version=v + 2)  # approved
    assert _version(store, rid) == v + 3


@pytest.mark.parametrize("rounds", [6])
def test_threads_racing_on_one_version_one_wins_the_rest_412(store: Store, rounds: int) -> None:
    """N threads approve/reject the same version at once: one wins, every other one is 412."""
    ids = _submit(store, rounds, prefix="T")
    outcomes: list[list[str]] = []
    for rid in ids:
        v = _version(store, rid)
        barrier = threading.Barrier(6)
        got: list[str] = []

        def act(k: int, rid: str = rid, v: int = v, barrier: Any = barrier, got: Any = got) -> None:
            barrier.wait(10)
            try:
                if k % 3 == 2:
                    ledger.reject(store, rid, reason="no", actor=f"c{k}", expected_version=v)
                else:
                    ledger.approve(store, rid, actor=f"c{k}", expected_version=v)
                out = "ok"
            except Exception as exc:
                out = type(exc).__name__
            got.append(out)  # list.append is atomic

        threads = [threading.Thread(target=act, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        outcomes.append(sorted(got))
    assert all(o == ["StaleVersionError"] * 5 + ["ok"] for o in outcomes), outcomes
    for rid in ids:  # exactly one workflow event each: no lost or doubled update
        with store.read() as conn:
            assert len([e for e in repo.events(conn, rid) if e["action"] != "submit"]) == 1
    checked = ledger.check(store)
    assert not checked.differences and not checked.errors


def test_api_clients_racing_with_the_same_etag_get_one_200_and_412s(store: Store) -> None:
    """Over HTTP: 6 clients read the same ETag and approve at once; never 409, never 5xx."""
    # POST .../approve is the final level: configure one-step approval (the API follows levels)
    review.set_approval_levels(store, [], actor="setup")
    ids = _submit(store, 4, prefix="A")
    users.add_user(store, "im", role="im_officer", password="correct horse battery")
    auth = {"Authorization": f"Bearer {users.create_token(store, 'im').token}"}
    app = create_app(store.url)
    statuses: list[list[int]] = []
    with TestClient(app) as client:
        for rid in ids:
            etag = client.get(f"/api/v1/reports/{rid}", headers=auth).headers["ETag"]
            barrier = threading.Barrier(6)
            got: list[int] = []

            def approve(rid: str = rid, etag: str = etag, b: Any = barrier, got: Any = got) -> None:
                b.wait(10)
                r = client.post(
                    f"/api/v1/reports/{rid}/approve", headers={**auth, "If-Match": etag}
                )
                if r.status_code == 412:
                    body = r.json()
                    assert body["code"] == "stale_version" and body["message"], body
                got.append(r.status_code)

            threads = [threading.Thread(target=approve) for _ in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            statuses.append(sorted(got))
        # acting on the current version of an approved report is a state conflict: 409
        current = client.get(f"/api/v1/reports/{ids[0]}", headers=auth).headers["ETag"]
        again = client.post(
            f"/api/v1/reports/{ids[0]}/approve", headers={**auth, "If-Match": current}
        )
        assert again.status_code == 409 and again.json()["code"] == "conflict"
    app.state.store.dispose()
    assert all(s == [200] + [412] * 5 for s in statuses), statuses
