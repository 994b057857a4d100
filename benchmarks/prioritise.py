"""Benchmark: prioritisation of 100,000 hazards against 1,000,000 reference features (issue 7).

Figures printed, not asserted. Target: under 60 s. Measured in the same run, each in its own
process so that peak memory (max RSS) is its own:

* **ours**: ``mineaction.services.prioritise.score`` on in-memory data (projection to a local
  metric CRS, bulk STRtree ``dwithin`` / ``intersects`` pair queries, numpy sums, scoring,
  classes, feasibility and value for money) for the development preset (every criterion
  measured);
* **baseline**: a straightforward GeoPandas version of the same criteria: ``to_crs`` to the
  same local CRS, ``buffer`` + ``sjoin`` per radius (people 1 km / 5 km, roads, infrastructure,
  water, accidents), ``sjoin_nearest`` with ``max_distance`` for the blocking distance of roads
  (as a nearest-road check), ``overlay`` for farmland area; no scoring;
* optionally (``--db``) the database path on SQLite: ``load_layer`` of the 1,000,000
  features into a fresh file, ``read_layer`` of all of them, then ``prioritise(store)`` end to
  end (read hazards, layers and accidents, score, store every score) and the API-style reads
  ``latest_scores`` (top 50) + ``explain_score``.

The synthetic country (seeded, ``--seed``): 600 km x 400 km around 35 E, 50 N; hazards in a
150 km-wide band (a former front line), heavy-tailed sizes (lognormal side, median 120 m);
100,000 settlements (lognormal population), 300,000 road links (class mix), 400,000 fields,
150,000 infrastructure points, 1,000 protected areas, 49,000 water bodies; 5,000 accidents.

Usage::

    python benchmarks/prioritise.py                   # 100,000 x 1,000,000
    python benchmarks/prioritise.py --scale 0.1       # 10,000 x 100,000 for a quick look
    python benchmarks/prioritise.py --no-baseline
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

AS_OF = date(2026, 6, 30)
LOCAL = "+proj=tmerc +lat_0=50 +lon_0=35 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
COUNTS = {
    "hazards": 100_000,
    "settlements": 100_000,
    "roads": 300_000,
    "farmland": 400_000,
    "infrastructure": 150_000,
    "protected": 1_000,
    "water": 49_000,
    "accidents": 5_000,
}


def peak_mb() -> float:
    """Return this process's peak resident memory in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Return this process's current resident memory in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


# --- synthetic instance -------------------------------------------------------------------------


def generate(scale: float, seed: int) -> dict[str, Any]:
    """Generate the seeded synthetic country (WGS84 shapely arrays and attributes)."""
    import shapely
    from pyproj import Transformer

    rng = np.random.default_rng(seed)
    n = {k: max(1, int(v * scale)) for k, v in COUNTS.items()}
    w, h = 600_000.0, 400_000.0
    tr = Transformer.from_crs(LOCAL, "EPSG:4326", always_xy=True)

    def to_wgs(g: np.ndarray) -> np.ndarray:
        def f(xy: np.ndarray) -> np.ndarray:
            x, y = tr.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(g, f)

    def xy(k: int, band: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        x = rng.uniform(-w / 2, w / 2, k)
        y = rng.uniform(-band / 2, band / 2, k) if band else rng.uniform(-h / 2, h / 2, k)
        return x, y

    def rects(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        th = rng.uniform(0, np.pi, len(x))
        c, s = np.cos(th), np.sin(th)
        corners = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)], dtype=float)
        px = (
            x[:, None]
            + (corners[None, :, 0] * a[:, None] / 2) * c[:, None]
            - (corners[None, :, 1] * b[:, None] / 2) * s[:, None]
        )
        py = (
            y[:, None]
            + (corners[None, :, 0] * a[:, None] / 2) * s[:, None]
            + (corners[None, :, 1] * b[:, None] / 2) * c[:, None]
        )
        return shapely.polygons(np.stack([px, py], axis=-1))

    out: dict[str, Any] = {"counts": n}
    # hazards: heavy-tailed sizes in a 150 km band
    hx, hy = xy(n["hazards"], band=150_000)
    side = np.clip(rng.lognormal(np.log(120), 0.9, n["hazards"]), 10, 3_000)
    out["hazards"] = to_wgs(rects(hx, hy, side, side * rng.uniform(0.4, 1.0, n["hazards"])))
    out["hazard_class"] = rng.choice(["SHA", "CHA"], n["hazards"], p=[0.7, 0.3])
    out["hazard_contamination"] = rng.choice(
        ["AP_MINE", "AT_MINE", "UXO_AXO", "CLUSTER_MUNITION"], n["hazards"]
    )
    # settlements
    sx, sy = xy(n["settlements"])
    out["settlements"] = to_wgs(shapely.points(sx, sy))
    out["population"] = np.round(rng.lognormal(np.log(300), 1.3, n["settlements"]))
    # roads: links of 2-4 vertices, 0.5-5 km long
    rx, ry = xy(n["roads"])
    k = 4
    steps = rng.normal(0, 1, (n["roads"], k - 1, 2))
    length = rng.uniform(500, 5_000, n["roads"])
    steps *= (length / (k - 1))[:, None, None] / np.maximum(
        np.linalg.norm(steps, axis=2, keepdims=True), 1e-9
    )
    pts = np.concatenate([np.stack([rx, ry], -1)[:, None, :], steps], axis=1).cumsum(axis=1)
    out["roads"] = to_wgs(shapely.linestrings(pts))
    out["road_class"] = rng.choice(
        ["primary", "secondary", "tertiary", "track"], n["roads"], p=[0.05, 0.15, 0.3, 0.5]
    )
    # farmland fields 100-600 m
    fx, fy = xy(n["farmland"])
    fa = rng.uniform(100, 600, n["farmland"])
    out["farmland"] = to_wgs(rects(fx, fy, fa, fa * rng.uniform(0.3, 1, n["farmland"])))
    # infrastructure points (power lines as short lines would also do; points keep it simple)
    ix, iy = xy(n["infrastructure"])
    out["infrastructure"] = to_wgs(shapely.points(ix, iy))
    out["infra_kind"] = rng.choice(
        ["school", "clinic", "water_point", "power_line"], n["infrastructure"]
    )
    # protected areas 2-20 km, water bodies 50-800 m
    px, py = xy(n["protected"])
    ps = rng.uniform(2_000, 20_000, n["protected"])
    out["protected"] = to_wgs(rects(px, py, ps, ps))
    wx, wy = xy(n["water"])
    ws = rng.uniform(50, 800, n["water"])
    out["water"] = to_wgs(rects(wx, wy, ws, ws * rng.uniform(0.2, 1, n["water"])))
    # accidents in the hazard band, dated over 4 years
    ax, ay = xy(n["accidents"], band=150_000)
    out["accidents"] = to_wgs(shapely.points(ax, ay))
    out["accident_dates"] = np.datetime64("2022-07-01") + rng.integers(0, 4 * 365, n["accidents"])
    out["casualties"] = rng.integers(1, 4, n["accidents"]).astype(float)
    return out


# --- measurements (each in a child process) -----------------------------------------------------


def run_ours(scale: float, seed: int, q: Any) -> None:
    """Score with our vectorised service."""
    from mineaction.services import prioritise as svc
    from mineaction.services.reference import LayerData

    data = generate(scale, seed)
    n = data["counts"]["hazards"]
    hazards = svc.HazardSet(
        ids=np.array([f"HZ-{i:06d}" for i in range(n)], dtype=object),
        geoms=data["hazards"],
        classification=data["hazard_class"].astype(object),
        remaining_m2=np.full(n, 10_000.0),
        contamination=[[c] for c in data["hazard_contamination"]],
        evidence=[[{"type": "VERBAL_REPORT"}]] * n,
        blockages=np.zeros(n),
        beneficiaries=np.zeros(n),
        eo_total=np.zeros(n, dtype=np.int64),
        versions=np.ones(n, dtype=np.int64),
    )
    layers = {
        "settlements": LayerData.build(
            "settlements", data["settlements"], values=data["population"].tolist()
        ),
        "roads": LayerData.build("roads", data["roads"], kinds=data["road_class"].tolist()),
        "farmland": LayerData.build("farmland", data["farmland"]),
        "infrastructure": LayerData.build(
            "infrastructure", data["infrastructure"], kinds=data["infra_kind"].tolist()
        ),
        "protected": LayerData.build("protected", data["protected"]),
        "water": LayerData.build("water", data["water"]),
    }
    accidents = svc.AccidentSet(
        geoms=data["accidents"],
        dates=data["accident_dates"].astype("datetime64[D]"),
        casualties=data["casualties"],
        hazard_ids=np.array([None] * len(data["accidents"]), dtype=object),
    )
    features = sum(len(v) for v in layers.values())
    config = svc.load_config(preset="development")
    base = rss_mb()
    # 1. the whole scoring (timed), 2. the measurement again with a per-step breakdown
    c0 = time.process_time()
    t0 = time.perf_counter()
    result = svc.score(config, hazards, layers, accidents, as_of=AS_OF)
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    peak = peak_mb()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    values = svc.measure(config, hazards, layers, accidents, as_of=AS_OF, timings=timings)
    t1 = time.perf_counter()
    assert all(np.array_equal(values[k], result.values[k]) for k in values)
    q.put(
        {
            "seconds": dt,
            "measure_seconds": t1 - t0,
            "cpu_seconds": cpu,
            "steps": timings,
            "hazards": n,
            "features": features,
            "accidents": len(accidents),
            "rss_before_mb": base,
            "peak_mb": peak,
            "values": {
                k: result.values[k].tolist()
                for k in (
                    "people_1km",
                    "people_5km",
                    "roads_blocked",
                    "farmland_m2",
                    "casualties_recent",
                )
            },
            "classes": {c: result.classes.count(c) for c in set(result.classes)},
            "records_sample": result.records()[:3],
        }
    )


def run_baseline(scale: float, seed: int, q: Any) -> None:
    """The same criteria with a straightforward GeoPandas buffer / sjoin / overlay pipeline."""
    import geopandas as gpd
    import pandas as pd

    data = generate(scale, seed)
    n = data["counts"]["hazards"]
    base = rss_mb()
    c0 = time.process_time()
    t0 = time.perf_counter()
    hz = gpd.GeoDataFrame({"hid": np.arange(n)}, geometry=data["hazards"], crs=4326).to_crs(LOCAL)
    st = gpd.GeoDataFrame(
        {"pop": data["population"]}, geometry=data["settlements"], crs=4326
    ).to_crs(LOCAL)
    roads = gpd.GeoDataFrame({"cls": data["road_class"]}, geometry=data["roads"], crs=4326).to_crs(
        LOCAL
    )
    farm = gpd.GeoDataFrame(geometry=data["farmland"], crs=4326).to_crs(LOCAL)
    infra = gpd.GeoDataFrame(
        {"kind": data["infra_kind"]}, geometry=data["infrastructure"], crs=4326
    ).to_crs(LOCAL)
    prot = gpd.GeoDataFrame(geometry=data["protected"], crs=4326).to_crs(LOCAL)
    water = gpd.GeoDataFrame(geometry=data["water"], crs=4326).to_crs(LOCAL)
    acc = gpd.GeoDataFrame(
        {"cas": data["casualties"], "date": data["accident_dates"]},
        geometry=data["accidents"],
        crs=4326,
    ).to_crs(LOCAL)
    acc = acc[acc["date"] >= np.datetime64("2024-06-30")]
    out = pd.DataFrame(index=np.arange(n))

    def within(radius: float, other: gpd.GeoDataFrame) -> pd.DataFrame:
        buf = gpd.GeoDataFrame({"hid": hz["hid"]}, geometry=hz.buffer(radius), crs=hz.crs)
        return gpd.sjoin(buf, other, predicate="intersects")

    j = within(5_000, st)
    out["people_5km"] = j.groupby("hid")["pop"].sum()
    j = within(1_000, st)
    out["people_1km"] = j.groupby("hid")["pop"].sum()
    j = within(100, roads)
    out["roads_blocked"] = j.groupby("hid").size()
    nearest = gpd.sjoin_nearest(hz, roads, max_distance=100, distance_col="d")
    out["nearest_road_m"] = nearest.groupby("hid")["d"].min()
    j = within(100, infra)
    out["infrastructure"] = j.groupby("hid").size()
    j = gpd.sjoin(hz, prot, predicate="intersects")
    out["protected"] = j.groupby("hid").size() > 0
    j = within(100, water)
    out["near_water"] = j.groupby("hid").size() > 0
    j = within(1_000, acc)
    out["casualties_recent"] = j.groupby("hid")["cas"].sum()
    ov = gpd.overlay(hz, farm, how="intersection", keep_geom_type=True)
    out["farmland_m2"] = ov.area.groupby(ov["hid"]).sum()
    out = out.fillna(0)
    dt = time.perf_counter() - t0
    q.put(
        {
            "seconds": dt,
            "cpu_seconds": time.process_time() - c0,
            "rss_before_mb": base,
            "peak_mb": peak_mb(),
            "values": {
                k: out[k].astype(float).tolist()
                for k in (
                    "people_1km",
                    "people_5km",
                    "roads_blocked",
                    "farmland_m2",
                    "casualties_recent",
                )
            },
        }
    )


def run_db(scale: float, seed: int, q: Any) -> None:
    """Load the reference features into a fresh SQLite database and read them back."""
    import tempfile

    from mineaction.services import reference as ref
    from mineaction.store.engine import open_store

    data = generate(scale, seed)
    attrs = {
        "settlements": lambda k: {"population": float(data["population"][k])},
        "roads": lambda k: {"class": str(data["road_class"][k])},
        "infrastructure": lambda k: {"kind": str(data["infra_kind"][k])},
    }
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db", create=True)
        c0 = time.process_time()
        t0 = time.perf_counter()
        total = 0
        for layer in ("settlements", "roads", "farmland", "infrastructure", "protected", "water"):
            fn = attrs.get(layer, lambda k: {})
            total += ref.load_layer(store, layer, ((g, fn(k)) for k, g in enumerate(data[layer])))
        load_s = time.perf_counter() - t0
        load_cpu = time.process_time() - c0
        c0 = time.process_time()
        t0 = time.perf_counter()
        with store.read() as conn:
            read = sum(len(ref.read_layer(conn, layer)) for layer in ref.LAYERS)
        read_s = time.perf_counter() - t0
        read_cpu = time.process_time() - c0
        # hazards written straight into the projection table (a benchmark fixture: the
        # ledger path is benchmarked in benchmarks/recompute.py), then the whole service:
        # read hazards, layers and accidents, score, and store every score
        insert_hazards(store, data)
        from mineaction.services import prioritise as svc

        config = svc.load_config(preset="development")
        c0 = time.process_time()
        t0 = time.perf_counter()
        result = svc.prioritise(store, config, as_of=AS_OF)
        e2e_s = time.perf_counter() - t0
        e2e_cpu = time.process_time() - c0
        t0 = time.perf_counter()
        top = svc.latest_scores(store, limit=50)
        ex = svc.explain_score(store, top[0]["hazard_id"])
        api_ms = (time.perf_counter() - t0) * 1000
        size = Path(f"{tmp}/bench.db").stat().st_size / 2**20
    q.put(
        {
            "load_s": load_s,
            "load_cpu_s": load_cpu,
            "read_s": read_s,
            "read_cpu_s": read_cpu,
            "features": total,
            "read": read,
            "db_mb": size,
            "prioritise_s": e2e_s,
            "prioritise_cpu_s": e2e_cpu,
            "scored": len(result.hazard_ids),
            "top50_and_explain_ms": api_ms,
            "explained": ex.hazard_id,
            "peak_mb": peak_mb(),
        }
    )


def insert_hazards(store: Any, data: dict[str, Any]) -> None:
    """Write the synthetic hazards straight into the ``hazard`` projection table."""
    import shapely
    from sqlalchemy import insert

    from mineaction.store import schema as s

    n = data["counts"]["hazards"]
    b = shapely.bounds(data["hazards"])
    rows = []
    with store.write() as conn:
        for k in range(n):
            rows.append(
                {
                    "hazard_id": f"HZ-{k:06d}",
                    "organisation": "BENCH",
                    "classification": str(data["hazard_class"][k]),
                    "status": "open",
                    "contamination": [str(data["hazard_contamination"][k])],
                    "area_m2": 10_000.0,
                    "cancelled_m2": 0.0,
                    "reduced_m2": 0.0,
                    "cleared_m2": 0.0,
                    "remaining_m2": 10_000.0,
                    "expansion_m2": 0.0,
                    "eo_found": {},
                    "eo_total": 0,
                    "report_count": 1,
                    "flags": [],
                    "details": {"evidence": [{"type": "VERBAL_REPORT"}], "blockages": []},
                    "geom": data["hazards"][k],
                    "minx": float(b[k, 0]),
                    "miny": float(b[k, 1]),
                    "maxx": float(b[k, 2]),
                    "maxy": float(b[k, 3]),
                    "version": 1,
                }
            )
            if len(rows) == 10_000:
                conn.execute(insert(s.hazard), rows)
                rows = []
        if rows:
            conn.execute(insert(s.hazard), rows)


def in_child(target: Any, *args: Any) -> dict[str, Any]:
    """Run ``target(*args, queue)`` in a fresh process and return what it put on the queue."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    out = q.get()
    p.join()
    return out


def agreement(a: list[float], b: list[float], rel: float = 0.01) -> float:
    """Share of hazards whose values agree within ``rel`` (or 1e-6 absolute)."""
    x, y = np.asarray(a), np.asarray(b)
    ok = np.isclose(x, y, rtol=rel, atol=1e-6)
    return float(ok.mean())


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--db", action="store_true", help="Also time loading/reading SQLite.")
    ap.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = ap.parse_args()
    import os

    load = os.getloadavg()[0]
    print(
        f"cores: {os.cpu_count()}, load average {load:.1f} at start (wall times on a shared "
        f"machine depend on it; CPU times do not), scale {args.scale}, seed {args.seed}",
        flush=True,
    )
    ours = in_child(run_ours, args.scale, args.seed)
    print(
        f"ours:     {ours['hazards']:,} hazards x {ours['features']:,} reference features "
        f"(+ {ours['accidents']:,} accidents): {ours['seconds']:.1f} s wall "
        f"(measurement alone, re-run: {ours['measure_seconds']:.1f} s), {ours['cpu_seconds']:.1f} s CPU, peak RSS "
        f"{ours['peak_mb']:,.0f} MB (data alone {ours['rss_before_mb']:,.0f} MB)",
        flush=True,
    )
    print(
        "          steps (s): " + ", ".join(f"{k} {v:.1f}" for k, v in ours["steps"].items()),
        flush=True,
    )
    print(f"          classes: {ours['classes']}", flush=True)
    figures: dict[str, Any] = {"ours": {k: v for k, v in ours.items() if k != "values"}}
    if not args.no_baseline:
        base = in_child(run_baseline, args.scale, args.seed)
        print(
            f"baseline: GeoPandas buffer/sjoin/sjoin_nearest/overlay: {base['seconds']:.1f} s wall, "
            f"{base['cpu_seconds']:.1f} s CPU, "
            f"peak RSS {base['peak_mb']:,.0f} MB (data alone {base['rss_before_mb']:,.0f} MB)",
            flush=True,
        )
        print(
            f"speed-up: {base['seconds'] / ours['seconds']:.1f}x wall, "
            f"{base['cpu_seconds'] / ours['cpu_seconds']:.1f}x CPU",
            flush=True,
        )
        agree = {}
        for k in ours["values"]:
            agree[k] = agreement(ours["values"][k], base["values"][k])
        print(
            "agreement with the baseline (share of hazards within 1 %; buffers are polygonal, "
            "so edge cases differ): " + ", ".join(f"{k} {v:.4f}" for k, v in agree.items()),
            flush=True,
        )
        figures["baseline"] = {k: v for k, v in base.items() if k != "values"}
        figures["speedup"] = base["seconds"] / ours["seconds"]
        figures["agreement"] = agree
    if args.db:
        db = in_child(run_db, args.scale, args.seed)
        print(
            f"sqlite:   load_layer {db['features']:,} features {db['load_s']:.1f} s wall "
            f"({db['load_cpu_s']:.1f} s CPU, {db['db_mb']:,.0f} MB file), read_layer all "
            f"{db['read_s']:.1f} s wall ({db['read_cpu_s']:.1f} s CPU), "
            f"peak RSS {db['peak_mb']:,.0f} MB",
            flush=True,
        )
        print(
            f"          prioritise(store) end to end ({db['scored']:,} hazards read, scored and "
            f"stored): {db['prioritise_s']:.1f} s wall, {db['prioritise_cpu_s']:.1f} s CPU; "
            f"latest_scores top 50 + explain_score: {db['top50_and_explain_ms']:.0f} ms",
            flush=True,
        )
        figures["sqlite"] = db
    print(f"load average at end: {os.getloadavg()[0]:.1f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
