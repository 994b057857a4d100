"""Shared test fixtures: PostgreSQL + PostGIS databases and headless Chromium.

Run the whole suite with ``./scripts/test``: it starts a throwaway PostGIS cluster and exports
``MINEACTION_TEST_PG_URL``. Fixtures:

- ``pg_url`` (session): URL of the shared ``mineaction_test`` database (PostGIS installed).
  Without ``MINEACTION_TEST_PG_URL`` every test using it fails, saying to run ``./scripts/test``;
  a developer can set ``MINEACTION_SKIP_PG=1`` to have them skipped instead (never in CI).
- ``fresh_pg_db``: URL of a new, empty database with PostGIS for one test, dropped afterwards.
  Names are unique per xdist worker and process. Each is copied from the template database
  ``mineaction_template`` (made once, with PostGIS), which is much faster than a fresh
  ``CREATE EXTENSION postgis`` per test.
- ``store`` (parametrised ``sqlite`` / ``postgis``): an initialised empty
  :class:`mineaction.store.engine.Store`; ``store_url`` is its URL; ``sqlite_store`` is
  SQLite only.
- ``chromium_path`` (session): path of the Chromium binary (``MINEACTION_CHROMIUM`` or
  ``/usr/bin/chromium``); ``MINEACTION_SKIP_BROWSER=1`` skips instead of failing.
- ``chromium_browser`` (session): a Playwright ``Browser`` on that Chromium, headless.

URLs are ``postgresql://...``: psycopg takes them as they are; for SQLAlchemy use
``pg_sqlalchemy_url(url)`` (``postgresql+psycopg://...``). Tests using the PostgreSQL fixtures
get the ``postgis`` marker and those using Chromium the ``browser`` marker automatically, so
``pytest -m "not postgis and not browser"`` runs the rest.
"""

from __future__ import annotations

import importlib.util as _ilu
import itertools
import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from mineaction.store.engine import Store

# A dependency may ship a top-level ``tests`` package that would shadow this folder.
_spec = _ilu.spec_from_file_location(
    "_mineaction_testspath", os.path.join(os.path.dirname(__file__), "reliability", "testspath.py")
)
assert _spec and _spec.loader
_spec.loader.exec_module(_ilu.module_from_spec(_spec))

PG_URL_ENV = "MINEACTION_TEST_PG_URL"
SKIP_PG_ENV = "MINEACTION_SKIP_PG"
CHROMIUM_ENV = "MINEACTION_CHROMIUM"
SKIP_BROWSER_ENV = "MINEACTION_SKIP_BROWSER"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
TEMPLATE_DB = "mineaction_template"
_TEMPLATE_LOCK = 4_242_001  # pg_advisory_lock key guarding the template's creation

# Flags Chromium needs on these machines (root, no GPU, no network but loopback).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

PG_FIXTURES = {"pg_url", "fresh_pg_db", "pg_template_db"}
BROWSER_FIXTURES = {"chromium_path", "chromium_browser"}

_run_token = uuid.uuid4().hex[:8]
_db_counter = itertools.count()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by the services they use: ``postgis`` and ``browser``."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if names & PG_FIXTURES or params.get("store_url") == "postgis":
            item.add_marker(pytest.mark.postgis)
        if names & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)


def _skip_allowed(env: str) -> bool:
    """True when a developer asked to skip a service with ``env=1`` (refused in CI)."""
    if os.environ.get(env) != "1":
        return False
    if os.environ.get("CI"):
        pytest.fail(f"{env}=1 is not allowed in CI: run ./scripts/test", pytrace=False)
    return True


def with_database(url: str, dbname: str) -> str:
    """Return ``url`` pointing at database ``dbname`` (same server, user and options)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def pg_sqlalchemy_url(url: str) -> str:
    """Return a ``postgresql://`` URL in SQLAlchemy's psycopg 3 form ``postgresql+psycopg://``."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql+psycopg://{rest}" if sep and scheme in ("postgresql", "postgres") else url


@pytest.fixture(scope="session")
def pg_url() -> str:
    """URL of the test cluster's ``mineaction_test`` database, checked to have PostGIS."""
    url = os.environ.get(PG_URL_ENV, "").strip()
    if not url:
        if _skip_allowed(SKIP_PG_ENV):
            pytest.skip(f"PostgreSQL/PostGIS test skipped: {SKIP_PG_ENV}=1 and no {PG_URL_ENV}")
        pytest.fail(
            f"{PG_URL_ENV} is not set, so this PostgreSQL/PostGIS test cannot run.\n"
            "Run the suite with ./scripts/test (it installs PostGIS and starts a throwaway "
            "cluster), or start one yourself:\n"
            "  export MINEACTION_TEST_PG_URL=$(scripts/pg start /tmp/mineaction-pg 54329)\n"
            f"Only to skip these tests on purpose, set {SKIP_PG_ENV}=1.",
            pytrace=False,
        )
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            conn.execute("SELECT postgis_version()")
    except psycopg.Error as exc:
        pytest.fail(
            f"{PG_URL_ENV}={url} does not give a PostGIS database: {exc}".strip()
            + "\nRun ./scripts/test, or scripts/pg start DIR PORT and export its URL.",
            pytrace=False,
        )
    return url


@pytest.fixture(scope="session")
def pg_template_db(pg_url: str) -> str:
    """Name of the template database (PostGIS installed) that ``fresh_pg_db`` copies."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_TEMPLATE_LOCK,))
        try:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE_DB,)
            ).fetchone()
            if found is None:
                # Build under a temporary name and rename, so a half-made template never exists.
                tmp = f"{TEMPLATE_DB}_{_run_token}"
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(tmp)))
                with psycopg.connect(with_database(pg_url, tmp), autocommit=True) as tconn:
                    tconn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                conn.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(tmp), sql.Identifier(TEMPLATE_DB)
                    )
                )
                conn.execute(
                    sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true").format(
                        sql.Identifier(TEMPLATE_DB)
                    )
                )
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_TEMPLATE_LOCK,))
    return TEMPLATE_DB


@pytest.fixture
def fresh_pg_db(pg_url: str, pg_template_db: str) -> Iterator[str]:
    """URL of a brand-new database with PostGIS for this test only; dropped afterwards."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"mineaction_t_{worker}_{_run_token}_{next(_db_counter)}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(pg_template_db)
            )
        )
    try:
        yield with_database(pg_url, name)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            # FORCE ends sessions a test left open (e.g. an engine that was not disposed).
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of the Chromium binary for headless browser tests."""
    path = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        if _skip_allowed(SKIP_BROWSER_ENV):
            pytest.skip(f"browser test skipped: {SKIP_BROWSER_ENV}=1 and no Chromium at {path}")
        pytest.fail(
            f"Chromium not found at {path}, so this browser test cannot run.\n"
            "Run the suite with ./scripts/test, or install it with ./scripts/browser "
            f"(or set {CHROMIUM_ENV}). Only to skip these tests on purpose, "
            f"set {SKIP_BROWSER_ENV}=1.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def chromium_browser(chromium_path: str) -> Iterator[Browser]:
    """A headless Playwright ``Browser`` running the Debian Chromium (one per xdist worker).

    Playwright's sync API marks the main thread as running its event loop between calls, and
    this session fixture keeps it so for the rest of the process: a test must not call
    ``asyncio.run()`` on the main thread (it raises); run coroutines in a thread of their own,
    e.g. ``anyio.from_thread.start_blocking_portal()``, as ``TestClient`` does.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(params=["sqlite", "postgis"])
def store_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """URL of an empty database: a SQLite file, then a fresh PostGIS database (same tests)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/mineaction.db"
    return str(request.getfixturevalue("fresh_pg_db"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An initialised, empty store on SQLite and on PostGIS (parametrised)."""
    from mineaction.store.engine import open_store

    s = open_store(store_url, create=True)
    try:
        yield s
    finally:
        s.dispose()


@pytest.fixture
def sqlite_store(tmp_path: object) -> Iterator[Store]:
    """An initialised, empty SQLite store (for tests that need only the embedded default)."""
    from mineaction.store.engine import open_store

    s = open_store(f"sqlite:///{tmp_path}/mineaction.db", create=True)
    try:
        yield s
    finally:
        s.dispose()
