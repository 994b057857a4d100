"""Fixtures for the web pages: a sample programme served by a real uvicorn server in a thread."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import sample  # noqa: E402
from liveserver import LiveServer, serve  # noqa: E402

from mineaction.services import users  # noqa: E402
from mineaction.store.engine import Store, open_store  # noqa: E402
from mineaction.web.app import create_app  # noqa: E402

SCREENSHOTS_ENV = "MINEACTION_SCREENSHOTS"


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store]]:
    """A SQLite database with the sample programme (built once per test module)."""
    path = tmp_path_factory.mktemp("web") / "sample.db"
    url = f"sqlite:///{path}"
    store = open_store(url, create=True)
    sample.build(store)
    try:
        yield url, store
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def client(sample_db: tuple[str, Store]) -> Iterator[Any]:
    """A client signed in (by API token) as the national IM officer."""
    from fastapi.testclient import TestClient  # imported when used, as in the test modules

    url, store = sample_db
    token = users.create_token(store, "im").token
    with TestClient(create_app(url)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


@pytest.fixture(scope="module")
def live_server(sample_db: tuple[str, Store]) -> Iterator[LiveServer]:
    """The web app serving the sample programme on a real HTTP port."""
    url, store = sample_db
    for base in serve(url):
        yield LiveServer(base, store, url)


@pytest.fixture
def screenshot_dir() -> Path | None:
    """Where to save screenshots of the pages (``MINEACTION_SCREENSHOTS``), or None."""
    value = os.environ.get(SCREENSHOTS_ENV)
    if not value:
        return None
    path = Path(value)
    path.mkdir(parents=True, exist_ok=True)
    return path
