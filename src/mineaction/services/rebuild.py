"""Full recompute and check in shards, in parallel worker processes, writing only differences.

The ledger is split into shards (:mod:`mineaction.store.shards`: ranges of hazard ids, and
ranges of report ids among reports without a hazard). For each shard a worker folds the
approved reports into hazard states exactly as the one-process rebuild does, builds every
derived row and compares it with the stored row, each table of the shard column by column
first (every column encoded once as the database stores it) and row by row only when
something differs; only rows that differ, are missing or are stale are sent back. The parent
process holds the write transaction from the start to the end: it takes the writer lock
first (so the ledger cannot change), workers read the same committed state (SQLite: WAL
readers while the parent holds the lock; PostgreSQL: the parent's exported snapshot), and
the parent deletes the differences as shard results arrive and inserts them (on SQLite with
worker processes the workers leave the rows to insert in scratch files that the parent
copies with ``INSERT ... SELECT`` as soon as a worker is done with one). The result is row for row what clearing the
derived tables and rewriting them gives (surrogate ``id`` values of unchanged rows are
kept), and an interrupted recompute rolls back to the state before it.

``jobs=1`` runs the same shards one after the other in the calling process.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import select
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table

from mineaction.core.projection import HazardState
from mineaction.errors import ValidationError
from mineaction.services import ledger
from mineaction.store import projections as proj
from mineaction.store import reports as ledger_store
from mineaction.store import schema as s
from mineaction.store import setaside
from mineaction.store import shards as sh
from mineaction.store.bulkwrite import (
    CopyData,
    FreshColumns,
    format_copy_columns,
    write_copy,
    write_encoded,
)
from mineaction.store.engine import Store

Progress = Callable[[int], None]

#: With ``jobs=None`` (auto) a ledger smaller than this is recomputed in one process:
#: starting worker processes (about a second each) would cost more than it saves.
AUTO_MIN_REPORTS = 20_000
#: About this many approved reports per shard (a task for one worker; a step of the progress bar).
REPORTS_PER_SHARD = 10_000
#: Most worker processes ``jobs=None`` starts.
AUTO_MAX_JOBS = 8
#: With up to this many worker processes a recompute on SQLite has the workers write the rows
#: to insert into scratch files; with more they send the rows back.
SCRATCH_MAX_JOBS = 8
#: Most scratch files of one recompute: SQLite attaches at most 10 databases to a connection
#: (and cannot detach one inside a transaction that read it).
SCRATCH_MAX_FILES = 10
#: Tables whose rows have their own natural key (accident, victim, session, inspection id):
#: their inserts wait until every shard's deletes are done, so that a key moving from one
#: report to another cannot collide with its stale row.
_DEFERRED = frozenset({"accident", "victim", "eore_session", "qm_inspection"})
_TABLES: dict[str, Table] = {t.name: t for t in (s.hazard, *sh.PER_REPORT)}


def available_cpus() -> int:
    """Return the number of CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve_jobs(jobs: int | None, reports: int) -> int:
    """Return the number of processes to use: ``jobs``, or automatic with ``None``.

    >>> resolve_jobs(3, 10), resolve_jobs(None, 100)
    (3, 1)
    """
    if jobs is not None:
        if jobs < 1:
            raise ValidationError(f"--jobs must be 1 or more, not {jobs}")
        return jobs
    if reports < AUTO_MIN_REPORTS:
        return 1
    return max(1, min(available_cpus(), AUTO_MAX_JOBS))


@dataclass
class TableChange:
    """Rows of one table to delete (by key) and to insert (encoded, by column), from one shard.

    ``columns`` holds the rows to insert, one sequence per column of ``keys`` (as
    :meth:`~mineaction.store.bulkwrite.FreshColumns.to_insert` gives them). When a worker
    wrote them into its scratch file (:func:`_to_scratch`), ``columns`` is empty and
    ``written`` counts them. On PostgreSQL a worker sends them formatted for COPY instead
    (``copy``, :func:`_to_copy`; ``columns`` empty, ``written`` counts them).
    """

    table: str
    column: str
    deletes: list[str]
    keys: list[str]
    columns: list[Sequence[Any]]
    written: int = 0
    copy: CopyData | None = None

    @property
    def pending(self) -> int:
        """Return the number of rows to insert still held in ``columns``."""
        return len(self.columns[0]) if self.columns else 0


def _by_column(rows: list[tuple[Any, ...]]) -> list[Sequence[Any]]:
    """Return rows (tuples) column by column (no columns for no rows)."""
    return list(zip(*rows, strict=True))


@dataclass
class ShardResult:
    """What one shard found: counts, rule errors, and differences or changes."""

    index: int
    reports: int = 0
    hazards: int = 0
    errors: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    changes: list[TableChange] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    #: the scratch SQLite file holding this shard's rows to insert (see :func:`_to_scratch`)
    scratch: str | None = None
    #: the worker writes no more to ``scratch``: the parent may copy it now
    scratch_final: bool = False
    #: digest of the fresh rows of each table (:func:`mineaction.store.shards.rows_digest`)
    digests: dict[str, str] = field(default_factory=dict)


# --- one shard ------------------------------------------------------------------------------


def _fresh_columns(
    conn: Connection, table: Table, cols: list[str], rows: list[tuple[Any, ...]]
) -> FreshColumns:
    """Take rows (tuples in ``cols`` order: all columns but ``id``) column by column."""
    if not rows:
        return FreshColumns(conn.dialect, table, cols, [[] for _ in cols])
    return FreshColumns(conn.dialect, table, cols, list(zip(*rows, strict=True)))


def _digest_matches(
    conn: Connection,
    table: Table,
    fresh: FreshColumns,
    out: ShardResult,
    known: str | None,
    digest: bool,
) -> bool:
    """Tell whether a table's fresh rows of the shard hash to the stored digest ``known``.

    The digest is kept in ``out`` (none is made when ``digest`` is false). Without a stored
    digest the rows are compared or written anyway: they are encoded first (all but the
    geometries, whose plain WKB the digest makes and the encoding reuses), and the digest
    reuses what the encoding made (:class:`~mineaction.store.bulkwrite.FreshColumns` keeps it).
    """
    if known is None:
        fresh.encode_values()
    if not digest:
        return False
    made = out.digests[table.name] = sh.rows_digest(
        conn.dialect.name, table.name, fresh.cols, fresh.rows, fresh.parts()
    )
    return made == known


def _same_columns(
    fresh: Sequence[tuple[Any, ...]],
    stored: list[tuple[Any, ...]],
    keys: list[Callable[[Any], Any] | None],
) -> bool:
    """Tell whether encoded ``fresh`` columns (tuples) equal the ``stored`` rows, in order."""
    if not fresh or len(fresh[0]) != len(stored):
        return False
    for new, old, key in zip(fresh, zip(*stored, strict=True), keys, strict=True):
        if new == old:
            continue  # the same values: the same canonical forms too
        if key is None or list(map(key, new)) != list(map(key, old)):
            return False
    return True


def _unchanged(
    conn: Connection,
    table: Table,
    cols: list[str],
    fresh: list[list[Any]],
    stored: list[tuple[Any, ...]],
    order: list[str],
) -> bool:
    """Tell cheaply, column by column, whether the stored rows are exactly the fresh rows.

    ``fresh`` are the encoded columns. Both sides are put in the same order first (by the
    ``order`` columns, stable, so that the rows of one report keep their order); ``False``
    may also mean "cannot tell this way".
    """
    if not stored or not fresh or len(fresh[0]) != len(stored):
        return False
    at = [cols.index(c) for c in order]
    try:
        keys: list[Any] = (
            fresh[at[0]] if len(at) == 1 else list(zip(*(fresh[i] for i in at), strict=True))
        )
        perm = sorted(range(len(keys)), key=keys.__getitem__)
        stored_sorted = sorted(stored, key=itemgetter(*at))
    except TypeError:  # values that do not sort (None, mixed types): compare row by row
        return False
    pick = itemgetter(*perm) if len(perm) > 1 else lambda col: (col[perm[0]],)
    fresh_sorted = [pick(col) for col in fresh]  # tuples, as zip gives the stored columns
    return _same_columns(fresh_sorted, stored_sorted, sh.column_keys(conn, table, cols))


def _diff_hazards(
    conn: Connection,
    shard: sh.Shard,
    fresh_rows: list[tuple[Any, ...]],
    out: ShardResult,
    empty: bool,
    known: str | None,
    digest: bool = True,
) -> None:
    if shard.no_hazard:
        return  # reports without a hazard: no hazard rows (and none stored for this range)
    cols = sh.compare_columns(s.hazard)
    columns = _fresh_columns(conn, s.hazard, cols, fresh_rows)
    if _digest_matches(conn, s.hazard, columns, out, known, digest):
        return  # the stored rows are the rows this digest was made of (triggers: migration 0012)
    found = [] if empty else sh.stored_hazards(conn, shard, cols)
    if not found:  # nothing stored (emptied tables): every row is inserted, in order
        if fresh_rows:
            change = TableChange("hazard", "hazard_id", [], cols, list(columns.to_insert()))
            out.changes.append(change)
        return
    fresh = columns.encoded()
    if _unchanged(conn, s.hazard, cols, fresh, found, ["hazard_id"]):
        return
    key = sh.comparable(conn, s.hazard, cols)
    stored = {row[0]: key(row) for row in found}
    deletes: list[str] = []
    inserts: list[tuple[Any, ...]] = []
    for row in zip(*fresh, strict=True):
        old = stored.pop(row[0], None)
        if old is None:
            inserts.append(row)
        elif old != key(row):
            deletes.append(row[0])
            inserts.append(row)
    deletes.extend(stored)  # stored hazards that have no approved report (or broke a rule)
    if deletes or inserts:
        out.changes.append(TableChange("hazard", "hazard_id", deletes, cols, _by_column(inserts)))


def _grouped(rows: Sequence[tuple[Any, ...]], at: int) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        out.setdefault(row[at], []).append(row)
    return out


def _same(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]], key: Callable[[Any], Any]) -> bool:
    return len(a) == len(b) and all(key(x) == key(y) for x, y in zip(a, b, strict=True))


def _diff_table(
    conn: Connection,
    table: Table,
    fresh_rows: list[tuple[Any, ...]],
    reports: Callable[[], dict[str, list[str]]],
    out: ShardResult,
    empty: bool,
    known: str | None,
    digest: bool = True,
) -> None:
    cols = sh.compare_columns(table)
    columns = _fresh_columns(conn, table, cols, fresh_rows)
    if _digest_matches(conn, table, columns, out, known, digest):
        out.seen[table.name] = len(fresh_rows)  # the stored rows are exactly these
        return
    at = cols.index("report_id")
    if empty:
        stored_list: list[tuple[Any, ...]] = []
    else:
        found = reports()
        ids = [rid for t in sh.SOURCE_TYPES[table.name] for rid in found.get(t, [])]
        stored_list = sh.stored_rows(conn, table, cols, ids)
    out.seen[table.name] = len(stored_list)
    # rows of one report: in insertion order (``id``), or by primary key
    pk = [] if "id" in table.columns else [c.name for c in table.primary_key.columns]
    if not stored_list and pk in ([], ["report_id"]):
        # nothing stored: every row is inserted, in the order built (a report's rows are
        # together, in their order; at most one row per report where the key is the report)
        if fresh_rows:
            change = TableChange(table.name, "report_id", [], cols, list(columns.to_insert()))
            out.changes.append(change)
        return
    fresh = columns.encoded()
    order = ["report_id", *(c for c in pk if c != "report_id")]
    if _unchanged(conn, table, cols, fresh, stored_list, order):
        return
    key = sh.comparable(conn, table, cols)
    stored = _grouped(stored_list, at)
    fresh_grouped = _grouped(list(zip(*fresh, strict=True)) if fresh_rows else [], at)
    if pk:
        # no insertion order to keep: compare as sets, ordered by primary key
        pk_at = [cols.index(c) for c in pk]

        def by_pk(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
            if len(rows) < 2:
                return rows
            return sorted(rows, key=lambda r: tuple(str(r[i]) for i in pk_at))

        stored = {k: by_pk(v) for k, v in stored.items()}
        fresh_grouped = {k: by_pk(v) for k, v in fresh_grouped.items()}
    deletes: list[str] = []
    inserts: list[tuple[Any, ...]] = []
    for rid, rows in fresh_grouped.items():
        old = stored.pop(rid, None)
        if old is not None:
            if old == rows if key is tuple else _same(old, rows, key):
                continue
            deletes.append(rid)
        inserts.extend(rows)
    deletes.extend(stored)  # rows of reports that are not (or no longer) approved
    if deletes or inserts:
        out.changes.append(TableChange(table.name, "report_id", deletes, cols, _by_column(inserts)))


def _check_hazards(
    conn: Connection, shard: sh.Shard, fresh_rows: list[tuple[Any, ...]], out: ShardResult
) -> set[str]:
    """Name each hazard figure that differs (status, class, m²...); return the hazards named."""
    cols = ["hazard_id", *ledger.CHECK_FIELDS, *ledger.AREA_FIELDS]
    stored = {
        row[0]: dict(zip(cols, row, strict=True)) for row in sh.stored_hazards(conn, shard, cols)
    }
    named: set[str] = set()
    names = proj.COLUMNS[s.hazard]
    for fresh_row in fresh_rows:
        fresh = dict(zip(names, fresh_row, strict=True))
        hid = fresh["hazard_id"]
        row = stored.pop(hid, None)
        before = len(out.differences)
        if row is None:
            out.differences.append(f"hazard {hid}: missing from the stored projection")
        else:
            ledger.compare_row(hid, fresh, row, out.differences)
        if len(out.differences) > before:
            named.add(hid)
    out.stale.extend(stored)
    named.update(stored)
    return named


def _check_every_row(
    conn: Connection,
    shard: sh.Shard,
    hazard_rows: list[tuple[Any, ...]],
    rows: proj.TuplesByTable,
    reports: Callable[[], dict[str, list[str]]],
    out: ShardResult,
) -> None:
    """Compare every stored derived row, column by column, as a recompute does (no digest trusted).

    Hazard figures that differ are named field by field; any other difference (a geometry,
    the stored GeoJSON, a per-report row: a released polygon, an EO item...) is named by table
    and key. Nothing is written: the changes found are turned into differences and dropped.
    """
    named = _check_hazards(conn, shard, hazard_rows, out)
    _diff_hazards(conn, shard, hazard_rows, out, False, None, digest=False)
    for table in sh.PER_REPORT:
        _diff_table(conn, table, rows.get(table, []), reports, out, False, None, digest=False)
    for change in out.changes:
        at = change.keys.index(change.column)
        keys = set(change.deletes) | set(change.columns[at] if change.columns else ())
        for key in sorted(keys - named if change.table == "hazard" else keys):
            out.differences.append(
                f"{change.table} rows of {change.column} {key}: stored values differ from "
                "what the approved reports give"
            )
    out.changes.clear()
    out.digests.clear()
    out.seen.clear()


def run_shard(
    conn: Connection,
    shard: sh.Shard,
    mode: str,
    empty: bool = False,
    digests: dict[str, str] | None = None,
) -> ShardResult:
    """Recompute one shard from the ledger on ``conn`` and compare it with what is stored.

    ``mode`` is ``"recompute"`` (the result carries the rows to delete and insert and the
    digest of every table's fresh rows) or ``"check"`` (the result carries the differences
    ``recompute --check`` reports). ``empty``: the derived tables were empty when the
    recompute began (nothing to read). ``digests``: the stored digests of the shard's range
    by table; a table whose fresh rows hash to its digest is not read back (the digest
    triggers vouch that the stored rows are the rows it was made of).
    """
    known = digests or {}
    out = ShardResult(shard.index)
    states: list[HazardState] = []
    rows: proj.TuplesByTable = {t: [] for t in proj.PER_REPORT}
    derived = proj.derived_tuples
    source = ledger.prepared_chunks(ledger_store.iter_approved_raw(conn, **shard.ledger_filter()))
    for hid, state, group, error in ledger.project_all(source):
        out.reports += len(group)
        if error:
            out.errors.append(error)
        if state is not None and hid is not None:
            out.hazards += 1
            states.append(state)
        for e in group:
            derived(e, rows)
    hazard_rows: list[tuple[Any, ...]] = []
    for i in range(0, len(states), 2000):
        hazard_rows.extend(ledger.hazard_tuples(states[i : i + 2000]))
    found: list[dict[str, list[str]]] = []

    def reports() -> dict[str, list[str]]:
        if not found:  # read once, only when some table has to be compared
            found.append(sh.shard_reports(conn, shard))
        return found[0]

    if mode != "recompute":
        _check_every_row(conn, shard, hazard_rows, rows, reports, out)
        return out
    _diff_hazards(conn, shard, hazard_rows, out, empty, known.get("hazard"))
    for table in sh.PER_REPORT:
        _diff_table(conn, table, rows.get(table, []), reports, out, empty, known.get(table.name))
    return out


# --- worker processes -----------------------------------------------------------------------

_worker: dict[str, Any] = {}

#: The name worker processes take on Linux (``/proc/PID/comm``: at most 15 bytes).
WORKER_NAME = "mineaction-work"


def _die_with_parent(parent: int) -> None:
    """Make this worker exit when the recompute's process ``parent`` dies (e.g. killed by -9).

    Linux kills it when the process that started it dies (``PR_SET_PDEATHSIG``): the parent
    itself with ``spawn``. A worker forked by the fork server (whose parent is the server, which
    outlives the recompute while workers hold its pipe) watches ``parent`` through a pidfd.
    """
    if not sys.platform.startswith("linux"):  # pragma: no cover
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        # PR_SET_NAME: ``top`` and ``ps`` (and the kill tests) tell the workers by this name
        libc.prctl(15, WORKER_NAME.encode())
    except (OSError, AttributeError):  # pragma: no cover - no prctl: workers end on EOF
        pass
    if os.getppid() == parent:
        return
    try:  # forked by the fork server, or the parent died before prctl took effect
        fd = os.pidfd_open(parent)
    except ProcessLookupError:
        os._exit(1)
    threading.Thread(
        target=_exit_when_gone, args=(fd,), name="die-with-parent", daemon=True
    ).start()


def _exit_when_gone(pidfd: int) -> None:
    """Wait until the process of ``pidfd`` has ended, then end this process at once."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    while not poller.poll():  # pragma: no cover - poll() without a timeout returns an event
        pass
    os._exit(1)


def _init_worker(url: str, snapshot: str | None, parent: int) -> None:
    _die_with_parent(parent)
    import gc

    gc.disable()  # as in the parent: millions of acyclic short-lived objects
    store = Store(url, check_schema=False)
    _worker["store"] = store
    if snapshot is not None:
        conn = store.engine.connect()
        sh.use_snapshot(conn, snapshot)
        _worker["conn"] = conn
        multiprocessing.util.Finalize(None, conn.close, exitpriority=10)


_Task = tuple[sh.Shard, str, bool, str | None, int, dict[str, str] | None]


def _run_in_worker(task: _Task) -> ShardResult:
    shard, mode, empty, scratch, per_file, digests = task
    conn = _worker.get("conn")
    if conn is not None:
        res = run_shard(conn, shard, mode, empty, digests)
        _to_copy(res, conn)
    else:
        with _worker["store"].read() as rconn:
            res = run_shard(rconn, shard, mode, empty, digests)
            _to_copy(res, rconn)
    if scratch is not None:
        # a new file after every ``per_file`` shards that wrote rows, so that the parent can
        # copy the finished ones while the workers go on
        seq, used = _worker.get("scratch", (0, 0))
        _to_scratch(res, os.path.join(scratch, f"worker-{os.getpid()}-{seq}.db"))
        if res.scratch is not None:
            used += 1
            if used >= per_file:
                res.scratch_final = True
                seq, used = seq + 1, 0
        _worker["scratch"] = (seq, used)
    return res


def _to_copy(res: ShardResult, conn: Connection) -> None:
    """On PostgreSQL, format the rows to insert of a shard result for COPY (in the worker).

    The parent then only sends the bytes: it neither unpickles hundreds of thousands of row
    tuples nor formats them, and the workers do that work in parallel.
    """
    if conn.dialect.name != "postgresql":
        return
    for c in res.changes:
        if c.pending:
            c.copy = format_copy_columns(conn, _TABLES[c.table], c.keys, c.columns)
            c.written, c.columns = c.pending, []


def _to_scratch(res: ShardResult, path: str) -> None:
    """Move the rows to insert of a shard result into the scratch file ``path`` (appended)."""
    changes = [c for c in res.changes if c.pending]
    if not changes:
        return
    sh.write_scratch(path, [(c.table, c.keys, c.columns) for c in changes])
    for c in changes:
        c.written, c.columns = c.pending, []
    res.scratch = path


def _ready() -> None:
    """Do nothing: a first task that makes a worker process start (see :func:`_workers`)."""


class _Workers:
    """The worker processes of one recompute or check (a process pool), and their end."""

    def __init__(self, pool: ProcessPoolExecutor, jobs: int) -> None:
        """Own ``pool`` of ``jobs`` processes and start them in the background."""
        self._pool = pool
        self.jobs = jobs
        self._ending: threading.Thread | None = None
        self._failed: list[BaseException] = []
        # with the fork server, starting a process waits until the server has imported its
        # modules: this thread waits instead of the caller, who plans the shards meanwhile
        self._starting: threading.Thread | None = threading.Thread(
            target=self._start, name="start-workers"
        )
        self._starting.start()

    def _start(self) -> None:
        try:
            with _main_script_hidden():  # one process starts per task while none is idle
                for _ in range(self.jobs):
                    self._pool.submit(_ready)
        except BaseException as exc:  # pragma: no cover - raised again by ``pool``
            self._failed.append(exc)

    @property
    def pool(self) -> ProcessPoolExecutor:
        """Return the pool once its processes have started."""
        if self._starting is not None:
            self._starting.join()
            self._starting = None
            if self._failed:  # pragma: no cover - e.g. the fork server could not start
                raise self._failed[0]
        return self._pool

    def end_soon(self) -> None:
        """Let the idle workers exit in the background (every task is done)."""
        if self._ending is None:
            self._ending = threading.Thread(target=self.pool.shutdown, name="end-workers")
            self._ending.start()

    def end(self) -> None:
        """Stop the workers (pending tasks are cancelled) and wait until they have exited."""
        if self._ending is None:
            if self._starting is not None:
                self._starting.join()
                self._starting = None
            self._pool.shutdown(wait=True, cancel_futures=True)
        else:
            self._ending.join()


#: Third-party modules every worker imports: the fork server imports them once and each
#: worker is a fork of it (mineaction itself is imported by each worker, after its
#: ``sys.path`` is set as the parent's: the server does not get it on Python 3.11).
_PRELOAD = [
    "numpy",
    "shapely",
    "pyproj",
    "orjson",
    "sqlalchemy",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.postgresql.psycopg",
    "psycopg",
    "concurrent.futures.process",
]


def _context() -> multiprocessing.context.BaseContext:
    """Return how worker processes start: forks of a fork server where Linux has pidfds.

    A worker forked by the server shares the server's imported modules (about 0.4 s of CPU
    saved per worker) and, like a spawned one, no open database connection: the server is a
    new interpreter started with no inherited descriptors but its pipes. Elsewhere: spawn.
    """
    if sys.platform.startswith("linux") and hasattr(os, "pidfd_open"):
        import multiprocessing.forkserver as fs

        ctx = multiprocessing.get_context("forkserver")
        # (one server per process: the first caller's preload list is the one used)
        ctx.set_forkserver_preload(_PRELOAD)
        fs.ensure_running()  # returns at once; the server imports while the caller goes on
        return ctx
    return multiprocessing.get_context("spawn")  # pragma: no cover


@contextmanager
def _workers(store: Store, jobs: int, snapshot: str | None) -> Iterator[_Workers | None]:
    """Start ``jobs`` worker processes now and yield them (None for one job).

    Called before the shards are planned: starting workers (imports, their store) takes
    about half a second, and the parent plans the shards meanwhile instead of first.
    They have exited when this returns.
    """
    if jobs == 1:
        yield None
        return
    # never fork this process: a child must not inherit its open database connections
    pool = ProcessPoolExecutor(
        jobs,
        mp_context=_context(),
        initializer=_init_worker,
        initargs=(store.url, snapshot, os.getpid()),
    )
    workers = _Workers(pool, jobs)
    try:
        yield workers
    finally:
        workers.end()


def _pool_size(jobs: int, reports: int, reports_per_shard: int) -> int:
    """Return how many worker processes to start for about ``reports`` approved reports.

    No more than there will be shards (about one per ``reports_per_shard`` reports).

    >>> _pool_size(2, 466_237, 10_000), _pool_size(4, 15, 10), _pool_size(1, 10**6, 10)
    (2, 2, 1)
    """
    return max(1, min(jobs, -(-reports // reports_per_shard)))


def _files_per_shard(tasks: int, jobs: int) -> list[int]:
    """Return, task by task, after how many shards a worker starts a new scratch file.

    At most SCRATCH_MAX_FILES files in all. The last tasks (up to two per worker, as the
    budget allows) each end their worker's file, so that the file the last result ends holds
    little more than that last shard: little is left to copy after it. The other tasks end a
    file every ``per_file`` shards. In all: at most ``(tasks - last) / per_file`` files ended
    by the others, ``last`` by the last tasks, and one still open per worker.

    >>> _files_per_shard(48, 2) == [11] * 44 + [1] * 4
    True
    >>> _files_per_shard(48, 8) == [24] * 48, _files_per_shard(3, 2)
    (True, [1, 1, 1])
    """
    last = min(tasks, 2 * jobs, max(0, SCRATCH_MAX_FILES - 2 * jobs))
    per_file = max(1, -(-(tasks - last) // max(1, SCRATCH_MAX_FILES - jobs - last)))
    return [per_file] * (tasks - last) + [1] * last


@contextmanager
def _results(
    workers: _Workers | None,
    conn: Connection,
    shards: list[sh.Shard],
    mode: str,
    empty: bool = False,
    scratch: str | None = None,
    digests: dict[sh.RangeKey, dict[str, str]] | None = None,
) -> Iterator[Iterator[ShardResult]]:
    """Yield an iterator of shard results (in completion order) from the ``workers``.

    Without workers (one job) the shards run one by one in this process, on ``conn``. With
    ``scratch`` (a directory; worker processes only) the workers leave the rows to insert
    in scratch files there instead of sending them back. ``digests``: the stored digests by
    shard range (see :func:`run_shard`).
    """
    known = digests or {}
    if workers is None:
        yield (
            run_shard(conn, shard, mode, empty, known.get(sh.range_key(shard))) for shard in shards
        )
        return
    # biggest shards first, so that no process is left with a big one at the end
    ordered = sorted(shards, key=lambda x: -x.reports)
    tasks: list[_Task] = [
        (shard, mode, empty, scratch, per_file, known.get(sh.range_key(shard)))
        for shard, per_file in zip(
            ordered, _files_per_shard(len(ordered), workers.jobs), strict=True
        )
    ]
    futures = [workers.pool.submit(_run_in_worker, task) for task in tasks]
    yield (f.result() for f in as_completed(futures))


@contextmanager
def _main_script_hidden() -> Iterator[None]:
    """Keep spawned workers from running the main script or module again (``__mp_main__``).

    ``spawn`` runs the parent's main script (or ``-m`` module) again in every worker; for the
    ``mineaction`` console script that imports the whole CLI (web, imaging, password
    hashing: about 1.1 s of CPU per worker), which a worker never uses: its task and
    initializer live in this module. While the workers start, the main module's ``__file__``
    and ``__spec__`` are hidden from :mod:`multiprocessing`, which then leaves ``__main__``
    alone (so a script calling the recompute needs no ``if __name__ == "__main__"`` guard).
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved: dict[str, Any] = {k: vars(main)[k] for k in ("__file__", "__spec__") if k in vars(main)}
    vars(main).pop("__file__", None)
    vars(main)["__spec__"] = None
    try:
        yield
    finally:
        vars(main).pop("__spec__", None)
        vars(main).update(saved)


# --- the use cases --------------------------------------------------------------------------


def _insert(conn: Connection, change: TableChange) -> None:
    table = _TABLES[change.table]
    if change.copy is not None:
        write_copy(conn, table, change.keys, change.copy)
    elif change.pending and conn.dialect.name == "postgresql":
        write_copy(
            conn, table, change.keys, format_copy_columns(conn, table, change.keys, change.columns)
        )
    elif change.pending:
        write_encoded(conn, table, change.keys, list(zip(*change.columns, strict=True)))


def _apply(conn: Connection, change: TableChange) -> None:
    if change.deletes:
        sh.delete_keys(conn, _TABLES[change.table], change.column, change.deletes)
    if change.table not in _DEFERRED:
        _insert(conn, change)


_SCRATCH_PREFIX = "mineaction-recompute-"


def _alive(pid: int) -> bool:
    """Tell whether a process ``pid`` exists (of any user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_scratch() -> list[str]:
    """Remove scratch directories left by recomputes that were killed; return their paths.

    A directory is named after the recompute's process id; it is removed only when no
    process of that id exists any more.
    """
    removed = []
    with os.scandir(tempfile.gettempdir()) as entries:
        for entry in entries:
            if not entry.name.startswith(_SCRATCH_PREFIX) or not entry.is_dir():
                continue
            pid = entry.name[len(_SCRATCH_PREFIX) :].split("-")[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.path)
    return removed


@contextmanager
def _scratch_dir(use: bool) -> Iterator[str | None]:
    """Yield a new directory for the workers' scratch files (removed at the end), or None."""
    if not use:
        yield None
        return
    remove_stale_scratch()  # a recompute killed with SIGKILL cannot remove its own
    path = tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def recompute(
    store: Store,
    *,
    progress: Progress | None = None,
    jobs: int | None = None,
    reports_per_shard: int = REPORTS_PER_SHARD,
) -> ledger.RecomputeResult:
    """Rebuild every derived table from the approved reports, writing only what differs.

    One write transaction; ``jobs`` worker processes (``None``: automatic).
    """
    result = ledger.RecomputeResult()
    with ExitStack() as stack:
        stack.enter_context(ledger.no_cyclic_gc())
        conn = stack.enter_context(store.write())
        sh.lock_derived(conn)
        snapshot = sh.export_snapshot(conn)
        approved = ledger_store.count_by_state(conn).get("approved", 0)
        n = _pool_size(resolve_jobs(jobs, approved), approved, reports_per_shard)
        # the workers start while this process plans the shards (shut down before the commit)
        workers = stack.enter_context(_workers(store, n, snapshot))
        # the digests of the last recompute that are still valid; new ones are written at the
        # end. Their ranges are kept where they still fit, so that they can match.
        digests = sh.take_digests(conn)
        shards = sh.plan_shards(conn, reports_per_shard=reports_per_shard, reuse=digests)
        counts = sh.row_counts(conn)
        seen = dict.fromkeys(counts, 0)
        deferred: list[TableChange] = []
        done: list[ShardResult] = []
        # Empty derived tables (a new database): every row is written, and on SQLite building
        # the secondary indexes once at the end is cheaper than keeping them up to date.
        empty = not any(counts.values()) and not proj.count_hazards(conn)
        # SQLite with worker processes: the workers write the rows to insert into scratch
        # files (in parallel, nothing pickled), copied by SQLite at the end; one file per
        # worker, all attached at once (SQLite attaches at most 10 databases).
        use_scratch = store.dialect == "sqlite" and 1 < n <= SCRATCH_MAX_JOBS
        copier = sh.ScratchCopier(conn)
        files: set[str] = set()
        now = [t for name, t in _TABLES.items() if name not in _DEFERRED]
        with (
            sh.trusted_writer(conn),
            _scratch_dir(use_scratch) as scratch,
            setaside.indexes_set_aside(conn) if empty else nullcontext() as aside,
        ):
            with _results(workers, conn, shards, "recompute", empty, scratch, digests) as results:
                for res in results:
                    for change in res.changes:
                        _apply(conn, change)
                        result.keys_deleted += len(change.deletes)
                        result.rows_inserted += change.pending + change.written
                        if change.table in _DEFERRED and (change.pending or change.copy):
                            deferred.append(change)
                    if res.scratch is not None:
                        files.add(res.scratch)
                        if res.scratch_final:
                            # every shard in it has had its deletes: copy while workers go on
                            copier.copy(res.scratch, now)
                            if aside is not None:
                                aside.collect_rtree_rows()  # now rather than in the tail
                    for name, k in res.seen.items():
                        seen[name] += k
                    res.changes = []
                    done.append(res)
                    if progress:
                        progress(res.reports)
            for table in sh.PER_REPORT:
                if seen[table.name] != counts[table.name]:
                    # rows no report accounts for (only possible by editing the database)
                    sh.delete_unmatched(conn, table)
            for table in sh.PER_REPORT:
                for change in deferred:
                    if change.table == table.name:
                        _insert(conn, change)
            # every delete is done: rows with their own natural key cannot collide
            for path in sorted(files):
                copier.copy(path, list(_TABLES.values()))
            if workers is not None:
                if aside is not None:
                    # a worker builds the hazards' R*Tree while this process builds the indexes
                    aside.build_rtree_in(workers.pool)
                workers.end_soon()  # the idle workers exit while this process goes on
        ranges = {shard.index: sh.range_key(shard) for shard in shards}
        # the plan itself (no trigger deletes these), so that the next recompute keeps it
        fresh: list[tuple[sh.RangeKey, str, str]] = [(r, sh.PLAN, "") for r in ranges.values()]
        for res in sorted(done, key=lambda r: r.index):
            result.reports += res.reports
            result.hazards += res.hazards
            result.errors.extend(res.errors)
            fresh.extend((ranges[res.index], tbl, d) for tbl, d in res.digests.items())
        # every derived row now is what the digests were made of
        sh.store_digests(conn, fresh)
        ledger_store.audit(
            conn,
            actor=None,
            action="recompute",
            entity="ledger",
            entity_id=None,
            details={"hazards": result.hazards, "reports": result.reports},
        )
    return result


def check(
    store: Store,
    *,
    progress: Progress | None = None,
    jobs: int | None = None,
    reports_per_shard: int = REPORTS_PER_SHARD,
) -> ledger.RecomputeResult:
    """Recompute every hazard and report any difference from what is stored (no writes).

    With more than one process the ledger must not change while the workers read it: on
    PostgreSQL they share the parent's snapshot; on SQLite the parent holds the writer lock
    for the duration of the check (readers are not blocked).
    """
    result = ledger.RecomputeResult()
    with store.read() as rconn:
        approved = ledger_store.count_by_state(rconn).get("approved", 0)
    n = _pool_size(resolve_jobs(jobs, approved), approved, reports_per_shard)
    opener = store.read if n == 1 or store.dialect == "postgresql" else store.write
    with ledger.no_cyclic_gc(), opener() as conn:
        snapshot = None
        if store.dialect == "postgresql" and n > 1:
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            snapshot = sh.export_snapshot(conn)
        done: list[ShardResult] = []
        # the workers start while this process plans the shards
        with _workers(store, n, snapshot) as workers:
            shards = sh.plan_shards(conn, reports_per_shard=reports_per_shard)
            with _results(workers, conn, shards, "check") as results:
                for res in results:
                    done.append(res)
                    if progress:
                        progress(res.reports)
    stale: list[str] = []
    for res in sorted(done, key=lambda r: r.index):
        result.reports += res.reports
        result.hazards += res.hazards
        result.errors.extend(res.errors)
        result.differences.extend(res.differences)
        stale.extend(res.stale)
    for hid in sorted(stale):
        result.differences.append(f"hazard {hid}: stored but has no approved reports")
    with store.read() as conn:
        for table in sh.PER_REPORT:
            for rid in sh.unmatched_reports(conn, table):
                result.differences.append(
                    f"{table.name} rows of report_id {rid}: no report in the ledger accounts "
                    "for them"
                )
    return result
