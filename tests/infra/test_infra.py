"""The test infrastructure itself: PostGIS through psycopg, headless Chromium via Playwright."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import psycopg
import pytest
from PIL import Image
from pyproj import Geod

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# A 0.01 x 0.01 degree square at the equator, about 1.23 km².
SQUARE_WKT = "POLYGON((30 0, 30.01 0, 30.01 0.01, 30 0.01, 30 0))"


def _geod_area_m2() -> float:
    lons = [30.0, 30.01, 30.01, 30.0]
    lats = [0.0, 0.0, 0.01, 0.01]
    area, _ = Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)
    return abs(area)


def test_postgis_version(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT PostGIS_Version(), current_database()").fetchone()
    assert row is not None
    version, dbname = row
    assert version.split(".")[0] == "3", version
    assert dbname == "mineaction_test"


def test_geography_area_matches_pyproj(fresh_pg_db: str) -> None:
    with psycopg.connect(fresh_pg_db) as conn:
        row = conn.execute("SELECT ST_Area(ST_GeogFromText(%s))", (SQUARE_WKT,)).fetchone()
    assert row is not None
    area = float(row[0])
    assert 1.2e6 < area < 1.25e6
    # PostGIS (spheroid) and pyproj.Geod (WGS84) must agree: both are ellipsoidal areas.
    assert area == pytest.approx(_geod_area_m2(), rel=1e-6)


def test_fresh_pg_db_is_private_and_dropped(pg_url: str, fresh_pg_db: str) -> None:
    dbname = fresh_pg_db.rsplit("/", 1)[1]
    with psycopg.connect(fresh_pg_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE hazard (id serial PRIMARY KEY, geom geography(Polygon, 4326))")
        conn.execute("INSERT INTO hazard (geom) VALUES (ST_GeogFromText(%s))", (SQUARE_WKT,))
        row = conn.execute("SELECT current_database(), count(*) FROM hazard").fetchone()
    assert row == (dbname, 1)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('hazard')").fetchone() == (None,)
        # Databases of earlier tests in this worker and run are gone: only this one is left.
        prefix = dbname.rsplit("_", 1)[0] + "_"
        names = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        ).fetchall()
    assert names == [(dbname,)]


def test_fresh_pg_db_second_use_gets_new_database(fresh_pg_db: str) -> None:
    with psycopg.connect(fresh_pg_db) as conn:
        assert conn.execute("SELECT to_regclass('hazard')").fetchone() == (None,)
        assert conn.execute(
            "SELECT extname FROM pg_extension WHERE extname = 'postgis'"
        ).fetchone() == ("postgis",)


def test_chromium_binary_runs(chromium_path: str) -> None:
    out = subprocess.run(
        [chromium_path, "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    assert "Chromium" in out.stdout


def test_chromium_renders_data_url_to_png(chromium_browser: Browser, tmp_path: Path) -> None:
    html = (
        "data:text/html,<html><body style='margin:0;background:rgb(200,30,30)'>"
        "<p style='color:white;font:40px sans-serif'>mine action</p></body></html>"
    )
    page = chromium_browser.new_page(viewport={"width": 320, "height": 200})
    try:
        page.goto(html)
        assert page.inner_text("p") == "mine action"
        shot = tmp_path / "page.png"
        page.screenshot(path=str(shot))
    finally:
        page.close()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(shot) as img:
        rgb = img.convert("RGB")
        assert rgb.size == (320, 200)
        assert rgb.getpixel((300, 190)) == (200, 30, 30)
        # The white text was drawn: some pixels of its band are near white.
        band = np.asarray(rgb.crop((0, 0, 320, 80)))
    assert (band.min(axis=2) > 200).any()
    assert os.path.getsize(shot) > 500
