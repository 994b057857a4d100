"""Benchmark: the map page at national scale, measured in a real browser (headless Chromium).

Figures printed, not asserted. The baseline is measured in the same run, on the same hazards
and the same server: a Leaflet page that downloads the full-resolution GeoJSON of every hazard
and draws it (what a naive map does).

* time to first render (first contentful paint) and to interactive (first hazards drawn:
  the page's ``map-interactive`` performance mark), and bytes transferred;
* time to redraw after zooming in to a district (new view requested, answered and drawn).

Target: map interactive in under 2 s on the national demo (100,000 hazards).

Usage::

    python benchmarks/map.py                        # national demo in benchmarks/out/national.db
                                                    # (built with `mineaction demo` if missing)
    python benchmarks/map.py --db sqlite:///x.db    # an existing database
    python benchmarks/map.py --synthetic 100000     # no demo: 100,000 synthetic hazard rows
    python benchmarks/map.py --runs 5               # more repetitions (median reported)

A benchmark user ``bench-map`` (IM officer) is added to the database if it is not there.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent / "tests" / "web"))

USER = "bench-map"
PASSWORD = "benchmark password 1"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]

BASELINE_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">
<style>html,body,#map{height:100%;margin:0}</style></head><body><div id="map"></div>
<script>performance.mark("map-start");</script>
<script src="/static/vendor/leaflet/leaflet.js"></script>
<script>
var map = L.map("map", {preferCanvas: true});
fetch("/bench/full.geojson").then(r => r.json()).then(data => {
  var layer = L.geoJSON(data, {style: {color: "#c0392b", weight: 1}}).addTo(map);
  map.fitBounds(layer.getBounds());
  layer.eachLayer(l => l.bindPopup(() => l.feature.id));
  requestAnimationFrame(() => { performance.mark("map-interactive");
    document.getElementById("map").dataset.ready = "1"; });
});
</script></body></html>"""


def synthetic(url: str, n: int, seed: int = 1) -> None:
    """Fill an empty database with ``n`` hazard rows (projection only) over the demo area."""
    import numpy as np
    import shapely
    from sqlalchemy import insert

    from mineaction.core.geometry import geodesic_area_m2
    from mineaction.store import schema as s
    from mineaction.store.engine import open_store

    store = open_store(url, create=True)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    batch: list[dict[str, Any]] = []
    angles = np.linspace(0, 2 * np.pi, 11)[:-1]
    with store.write() as conn:
        for i in range(n):
            cx, cy = rng.uniform(34.0, 36.5), rng.uniform(50.9, 51.9)
            r = rng.lognormal(-6.3, 0.8)  # ~ 0.002 deg median radius
            radii = r * rng.uniform(0.6, 1.0, len(angles))
            ring = np.c_[cx + radii * np.cos(angles) * 1.6, cy + radii * np.sin(angles)]
            poly = shapely.Polygon(ring)
            area = geodesic_area_m2(poly)
            x0, y0, x1, y1 = poly.bounds
            cls = "CHA" if rng.random() < 0.6 else "SHA"
            batch.append(
                {
                    "hazard_id": f"SYN-{i:06d}",
                    "organisation": f"ORG{i % 7}",
                    "name": None,
                    "classification": cls,
                    "status": "open" if rng.random() < 0.8 else "worked_on",
                    "contamination": ["AP_MINE"],
                    "area_m2": area,
                    "cancelled_m2": 0.0,
                    "reduced_m2": 0.0,
                    "cleared_m2": 0.0,
                    "remaining_m2": area,
                    "expansion_m2": 0.0,
                    "eo_found": {},
                    "eo_total": 0,
                    "report_count": 1,
                    "flags": [],
                    "details": {},
                    "geom": poly,
                    "remaining_geom": poly,
                    "minx": x0,
                    "miny": y0,
                    "maxx": x1,
                    "maxy": y1,
                    "version": 1,
                }
            )
            if len(batch) == 5000:
                conn.execute(insert(s.hazard), batch)
                batch = []
        if batch:
            conn.execute(insert(s.hazard), batch)
    store.dispose()
    print(f"  {n:,} synthetic hazards written in {time.perf_counter() - t0:.0f} s", flush=True)


def ensure_data(args: argparse.Namespace) -> str:
    """Return the URL of the database to measure (building it when asked or missing)."""
    if args.synthetic:
        path = HERE / "out" / f"map-synthetic-{args.synthetic}.db"
        url = f"sqlite:///{path}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            print(f"writing {args.synthetic:,} synthetic hazards to {path} ...", flush=True)
            synthetic(url, args.synthetic)
        return url
    if args.db:
        return str(args.db)
    path = HERE / "out" / "national.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"building the national demo in {path} (takes a while) ...", flush=True)
        subprocess.run([sys.executable, "-m", "mineaction", "--db", url, "init"], check=True)
        subprocess.run(
            [sys.executable, "-m", "mineaction", "--db", url, "demo", "--scale", "national"],
            check=True,
        )
    return url


def ensure_user(url: str) -> None:
    """Add the benchmark user if missing."""
    from mineaction.errors import MineActionError
    from mineaction.services import users
    from mineaction.store.engine import open_store

    store = open_store(url)
    with contextlib.suppress(MineActionError):  # already there
        users.add_user(store, USER, role="im_officer", password=PASSWORD)
    store.dispose()


def install_baseline(app: Any, url: str) -> None:
    """Add the naive full-GeoJSON page to the app (benchmark only)."""
    import orjson
    from fastapi import Response
    from fastapi.responses import HTMLResponse

    from mineaction.services import mapdata
    from mineaction.store.engine import Store
    from mineaction.web.policy import READERS

    store = Store(url)

    @app.get("/bench/full.geojson")
    def full() -> Response:
        return Response(
            orjson.dumps(mapdata.full_geojson(store)), media_type="application/geo+json"
        )

    @app.get("/bench/full", response_class=HTMLResponse)
    def page() -> str:
        return BASELINE_PAGE

    app.state.policy["GET /bench/full.geojson"] = READERS
    app.state.policy["GET /bench/full"] = READERS


MEASURE_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  const inter = performance.getEntriesByName("map-interactive")[0];
  let bytes = nav.encodedBodySize || 0;
  for (const r of performance.getEntriesByType("resource")) bytes += r.encodedBodySize || 0;
  const data = performance.getEntriesByType("resource").filter(r => /json/.test(r.name))
      .reduce((a, r) => a + (r.encodedBodySize || 0), 0);
  return {fcp: fcp ? fcp.startTime : null, interactive: inter ? inter.startTime : null,
          bytes: bytes, data_bytes: data};
}"""


def measure(page: Any, url: str, ready: str) -> dict[str, Any]:
    """Load a page in a fresh cache state and return its timings."""
    page.goto(url)
    page.wait_for_selector(ready, timeout=600_000)
    page.wait_for_timeout(100)
    out: dict[str, Any] = page.evaluate(MEASURE_JS)
    return out


def zoom_redraw(page: Any) -> tuple[float, str]:
    """Zoom the map to a district; return the ms until the new view is drawn and its mode."""
    t0 = page.evaluate(
        """() => { window._loads = Number(document.querySelector('#map').dataset.loads);
                   const t = performance.now(); window.mineactionMap.setView([51.3, 35.0], 12);
                   return t; }"""
    )
    page.wait_for_function(
        "Number(document.querySelector('#map').dataset.loads) > window._loads", timeout=120_000
    )
    t1: float = page.evaluate("performance.now()")
    mode: str = page.evaluate("document.querySelector('#map').dataset.mode")
    return float(t1 - t0), mode


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--db", help="database URL (default: the national demo)")
    ap.add_argument("--synthetic", type=int, default=0, help="use N synthetic hazard rows")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()

    url = ensure_data(args)
    ensure_user(url)
    import os
    import resource

    load_before = os.getloadavg()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    from playwright.sync_api import sync_playwright
    from sqlalchemy import func, select

    from mineaction.store import schema as s
    from mineaction.store.engine import open_store
    from mineaction.web.app import create_app

    store = open_store(url)
    with store.read() as conn:
        n = conn.execute(select(func.count()).select_from(s.hazard)).scalar()
    store.dispose()
    print(f"database: {url}  hazards: {n:,}")

    import threading

    import uvicorn
    from liveserver import _free_port

    app = create_app(url)
    install_baseline(app, url)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"

    results: dict[str, list[dict[str, Any]]] = {"ours": [], "full": []}
    zooms: list[float] = []
    modes: set[str] = set()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1360, "height": 860})
        login = ctx.new_page()
        login.goto(base + "/login")
        login.fill("#username", USER)
        login.fill("#password", PASSWORD)
        login.click("button[type=submit]")
        login.wait_for_url(base + "/")
        login.close()
        # Warm up the server (first queries, template compilation) once for each page.
        for path, ready in (
            ("/map", "#map[data-ready='1']"),
            ("/bench/full", "#map[data-ready='1']"),
        ):
            p = ctx.new_page()
            measure(p, base + path, ready)
            p.close()
        for _ in range(args.runs):
            for key, path in (("ours", "/map"), ("full", "/bench/full")):
                p = ctx.new_page()
                p.route(
                    "**/*",
                    lambda route: route.continue_(
                        headers={**route.request.headers, "cache-control": "no-cache"}
                    ),
                )
                t0 = time.perf_counter()
                r = measure(p, base + path, "#map[data-ready='1']")
                r["wall_ms"] = (time.perf_counter() - t0) * 1000
                results[key].append(r)
                if key == "ours":
                    ms, mode = zoom_redraw(p)
                    zooms.append(ms)
                    modes.add(mode)
                p.close()
        browser.close()
    server.should_exit = True
    thread.join(timeout=10)

    def med(key: str, field: str) -> float:
        vals = [r[field] for r in results[key] if r[field] is not None]
        return statistics.median(vals) if vals else float("nan")

    print(f"\nmap page, median of {args.runs} runs (headless Chromium, localhost, no compression)")
    print(f"{'':28}{'ours (by zoom)':>16}{'full GeoJSON':>16}{'ratio':>9}")
    for field, label, unit, scale in (
        ("fcp", "first render", "ms", 1),
        ("interactive", "interactive (hazards drawn)", "ms", 1),
        ("bytes", "bytes transferred", "MB", 1e6),
        ("data_bytes", "map data (JSON)", "MB", 1e6),
    ):
        a, b = med("ours", field) / scale, med("full", field) / scale
        fmt = "{:>13.0f} {}" if unit == "ms" else "{:>13.2f} {}"
        ratio = b / a if a else float("nan")
        print(f"{label:28}{fmt.format(a, unit)}{fmt.format(b, unit)}{ratio:>8.1f}x")
    print(
        f"{'zoom to zoom 12, redraw':28}{statistics.median(zooms):>13.0f} ms  ({', '.join(modes)})"
    )
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"\nrun: {time.perf_counter() - wall0:.0f} s wall; CPU {time.process_time() - cpu0:.1f} s "
        f"(this process: server + driver), {children.ru_utime + children.ru_stime:.1f} s "
        f"(browser and other children); load average before {load_before[0]:.2f}, "
        f"after {os.getloadavg()[0]:.2f} (1 min)"
    )
    target = med("ours", "interactive")
    print(
        f"\ntarget: interactive < 2000 ms -> {'met' if target < 2000 else 'NOT met'} ({target:.0f} ms)"
    )


if __name__ == "__main__":
    main()
