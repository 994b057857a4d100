"""Extra PostGIS databases for tests that need more than one (made from the test template)."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from tests.conftest import with_database

_token = uuid.uuid4().hex[:8]
_counter = itertools.count()


@contextmanager
def pg_databases(pg_url: str, template: str) -> Iterator[Callable[[], str]]:
    """Yield a function making new PostGIS databases; all are dropped at the end."""
    made: list[str] = []

    def make() -> str:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        name = f"mineaction_r_{worker}_{_token}_{next(_counter)}"
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        made.append(name)
        return with_database(pg_url, name)

    try:
        yield make
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            for name in made:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def ensure_template(pg_url: str, name: str = "mineaction_template") -> str:
    """Return the name of a template database with PostGIS (made if missing), for scripts."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            with psycopg.connect(with_database(pg_url, name), autocommit=True) as tconn:
                tconn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return name
