"""GIS exports: every format re-read with pyogrio and compared with the database; GeoPackages
pass GDAL's validate_gpkg.py; personal data only when asked for by a permitted role (audited)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from sqlalchemy import select

from golden_programme import build, golden_sqlite
from mineaction.cli import cli
from mineaction.core.access import Role
from mineaction.core.reporting import Scope
from mineaction.errors import PermissionDeniedError
from mineaction.services import exports
from mineaction.store import schema as s
from mineaction.store.engine import Store

PERSONAL = ("Kovalenko", "Shevchenko", "Olena")


@pytest.fixture
def programme(store: Store) -> Store:
    build(store)
    return store


@pytest.fixture
def golden(tmp_path: Path) -> Iterator[Store]:
    store = golden_sqlite(tmp_path)
    yield store
    store.dispose()


def db_rows(store: Store, table: Any, key: str) -> dict[Any, dict[str, Any]]:
    with store.read() as conn:
        return {r[key]: dict(r) for r in conn.execute(select(table)).mappings()}


def validate_gpkg(path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "osgeo_utils.samples.validate_gpkg", str(path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "", proc.stdout


def same_geom(a: Any, b: Any) -> bool:
    if b is None or b.is_empty:
        return a is None or a != a or a.is_empty  # None, NaN (CSV) or empty
    return bool(shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), 1e-9)) or (
        a.symmetric_difference(b).area < 1e-14
    )


def read(files: dict[str, Path], layer: str, fmt: str) -> Any:
    return pyogrio.read_dataframe(files[layer], layer=layer if fmt == "gpkg" else None)


def check_against_db(store: Store, files: dict[str, Path], fmt: str) -> None:
    hazards = db_rows(store, s.hazard, "hazard_id")
    eo = db_rows(store, s.eo_item, "id")
    released = db_rows(store, s.release_polygon, "id")
    activities = db_rows(store, s.activity, "report_id")
    accidents = db_rows(store, s.accident, "accident_id")
    short = fmt == "shp"

    def col(name: str, shp: str | None = None) -> str:
        return (shp or name[:10]) if short else name

    df = read(files, "hazards", fmt)
    assert len(df) == len(hazards) == 4
    for _, r in df.iterrows():
        h = hazards[r["hazard_id"]]
        assert same_geom(r.geometry, h["geom"])
        if fmt != "kml":
            assert float(r[col("remaining_m2", "remain_m2")]) == pytest.approx(h["remaining_m2"])
            assert float(r[col("cleared_m2", "clear_m2")]) == pytest.approx(h["cleared_m2"])
            assert r[col("classification", "class")] == h["classification"]
            assert r[col("status")] == h["status"]
        if fmt in ("gpkg", "geojson", "fgb"):
            assert r["first_date"].date() == h["first_date"]
            assert int(r["eo_total"]) == h["eo_total"]
    df = read(files, "remaining", fmt)
    assert sorted(df["hazard_id"]) == sorted(
        k for k, h in hazards.items() if h["remaining_geom"] is not None
    )
    for _, r in df.iterrows():
        assert same_geom(r.geometry, hazards[r["hazard_id"]]["remaining_geom"])
    df = read(files, "released", fmt)
    assert len(df) == len(released) == 5
    by_report = {v["report_id"]: v for v in released.values()}
    for _, r in df.iterrows():
        p = by_report[r["report_id"]]
        assert same_geom(r.geometry, p["geom"])
        if fmt != "kml":
            assert float(r[col("polygon_m2", "poly_m2")]) == pytest.approx(p["polygon_m2"])
            assert r["outcome"] == p["outcome"]
    df = read(files, "activities", fmt)
    assert sorted(df["report_id"]) == sorted(activities)
    if fmt not in ("kml", "csv"):
        for _, r in df.iterrows():
            assert float(r[col("team_days")]) == pytest.approx(
                activities[r["report_id"]]["team_days"]
            )
    df = read(files, "eo", fmt)
    assert len(df) == len(eo) == 6
    if fmt != "kml":
        assert sorted(int(x) for x in df["quantity"]) == sorted(v["quantity"] for v in eo.values())
    for _, r in df.iterrows():
        if fmt != "kml":
            assert same_geom(r.geometry, eo[int(r["id"])]["geom"])
    df = read(files, "accidents", fmt)
    assert sorted(df[col("accident_id", "accident")]) == sorted(accidents)
    for _, r in df.iterrows():
        a = accidents[r[col("accident_id", "accident")]]
        assert same_geom(r.geometry, a["geom"])
        if fmt != "kml":
            assert (int(r["killed"]), int(r["injured"])) == (a["killed"], a["injured"])


def test_gpkg_valid_and_equal_to_database(programme: Store, tmp_path: Path) -> None:
    out = tmp_path / "national.gpkg"
    result = exports.export(programme, "gpkg", out)
    assert result.files == [out]
    assert result.counts == {
        "hazards": 4,
        "remaining": 4,
        "released": 5,
        "activities": 5,
        "eo": 6,
        "accidents": 2,
    }
    validate_gpkg(out)
    assert [n for n, _ in pyogrio.list_layers(out)] == list(exports.LAYERS)
    check_against_db(programme, {n: out for n in exports.LAYERS}, "gpkg")
    info = pyogrio.read_info(out, layer="hazards")
    assert info["crs"] == "EPSG:4326" and info["geometry_type"] == "MultiPolygon"
    assert out.read_bytes().find(b"Kovalenko") == -1


@pytest.mark.parametrize("fmt", ["geojson", "kml", "shp", "fgb", "csv"])
def test_other_formats_equal_to_database(golden: Store, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "export"
    result = exports.export(golden, fmt, out)
    ext = {"geojson": ".geojson", "kml": ".kml", "shp": ".shp", "fgb": ".fgb", "csv": ".csv"}[fmt]
    files = {n: out / f"{n}{ext}" for n in exports.LAYERS}
    assert sorted(result.files) == sorted(files.values())
    check_against_db(golden, files, fmt)
    for f in out.iterdir():
        assert all(p.encode() not in f.read_bytes() for p in PERSONAL), f


def test_single_layer_to_file_and_scope(golden: Store, tmp_path: Path) -> None:
    out = tmp_path / "ua63.geojson"
    exports.export(golden, "geojson", out, layers=["hazards"], scope=Scope(area="UA63"))
    df = pyogrio.read_dataframe(out)
    assert list(df["hazard_id"]) == ["H3"]
    out = tmp_path / "dem.gpkg"
    exports.export(golden, "gpkg", out, scope=Scope(organisation="DEM"))
    assert sorted(pyogrio.read_dataframe(out, layer="hazards")["hazard_id"]) == ["H1", "H2", "H5"]
    acc = pyogrio.read_dataframe(out, layer="accidents")
    assert list(acc["accident_id"]) == ["A-2"]
    validate_gpkg(out)


def test_personal_data_only_for_permitted_roles(programme: Store, tmp_path: Path) -> None:
    out = tmp_path / "p.gpkg"
    with pytest.raises(PermissionDeniedError):
        exports.export(programme, "gpkg", out, include_personal_data=True, role=Role.VIEWER)
    with pytest.raises(PermissionDeniedError):
        exports.export(programme, "gpkg", out, layers=["victims"], role=Role.ADMIN)
    assert not out.exists()
    result = exports.export(
        programme, "gpkg", out, include_personal_data=True, role=Role.IM_OFFICER, actor="imo"
    )
    assert result.counts["victims"] == 4
    validate_gpkg(out)
    victims = pyogrio.read_dataframe(out, layer="victims")
    db = db_rows(programme, s.victim, "victim_id")
    assert sorted(victims["victim_id"]) == sorted(db)
    for _, r in victims.iterrows():
        v = db[r["victim_id"]]
        assert (r["sex"], r["status"]) == (v["sex"], v["status"])
        assert (None if r["name"] is None or r["name"] != r["name"] else r["name"]) == v["name"]
    with programme.read() as conn:
        log = (
            conn.execute(select(s.audit_log).where(s.audit_log.c.action == "export_personal_data"))
            .mappings()
            .all()
        )
    assert [(x["actor"], x["details"]["layers"]["victims"]) for x in log] == [("imo", 4)]


def test_cli_export_records_personal_data_in_audit_log(golden: Store, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "x.gpkg"
    res = runner.invoke(cli, ["--db", golden.url, "export", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "victims" not in res.output
    res = runner.invoke(
        cli,
        [
            "--db",
            golden.url,
            "export",
            str(tmp_path / "v"),
            "--format",
            "geojson",
            "--layers",
            "victims",
            "--include-personal-data",
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "v" / "victims.geojson").exists()
    with golden.read() as conn:
        actions = [
            (r["action"], r["actor"])
            for r in conn.execute(
                select(s.audit_log).where(s.audit_log.c.entity == "export")
            ).mappings()
        ]
    assert [a for a, _ in actions] == ["export", "export_personal_data"]
    assert actions[1][1].startswith("cli:")
