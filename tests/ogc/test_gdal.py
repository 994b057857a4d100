"""GDAL's OAPIF driver (inside pyogrio) reads every collection from a real server, with auth.

The server is ``mineaction serve`` in a child process: pyogrio holds the GIL while it fetches,
so a server thread in the same process would never answer.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyogrio
import pytest
from tests.api.conftest import Seeded

from mineaction.ogc.collections import COLLECTIONS

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(scope="module")
def server(shared: Seeded) -> Iterator[str]:
    """URL of ``/ogc`` on a ``mineaction serve`` process over the shared store."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from mineaction.cli import main; main()",
            "--db",
            shared.store.url,
            "serve",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/ogc"
    try:
        for _ in range(300):
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("mineaction serve did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _gdal(options: dict[str, str | None]) -> None:
    pyogrio.set_gdal_config_options({"GDAL_HTTP_TIMEOUT": "30", **options})


def test_gdal_reads_every_collection_with_basic_auth(shared: Seeded, server: str) -> None:
    token = shared.accounts.tokens["viewer"]
    _gdal({"GDAL_HTTP_USERPWD": f"viewer:{token}", "GDAL_HTTP_HEADERS": None})
    try:
        layers = {name for name, _ in pyogrio.list_layers(f"OAPIF:{server}")}
        assert layers == set(COLLECTIONS)
        for cid in COLLECTIONS:
            df = pyogrio.read_dataframe(f"OAPIF:{server}", layer=cid)
            assert len(df) > 0, cid
            assert df.crs is not None and df.crs.to_epsg() in (4326, None), cid
            if "organisation" in df.columns:
                assert set(df["organisation"]) == {"ORG-A"}, cid  # the viewer's scope
        west = pyogrio.read_dataframe(
            f"OAPIF:{server}", layer="hazards", bbox=(35.19, 51.19, 35.21, 51.21)
        )
        assert list(west["hazard_id"]) == ["HA"]
    finally:
        _gdal({"GDAL_HTTP_USERPWD": None})


def test_gdal_with_bearer_token_and_anonymous(shared: Seeded, server: str) -> None:
    token = shared.accounts.tokens["ops"]
    _gdal({"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": token})
    try:
        df = pyogrio.read_dataframe(f"OAPIF:{server}", layer="eo")
        assert set(df["organisation"]) == {"ORG-A", "ORG-B"}
    finally:
        _gdal({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})
    layers = {name for name, _ in pyogrio.list_layers(f"OAPIF:{server}")}
    assert layers == {"public-grid", "public-areas"}
    grid = pyogrio.read_dataframe(f"OAPIF:{server}", layer="public-grid")
    assert "hazard_id" not in grid.columns and grid["hazards"].sum() == 2
