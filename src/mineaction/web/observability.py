"""Observability: request IDs, structured JSON logs, ``/readyz`` and Prometheus ``/metrics``.

``install(app, store)`` adds a middleware that gives every request an ID (the client's
``X-Request-ID`` when it is sane, else a new one), returns it in ``X-Request-ID``, logs one
JSON line per request on the ``mineaction.access`` logger and records the latency by route.

- ``GET /readyz``: 200 when the database answers and its schema is this program's, else 503.
- ``GET /metrics``: Prometheus text format: request counts and a latency histogram by route,
  requests in flight, write transactions waiting for the writer lock and running, the review
  backlog by workflow state and the age of the oldest pending report, open import quarantine
  records, reports and hazards, and the background planner's runs (queued, running).

An unexpected exception is answered (500, JSON error shape, ``X-Request-ID``) and logged with
its traceback inside the request's context, so the error line carries the request ID too.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import func, select, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mineaction.store import schema as s
from mineaction.store.engine import Store

#: The ID of the request being served (empty outside requests); in every log line.
request_id: ContextVar[str] = ContextVar("request_id", default="")

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PENDING = ("submitted", "verified", "ops_approved")
access_log = logging.getLogger("mineaction.access")


class JsonFormatter(logging.Formatter):
    """Format log records as one JSON object per line, with the request ID."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as JSON: time, level, logger, message, request_id and extras."""
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            doc["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            doc.update(fields)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def configure_logging(level: int = logging.INFO, stream: Any = None) -> None:
    """Send ``mineaction`` logs to ``stream`` (stderr) as JSON lines (once per process)."""
    root = logging.getLogger("mineaction")
    if any(getattr(h, "_mineaction_json", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._mineaction_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


class Metrics:
    """Request counters and latency histograms (thread-safe), written in Prometheus format."""

    def __init__(self, buckets: Iterable[float] = BUCKETS) -> None:
        self.buckets = tuple(buckets)
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = {}
        self.hist: dict[tuple[str, str], list[float]] = {}  # bucket counts..., sum, count
        self.in_flight: int = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one finished request."""
        with self._lock:
            key = (method, route, str(status))
            self.requests[key] = self.requests.get(key, 0) + 1
            h = self.hist.setdefault((method, route), [0.0] * (len(self.buckets) + 2))
            for i, b in enumerate(self.buckets):
                if seconds <= b:
                    h[i] += 1
            h[-2] += seconds
            h[-1] += 1

    def render(self) -> list[str]:
        """Return the request metrics as Prometheus text lines."""
        out = [
            "# HELP mineaction_http_requests_total HTTP requests by method, route and status.",
            "# TYPE mineaction_http_requests_total counter",
        ]
        with self._lock:
            for (m, r, st), n in sorted(self.requests.items()):
                out.append(
                    f'mineaction_http_requests_total{{method="{m}",route="{_esc(r)}",'
                    f'status="{st}"}} {n}'
                )
            out += [
                "# HELP mineaction_http_request_duration_seconds Request latency by route.",
                "# TYPE mineaction_http_request_duration_seconds histogram",
            ]
            for (m, r), h in sorted(self.hist.items()):
                labels = f'method="{m}",route="{_esc(r)}"'
                for b, cnt in zip(self.buckets, h, strict=False):
                    out.append(
                        f'mineaction_http_request_duration_seconds_bucket{{{labels},le="{b}"}} '
                        f"{int(cnt)}"
                    )
                out.append(
                    f'mineaction_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} '
                    f"{int(h[-1])}"
                )
                out.append(f"mineaction_http_request_duration_seconds_sum{{{labels}}} {h[-2]:.6f}")
                out.append(
                    f"mineaction_http_request_duration_seconds_count{{{labels}}} {int(h[-1])}"
                )
            out += [
                "# HELP mineaction_http_requests_in_flight Requests being served.",
                "# TYPE mineaction_http_requests_in_flight gauge",
                f"mineaction_http_requests_in_flight {self.in_flight}",
            ]
        return out


def _esc(value: str) -> str:
    """Escape a Prometheus label value.

    >>> _esc('a"b\\\\c')
    'a\\\\"b\\\\\\\\c'
    """
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def store_metrics(store: Store) -> list[str]:
    """Return gauges read from the database: review backlog, quarantine, reports, hazards."""
    r = s.report
    out: list[str] = []
    with store.read() as conn:
        by_state: dict[str, int] = {
            str(st): int(n)
            for st, n in conn.execute(select(r.c.state, func.count()).group_by(r.c.state))
        }
        oldest = conn.execute(
            select(func.min(r.c.submitted_at)).where(r.c.state.in_(PENDING))
        ).scalar()
        hazards = conn.execute(select(func.count()).select_from(s.hazard)).scalar() or 0
        quarantine_table = getattr(s, "quarantine", None)
        open_quarantine = None
        if quarantine_table is not None:
            open_quarantine = conn.execute(
                select(func.count())
                .select_from(quarantine_table)
                .where(quarantine_table.c.resolved.is_(False))
            ).scalar()
    out += [
        "# HELP mineaction_review_backlog Reports waiting for review, by workflow state.",
        "# TYPE mineaction_review_backlog gauge",
    ]
    for st in PENDING:
        out.append(f'mineaction_review_backlog{{state="{st}"}} {int(by_state.get(st, 0))}')
    age = 0.0
    if oldest is not None:
        when = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
        age = max(0.0, (datetime.now(UTC) - when).total_seconds())
    out += [
        "# HELP mineaction_review_oldest_pending_seconds Age of the oldest report awaiting review.",
        "# TYPE mineaction_review_oldest_pending_seconds gauge",
        f"mineaction_review_oldest_pending_seconds {age:.0f}",
        "# HELP mineaction_reports Reports in the ledger by state.",
        "# TYPE mineaction_reports gauge",
    ]
    for st, n in sorted(by_state.items()):
        out.append(f'mineaction_reports{{state="{_esc(str(st))}"}} {int(n)}')
    out += [
        "# HELP mineaction_hazards Hazards in the national picture.",
        "# TYPE mineaction_hazards gauge",
        f"mineaction_hazards {int(hazards)}",
    ]
    if open_quarantine is not None:
        out += [
            "# HELP mineaction_import_quarantine_open Imported records held in quarantine.",
            "# TYPE mineaction_import_quarantine_open gauge",
            f"mineaction_import_quarantine_open {int(open_quarantine)}",
        ]
    return out


def write_queue_metrics(store: Store) -> list[str]:
    """Return the writer queue of this process: write transactions waiting and running.

    Writes are serialised (one writer at a time), so a growing ``waiting`` is the first sign
    of an overloaded server or a long write holding the lock.
    """
    return [
        "# HELP mineaction_write_transactions Write transactions of this server by state "
        "(waiting for the one-writer lock, running).",
        "# TYPE mineaction_write_transactions gauge",
        f'mineaction_write_transactions{{state="waiting"}} {max(0, store.writes_waiting)}',
        f'mineaction_write_transactions{{state="running"}} {max(0, store.writes_running)}',
    ]


def plan_queue_metrics(jobs: Any) -> list[str]:
    """Return the background planner's queue of this process: runs queued and running."""
    counts = jobs.counts() if jobs is not None else {}
    return [
        "# HELP mineaction_plan_runs Planning runs of this server's background planner by state "
        "(queued, running; finished runs kept for their pages: done, failed).",
        "# TYPE mineaction_plan_runs gauge",
        *(
            f'mineaction_plan_runs{{state="{st}"}} {int(counts.get(st, 0))}'
            for st in ("queued", "running", "done", "failed")
        ),
    ]


def readiness(store: Store) -> tuple[bool, dict[str, Any]]:
    """Return (ready, details): the database answers and its schema is this program's."""
    details: dict[str, Any] = {"database": "unreachable", "schema": None}
    try:
        with store.read() as conn:
            conn.execute(text("SELECT 1"))
        details["database"] = "ok"
        current, head = store.current_revision(), store.head_revision()
        details["schema"] = current
        details["schema_expected"] = head
        if current != head:
            details["problem"] = (
                "schema is not at this program's version: run mineaction db upgrade"
            )
            return False, details
    except Exception as exc:  # any failure means not ready; say why
        details["problem"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        return False, details
    return True, details


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "(unmatched)"


class Observe:
    """ASGI middleware: request ID, latency metrics and the access log of every HTTP request.

    Plain ASGI (not Starlette's ``BaseHTTPMiddleware``, which runs each request through extra
    tasks and memory streams): its cost per request is a few dictionary operations, and the
    access log line is only built when the ``mineaction.access`` logger would write it.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, log_requests: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request (other ASGI events pass through untouched)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                given = value.decode("latin-1")
                break
        rid = given if _SANE_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        rid_header = (b"x-request-id", rid.encode())
        t0 = time.perf_counter()
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = [h for h in message.get("headers", ()) if h[0].lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, rid_header]}
            await send(message)

        metrics = self.metrics
        with metrics._lock:
            metrics.in_flight += 1
        try:
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:  # answered and logged here, with the request ID
                if started:
                    raise
                from mineaction.web.errors import unexpected_error

                app = scope.get("app")  # its handler (a page for a browser: web.pages)
                handler = getattr(app, "exception_handlers", {}).get(Exception, unexpected_error)
                response = await handler(Request(scope), exc)
                await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - t0
            with metrics._lock:
                metrics.in_flight -= 1
            route = _route_of(scope)
            method = scope["method"]
            metrics.observe(method, route, status, elapsed)
            if self.log_requests and access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                access_log.info(
                    "request",
                    extra={
                        "fields": {
                            "request_id": rid,
                            "method": method,
                            "path": scope["path"],
                            "route": route,
                            "status": status,
                            "duration_ms": round(elapsed * 1000, 2),
                            "remote": client[0] if client else None,
                        }
                    },
                )
            request_id.reset(token)


def install(app: FastAPI, store: Store, *, log_requests: bool = True) -> Metrics:
    """Add request IDs, access logs, latency metrics, ``/readyz`` and ``/metrics`` to ``app``."""
    metrics = Metrics()
    app.state.metrics = metrics
    configure_logging()

    app.add_middleware(Observe, metrics=metrics, log_requests=log_requests)

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        ready, details = readiness(store)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", **details},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> PlainTextResponse:
        lines = metrics.render()
        try:
            lines += store_metrics(store)
            up = 1
        except Exception:  # the database is down: still answer, and say so
            up = 0
        lines += write_queue_metrics(store)
        lines += plan_queue_metrics(getattr(app.state, "plan_jobs", None))
        lines += [
            "# HELP mineaction_database_up 1 when the database answered the last scrape.",
            "# TYPE mineaction_database_up gauge",
            f"mineaction_database_up {up}",
        ]
        return PlainTextResponse(
            "\n".join(lines) + "\n", media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    return metrics
