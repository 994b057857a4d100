"""Opening a store by URL, transactions, and schema migrations (Alembic)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool, QueuePool

from mineaction.errors import StoreError

if TYPE_CHECKING:  # Alembic is imported where it is used: recompute workers never need it
    from alembic.config import Config

DEFAULT_URL = "sqlite:///mineaction.db"
MIGRATIONS = Path(__file__).parent / "migrations"
#: PostgreSQL advisory lock held by every write transaction (serialises writers).
WRITE_LOCK_KEY = 7_236_601_145


def default_url() -> str:
    """Return the database URL from ``MINEACTION_DB`` or the embedded default.

    >>> import os; os.environ.pop("MINEACTION_DB", None) and None
    >>> default_url()
    'sqlite:///mineaction.db'
    """
    return os.environ.get("MINEACTION_DB") or DEFAULT_URL


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_pool(url: str, pooled: bool) -> dict[str, Any]:
    """Return the engine's pool arguments for a SQLite URL.

    >>> _sqlite_pool("sqlite:///x.db", False)["poolclass"].__name__
    'NullPool'
    >>> sorted(_sqlite_pool("sqlite:///x.db", True))
    ['max_overflow', 'pool_size', 'poolclass']
    """
    if ":memory:" in url:
        return {}
    if not pooled:
        return {"poolclass": NullPool}
    # as many connections as threads ask for (no waiting on the pool); 8 stay open
    return {"poolclass": QueuePool, "pool_size": 8, "max_overflow": -1}


def _normalise_url(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Store:
    """A mineaction database: SQLite file (embedded) or PostgreSQL + PostGIS (server mode)."""

    def __init__(
        self, url: str | None = None, *, check_schema: bool = True, pooled: bool = False
    ) -> None:
        """Open ``url``; ``pooled`` keeps SQLite connections open between transactions.

        A long-running server passes ``pooled=True``: opening a SQLite connection (and its
        pragmas) and closing it (the last connection of a WAL database checkpoints and removes
        the WAL file) cost a few ms per request. Short-lived commands keep the default, which
        leaves no connection open between transactions (files can be replaced or removed).
        """
        self.url = url or default_url()
        #: write transactions of this process waiting for the writer lock, and running
        self.writes_waiting = 0
        self.writes_running = 0
        self._count_lock = threading.Lock()
        full = _normalise_url(self.url)
        if full.startswith("sqlite"):
            self.dialect = "sqlite"
            self.engine: Engine = create_engine(
                full,
                json_serializer=_dumps,
                json_deserializer=orjson.loads,
                connect_args={"timeout": 60, "isolation_level": None, "check_same_thread": False},
                **_sqlite_pool(full, pooled),
            )
            self._setup_sqlite()
        elif full.startswith("postgresql"):
            self.dialect = "postgresql"
            self.engine = create_engine(
                full,
                json_serializer=_dumps,
                json_deserializer=orjson.loads,
                pool_pre_ping=True,
            )
            self._setup_postgresql()
        else:
            raise StoreError(
                f"unsupported database URL {self.url!r}: use sqlite:///FILE or postgresql://..."
            )
        if check_schema:
            self.check_schema()

    def _setup_sqlite(self) -> None:
        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed approval survives a power cut too (NORMAL in WAL mode only
            # survives a killed process; it may lose the last commits when the machine dies).
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(self.engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = "IMMEDIATE" if conn.get_execution_options().get("write") else "DEFERRED"
            conn.exec_driver_sql(f"BEGIN {mode}")

    def _setup_postgresql(self) -> None:
        @event.listens_for(self.engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # One writer at a time, as on SQLite: a write transaction reads the ledger, decides
            # (approval number, workflow state, hazard projection) and writes; two running side
            # by side under READ COMMITTED could both decide from the same old state. The lock
            # is released at commit or rollback, also when the client dies.
            if conn.get_execution_options().get("write"):
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")

    # --- transactions ----------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Yield a connection in a read transaction."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except OperationalError as exc:
            raise StoreError(f"cannot read the database {self.safe_url}: {exc.orig}") from exc

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """Yield a connection in a write transaction: all or nothing."""
        self._count(waiting=1)
        started = False
        try:
            # begin() takes the writer lock (SQLite BEGIN IMMEDIATE, PostgreSQL advisory lock)
            with self.engine.connect().execution_options(write=True) as conn, conn.begin():
                self._count(waiting=-1, running=1)
                started = True
                yield conn
        except OperationalError as exc:
            raise StoreError(f"cannot write the database {self.safe_url}: {exc.orig}") from exc
        finally:
            if started:
                self._count(running=-1)
            else:
                self._count(waiting=-1)

    def _count(self, *, waiting: int = 0, running: int = 0) -> None:
        with self._count_lock:
            self.writes_waiting += waiting
            self.writes_running += running

    @property
    def safe_url(self) -> str:
        """Return the URL without its password."""
        return self.engine.url.render_as_string(hide_password=True)

    # --- schema ----------------------------------------------------------------------------

    def _alembic(self, conn: Connection) -> Config:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        return cfg

    def head_revision(self) -> str:
        """Return the schema revision this program needs."""
        from alembic.script import ScriptDirectory

        script = ScriptDirectory(str(MIGRATIONS))
        head = script.get_current_head()
        assert head is not None
        return head

    def current_revision(self) -> str | None:
        """Return the schema revision of the database (None if not initialised)."""
        from alembic.runtime.migration import MigrationContext

        try:
            with self.engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        except OperationalError as exc:
            raise StoreError(f"cannot open the database {self.safe_url}: {exc.orig}") from exc

    def check_schema(self) -> None:
        """Raise :class:`StoreError` unless the database is at this program's schema revision."""
        current = self.current_revision()
        head = self.head_revision()
        if current == head:
            return
        if current is None:
            raise StoreError(
                f"database {self.safe_url} is not initialised: run `mineaction init` first"
            )
        from alembic.script import ScriptDirectory

        script = ScriptDirectory(str(MIGRATIONS))
        known = {rev.revision for rev in script.walk_revisions()}
        if current not in known:
            raise StoreError(
                f"database {self.safe_url} has schema {current}, newer than this program "
                f"({head}): upgrade mineaction"
            )
        raise StoreError(
            f"database {self.safe_url} has schema {current}, this program needs {head}: "
            "run `mineaction db upgrade`"
        )

    def upgrade(self, revision: str = "head") -> None:
        """Create or upgrade the schema (transactional on both databases)."""
        with self.engine.connect().execution_options(write=True) as conn:
            if self.dialect == "postgresql":
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
                conn.commit()
            from alembic import command

            command.upgrade(self._alembic(conn), revision)
            conn.commit()

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


def open_store(url: str | None = None, *, create: bool = False) -> Store:
    """Open the store at ``url`` (default: ``MINEACTION_DB`` or ``sqlite:///mineaction.db``).

    With ``create`` the schema is created or upgraded first.
    """
    if create:
        store = Store(url, check_schema=False)
        store.upgrade()
        return store
    return Store(url)
