"""Concurrent editors against a real uvicorn server (SQLite or PostGIS).

N clients for a bounded time: submitters post new hazard reports; reviewers take them through
every configured review level (operator QC ``verify``, operations ``ops_approve``, IM officer
final ``approve``; now and then ``reject``), each with the role that holds the level, from
their review inbox and with the ETag they read (If-Match); editors change shared tasks with
If-Match; readers list and read hazards and reports. Allowed answers per operation: 2xx, and
412 for a stale If-Match (several reviewers pick from the same few pending reports, so they
race). A reviewer only takes the step the report's review page offers it, so the loser of a
race must get 412, never 409; a 5xx, a 409 or a hang is a failure. Afterwards the ledger and
projections must agree (``recompute --check``), every approved report must have its events and
derived rows and must have climbed every level in order, every accepted submission must be
there, and each task's version must equal 1 + the number of edits the server accepted (no
lost update).
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from tests.factories import hazard_report, rect
from tests.reliability.killing import consistency_problems

from mineaction.services import ledger, review, users
from mineaction.store import schema as s
from mineaction.store.engine import Store, open_store

#: answers allowed per operation (anything else is a failure)
ALLOWED = {
    "submit": {200, 201},
    "list": {200},
    "read": {200},
    "inbox": {200},
    "read review": {200},
    "verify": {200, 412},
    "ops_approve": {200, 412},
    "approve": {200, 412},
    "reject": {200, 412},
    "read task": {200},
    "edit task": {200, 412},
    "read hazards": {200},
}
PENDING = ("submitted", "verified", "ops_approved")
#: the review levels the reviewers go through, and the reviewer accounts (role, organisation)
LEVELS = ["verified", "ops_approved"]
REVIEWERS = (("qc", "operator_qc", "FSD"), ("ops", "operations", None), ("im", "im_officer", None))
#: the decision taken at each level, in order
DECISIONS = ("verify", "ops_approve", "approve")


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``mineaction serve`` in a child process on a free loopback port."""

    def __init__(self, db_url: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        import mineaction

        src = str(Path(mineaction.__file__).parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
        # The server's JSON access log goes to a file: a pipe nobody reads fills up and stalls it.
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="mineaction-serve-", suffix=".log", delete=False
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mineaction", "--db", db_url, "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                err = Path(self.log.name).read_text(errors="replace")
                raise RuntimeError(f"the server did not start: {err[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def log_lines(self) -> list[str]:
        """The server's log lines (JSON access log and errors)."""
        return Path(self.log.name).read_text(errors="replace").splitlines()


@dataclass
class ConcurrencyStats:
    """What the clients did and what the server answered."""

    clients: int = 0
    seconds: float = 0.0
    operations: Counter[str] = field(default_factory=Counter)  # by kind and status
    failures: list[str] = field(default_factory=list)
    records_lost: int = 0
    max_latency: float = 0.0
    hangs: int = 0
    check_hazards: int = 0
    check_reports: int = 0
    check_differences: int = -1  # -1: not checked
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    def count(self, *, status: str = "", kind: str = "") -> int:
        """Requests of an operation kind (prefix) and/or answer status (prefix)."""
        out = 0
        for k, n in self.operations.items():
            op, _, st = k.rpartition(" ")
            if op.startswith(kind) and st.startswith(status):
                out += n
        return out

    @property
    def completed(self) -> int:
        """Requests answered with 2xx."""
        return sum(n for k, n in self.operations.items() if k.endswith(("200", "201")))

    @property
    def total(self) -> int:
        """All requests made."""
        return sum(self.operations.values())

    def as_dict(self) -> dict[str, Any]:
        """Figures as JSON-able data."""
        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 1),
            "requests": self.total,
            "completed": self.completed,
            "operations": dict(self.operations),
            "records_lost": self.records_lost,
            "max_latency_s": round(self.max_latency, 2),
            "stale_412": self.count(status="412"),
            "conflict_409": self.count(status="409"),
            "server_errors_5xx": self.count(status="5"),
            "hangs": self.hangs,
            "check_hazards": self.check_hazards,
            "check_reports": self.check_reports,
            "check_differences": self.check_differences,
            "server_cpu_s": round(self.server_cpu, 1),
            "client_cpu_s": round(self.client_cpu, 1),
            "failures": self.failures[:20],
        }


def _prepare(store: Store, tasks: int) -> dict[str, str]:
    """Accounts with tokens, one approved hazard, shared tasks; return tokens by user."""
    tokens = {}
    for name, role, org in (("entry", "operator_entry", "FSD"), *REVIEWERS):
        users.add_user(store, name, role=role, organisation=org, password="correct horse battery")
        tokens[name] = users.create_token(store, name).token
    # every review level: operator QC verification, operations approval, final IM approval
    review.set_approval_levels(store, LEVELS, actor="setup")
    ledger.submit(store, hazard_report("C-BASE", "CBASE"))
    ledger.approve(store, "C-BASE")
    for i in range(12):  # work for every level from the first second
        x = 0.6 + 0.003 * i
        ledger.submit(
            store, hazard_report(f"C-PRE-{i}", f"CPRE{i}", polygon=rect(x, 0, x + 0.002, 0.001))
        )
        for _ in range(i % 3):  # a third left submitted, a third verified, a third ops-approved
            review.advance(store, f"C-PRE-{i}", actor="setup")
    from mineaction.services import tasks as task_svc

    for i in range(tasks):
        task_svc.create_task(
            store,
            {"hazard_id": "CBASE", "task_id": f"T{i}", "activity_type": "CLEARANCE"},
            actor="im",
        )
    return tokens


def run_concurrency(
    db_url: str,
    *,
    clients: int = 20,
    seconds: float = 3.0,
    seed: int = 0,
    request_timeout: float = 300.0,
) -> ConcurrencyStats:
    """Run the concurrent-editors workload against a fresh server; check the database after."""
    store = open_store(db_url, create=True)
    n_tasks = 2
    tokens = _prepare(store, n_tasks)
    stats = ConcurrencyStats(clients=clients)
    accepted_edits: Counter[str] = Counter()
    unknown_edits: Counter[str] = Counter()
    submitted: list[str] = []
    lock = threading.Lock()
    server = Server(db_url)
    t0 = time.monotonic()
    deadline = t0 + seconds

    def record(kind: str, r: httpx.Response) -> None:
        with lock:
            stats.operations[f"{kind} {r.status_code}"] += 1
            stats.max_latency = max(stats.max_latency, r.elapsed.total_seconds())
            if r.status_code not in ALLOWED[kind]:
                stats.failures.append(f"{kind}: {r.status_code} {r.text[:300]}")
            elif r.status_code >= 400 and not _error_shape(r):
                stats.failures.append(f"{kind}: {r.status_code} without the JSON error shape")

    def submitter(i: int, rng: random.Random, http: httpx.Client) -> None:
        for n in _rounds(deadline):
            rid = f"C{i:02d}-{n + 1:04d}"
            x, y = rng.uniform(0, 0.5), rng.uniform(0, 0.3)
            doc = hazard_report(rid, f"CH{i:02d}{n:04d}", polygon=rect(x, y, x + 0.002, y + 0.001))
            r = http.post("/api/v1/reports", json=doc, headers=_auth(tokens["entry"]))
            record("submit", r)
            if r.status_code in (200, 201):
                with lock:
                    submitted.append(rid)

    def reviewer(i: int, rng: random.Random, http: httpx.Client) -> None:
        name = REVIEWERS[i % len(REVIEWERS)][0]
        auth = _auth(tokens[name])
        for _round in _rounds(deadline):
            params: dict[str, Any] = {"limit": 5}
            if name == "im" and (_round == 0 or rng.random() < 0.7):
                params["step"] = "approved"  # the IM officers mostly give the final approval
            r = http.get("/api/v1/review/inbox", params=params, headers=auth)
            record("inbox", r)
            items = r.json().get("items", []) if r.status_code == 200 else []
            if not items:
                time.sleep(0.02)
                continue
            rid = rng.choice(items)["report_id"]
            g = http.get(f"/api/v1/reports/{rid}/review", headers=auth)
            record("read review", g)
            if g.status_code != 200:
                continue
            page = g.json()
            step = page["next_step"]
            decision = review.LEVEL_ACTION.get(step or "")
            if decision not in page["decisions"]:
                continue  # someone acted first (or not this role's level): acting would be 409
            headers = {**auth, "If-Match": g.headers["ETag"]}
            if rng.random() < 0.08:
                reason = f"reviewer {i} ({name}): check the polygon"
                if name != "ops" and rng.random() < 0.5:  # POST .../reject: not operations
                    a = http.post(
                        f"/api/v1/reports/{rid}/reject", json={"reason": reason}, headers=headers
                    )
                else:
                    a = http.post(
                        f"/api/v1/reports/{rid}/review",
                        json={"decision": "reject", "reason": reason},
                        headers=headers,
                    )
                record("reject", a)
            elif decision == "approve" and rng.random() < 0.5:
                a = http.post(f"/api/v1/reports/{rid}/approve", headers=headers)
                record("approve", a)
            else:
                a = http.post(
                    f"/api/v1/reports/{rid}/review", json={"decision": decision}, headers=headers
                )
                record(decision, a)

    def editor(i: int, rng: random.Random, http: httpx.Client) -> None:
        n = 0
        for _round in _rounds(deadline):
            n += 1
            tid = f"T{rng.randrange(n_tasks)}"
            g = http.get(f"/api/v1/tasks/{tid}", headers=_auth(tokens["im"]))
            record("read task", g)
            if g.status_code != 200:
                continue
            time.sleep(rng.uniform(0, 0.01))  # think time: others may change it meanwhile
            try:
                p = http.patch(
                    f"/api/v1/tasks/{tid}",
                    json={"notes": f"editor {i} change {n}"},
                    headers={**_auth(tokens["im"]), "If-Match": g.headers["ETag"]},
                )
            except httpx.TimeoutException:
                with lock:
                    unknown_edits[tid] += 1  # may or may not have been applied
                raise
            record("edit task", p)
            if p.status_code == 200:
                with lock:
                    accepted_edits[tid] += 1

    def reader(i: int, rng: random.Random, http: httpx.Client) -> None:
        for _round in _rounds(deadline):
            r = http.get(
                "/api/v1/hazards",
                params={"limit": 20, "offset": rng.randrange(50)},
                headers=_auth(tokens["im"]),
            )
            record("read hazards", r)
            r = http.get("/api/v1/reports", params={"limit": 20}, headers=_auth(tokens["im"]))
            record("list", r)

    # 20 clients: 7 submitters, 7 reviewers (QC, operations, IM in turn), 4 editors, 2 readers
    n_sub = max(1, clients * 7 // 20)
    n_app = max(1, clients * 7 // 20)
    n_read = clients // 10
    roles = [submitter] * n_sub + [reviewer] * n_app + [reader] * n_read
    roles += [editor] * (clients - len(roles))

    def client(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        try:
            with httpx.Client(base_url=server.url, timeout=request_timeout) as http:
                roles[i](i, rng, http)
        except Exception as exc:  # a hung or dropped connection is a failure too
            with lock:
                stats.failures.append(f"client {i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    cpu0 = time.process_time()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(1.0, deadline - time.monotonic()) + request_timeout + 60)
            if t.is_alive():
                stats.hangs += 1
                stats.failures.append("a client did not finish: deadlock or hang")
        stats.server_cpu = _cpu_seconds(server.proc.pid)
    finally:
        server.stop()
    stats.client_cpu = time.process_time() - cpu0
    stats.seconds = time.monotonic() - t0
    stats.hangs += sum(1 for f in stats.failures if "Timeout" in f)
    logged = [ln for ln in server.log_lines() if '"msg":"request"' in ln]
    if len(logged) < stats.total:
        stats.failures.append(f"{stats.total} requests but {len(logged)} access log lines")
    Path(server.log.name).unlink(missing_ok=True)
    # what must hold afterwards: `recompute --check` and the ledger's own bookkeeping
    checked = ledger.check(store)
    stats.check_hazards, stats.check_reports = checked.hazards, checked.reports
    stats.check_differences = len(checked.differences) + len(checked.errors)
    stats.failures += consistency_problems(store)
    stats.failures += level_problems(store, exempt={"C-BASE"})
    with store.read() as conn:
        have = {r.report_id for r in conn.execute(s.report.select())}
        versions = dict(
            conn.execute(
                s.task.select().with_only_columns(s.task.c.task_id, s.task.c.version)
            ).all()
        )
    lost = [rid for rid in submitted if rid not in have]
    stats.records_lost += len(lost)
    for tid in (f"T{i}" for i in range(n_tasks)):
        low, high = 1 + accepted_edits[tid], 1 + accepted_edits[tid] + unknown_edits[tid]
        if not low <= int(versions.get(tid) or 0) <= high:
            stats.failures.append(
                f"task {tid}: version {versions.get(tid)}, but {accepted_edits[tid]} edits were "
                "accepted: an update was lost"
            )
            stats.records_lost += max(0, low - int(versions.get(tid) or 0))
    store.dispose()
    return stats


def level_problems(store: Store, *, exempt: set[str]) -> list[str]:
    """Approved reports that did not climb every review level in order (verify, ops, approve)."""
    ev = s.report_event
    steps: dict[str, list[str]] = {}
    with store.read() as conn:
        approved = {
            rid
            for (rid,) in conn.execute(
                select(s.report.c.report_id).where(s.report.c.state == "approved")
            )
        }
        for rid, action in conn.execute(
            select(ev.c.report_id, ev.c.action).where(ev.c.action.in_(DECISIONS)).order_by(ev.c.id)
        ):
            steps.setdefault(rid, []).append(action)
    return [
        f"report {rid} approved through {steps.get(rid, [])}, not {list(DECISIONS)}"
        for rid in sorted(approved - exempt)
        if steps.get(rid) != list(DECISIONS)
    ][:10]


def _rounds(deadline: float) -> Iterator[int]:
    """Count rounds until ``deadline``, at least one: every client acts even on a slow machine."""
    n = 0
    while n == 0 or time.monotonic() < deadline:
        yield n
        n += 1


def _error_shape(r: httpx.Response) -> bool:
    """True when an error answer is the API's JSON error shape with a message."""
    try:
        body = r.json()
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("code")) and bool(body.get("message"))


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
