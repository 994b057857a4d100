"""Benchmark: OGC API items requests (bbox queries returning ~100 and ~1,000 features).

Side by side in the same run, on the same synthetic demo programme:

- mineaction ``/ogc`` on PostGIS and on SQLite (``mineaction serve``, one process each);
- tipg (Development Seed, PostGIS only) on the same PostGIS database;
- pygeoapi with its GeoJSON provider on an export of the same hazards (it has no provider for
  plain SQLite without SpatiaLite/GDAL bindings, which this machine lacks). pygeoapi must live
  in its own virtualenv (``--pygeoapi-python``): its wheel installs a top-level ``tests``
  package that shadows this project's tests.

Each server runs as its own uvicorn process with one worker; the client sends requests from
``--concurrency`` threads and prints requests/s and p50/p99 latency per server and query size.

    python benchmarks/ogc.py --pg postgresql://postgres@127.0.0.1:54329/postgres --scale region
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mineaction.services import users  # noqa: E402
from mineaction.services.demo import build_demo  # noqa: E402
from mineaction.store.engine import Store, open_store  # noqa: E402

PROPS = "hazard_id,name,organisation,classification,status,location,area_m2,remaining_m2"


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process(cmd: list[str], url: str, env: dict[str, str] | None = None) -> Iterator[None]:
    """Run a server process until ``url`` answers; stop it afterwards."""
    # a pipe nobody reads would fill up and block the server: log to a file
    log = tempfile.TemporaryFile()  # noqa: SIM115
    p = subprocess.Popen(
        cmd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        for _ in range(600):
            try:
                if httpx.get(url, timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if p.poll() is not None:
                raise RuntimeError(
                    f"{cmd[:3]} exited: {p.stderr.read().decode()[-2000:] if p.stderr else ''}"
                )
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{cmd[:3]} did not start")
        yield
    finally:
        p.terminate()
        p.wait(timeout=30)
        log.close()


def load(url: str, scale: str) -> tuple[Store, str]:
    """Load the demo into ``url`` (once) and return the store and an admin token."""
    store = open_store(url, create=True)
    with store.read() as conn:
        n = conn.exec_driver_sql("SELECT count(*) FROM hazard").scalar()
    if not n:
        t = time.perf_counter()
        build_demo(store, scale=scale)
        print(f"  loaded demo {scale} into {store.safe_url} in {time.perf_counter() - t:.0f} s")
    name = "bench"
    if not any(u["username"] == name for u in users.list_users(store)):
        users.add_user(store, name, role="admin", password=users.generate_password())
    return store, users.create_token(store, name).token


def pick_bboxes(store: Store, target: int, n: int = 8) -> list[tuple[float, float, float, float]]:
    """Return ``n`` bboxes around hazard centres, each sized to match about ``target`` hazards."""
    with store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT (minx+maxx)/2, (miny+maxy)/2 FROM hazard ORDER BY hazard_id"
        ).all()
    pts = [(float(x), float(y)) for x, y in rows]
    out = []
    step = max(1, len(pts) // n)
    for cx, cy in pts[::step][:n]:
        lo, hi = 0.001, 3.0
        for _ in range(30):
            half = (lo + hi) / 2
            k = sum(1 for x, y in pts if abs(x - cx) <= half and abs(y - cy) <= half * 0.65)
            if k < target:
                lo = half
            else:
                hi = half
        half = (lo + hi) / 2
        out.append((cx - half, cy - half * 0.65, cx + half, cy + half * 0.65))
    return out


def run(
    name: str,
    make_url: Any,
    bboxes: list[tuple[float, float, float, float]],
    *,
    headers: dict[str, str],
    requests: int,
    concurrency: int,
) -> dict[str, Any]:
    """Send ``requests`` GETs from ``concurrency`` threads; return throughput and latencies."""
    latencies: list[float] = []
    counts: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    todo = iter(range(requests))

    def worker() -> None:
        with httpx.Client(headers=headers, timeout=120) as c:
            c.get(make_url(bboxes[0]))  # warm up connection
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                url = make_url(bboxes[i % len(bboxes)])
                t = time.perf_counter()
                r = c.get(url)
                dt = time.perf_counter() - t
                with lock:
                    if r.status_code != 200:
                        errors.append(f"{r.status_code} {r.text[:200]}")
                    else:
                        latencies.append(dt)
                        counts.append(len(r.json()["features"]))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    if errors:
        print(f"  {name}: {len(errors)} errors, e.g. {errors[0]}")
    lat = sorted(latencies)
    return {
        "server": name,
        "rps": len(lat) / wall if wall else 0.0,
        "p50_ms": 1000 * statistics.median(lat) if lat else float("nan"),
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else float("nan"),
        "features": statistics.mean(counts) if counts else 0,
        "errors": len(errors),
    }


def bb(b: tuple[float, float, float, float]) -> str:
    """Format a bbox for a query string."""
    return ",".join(f"{v:.6f}" for v in b)


def main() -> None:
    """Run the benchmark and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--pg", default=os.environ.get("MINEACTION_TEST_PG_URL"), help="PostgreSQL server URL"
    )
    ap.add_argument("--scale", default="region", choices=["small", "region", "national"])
    ap.add_argument(
        "--requests",
        type=int,
        default=200,
        help="requests per case (1,000-feature cases: a quarter)",
    )
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument(
        "--pygeoapi-python",
        default="/tmp/pygeoapi-venv/bin/python",
        help="Python of a virtualenv with pygeoapi and uvicorn installed",
    )
    ap.add_argument(
        "--servers",
        default="postgis,tipg,sqlite,pygeoapi",
        help="comma-separated subset of postgis,tipg,sqlite,pygeoapi",
    )
    ap.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "mineaction-bench-ogc"))
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    env = {"PYTHONPATH": str(ROOT / "src")}

    print("preparing data ...")
    sqlite_url = f"sqlite:///{work}/demo-{args.scale}.db"
    s_store, s_token = load(sqlite_url, args.scale)
    pg_store = pg_token = pg_db = None
    if args.pg:
        dbname = f"mineaction_bench_ogc_{args.scale}"
        with psycopg.connect(args.pg, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", (dbname,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        pg_db = args.pg.rsplit("/", 1)[0] + "/" + dbname
        pg_store, pg_token = load(pg_db, args.scale)
    sizes = {100: pick_bboxes(s_store, 100), 1000: pick_bboxes(s_store, 1000)}

    results: list[dict[str, Any]] = []

    def case(name: str, make_url: Any, headers: dict[str, str]) -> None:
        for size, boxes in sizes.items():
            n = args.requests if size == 100 else max(20, args.requests // 4)
            r = run(
                name, make_url, boxes, headers=headers, requests=n, concurrency=args.concurrency
            )
            r["target"] = size
            results.append(r)
            print(
                f"  {name:32} ~{size:>5} features: {r['rps']:7.1f} req/s  "
                f"p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  (mean {r['features']:.0f} returned)"
            )

    def mineaction_server(db: str, token: str, label: str) -> None:
        port = free_port()
        base = f"http://127.0.0.1:{port}/ogc"
        cmd = [
            py,
            "-c",
            "from mineaction.cli import main; main()",
            "--db",
            db,
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        with process(cmd, base, env):
            case(
                label,
                lambda b: f"{base}/collections/hazards/items?bbox={bb(b)}&limit=2000",
                {"Authorization": f"Bearer {token}"},
            )

    print(f"running ({args.concurrency} client threads; servers: one uvicorn process each) ...")
    servers = set(args.servers.split(","))
    if pg_db and pg_token and "postgis" in servers:
        mineaction_server(pg_db, pg_token, "mineaction /ogc (PostGIS)")
    if pg_db and pg_token and "tipg" in servers:
        try:
            import tipg  # noqa: F401

            port = free_port()
            base = f"http://127.0.0.1:{port}"
            tenv = {
                "DATABASE_URL": pg_db,
                "TIPG_DB_SCHEMAS": '["public"]',
                "TIPG_DB_TABLES": '["public.hazard"]',
                "TIPG_MAX_FEATURES_PER_QUERY": "10000",
            }
            cmd = [
                py,
                "-m",
                "uvicorn",
                "tipg.main:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ]
            with process(cmd, f"{base}/collections", tenv):
                case(
                    "tipg (PostGIS)",
                    lambda b: (
                        f"{base}/collections/public.hazard/items?bbox={bb(b)}&limit=2000"
                        f"&geom-column=geom&properties={PROPS}"
                    ),
                    {},
                )
        except ImportError:
            print("  tipg not installed: pip install tipg")
    if "sqlite" in servers:
        mineaction_server(sqlite_url, s_token, "mineaction /ogc (SQLite)")
    if "pygeoapi" in servers:
        pygeoapi_case(work, s_store, case, args.pygeoapi_python)

    print("\nsummary (requests/s; higher is better)")
    by = {(r["server"], r["target"]): r for r in results}
    for size in sizes:
        line = [f"~{size} features:"]
        for r in results:
            if r["target"] == size:
                line.append(f"{r['server']} {r['rps']:.1f}")
        print("  " + " | ".join(line))
        pg = by.get(("mineaction /ogc (PostGIS)", size))
        tipg_r = by.get(("tipg (PostGIS)", size))
        if pg and tipg_r and tipg_r["rps"]:
            print(f"    mineaction/tipg on PostGIS: {pg['rps'] / tipg_r['rps']:.2f}x")
        sq = by.get(("mineaction /ogc (SQLite)", size))
        pyg = by.get(("pygeoapi (GeoJSON export)", size))
        if sq and pyg and pyg["rps"]:
            print(f"    mineaction SQLite/pygeoapi: {sq['rps'] / pyg['rps']:.2f}x")
    (work / "results.json").write_text(json.dumps(results, indent=2))


def pygeoapi_case(work: Path, store: Store, case: Any, python: str) -> None:
    """Serve the hazards with pygeoapi (GeoJSON provider on an export) and measure it."""
    if not Path(python).exists():
        print(
            f"  pygeoapi skipped: no {python} (python -m venv DIR; DIR/bin/pip install pygeoapi uvicorn)"
        )
        return
    from mineaction.core.geometry import to_geojson

    geojson = work / "hazards.geojson"
    if not geojson.exists():
        with store.read() as conn:
            rows = conn.exec_driver_sql(
                "SELECT hazard_id, name, organisation, classification, status, location, "
                "area_m2, remaining_m2 FROM hazard"
            ).all()
            from sqlalchemy import select

            from mineaction.store import schema as s

            geoms = dict(conn.execute(select(s.hazard.c.hazard_id, s.hazard.c.geom)).all())
        feats = [
            {
                "type": "Feature",
                "id": r[0],
                "geometry": to_geojson(geoms[r[0]]),
                "properties": dict(zip(PROPS.split(","), r, strict=True)),
            }
            for r in rows
        ]
        geojson.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    port = free_port()
    cfg = work / "pygeoapi.yml"
    cfg.write_text(
        f"""server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {{default_items: 100, max_items: 10000}}
  map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: OSM}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: bench, description: bench, keywords: [bench], terms_of_service: none, url: http://example.org}}
  license: {{name: CC-BY 4.0, url: "https://creativecommons.org/licenses/by/4.0/"}}
  provider: {{name: bench, url: http://example.org}}
  contact: {{name: bench}}
resources:
  hazards:
    type: collection
    title: hazards
    description: hazards
    keywords: [hazards]
    extents: {{spatial: {{bbox: [-180, -90, 180, 90], crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84}}}}
    providers:
      - type: feature
        name: GeoJSON
        data: {geojson}
        id_field: hazard_id
"""
    )
    oas = work / "pygeoapi-openapi.yml"
    env = {"PYGEOAPI_CONFIG": str(cfg), "PYGEOAPI_OPENAPI": str(oas)}
    subprocess.run(
        [
            str(Path(python).parent / "pygeoapi"),
            "openapi",
            "generate",
            str(cfg),
            "--output-file",
            str(oas),
        ],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    base = f"http://127.0.0.1:{port}"
    cmd = [
        python,
        "-m",
        "uvicorn",
        "pygeoapi.starlette_app:APP",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    try:
        with process(cmd, f"{base}/collections", env):
            case(
                "pygeoapi (GeoJSON export)",
                lambda b: f"{base}/collections/hazards/items?bbox={bb(b)}&limit=2000&f=json",
                {},
            )
    except RuntimeError as exc:
        print(f"  pygeoapi could not run: {str(exc)[:500]}")


if __name__ == "__main__":
    main()
