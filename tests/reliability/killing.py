"""Crash safety harness: run CLI commands in a child process, SIGKILL it at a random moment,
then check that the database is consistent and that re-running the command finishes the job.

Children are forked from a forkserver that has already imported mineaction, so a kill lands in
the command's work rather than in Python's start-up; each child is still a separate process
with its own database connections, killed with SIGKILL (no cleanup, no rollback by Python).

Scenarios (each on SQLite and PostGIS): ``approve`` (``reports approve`` of a batch),
``submit`` (``reports submit FILE --approve``), ``recompute`` and ``migrate`` (``db upgrade``
from schema 0001 with data). Used by tests/reliability/test_kill.py (a short run) and
tests/reliability/run_kill.py (a long run printing figures).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select, text

from mineaction.services import ledger
from mineaction.store import schema as s
from mineaction.store.engine import Store, open_store

SCENARIOS = ("approve", "submit", "recompute -j1", "recompute -j2", "migrate", "import", "demo")
#: approved reports per recompute shard in the kill runs: several shards even for a small
#: ledger, so that ``--jobs 2`` really runs two workers (SQLite: each with scratch files)
KILL_REPORTS_PER_SHARD = 10

_CTX: Any = None


def _context() -> Any:
    global _CTX
    if _CTX is None:
        # The forkserver is a new interpreter: make it import this checkout's code (Python 3.11
        # does not hand sys.path over to it), not an installed copy.
        import mineaction

        here = [
            str(Path(mineaction.__file__).parents[1]),
            str(Path(__file__).parents[2]),
            str(Path(__file__).parent),  # for the preloaded testspath module
        ]
        old = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join([*here, *([old] if old else [])])
        _CTX = multiprocessing.get_context("forkserver")
        _CTX.set_forkserver_preload(
            [
                "testspath",
                "mineaction.cli",
                "mineaction.services.ledger",
                "tests.reliability.killing",
            ]
        )
        warm = _CTX.Process(target=_noop)  # start the forkserver now, not in a timed run
        warm.start()
        warm.join()
    return _CTX


def _noop() -> None:
    """Nothing (starts the forkserver)."""


def _child(argv: list[str], log: str, reports_per_shard: int | None = None) -> None:
    """Run the CLI with ``argv`` (in the child process), output to ``log``."""
    out = open(log, "w", encoding="utf-8")  # noqa: SIM115 - lives until the process ends
    sys.stdout = sys.stderr = out
    from mineaction.cli import main

    if reports_per_shard is not None:
        use_small_shards(reports_per_shard)

    try:
        main(argv)
    finally:
        out.flush()


def use_small_shards(reports_per_shard: int) -> None:
    """Make ``recompute`` split even a small ledger into several shards (this process only).

    The shards are planned in the recompute's own process, so a child killed with several
    worker processes (each writing its scratch file on SQLite) needs only this here.
    """
    from mineaction.services import rebuild

    rebuild.REPORTS_PER_SHARD = reports_per_shard
    defaults = rebuild.recompute.__kwdefaults__ or {}
    if "reports_per_shard" in defaults:
        defaults["reports_per_shard"] = reports_per_shard


def _children(pid: int) -> set[int]:
    """Process ids of every living descendant of ``pid`` (Linux /proc)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                kids = Path(f"/proc/{p}/task/{tid}/children").read_text().split()
            except OSError:
                continue
            for k in map(int, kids):
                if k not in found:
                    found.add(k)
                    todo.append(k)
    return found


def _workers(pids: set[int]) -> set[int]:
    """The recompute's worker processes among ``pids`` (not a resource tracker or fork server).

    Workers name themselves (``/proc/PID/comm``) once started.
    """
    from mineaction.services.rebuild import WORKER_NAME

    out = set()
    for p in pids:
        try:
            if Path(f"/proc/{p}/comm").read_text().strip() == WORKER_NAME:
                out.add(p)
        except OSError:
            pass
    return out


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass
class Run:
    """One child run: whether it was killed before finishing, its exit code and output."""

    killed: bool
    exitcode: int | None
    output: str
    seconds: float
    #: descendants (e.g. recompute workers) alive at the kill, and those still alive 10 s later
    workers_at_kill: int = 0
    workers_left: int = 0
    pid: int = 0


def run_cli(
    argv: list[str],
    *,
    kill_after: float | None = None,
    timeout: float = 300,
    reports_per_shard: int | None = None,
    kill_when: Callable[[int], bool] | None = None,
) -> Run:
    """Run ``mineaction ARGV`` in a child process; SIGKILL it after ``kill_after`` seconds.

    ``kill_when(pid)``: first wait until it is true of the child (polled), then ``kill_after``.
    """
    fd, log = tempfile.mkstemp(prefix="mineaction-kill-", suffix=".log")
    os.close(fd)
    try:
        proc = _context().Process(target=_child, args=(argv, log, reports_per_shard))
        t0 = time.perf_counter()
        proc.start()
        workers: set[int] = set()
        at_kill = 0
        if kill_when is not None:
            end = time.monotonic() + timeout
            while proc.is_alive() and not kill_when(proc.pid):
                if time.monotonic() > end:
                    break
                time.sleep(0.005)
        if kill_after is not None:
            proc.join(kill_after)
            if proc.is_alive():
                workers = _children(proc.pid)
                at_kill = len(_workers(workers))  # read before they go
                # it may have finished (and been reaped) just before the kill: not killed then
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
        proc.join(timeout)
        if proc.is_alive():
            proc.kill()
            proc.join()
            raise AssertionError(f"mineaction {' '.join(argv)} did not finish in {timeout} s")
        seconds = time.perf_counter() - t0
        # the recompute's workers must die with it (they hold a snapshot and scratch files)
        end = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < end:
            time.sleep(0.05)
        left = [w for w in workers if _alive(w)]
        for w in left:  # do not leave them running after the test
            os.kill(w, signal.SIGKILL)
        output = Path(log).read_text(encoding="utf-8", errors="replace")
        killed = proc.exitcode == -signal.SIGKILL
        return Run(
            killed,
            proc.exitcode,
            output,
            seconds,
            at_kill,
            len(left),
            proc.pid or 0,
        )
    finally:
        Path(log).unlink(missing_ok=True)


# --- what must hold after a crash ----------------------------------------------------------


def cli_check(url: str) -> list[str]:
    """Run ``mineaction recompute --check`` as a user would after the restart; problems if any."""
    run = run_cli(["--db", url, "recompute", "--check"])
    if run.exitcode != 0:
        return [f"`mineaction recompute --check` exited {run.exitcode}: {run.output[-300:]}"]
    return []


def _count(conn: Any, table: Any, *where: Any) -> int:
    q = select(func.count()).select_from(table)
    for w in where:
        q = q.where(w)
    return int(conn.execute(q).scalar() or 0)


def consistency_problems(store: Store, *, audit: bool = True) -> list[str]:
    """Return every way the database is inconsistent (empty list: all is well).

    The stored projection equals a fresh recompute of the ledger; every report has its submit
    event and audit entry; every approved report its approval; the derived rows match the
    approved reports one for one.
    """
    problems: list[str] = []
    checked = ledger.check(store)
    problems += [f"check: {d}" for d in checked.differences[:5]]
    problems += [f"check error: {e}" for e in checked.errors[:5]]
    r, ev, au = s.report, s.report_event, s.audit_log
    with store.read() as conn:
        reports = _count(conn, r)
        approved = _count(conn, r, r.c.state == "approved")
        facts = {
            "submit events": (_count(conn, ev, ev.c.action == "submit"), reports),
            "approved reports without an approve event": (
                _count(
                    conn,
                    r,
                    r.c.state == "approved",
                    ~select(ev.c.id)
                    .where(ev.c.report_id == r.c.report_id, ev.c.action == "approve")
                    .exists(),
                ),
                0,
            ),
            "submit audit entries": (_count(conn, au, au.c.action == "submit"), reports),
            # one audit entry per approval event (an unapproved report keeps both)
            "approve audit entries": (
                _count(conn, au, au.c.action == "approve"),
                _count(conn, ev, ev.c.action == "approve"),
            ),
            "approve events of approved reports": (
                _count(
                    conn,
                    ev,
                    ev.c.action == "approve",
                    select(r.c.report_id)
                    .where(r.c.report_id == ev.c.report_id, r.c.state == "approved")
                    .exists(),
                ),
                approved,
            ),
            "approval numbers": (_count(conn, r, r.c.approval_seq.is_not(None)), approved),
        }
        releases = eo = activities = 0
        hazards: set[str] = set()
        for typ, payload, hid in conn.execute(
            select(r.c.type, r.c.payload, r.c.hazard_id).where(r.c.state == "approved")
        ):
            if typ == "hazard":
                hazards.add(hid)
            if typ == "activity":
                activities += 1
                releases += len(payload["activity"].get("releases", []))
                eo += len(payload["activity"].get("eo_items", []))
            if typ == "eo":
                eo += len(payload["eo"].get("items", []))
        facts["activity rows"] = (_count(conn, s.activity), activities)
        facts["release polygons"] = (_count(conn, s.release_polygon), releases)
        facts["EO items"] = (_count(conn, s.eo_item), eo)
        facts["hazards"] = (_count(conn, s.hazard), len(hazards))
    if not audit:  # data seeded by hand into an old schema has no audit trail
        facts = {k: v for k, v in facts.items() if "audit" not in k}
    for name, (have, want) in facts.items():
        if have != want:
            problems.append(f"{name}: {have}, expected {want}")
    return problems


def counts(store: Store) -> dict[str, int]:
    """Reports, approved reports and hazards in the store."""
    r = s.report
    with store.read() as conn:
        return {
            "reports": _count(conn, r),
            "approved": _count(conn, r, r.c.state == "approved"),
            "hazards": _count(conn, s.hazard),
        }


# --- statistics ------------------------------------------------------------------------------


@dataclass
class KillStats:
    """Figures of a kill campaign."""

    tried: Counter[str] = field(default_factory=Counter)  # kill points tried per scenario
    killed: Counter[str] = field(default_factory=Counter)  # runs really interrupted
    survived: Counter[str] = field(default_factory=Counter)  # consistent after kill and re-run
    #: kills that hit a recompute while its worker processes were running, per scenario
    with_workers: Counter[str] = field(default_factory=Counter)
    #: SQLite recompute kills that left a scratch directory (workers had started on it), and
    #: how many scratch files were in them
    with_scratch: Counter[str] = field(default_factory=Counter)
    scratch_files: Counter[str] = field(default_factory=Counter)
    #: kills after which the transaction was rolled back (the database exactly as before)
    rolled_back: Counter[str] = field(default_factory=Counter)
    records_lost: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def merge(self, other: KillStats) -> None:
        """Add another campaign's figures."""
        self.tried += other.tried
        self.killed += other.killed
        self.survived += other.survived
        self.with_workers += other.with_workers
        self.with_scratch += other.with_scratch
        self.scratch_files += other.scratch_files
        self.rolled_back += other.rolled_back
        self.records_lost += other.records_lost
        self.failures += other.failures
        self.seconds += other.seconds

    def as_dict(self) -> dict[str, Any]:
        """Figures as JSON-able data."""
        return {
            "tried": dict(self.tried),
            "killed": dict(self.killed),
            "survived": dict(self.survived),
            "killed_with_workers": dict(self.with_workers),
            "killed_with_scratch_dir": dict(self.with_scratch),
            "scratch_files_at_kill": dict(self.scratch_files),
            "rolled_back": dict(self.rolled_back),
            "records_lost": self.records_lost,
            "failures": self.failures[:20],
            "seconds": round(self.seconds, 1),
        }


def _delay(rng: random.Random, full: float) -> float:
    return rng.uniform(0.02, 1.0) * max(full, 0.05)


def _kill_round(
    stats: KillStats,
    scenario: str,
    store: Store,
    argv: list[str],
    full: float,
    rng: random.Random,
    expect: dict[str, int] | None,
    after_kill: Callable[[], list[str]] | None = None,
) -> float:
    """Kill one run, check, re-run, check exact counts; return the re-run's duration."""
    stats.tried[scenario] += 1
    run = run_cli(argv, kill_after=_delay(rng, full))
    if run.killed:
        stats.killed[scenario] += 1
    elif run.exitcode != 0:
        stats.failures.append(f"{scenario}: {argv} failed before the kill: {run.output[-300:]}")
        return full
    problems = after_kill() if after_kill else consistency_problems(store)
    problems += cli_check(argv[1])
    rerun = run_cli(argv)
    if rerun.exitcode != 0:
        problems.append(f"re-run exited {rerun.exitcode}: {rerun.output[-300:]}")
    problems += consistency_problems(store)
    if expect is not None:
        have = counts(store)
        for k, want in expect.items():
            if have[k] != want:
                problems.append(f"after re-run {k} = {have[k]}, expected {want}")
                stats.records_lost += max(0, want - have[k])
    if problems:
        stats.failures.append(f"{scenario} ({store.dialect}): " + "; ".join(problems[:6]))
    else:
        stats.survived[scenario] += 1
    return rerun.seconds


def damage_projection(store: Store, rng: random.Random, *, empty: bool | None = None) -> str:
    """Make the derived tables disagree with the ledger, so that a recompute has work to do.

    ``empty``: delete every derived row (a recompute then takes its path for empty tables,
    SQLite's secondary indexes set aside); otherwise change some hazards' areas and delete
    some released polygons and EO items. None: either, at random.
    """
    from mineaction.store.projections import PER_REPORT

    if empty is None:
        empty = rng.random() < 0.5
    with store.write() as conn:
        if empty:
            for table in (*PER_REPORT, s.hazard):
                conn.execute(table.delete())
            return "emptied"
        hazards = sorted(h for (h,) in conn.execute(select(s.hazard.c.hazard_id)))
        changed = hazards[:: 2 + rng.randrange(3)]
        conn.execute(
            s.hazard.update()
            .where(s.hazard.c.hazard_id.in_(changed))
            .values(remaining_m2=s.hazard.c.remaining_m2 + 1.0, status="damaged")
        )
        for table in (s.release_polygon, s.eo_item):
            ids = sorted(r for (r,) in conn.execute(select(table.c.report_id)))
            conn.execute(table.delete().where(table.c.report_id.in_(ids[:: 2 + rng.randrange(3)])))
        return "changed"


def database_state(store: Store) -> dict[str, Any]:
    """Every row of every table (caches too), the indexes and SQLite's R*Tree, to compare."""
    from mineaction.store.backup import dump_tables, iter_table_lines

    with store.read() as conn:
        state: dict[str, Any] = dict(dump_tables(conn))
        # caches a backup leaves out (the digests of derived rows) must roll back too
        for name in getattr(s, "CACHE_TABLES", ()):
            state[name] = list(iter_table_lines(conn, s.metadata.tables[name]))
        if store.dialect == "sqlite":
            state["(schema objects)"] = conn.execute(
                text(
                    "SELECT type, name, sql FROM sqlite_master "
                    "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
                )
            ).all()
            state["(hazard_rtree)"] = conn.execute(
                text("SELECT * FROM hazard_rtree ORDER BY id")
            ).all()
        else:
            state["(indexes)"] = conn.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = current_schema() ORDER BY indexname"
                )
            ).all()
    return state


def _has_workers(pid: int) -> bool:
    return bool(_workers(_children(pid)))


def _has_scratch_file(pid: int) -> bool:
    return any(any(Path(d).glob("*.db")) for d in _stale_scratch(pid))


def _stale_scratch(pid: int) -> list[str]:
    from mineaction.services import rebuild

    prefix = f"{getattr(rebuild, '_SCRATCH_PREFIX', 'mineaction-recompute-')}{pid}-"
    return [str(p) for p in Path(tempfile.gettempdir()).glob(f"{prefix}*")]


def _recompute_round(
    stats: KillStats,
    scenario: str,
    store: Store,
    argv: list[str],
    full: float,
    rng: random.Random,
    expect: dict[str, int],
    *,
    first: bool = False,
) -> float:
    """Damage, kill a recompute, check it rolled back or finished, re-run, check exact counts.

    The ``first`` round of a scenario kills surely inside the run: a third into it with one
    process; with two, as soon as a worker has written a scratch file (SQLite) or soon after
    the workers started (PostgreSQL).
    """
    stats.tried[scenario] += 1
    how = damage_projection(store, rng, empty=True if first else None)
    before = database_state(store)
    workers = argv[-1] != "1"
    delay = _delay(rng, full)
    when: Callable[[int], bool] | None = None
    if first:
        delay = 0.0 if workers else 0.3 * full
        if workers and store.dialect == "sqlite":
            when = _has_scratch_file
        elif workers:
            # soon: forked by the fork server, the workers may finish a small ledger quickly
            delay = rng.uniform(0.0, 0.05)
            when = _has_workers
    run = run_cli(argv, kill_after=delay, reports_per_shard=KILL_REPORTS_PER_SHARD, kill_when=when)
    problems: list[str] = []
    if run.killed:
        stats.killed[scenario] += 1
        if run.workers_at_kill:
            stats.with_workers[scenario] += 1
    elif run.exitcode != 0:
        problems.append(f"failed before the kill: {run.output[-300:]}")
    if run.workers_left:
        problems.append(f"{run.workers_left} worker process(es) outlived the killed recompute")
    if run.killed and store.dialect == "sqlite":
        dirs = _stale_scratch(run.pid)
        if dirs:
            stats.with_scratch[scenario] += 1
            stats.scratch_files[scenario] += sum(len(list(Path(d).glob("*.db"))) for d in dirs)
    after = database_state(store)
    if after == before:
        stats.rolled_back[scenario] += 1
    else:  # committed before the kill: then it must be the whole rebuild
        done = consistency_problems(store)
        if done:
            changed = sorted(k for k in after if after[k] != before.get(k))
            problems.append(
                f"projection ({how}) neither rolled back nor rebuilt: changed {changed[:8]}; "
                + "; ".join(done[:3])
            )
    rerun = run_cli(argv, reports_per_shard=KILL_REPORTS_PER_SHARD)
    if rerun.exitcode != 0:
        problems.append(f"re-run exited {rerun.exitcode}: {rerun.output[-300:]}")
    problems += consistency_problems(store)
    problems += cli_check(argv[1])
    have = counts(store)
    for k, want in expect.items():
        if have[k] != want:
            problems.append(f"after re-run {k} = {have[k]}, expected {want}")
            stats.records_lost += max(0, want - have[k])
    if store.dialect == "sqlite" and argv[-1] != "1":
        # the killed recompute's scratch files are removed by the next one with workers
        # (they may be ours only if the kill came after they were made)
        left = _stale_scratch(run.pid)
        if left:
            problems.append(f"scratch files of the killed recompute left behind: {left}")
    if problems:
        stats.failures.append(f"{scenario} ({store.dialect}): " + "; ".join(problems[:6]))
    else:
        stats.survived[scenario] += 1
    return rerun.seconds


def _docs_file(folder: Path, docs: list[dict[str, Any]], name: str) -> Path:
    path = folder / name
    path.write_bytes(b"\n".join(orjson.dumps(d) for d in docs) + b"\n")
    return path


def ledger_campaign(
    url: str,
    folder: Path,
    *,
    rounds: dict[str, int],
    hazards_per_batch: int = 3,
    recompute_hazards: int = 100,
    seed: int = 0,
) -> KillStats:
    """Kill ``approve``, ``submit`` and ``recompute`` runs on the store at ``url``.

    Before the recompute kills ``recompute_hazards`` more hazards (3 approved reports each) are
    loaded, so that the workers have work to be interrupted in.
    """
    from tests.reliability.data import hazard_docs

    rng = random.Random(seed)
    stats = KillStats()
    t0 = time.perf_counter()
    store = open_store(url, create=True)
    try:
        db = ["--db", url]
        batch = 0

        def docs_for_batch() -> list[dict[str, Any]]:
            nonlocal batch
            batch += 1
            return hazard_docs(hazards_per_batch, prefix=f"B{batch:03d}")

        # approve: submit a batch in-process, then kill `reports approve` of its reports
        n_approve = rounds.get("approve", 0)
        if n_approve:
            full = 0.0
            for i in range(n_approve + 1):
                docs = docs_for_batch()
                for d in docs:
                    ledger.submit(store, d, submitted_by="field")
                expect = counts(store)
                expect["approved"] += len(docs)
                expect["hazards"] += hazards_per_batch
                argv = [*db, "reports", "approve", *(d["report_id"] for d in docs), "--by", "im"]
                if i == 0:  # calibration: how long the whole command takes
                    run = run_cli(argv)
                    assert run.exitcode == 0, run.output
                    full = run.seconds
                    continue
                full = max(full, _kill_round(stats, "approve", store, argv, full, rng, expect))
        # submit --approve: kill the bulk submission of a file
        n_submit = rounds.get("submit", 0)
        if n_submit:
            full = 0.0
            for i in range(n_submit + 1):
                docs = docs_for_batch()
                path = _docs_file(folder, docs, f"batch{batch}.jsonl")
                expect = counts(store)
                expect["reports"] += len(docs)
                expect["approved"] += len(docs)
                expect["hazards"] += hazards_per_batch
                argv = [*db, "reports", "submit", str(path), "--approve", "--by", "im"]
                if i == 0:
                    run = run_cli(argv)
                    assert run.exitcode == 0, run.output
                    full = run.seconds
                    continue
                full = max(full, _kill_round(stats, "submit", store, argv, full, rng, expect))
        # recompute: damage the projection (empty it, or change and delete some rows), then
        # kill the rebuild, in one process and with two worker processes (SQLite: the workers'
        # scratch files): after the kill the database is exactly as before or fully rebuilt
        n_recompute = rounds.get("recompute", 0)
        if n_recompute:
            path = _docs_file(folder, hazard_docs(recompute_hazards, prefix="R"), "more.jsonl")
            run = run_cli([*db, "reports", "submit", str(path), "--approve", "--by", "im"])
            assert run.exitcode == 0, run.output
            for jobs in ("1", "2"):
                scenario = f"recompute -j{jobs}"
                argv = [*db, "recompute", "--jobs", jobs]
                damage_projection(store, rng, empty=True)
                run = run_cli(argv, reports_per_shard=KILL_REPORTS_PER_SHARD)
                assert run.exitcode == 0, run.output
                full = run.seconds
                expect = counts(store)
                for i in range(n_recompute // 2 + (n_recompute % 2 if jobs == "1" else 0)):
                    took = _recompute_round(
                        stats, scenario, store, argv, full, rng, expect, first=i == 0
                    )
                    full = max(full, took)
    finally:
        store.dispose()
    stats.seconds = time.perf_counter() - t0
    return stats


# --- migration ------------------------------------------------------------------------------


def _seeded_at_0001(url: str) -> dict[str, list[tuple[Any, ...]]]:
    from tests.store.test_migrations import seed_0001

    st = Store(url, check_schema=False)
    try:
        st.upgrade("0001")
        with st.write() as conn:
            return seed_0001(conn, st.dialect)
    finally:
        st.dispose()


def _rows(url: str, expected: dict[str, list[tuple[Any, ...]]]) -> list[str]:
    st = Store(url, check_schema=False)
    try:
        rev = st.current_revision()
        problems = []
        if rev not in ("0001", st.head_revision()):
            problems.append(f"schema revision {rev} after the kill")
        with st.read() as conn:
            for q, rows in expected.items():
                have = [tuple(r) for r in conn.execute(text(q))]
                if have != rows:
                    problems.append(f"{q}: {len(have)} rows, expected {len(rows)}")
        return problems
    finally:
        st.dispose()


def migration_campaign(
    make_db: Callable[[], str],
    copy_db: Callable[[str], str],
    *,
    rounds: int,
    seed: int = 0,
) -> KillStats:
    """Kill ``db upgrade`` from schema 0001 (seeded with data); ``copy_db`` clones a template."""
    rng = random.Random(seed)
    stats = KillStats()
    t0 = time.perf_counter()
    template = make_db()
    expected = _seeded_at_0001(template)
    first = copy_db(template)
    run = run_cli(["--db", first, "db", "upgrade"])
    assert run.exitcode == 0, run.output
    full = run.seconds
    for _ in range(rounds):
        url = copy_db(template)
        stats.tried["migrate"] += 1
        argv = ["--db", url, "db", "upgrade"]
        killed = run_cli(argv, kill_after=_delay(rng, full))
        if killed.killed:
            stats.killed["migrate"] += 1
        elif killed.exitcode != 0:
            stats.failures.append(f"migrate: failed before the kill: {killed.output[-300:]}")
            continue
        problems = _rows(url, expected)
        rerun = run_cli(argv)
        if rerun.exitcode != 0:
            problems.append(f"re-run exited {rerun.exitcode}: {rerun.output[-300:]}")
        problems += _rows(url, expected)
        st = open_store(url)  # raises unless at head
        try:
            ledger.recompute(st)  # rows seeded by hand at 0001 have no projection yet
            problems += consistency_problems(st, audit=False)
            problems += cli_check(url)
            have = counts(st)
            if have != {"reports": 3, "approved": 2, "hazards": 1}:
                problems.append(f"after upgrade {have}")
                stats.records_lost += max(0, 3 - have["reports"])
        finally:
            st.dispose()
        if problems:
            stats.failures.append(f"migrate ({url.split(':')[0]}): " + "; ".join(problems[:6]))
        else:
            stats.survived["migrate"] += 1
    stats.seconds = time.perf_counter() - t0
    return stats


@contextmanager
def sqlite_dbs(folder: Path) -> Iterator[tuple[Callable[[], str], Callable[[str], str]]]:
    """SQLite ``make_db`` and ``copy_db`` for :func:`migration_campaign`."""
    counter = iter(range(10**6))

    def make() -> str:
        return f"sqlite:///{folder}/m{next(counter)}.db"

    def copy(url: str) -> str:
        src = url.removeprefix("sqlite:///")
        new = make()
        shutil.copyfile(src, new.removeprefix("sqlite:///"))
        return new

    yield make, copy


@contextmanager
def postgis_dbs(
    pg_url: str, template: str
) -> Iterator[tuple[Callable[[], str], Callable[[str], str]]]:
    """PostGIS ``make_db`` and ``copy_db`` (databases dropped at the end)."""
    import itertools
    import uuid

    import psycopg
    from psycopg import sql
    from tests.conftest import with_database

    made: list[str] = []
    token = f"mineaction_k_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    counter = itertools.count()

    def create(source: str) -> str:
        name = f"{token}_{next(counter)}"
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(source)
                )
            )
        made.append(name)
        return with_database(pg_url, name)

    def make() -> str:
        return create(template)

    def copy(url: str) -> str:
        return create(url.rsplit("/", 1)[1].split("?")[0])

    try:
        yield make, copy
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            for name in made:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


# --- import ---------------------------------------------------------------------------------

IMPORT_FILES = ("odk_central/ma_hazard.odata.json", "kobo/ma_hazard.xlsx", "kobo/ma_accident.json")


def _import_counts(url: str) -> dict[str, int]:
    st = Store(url)
    try:
        with st.read() as conn:
            return {
                "reports": _count(conn, s.report),
                "quarantine": _count(conn, s.quarantine),
                "batches": _count(conn, s.import_batch),
                "import audit": _count(conn, s.audit_log, s.audit_log.c.action == "import"),
            }
    finally:
        st.dispose()


def import_campaign(
    make_db: Callable[[], str],
    copy_db: Callable[[str], str],
    *,
    rounds: int,
    seed: int = 0,
) -> KillStats:
    """Kill ``mineaction import FILE`` on a fresh database; check all-or-nothing and the re-run."""
    fixtures = Path(__file__).parents[1] / "fixtures"
    rng = random.Random(seed)
    stats = KillStats()
    t0 = time.perf_counter()
    template = make_db()
    open_store(template, create=True).dispose()
    expected: dict[str, dict[str, int]] = {}
    full: dict[str, float] = {}
    for rel in IMPORT_FILES:  # calibration: the complete import of each file
        url = copy_db(template)
        run = run_cli(["--db", url, "import", str(fixtures / rel), "--org", "FSD"])
        assert run.exitcode == 0, run.output
        full[rel] = run.seconds
        expected[rel] = _import_counts(url)
    for i in range(rounds):
        rel = IMPORT_FILES[i % len(IMPORT_FILES)]
        url = copy_db(template)
        argv = ["--db", url, "import", str(fixtures / rel), "--org", "FSD"]
        stats.tried["import"] += 1
        killed = run_cli(argv, kill_after=_delay(rng, full[rel]))
        problems: list[str] = []
        if killed.killed:
            stats.killed["import"] += 1
        elif killed.exitcode != 0:
            problems.append(f"failed before the kill: {killed.output[-300:]}")
        have = _import_counts(url)
        if have["reports"] not in (0, expected[rel]["reports"]) or have["batches"] > 1:
            problems.append(f"partial import after the kill: {have}")
        problems += cli_check(url)
        rerun = run_cli(argv)
        if rerun.exitcode != 0:
            problems.append(f"re-run exited {rerun.exitcode}: {rerun.output[-300:]}")
        have = _import_counts(url)
        for k in ("reports", "quarantine"):
            if have[k] != expected[rel][k]:
                problems.append(f"after re-run {k} = {have[k]}, expected {expected[rel][k]}")
                stats.records_lost += max(0, expected[rel][k] - have[k])
        if have["batches"] != have["import audit"]:
            problems.append(
                f"import batches {have['batches']} != audit lines {have['import audit']}"
            )
        st = open_store(url)
        try:
            problems += consistency_problems(st, audit=False)
        finally:
            st.dispose()
        if problems:
            stats.failures.append(f"import {rel}: " + "; ".join(problems[:6]))
        else:
            stats.survived["import"] += 1
    stats.seconds = time.perf_counter() - t0
    return stats


# --- bulk loading (mineaction demo) ----------------------------------------------------------


def demo_campaign(
    make_db: Callable[[], str],
    copy_db: Callable[[str], str],
    *,
    rounds: int,
    scale: str = "small",
    seed: int = 0,
) -> KillStats:
    """Kill ``mineaction demo`` (a bulk load) on a fresh database; all or nothing, exact re-run."""
    rng = random.Random(seed)
    stats = KillStats()
    t0 = time.perf_counter()
    template = make_db()
    open_store(template, create=True).dispose()
    first = copy_db(template)
    tail = ["demo", "--scale", scale]
    run = run_cli(["--db", first, *tail])
    assert run.exitcode == 0, run.output
    st = open_store(first)
    expected = counts(st)
    st.dispose()
    for _ in range(rounds):
        url = copy_db(template)
        stats.tried["demo"] += 1
        killed = run_cli(["--db", url, *tail], kill_after=_delay(rng, run.seconds))
        problems: list[str] = []
        if killed.killed:
            stats.killed["demo"] += 1
        elif killed.exitcode != 0:
            problems.append(f"failed before the kill: {killed.output[-300:]}")
        st = open_store(url)
        try:
            have = counts(st)
            if have["reports"] not in (0, expected["reports"]):
                problems.append(f"partial bulk load after the kill: {have}")
            problems += cli_check(url)
            problems += consistency_problems(st, audit=False)
            rerun = run_cli(["--db", url, *tail])
            if rerun.exitcode != 0:
                problems.append(f"re-run exited {rerun.exitcode}: {rerun.output[-300:]}")
            have = counts(st)
            if have != expected:
                problems.append(f"after re-run {have}, expected {expected}")
                stats.records_lost += max(0, expected["reports"] - have["reports"])
            problems += consistency_problems(st, audit=False)
        finally:
            st.dispose()
        if problems:
            stats.failures.append("demo: " + "; ".join(problems[:6]))
        else:
            stats.survived["demo"] += 1
    stats.seconds = time.perf_counter() - t0
    return stats
