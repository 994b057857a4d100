"""Benchmark: the map's overlays (EO finds, accidents, activities) at national scale.

Figures printed, not asserted. For several views (national, region, district, close-up) it
times, in the same run and on the same database:

* ``sql``: what the map serves now (:func:`mineaction.services.mapdata.finds_in_view` and
  :func:`~mineaction.services.mapdata.activities_in_view`): bounding box, dates,
  organisation and scope filtered in SQL on indexed point coordinates, clusters grouped in SQL
  when zoomed out;
* ``python``: the previous approach as the baseline: read every EO find and accident with its
  geometry, decode it and filter by the view in Python (numpy/shapely).

Wall and CPU seconds (``time.process_time``) are printed; the machine is usually shared, so CPU
seconds are the fairer comparison. The first run of a database at schema 0005 upgrades it
(filling the new point columns) and prints how long that took.

Usage::

    python benchmarks/map_overlays.py --db sqlite:////path/to/national.db [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

#: (name, bbox, zoom) of the views measured (the national demo covers Kursk Oblast).
VIEWS: list[tuple[str, list[float], float]] = [
    ("national", [33.0, 50.0, 39.0, 53.0], 7),
    ("region", [34.5, 50.8, 36.0, 51.6], 9),
    ("district", [35.0, 51.0, 35.35, 51.2], 12),
    ("close-up", [35.15, 51.1, 35.25, 51.15], 14),
]


def python_baseline(store: Any, bbox: Sequence[float], accidents: bool = True) -> int:
    """The previous finds filter: every row read, geometry decoded, filtered in Python."""
    import numpy as np
    import shapely
    from sqlalchemy import select

    from mineaction.store import schema as s

    n = 0
    with store.read() as conn:
        tables = [s.eo_item, s.accident] if accidents else [s.eo_item]
        for t in tables:
            rows = conn.execute(select(t.c.geom).where(t.c.geom.is_not(None))).all()
            arr = np.array([r.geom for r in rows], dtype=object)
            if not len(arr):
                continue
            c = shapely.centroid(arr)
            x, y = shapely.get_x(c), shapely.get_y(c)
            keep = (x >= bbox[0]) & (x <= bbox[2]) & (y >= bbox[1]) & (y <= bbox[3])
            n += int(keep.sum())
    return n


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """Return the median wall and CPU seconds of ``runs`` calls, and the last result."""
    walls, cpus = [], []
    result = None
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> None:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--db", required=True, help="database URL (the national demo)")
    ap.add_argument("--runs", type=int, default=3, help="repetitions per figure (median)")
    args = ap.parse_args()

    from sqlalchemy import func, select

    from mineaction.services import mapdata
    from mineaction.store import schema as s
    from mineaction.store.engine import Store

    store = Store(args.db, check_schema=False)
    if store.current_revision() != store.head_revision():
        w, c = time.perf_counter(), time.process_time()
        store.upgrade()
        print(
            f"upgraded to {store.head_revision()} (point columns filled) in "
            f"{time.perf_counter() - w:.1f} s wall, {time.process_time() - c:.1f} s CPU"
        )
    with store.read() as conn:
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar()
            for t in (s.hazard, s.eo_item, s.accident, s.activity, s.release_polygon)
        }
    print("database:", ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    print(f"runs per figure: {args.runs} (median); wall / CPU seconds\n")
    header = f"{'view':<10} {'zoom':>4}  {'layer':<11} {'mode':<9} {'in view':>8} {'sent':>6}"
    print(
        header + f"  {'sql wall':>9} {'sql cpu':>8}  {'python wall':>11} {'python cpu':>10}  ratio"
    )
    for name, bbox, zoom in VIEWS:
        w, c, finds = timed(
            lambda b=bbox, z=zoom: mapdata.finds_in_view(store, b, accidents=True, zoom=z),
            args.runs,
        )
        bw, bc, n_base = timed(lambda b=bbox: python_baseline(store, b), args.runs)
        assert n_base == finds["count"], (n_base, finds["count"])
        print(
            f"{name:<10} {zoom:>4}  {'EO+accid.':<11} {finds['modes'].get('eo', '-'):<9} "
            f"{finds['count']:>8,} {len(finds['features']):>6,}  {w:>9.3f} {c:>8.3f}  "
            f"{bw:>11.3f} {bc:>10.3f}  {bc / max(c, 1e-4):.0f}x CPU"
        )
        w, c, acts = timed(
            lambda b=bbox, z=zoom: mapdata.activities_in_view(store, b, z), args.runs
        )
        print(
            f"{name:<10} {zoom:>4}  {'activities':<11} {acts['mode']:<9} {acts['count']:>8,} "
            f"{len(acts['features']):>6,}  {w:>9.3f} {c:>8.3f}  {'(new layer: no baseline)':>22}"
        )
    store.dispose()


if __name__ == "__main__":
    main()
