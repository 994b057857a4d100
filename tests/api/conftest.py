"""Fixtures for the HTTP API tests: an app on a store, accounts of every role, seeded data."""

from __future__ import annotations

import itertools
import os
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tests.api.seed import ACCOUNTS, PASSWORD, Accounts, seed
from tests.conftest import with_database

from mineaction.services import users
from mineaction.store.engine import Store, open_store
from mineaction.web.app import create_app

__all__ = ["PASSWORD"]

# Cheap argon2 parameters in tests (the real ones cost ~0.1-1 s per hash by design).
users._hasher = users.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_n = itertools.count()
_token = uuid.uuid4().hex[:6]


@pytest.fixture
def accounts(store: Store) -> Accounts:
    """One account per role with an API token (no other data)."""
    tokens = {}
    for name, role, org in ACCOUNTS:
        users.add_user(store, name, role=role, organisation=org, password=PASSWORD)
        tokens[name] = users.create_token(store, name).token
    return Accounts(tokens)


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    """A test client of the app on the store."""
    app = create_app(store.url)
    with TestClient(app) as c:
        yield c
    app.state.store.dispose()


@pytest.fixture
def seeded(store: Store) -> Accounts:
    """The two-organisation programme of tests/api/seed.py in ``store``, with accounts."""
    return Accounts(seed(store))


@dataclass
class Seeded:
    """A seeded store shared by the tests of one module (read-only tests)."""

    store: Store
    accounts: Accounts
    client: TestClient


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)],
)
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    """A seeded store and client shared by a module's tests (SQLite, then PostGIS)."""
    dbname = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('shared')}/mineaction.db"
    else:
        pg_url = request.getfixturevalue("pg_url")
        template = request.getfixturevalue("pg_template_db")
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        dbname = f"mineaction_api_{worker}_{_token}_{next(_n)}"
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(dbname), sql.Identifier(template)
                )
            )
        url = with_database(pg_url, dbname)
    store = open_store(url, create=True)
    tokens = seed(store)
    app = create_app(url)
    try:
        with TestClient(app) as c:
            yield Seeded(store, Accounts(tokens), c)
    finally:
        app.state.store.dispose()
        store.dispose()
        if dbname is not None:
            with psycopg.connect(request.getfixturevalue("pg_url"), autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(dbname)
                    )
                )
