"""Fixtures for the HTTP API tests: an app on the ``store`` fixture, users of every role."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from mineaction.services import users
from mineaction.store.engine import Store
from mineaction.web.app import create_app

PASSWORD = "correct horse battery"

#: (username, role, organisation) of the accounts made by ``accounts``; operators of ORG-A.
ACCOUNTS = [
    ("admin", "admin", None),
    ("im", "im_officer", None),
    ("ops", "operations", None),
    ("entry", "operator_entry", "ORG-A"),
    ("qc", "operator_qc", "ORG-A"),
    ("viewer", "viewer", "ORG-A"),
]


@dataclass
class Accounts:
    """Tokens of the test accounts, by user name."""

    tokens: dict[str, str]

    def headers(self, username: str) -> dict[str, str]:
        """Return Bearer headers for a user (empty for the anonymous public)."""
        if username == "public":
            return {}
        return {"Authorization": f"Bearer {self.tokens[username]}"}


@pytest.fixture
def accounts(store: Store) -> Accounts:
    """One account per role with an API token."""
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
