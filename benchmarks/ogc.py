"""Benchmark: OGC API items requests (bbox queries returning ~100 and ~1,000 features).

Side by side in the same run, on the same synthetic demo programme:

- mineaction ``/ogc`` on PostGIS and on SQLite (``mineaction serve``, one process each);
- tipg (Development Seed, PostGIS only) on the same PostGIS database;
- pygeoapi on exports of the same hazards: its OGR provider on a GeoPackage (with GDAL's
  spatial index; needs the GDAL Python bindings, e.g. a virtualenv made from Debian's
  ``/usr/bin/python3 -m venv --system-site-packages`` with ``python3-gdal`` installed) and its
  GeoJSON provider on a GeoJSON file. pygeoapi must live in its own virtualenv
  (``--pygeoapi-python``): its wheel installs a top-level ``tests`` package that shadows this
  project's tests, so it is not a dependency of this project.

Each server runs as its own uvicorn process with one worker (the same uvicorn options for
all); ``--concurrency`` client processes send the requests (``--client threads``: threads of one
process, which share a GIL and add their own waits to the slowest requests) and it prints
requests/s, p50/p99 latency and the CPU time the server process used per request (read from /proc: the fair figure on a shared machine). Measuring
starts once a server's process is idle after start-up (ours builds its map index in the
background first). ``--rounds 2`` measures every server twice, in turn (a p99 of a few hundred
requests is only believed when it repeats); ``--sizes 100`` and ``--requests`` make shorter runs.

    python benchmarks/ogc.py --pg postgresql://postgres@127.0.0.1:54329/postgres --scale region
    python benchmarks/ogc.py --scale national --sqlite-from benchmarks/out/national.db \
        --servers sqlite,pygeoapi-gpkg
    # national on PostGIS: a scratch copy, never the shared database itself
    psql -c 'CREATE DATABASE scratch_national TEMPLATE mineaction_national'
    python benchmarks/ogc.py --scale national --sqlite-from benchmarks/out/national.db \
        --pg-db postgresql://postgres@127.0.0.1:54329/scratch_national --servers postgis,tipg
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
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
import numpy as np
import orjson
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


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, quiet_cpu: float = 0.01, period: float = 0.5, limit: float = 120) -> float:
    """Wait until a server has finished its start-up work (CPU quiet for ``period`` s).

    A server answering its first request may still be warming caches in the background
    (ours builds the map index): measuring then would time its start-up, not its requests.
    Returns the seconds waited.
    """
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        c0 = cpu_seconds(pid)
        time.sleep(period)
        if cpu_seconds(pid) - c0 < quiet_cpu:
            break
    return time.perf_counter() - t0


@contextmanager
def process(
    cmd: list[str], url: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
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
                log.seek(0)
                raise RuntimeError(f"{cmd[:3]} exited: {log.read().decode()[-2000:]}")
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{cmd[:3]} did not start")
        wait_idle(p.pid)
        yield p
    finally:
        p.terminate()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()


def load(url: str, scale: str) -> tuple[Store, str]:
    """Load the demo into ``url`` (once) and return the store and an admin token."""
    store = open_store(url, create=True)  # creates or upgrades the schema
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
    pts = np.array(rows, dtype=float)
    out = []
    step = max(1, len(pts) // n)
    for cx, cy in pts[::step][:n]:
        dx, dy = np.abs(pts[:, 0] - cx), np.abs(pts[:, 1] - cy)
        lo, hi = 0.001, 3.0
        for _ in range(30):
            half = (lo + hi) / 2
            k = int(np.count_nonzero((dx <= half) & (dy <= half * 0.65)))
            if k < target:
                lo = half
            else:
                hi = half
        half = (lo + hi) / 2
        out.append((cx - half, cy - half * 0.65, cx + half, cy + half * 0.65))
    return out


def _client(
    make_url: Any,
    bboxes: list[tuple[float, float, float, float]],
    headers: dict[str, str],
    timeout: float,
    next_index: Any,
    started: Any,
) -> tuple[list[float], list[int], list[str], float]:
    """Send requests until ``next_index()`` says stop; return latencies, counts, errors, CPU."""
    latencies: list[float] = []
    counts: list[int] = []
    errors: list[str] = []
    with httpx.Client(headers=headers, timeout=timeout) as c:
        warm = True
        try:
            c.get(make_url(bboxes[0]))  # warm up connection
        except httpx.HTTPError as exc:
            errors.append(f"warm-up: {type(exc).__name__}")
            warm = False
        started()
        cpu0 = time.process_time()
        while warm:
            i = next_index()
            if i is None:
                break
            url = make_url(bboxes[i % len(bboxes)])
            t = time.perf_counter()
            try:
                r = c.get(url)
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__} after {time.perf_counter() - t:.0f} s")
                continue
            dt = time.perf_counter() - t
            if r.status_code != 200:
                errors.append(f"{r.status_code} {r.text[:200]}")
            else:
                latencies.append(dt)
                # orjson: the client must not be the bottleneck on 2 shared cores
                counts.append(len(orjson.loads(r.content)["features"]))
    return latencies, counts, errors, time.process_time() - cpu0


def run(
    name: str,
    make_url: Any,
    bboxes: list[tuple[float, float, float, float]],
    *,
    headers: dict[str, str],
    requests: int,
    concurrency: int,
    pid: int | None = None,
    timeout: float = 120,
    client: str = "processes",
) -> dict[str, Any]:
    """Send ``requests`` GETs from ``concurrency`` clients; return throughput, latency, CPU.

    ``client="processes"``: one process per client (the default). ``"threads"``: threads of
    this process, as before 2026-11-26: they share one GIL, and a response that has arrived
    waits for the threads parsing the others, which added up to ~100-200 ms to the slowest
    requests of a fast server (the client's wait, not the server's).
    """
    latencies: list[float] = []
    counts: list[int] = []
    errors: list[str] = []
    client_cpu = 0.0
    with httpx.Client(headers=headers, timeout=timeout) as c:
        c.get(make_url(bboxes[0]))  # warm up the server (first query, caches)
    if client == "threads":
        lock = threading.Lock()
        todo = iter(range(requests))
        barrier = threading.Barrier(concurrency + 1)

        def take() -> int | None:
            with lock:
                return next(todo, None)

        def worker() -> None:
            got = _client(make_url, bboxes, headers, timeout, take, barrier.wait)
            with lock:
                latencies.extend(got[0])
                counts.extend(got[1])
                errors.extend(got[2])

        workers: list[Any] = [threading.Thread(target=worker) for _ in range(concurrency)]
        for w in workers:
            w.start()
        barrier.wait()
        cpu0 = cpu_seconds(pid) if pid else float("nan")
        c0 = time.process_time()
        t0 = time.perf_counter()
        for w in workers:
            w.join()
        wall = time.perf_counter() - t0
        client_cpu = time.process_time() - c0
    else:
        ctx = multiprocessing.get_context("fork")
        counter = ctx.Value("q", 0)
        pbarrier = ctx.Barrier(concurrency + 1)
        results = ctx.Queue()

        def ptake() -> int | None:
            with counter.get_lock():
                i = int(counter.value)
                counter.value += 1
            return i if i < requests else None

        def pworker() -> None:
            results.put(_client(make_url, bboxes, headers, timeout, ptake, pbarrier.wait))

        procs = [ctx.Process(target=pworker) for _ in range(concurrency)]
        for pr in procs:
            pr.start()
        pbarrier.wait()
        cpu0 = cpu_seconds(pid) if pid else float("nan")
        t0 = time.perf_counter()
        for _ in procs:
            got = results.get()
            latencies += got[0]
            counts += got[1]
            errors += got[2]
            client_cpu += got[3]
        wall = time.perf_counter() - t0
        for pr in procs:
            pr.join()
    cpu = (cpu_seconds(pid) - cpu0) if pid else float("nan")
    if errors:
        print(f"  {name}: {len(errors)} errors, e.g. {errors[0]}")
    lat = sorted(latencies)
    return {
        "server": name,
        "client": client,
        "rps": len(lat) / wall if wall else 0.0,
        "p50_ms": 1000 * statistics.median(lat) if lat else float("nan"),
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else float("nan"),
        "max_ms": 1000 * lat[-1] if lat else float("nan"),
        "slowest_ms": [round(1000 * v, 1) for v in lat[-10:]],
        "features": statistics.mean(counts) if counts else 0,
        "errors": len(errors),
        "server_cpu_ms": 1000 * cpu / len(lat) if lat else float("nan"),
        "client_cpu_ms": 1000 * client_cpu / len(lat) if lat else float("nan"),
        "wall_s": wall,
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
    ap.add_argument(
        "--pg-db",
        help="use this existing PostGIS database as it is (e.g. a scratch copy of the national "
        "demo: CREATE DATABASE x TEMPLATE mineaction_national) instead of loading the demo into "
        "a new one; it is upgraded to this schema and gets a benchmark user, so never pass a "
        "database others rely on",
    )
    ap.add_argument("--scale", default="region", choices=["small", "region", "national"])
    ap.add_argument(
        "--sqlite-from",
        help="copy this SQLite database (e.g. a national demo) instead of building the demo; "
        "the original is never modified",
    )
    ap.add_argument(
        "--requests",
        type=int,
        default=200,
        help="requests per case (1,000-feature cases: a quarter)",
    )
    ap.add_argument(
        "--sizes",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[100, 1000],
        help="comma-separated numbers of features per bbox query (default 100,1000)",
    )
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument(
        "--client",
        choices=["processes", "threads"],
        default="processes",
        help="run the --concurrency clients as processes (default) or as threads of one "
        "process (sharing its GIL: the slowest requests then wait for the client too)",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every server this many times, in turn (a p99 is believed when it repeats)",
    )
    ap.add_argument("--timeout", type=float, default=120, help="seconds per request")
    ap.add_argument(
        "--pygeoapi-python",
        default="/tmp/pygeoapi-gdal-venv/bin/python",
        help="Python of a virtualenv with pygeoapi and uvicorn (and the GDAL bindings for "
        "the GeoPackage provider)",
    )
    ap.add_argument(
        "--servers",
        default="postgis,tipg,sqlite,pygeoapi-gpkg,pygeoapi-geojson",
        help="comma-separated subset of postgis,tipg,sqlite,pygeoapi-gpkg,pygeoapi-geojson",
    )
    ap.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "mineaction-bench-ogc"))
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    env = {"PYTHONPATH": str(ROOT / "src")}
    servers = set(args.servers.split(","))

    print("preparing data ...")
    pg_store = pg_token = pg_db = None
    if args.pg_db and servers & {"postgis", "tipg"}:
        pg_db = args.pg_db
        pg_store, pg_token = load(pg_db, args.scale)
    elif args.pg and servers & {"postgis", "tipg"}:
        dbname = f"mineaction_bench_ogc_{args.scale}"
        with psycopg.connect(args.pg, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", (dbname,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        pg_db = args.pg.rsplit("/", 1)[0] + "/" + dbname
        pg_store, pg_token = load(pg_db, args.scale)
    # the SQLite demo (a copy, or built: minutes at national scale) only when a server reads it
    sqlite_path = work / f"demo-{args.scale}.db"
    sqlite_url = f"sqlite:///{sqlite_path}"
    s_store = s_token = None
    if servers & {"sqlite", "pygeoapi-gpkg", "pygeoapi-geojson"} or pg_store is None:
        if args.sqlite_from and not sqlite_path.exists():
            t = time.perf_counter()
            shutil.copyfile(args.sqlite_from, sqlite_path)
            print(f"  copied {args.sqlite_from} in {time.perf_counter() - t:.0f} s")
        s_store, s_token = load(sqlite_url, args.scale)
    data_store = s_store if s_store is not None else pg_store
    assert data_store is not None
    with data_store.read() as conn:
        n_hazards = conn.exec_driver_sql("SELECT count(*) FROM hazard").scalar()
    print(f"  {n_hazards:,} hazards")
    # the same boxes for every server (both stores hold the same demo)
    sizes = {size: pick_bboxes(data_store, size) for size in args.sizes}

    results: list[dict[str, Any]] = []

    def case(name: str, make_url: Any, headers: dict[str, str], pid: int) -> None:
        for size, boxes in sizes.items():
            n = args.requests if size <= 100 else max(20, args.requests // 4)
            r = run(
                name,
                make_url,
                boxes,
                headers=headers,
                requests=n,
                concurrency=args.concurrency,
                pid=pid,
                timeout=args.timeout,
                client=args.client,
            )
            r["target"] = size
            r["round"] = current_round
            r["load_average"] = os.getloadavg()[0]
            results.append(r)
            print(
                f"  {name:30} ~{size:>5} features: {r['rps']:7.1f} req/s  "
                f"p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  max {r['max_ms']:7.1f} ms  "
                f"server CPU {r['server_cpu_ms']:7.1f} ms/req  client CPU {r['client_cpu_ms']:4.1f} ms/req  "
                f"(mean {r['features']:.0f} returned; "
                f"load {r['load_average']:.1f})"
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
        with process(cmd, base, env) as p:
            case(
                label,
                lambda b: f"{base}/collections/hazards/items?bbox={bb(b)}&limit=2000",
                {"Authorization": f"Bearer {token}"},
                p.pid,
            )

    def run_servers() -> None:
        """Measure every chosen server once (one round)."""
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
                with process(cmd, f"{base}/collections", tenv) as p:
                    case(
                        "tipg (PostGIS)",
                        lambda b: (
                            f"{base}/collections/public.hazard/items?bbox={bb(b)}&limit=2000"
                            f"&geom-column=geom&properties={PROPS}"
                        ),
                        {},
                        p.pid,
                    )
            except ImportError:
                print("  tipg not installed: pip install tipg")
        if s_store is not None and s_token is not None:
            if "sqlite" in servers:
                mineaction_server(sqlite_url, s_token, "mineaction /ogc (SQLite)")
            for provider in ("gpkg", "geojson"):
                if f"pygeoapi-{provider}" in servers:
                    pygeoapi_case(work, s_store, case, args.pygeoapi_python, provider)

    load_avg = os.getloadavg()
    print(
        f"running ({args.concurrency} client {args.client}; servers: one uvicorn process each; "
        f"load average {load_avg[0]:.1f} on {os.cpu_count()} CPUs) ..."
    )
    for current_round in range(1, args.rounds + 1):
        if args.rounds > 1:
            print(f" round {current_round} of {args.rounds}")
        run_servers()

    print("\nsummary (requests/s, higher is better; server CPU ms per request, lower is better)")
    for rnd in range(1, args.rounds + 1):
        summary([r for r in results if r["round"] == rnd], list(sizes), rnd, args.rounds)
    out = work / f"results-{args.scale}.json"
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (at the start {load_avg[0]:.1f})")
    out.write_text(json.dumps({"load_average": load_avg, "results": results}, indent=2))
    print(f"figures written to {out}")


def summary(results: list[dict[str, Any]], sizes: list[int], rnd: int, rounds: int) -> None:
    """Print one round's requests/s, CPU and latency ratios against the baselines."""
    by = {(r["server"], r["target"]): r for r in results}
    for size in sizes:
        line = [f"~{size} features" + (f" (round {rnd})" if rounds > 1 else "") + ":"]
        for r in results:
            if r["target"] == size:
                line.append(f"{r['server']} {r['rps']:.1f}/s {r['server_cpu_ms']:.1f} ms")
        print("  " + " | ".join(line))

        def ratio(ours: str, theirs: str, label: str, size: int = size) -> None:
            a, b = by.get((ours, size)), by.get((theirs, size))
            if a and b and b["rps"] and a["server_cpu_ms"]:
                print(
                    f"    {label}: {a['rps'] / b['rps']:.2f}x requests/s, "
                    f"{b['server_cpu_ms'] / a['server_cpu_ms']:.2f}x less server CPU per request, "
                    f"p50 {a['p50_ms']:.1f} vs {b['p50_ms']:.1f} ms, "
                    f"p99 {a['p99_ms']:.1f} vs {b['p99_ms']:.1f} ms"
                )

        ratio("mineaction /ogc (PostGIS)", "tipg (PostGIS)", "mineaction/tipg on PostGIS")
        for prov in PYGEOAPI_LABELS.values():
            ratio("mineaction /ogc (SQLite)", prov, f"mineaction SQLite / {prov}")


PYGEOAPI_LABELS = {
    "gpkg": "pygeoapi (OGR, GeoPackage)",
    "geojson": "pygeoapi (GeoJSON file)",
}


def export_hazards(work: Path, store: Store, provider: str) -> Path:
    """Write the hazards (id, main properties, polygon) to a GeoPackage or GeoJSON file."""
    import geopandas as gpd
    import shapely

    path = work / ("hazards.gpkg" if provider == "gpkg" else "hazards.geojson")
    if path.exists():
        return path
    cols = PROPS.split(",")
    with store.read() as conn:
        rows = conn.exec_driver_sql(f"SELECT {PROPS}, geom FROM hazard ORDER BY hazard_id").all()
    frame = gpd.GeoDataFrame(
        {c: [r[i] for r in rows] for i, c in enumerate(cols)},
        geometry=shapely.from_wkb([r[-1] for r in rows]),
        crs="EPSG:4326",
    )
    if provider == "gpkg":
        # spatial index; GeoPackage 1.3 for the older GDAL of the pygeoapi environment
        frame.to_file(
            path,
            layer="hazards",
            driver="GPKG",
            engine="pyogrio",
            dataset_options={"VERSION": "1.3"},
        )
    else:
        feats = [
            {
                "type": "Feature",
                "id": r[0],
                "geometry": shapely.geometry.mapping(g),
                "properties": dict(zip(cols, r[:-1], strict=True)),
            }
            for r, g in zip(rows, frame.geometry, strict=True)
        ]
        path.write_bytes(orjson.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def pygeoapi_case(work: Path, store: Store, case: Any, python: str, provider: str) -> None:
    """Serve the hazards with pygeoapi (OGR on a GeoPackage, or GeoJSON) and measure it."""
    label = PYGEOAPI_LABELS[provider]
    if not Path(python).exists():
        print(
            f"  {label} skipped: no {python} (/usr/bin/python3 -m venv --system-site-packages "
            "DIR; DIR/bin/pip install pygeoapi uvicorn)"
        )
        return
    data = export_hazards(work, store, provider)
    if provider == "gpkg":
        provider_yaml = f"""      - type: feature
        name: OGR
        data:
          source_type: GPKG
          source: {data}
          source_capabilities: {{paging: true}}
        id_field: hazard_id
        layer: hazards"""
    else:
        provider_yaml = f"""      - type: feature
        name: GeoJSON
        data: {data}
        id_field: hazard_id"""
    port = free_port()
    cfg = work / f"pygeoapi-{provider}.yml"
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
{provider_yaml}
"""
    )
    oas = work / f"pygeoapi-{provider}-openapi.yml"
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
        with process(cmd, f"{base}/collections", env) as p:
            case(
                label,
                lambda b: f"{base}/collections/hazards/items?bbox={bb(b)}&limit=2000&f=json",
                {},
                p.pid,
            )
    except RuntimeError as exc:
        print(f"  {label} could not run: {str(exc)[:500]}")


if __name__ == "__main__":
    main()
