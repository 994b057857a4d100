"""Observability: request IDs, JSON access logs, /readyz, Prometheus /metrics."""

from __future__ import annotations

import logging
import re
import warnings

import orjson
import pytest
from sqlalchemy import text
from tests.reliability.data import populate

from mineaction.store.engine import Store
from mineaction.web import observability as obs
from mineaction.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_request_id_is_returned_and_logged_as_json(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(create_app(store.url)) as client, caplog.at_level(logging.INFO):
        r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        assert r.headers["X-Request-ID"] == "abc-123"
        r2 = client.get("/healthz", headers={"X-Request-ID": "bad id\n<script>"})
        generated = r2.headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", generated)
    records = [rec for rec in caplog.records if rec.name == "mineaction.access"]
    lines = [orjson.loads(obs.JsonFormatter().format(rec)) for rec in records]
    assert [ln["request_id"] for ln in lines[-2:]] == ["abc-123", generated]
    assert lines[-1]["route"] == "/healthz" and lines[-1]["status"] == 200
    assert lines[-1]["duration_ms"] >= 0 and lines[-1]["msg"] == "request"


def test_readyz_checks_database_and_schema(store: Store) -> None:
    with TestClient(create_app(store.url)) as client:
        r = client.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "ready" and r.json()["schema"] == store.head_revision()
        with store.write() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        r = client.get("/readyz")
        assert r.status_code == 503
        assert "db upgrade" in r.json()["problem"]


def test_readyz_when_database_is_gone(tmp_path: object) -> None:
    store = Store(f"sqlite:///{tmp_path}/missing/none.db", check_schema=False)
    ready, details = obs.readiness(store)
    assert not ready and details["database"] == "unreachable" and details["problem"]


def test_metrics_in_prometheus_format(store: Store) -> None:
    populate(store, 2)  # leaves one report pending
    with TestClient(create_app(store.url)) as client:
        for _ in range(3):
            client.get("/healthz")
        client.get("/no/such/page")
        body = client.get("/metrics").text
    assert 'mineaction_http_requests_total{method="GET",route="/healthz",status="200"} 3' in body
    assert (
        'mineaction_http_request_duration_seconds_bucket{method="GET",route="/healthz",'
        'le="+Inf"} 3' in body
    )
    assert 'mineaction_review_backlog{state="submitted"} 1' in body
    assert "mineaction_hazards 2" in body
    assert "mineaction_database_up 1" in body
    assert re.search(r"^mineaction_review_oldest_pending_seconds \d+$", body, re.M)
    # every sample line is NAME{labels} VALUE or NAME VALUE
    for line in body.splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(r"[a-z_]+(\{[^{}]*\})? [0-9.e+-]+", line), line


def test_histogram_buckets_are_cumulative() -> None:
    m = obs.Metrics(buckets=(0.1, 1.0))
    m.observe("GET", "/x", 200, 0.05)
    m.observe("GET", "/x", 200, 0.5)
    m.observe("GET", "/x", 500, 5.0)
    text_ = "\n".join(m.render())
    assert 'le="0.1"} 1' in text_ and 'le="1.0"} 2' in text_ and 'le="+Inf"} 3' in text_
    assert 'status="500"} 1' in text_


def test_unexpected_error_is_logged_with_the_request_id(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A 500 is answered in the JSON error shape with X-Request-ID; its log line has the ID."""
    app = create_app(sqlite_store.url)

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom-for-test", boom)
    app.state.policy = {**app.state.policy, "GET /boom-for-test": app.state.policy["GET /healthz"]}
    with TestClient(app) as client, caplog.at_level(logging.INFO):
        r = client.get("/boom-for-test", headers={"X-Request-ID": "rid-500"})
    assert r.status_code == 500 and r.headers["X-Request-ID"] == "rid-500"
    assert r.json()["code"] == "internal_error" and "a bug" not in r.text
    lines = [orjson.loads(obs.JsonFormatter().format(rec)) for rec in caplog.records]
    error = [ln for ln in lines if ln["level"] == "error"]
    assert error and error[-1]["request_id"] == "rid-500" and "RuntimeError" in error[-1]["exc"]
    access = [ln for ln in lines if ln["msg"] == "request" and ln["request_id"] == "rid-500"]
    assert access and access[-1]["status"] == 500


def test_metrics_show_the_writer_queue(store: Store) -> None:
    """One write holds the writer lock, a second waits: the gauge says 1 running, 1 waiting."""
    import threading
    import time

    app = create_app(store.url)
    app_store: Store = app.state.store
    release = threading.Event()
    entered = threading.Event()

    def hold() -> None:
        with app_store.write():
            entered.set()
            release.wait(30)

    def wait_for_lock() -> None:
        with app_store.write():
            pass

    with TestClient(app) as client:
        first = threading.Thread(target=hold)
        first.start()
        entered.wait(10)
        second = threading.Thread(target=wait_for_lock)
        second.start()
        deadline = time.monotonic() + 10
        while app_store.writes_waiting < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        body = client.get("/metrics").text
        release.set()
        first.join(30)
        second.join(30)
        after = client.get("/metrics").text
    app_store.dispose()
    assert 'mineaction_write_transactions{state="running"} 1' in body
    assert 'mineaction_write_transactions{state="waiting"} 1' in body
    assert 'mineaction_write_transactions{state="waiting"} 0' in after
    assert 'mineaction_write_transactions{state="running"} 0' in after


def test_metrics_show_the_plan_queue(sqlite_store: Store) -> None:
    """The background planner's queue: one run running (held), one queued."""
    import threading

    from mineaction.services import plan_jobs
    from mineaction.services.planning import PlanOptions

    release = threading.Event()
    started = threading.Event()

    def runner(job: plan_jobs.PlanJob, store: Store, progress: object) -> str:
        started.set()
        release.wait(30)
        return "P-TEST"

    app = create_app(sqlite_store.url)
    jobs = app.state.plan_jobs = plan_jobs.PlanJobs(app.state.store, runner=runner)
    with TestClient(app) as client:
        body = client.get("/metrics").text
        assert 'mineaction_plan_runs{state="queued"} 0' in body
        jobs.submit(PlanOptions(), created_by="im")
        assert started.wait(10)
        jobs.submit(PlanOptions(), created_by="im")
        body = client.get("/metrics").text
        release.set()
    assert 'mineaction_plan_runs{state="running"} 1' in body
    assert 'mineaction_plan_runs{state="queued"} 1' in body
