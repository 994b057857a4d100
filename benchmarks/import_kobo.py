"""Benchmark: importing 10,000 KoboToolbox submissions (hazard reports with geoshapes).

Figures printed, not asserted. Our import (read the Kobo API v2 JSON, map every submission to a
report, validate it — required answers, code lists, geometry entry checks — and store it as a
*submitted* report with its event and audit line, in one transaction) is measured on SQLite and
on PostGIS, against baselines measured in the same run on the same data:

* GeoPandas: parse the same Kobo JSON with pandas, turn the geoshape strings into polygons,
  write the GeoDataFrame as a table (GeoPackage through pyogrio for SQLite; ``COPY`` into a
  PostGIS table for PostgreSQL); no validation;
* pyogrio: read the same polygons and attributes from a GeoJSON file into a GeoDataFrame and
  write them to a GeoPackage table (the floor for "a file into a table").

Target: at least 1,000 submissions/s validated and stored on SQLite.

Each measurement runs in its own process, so peak memory (max RSS) is its own. Wall-clock and
CPU seconds are both printed: on a shared, loaded machine the CPU figure is the better estimate
of what one free core does (for PostGIS the server's CPU is not in it).

Usage::

    python benchmarks/import_kobo.py                    # 10,000 submissions, SQLite only
    python benchmarks/import_kobo.py --pg postgresql://postgres@127.0.0.1:54329/postgres
    python benchmarks/import_kobo.py -n 2000            # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE.parent / "src"))


def peak_mb() -> float:
    """Return this process's peak resident memory in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """Wall and CPU time of a block."""

    def __enter__(self) -> Clock:
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.w
        self.cpu = time.process_time() - self.c


def make_data(n: int) -> tuple[Path, Path]:
    """Write n Kobo hazard submissions as API v2 JSON, and the same polygons as GeoJSON."""
    import orjson

    from mineaction.core.geoparse import parse_odk_geo
    from mineaction.forms import synthetic as syn

    OUT.mkdir(exist_ok=True)
    kobo, geojson = OUT / f"kobo_{n}.json", OUT / f"kobo_{n}.geojson"
    if kobo.exists() and geojson.exists():
        return kobo, geojson
    filled = [syn.fill("ma_hazard", i) for i in range(n)]
    kobo.write_bytes(orjson.dumps(syn.kobo_json(filled)))
    feats = []
    for f in filled:
        a = f.answers
        props = {k: a[k] for k in ("hazard_id", "classification", "report_date", "contamination")}
        props["instance_id"] = f.instance_id
        geom = parse_odk_geo(a["polygon"], "geoshape").geometry
        geom["coordinates"] = [[p[:2] for p in geom["coordinates"][0]]]
        feats.append({"type": "Feature", "properties": props, "geometry": geom})
    geojson.write_bytes(orjson.dumps({"type": "FeatureCollection", "features": feats}))
    return kobo, geojson


# --- measurements (each run in a child process) -----------------------------------------------


def measure_ours(url: str, kobo: str) -> dict[str, Any]:
    from mineaction.services.importing import import_bytes
    from mineaction.store.engine import open_store

    store = open_store(url, create=True)
    data = Path(kobo).read_bytes()
    with Clock() as c:
        result = import_bytes(store, data, Path(kobo).name, organisation="BENCH")
    t = result.totals
    assert t.new == t.read, t
    with Clock() as again:
        second = import_bytes(store, data, Path(kobo).name, organisation="BENCH")
    assert second.totals.duplicate == t.read
    return {
        "wall": c.wall,
        "cpu": c.cpu,
        "n": t.new,
        "reimport_wall": again.wall,
        "peak_mb": peak_mb(),
    }


def _frame(kobo: str) -> Any:
    import geopandas as gpd
    import orjson
    import pandas as pd
    from shapely.geometry import Polygon

    results = orjson.loads(Path(kobo).read_bytes())["results"]
    df = pd.DataFrame(results)

    def poly(text: str) -> Polygon:
        pts = [p.split() for p in text.split(";") if p.strip()]
        return Polygon([(float(p[1]), float(p[0])) for p in pts])

    geoms = [poly(t) for t in df["polygon"]]
    keep = ["hazard_id", "classification", "report_date", "contamination", "_uuid"]
    return gpd.GeoDataFrame(df[keep].copy(), geometry=geoms, crs="EPSG:4326")


def measure_geopandas_sqlite(kobo: str) -> dict[str, Any]:
    out = OUT / f"baseline_{uuid.uuid4().hex[:8]}.gpkg"
    with Clock() as c:
        gdf = _frame(kobo)
        gdf.to_file(out, driver="GPKG", layer="hazard", engine="pyogrio")
    out.unlink()
    return {"wall": c.wall, "cpu": c.cpu, "n": len(gdf), "peak_mb": peak_mb()}


def measure_pyogrio(geojson: str) -> dict[str, Any]:
    import pyogrio

    out = OUT / f"baseline_{uuid.uuid4().hex[:8]}.gpkg"
    with Clock() as c:
        gdf = pyogrio.read_dataframe(geojson)
        pyogrio.write_dataframe(gdf, out, driver="GPKG", layer="hazard")
    out.unlink()
    return {"wall": c.wall, "cpu": c.cpu, "n": len(gdf), "peak_mb": peak_mb()}


def measure_geopandas_pg(url: str, kobo: str) -> dict[str, Any]:
    import psycopg
    import shapely

    with Clock() as c:
        gdf = _frame(kobo)
        wkt = shapely.to_wkt(gdf.geometry.values)
        with psycopg.connect(url) as conn:
            conn.execute(
                "CREATE TABLE baseline_hazard (hazard_id text, classification text, "
                "report_date date, contamination text, uuid text, geom geometry(Polygon, 4326))"
            )
            with conn.cursor().copy(
                "COPY baseline_hazard (hazard_id, classification, report_date, contamination, "
                "uuid, geom) FROM STDIN"
            ) as copy:
                for row, g in zip(gdf.itertuples(index=False), wkt, strict=True):
                    copy.write_row(
                        (
                            row.hazard_id,
                            row.classification,
                            row.report_date,
                            row.contamination,
                            row._4,
                            f"SRID=4326;{g}",
                        )
                    )
    return {"wall": c.wall, "cpu": c.cpu, "n": len(gdf), "peak_mb": peak_mb()}


def child(*args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--measure", *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"{args[0]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _pg_db(pg: str) -> tuple[str, str]:
    import psycopg
    from psycopg import sql

    name = f"bench_import_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg, autocommit=True) as conn:
        tmpl = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = 'mineaction_template'"
        ).fetchone()
        q = "CREATE DATABASE {} TEMPLATE mineaction_template" if tmpl else "CREATE DATABASE {}"
        conn.execute(sql.SQL(q).format(sql.Identifier(name)))
    base, _, _ = pg.rpartition("/")
    url = f"{base}/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return name, url


def _drop(pg: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def line(label: str, r: dict[str, Any]) -> str:
    return (
        f"{label:44} {r['wall']:7.2f} s wall {r['n'] / r['wall']:8,.0f}/s   "
        f"{r['cpu']:6.2f} s cpu {r['n'] / r['cpu']:8,.0f}/s   peak {r['peak_mb']:6.0f} MB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=10_000, help="number of submissions")
    ap.add_argument(
        "--pg",
        default=os.environ.get("MINEACTION_BENCH_PG_URL"),
        help="PostgreSQL server URL (any database) to run the PostGIS half",
    )
    ap.add_argument("--measure", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        name, *rest = args.measure
        fn = {
            "ours": measure_ours,
            "geopandas_sqlite": measure_geopandas_sqlite,
            "pyogrio": measure_pyogrio,
            "geopandas_pg": measure_geopandas_pg,
        }[name]
        print(json.dumps(fn(*rest)))
        return
    kobo, geojson = make_data(args.n)
    print(
        f"{args.n:,} Kobo hazard submissions (8-vertex geoshapes): {kobo.stat().st_size / 1e6:.1f} MB JSON"
    )
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    db = OUT / f"import_{uuid.uuid4().hex[:8]}.db"
    ours = child("ours", f"sqlite:///{db}", str(kobo))
    for p in OUT.glob(db.name + "*"):
        p.unlink()
    gp = child("geopandas_sqlite", str(kobo))
    og = child("pyogrio", str(geojson))
    print(line("ours, SQLite (validated, stored, submitted)", ours))
    print(
        f"{'  re-import of the same file (all duplicates)':44} {ours['reimport_wall']:7.2f} s wall"
    )
    print(line("baseline GeoPandas -> GeoPackage table", gp))
    print(line("baseline pyogrio GeoJSON -> GeoPackage", og))
    print(
        f"ratio ours/GeoPandas (wall): {gp['wall'] / ours['wall']:.2f}x of its speed; "
        f"target >= 1,000 submissions/s on SQLite: "
        f"{'met' if ours['n'] / ours['wall'] >= 1000 else 'NOT met'} (wall), "
        f"{'met' if ours['n'] / ours['cpu'] >= 1000 else 'NOT met'} (cpu)"
    )
    if args.pg:
        name, url = _pg_db(args.pg)
        try:
            ours_pg = child("ours", url, str(kobo))
            base_pg = child("geopandas_pg", url, str(kobo))
        finally:
            _drop(args.pg, name)
        print(line("ours, PostGIS (validated, stored, submitted)", ours_pg))
        print(
            f"{'  re-import of the same file (all duplicates)':44} {ours_pg['reimport_wall']:7.2f} s wall"
        )
        print(line("baseline GeoPandas -> PostGIS table (COPY)", base_pg))
        print(
            f"ratio ours/GeoPandas on PostGIS (wall): {base_pg['wall'] / ours_pg['wall']:.2f}x "
            f"of its speed; {ours_pg['n'] / ours_pg['wall']:,.0f}/s wall"
        )
    load = os.getloadavg()
    print(
        f"load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) "
        f"on {os.cpu_count()} CPUs; a shared machine: compare CPU seconds, not only wall"
    )


if __name__ == "__main__":
    main()
