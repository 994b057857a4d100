"""Benchmark: treaty/programme reports, maps and exports on a demo programme (issue 6).

Figures printed, not asserted. Baseline measured in the same run: ``ledger.check`` (replays
every hazard from the ledger in memory, as the report snapshot does, and compares with the
stored projection). Target: loading a report snapshot (event scan + replay + per-report records)
within 2x the baseline, and every report built from a loaded snapshot in under 2 s at region
scale.

Usage::

    python benchmarks/reports.py --db sqlite:///region.db       # an existing database
    python benchmarks/reports.py --scale small                  # builds a demo in benchmarks/out
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from mineaction.core.reporting import Period  # noqa: E402
from mineaction.io.reportfiles import write  # noqa: E402
from mineaction.services import exports, ledger, maps, reporting  # noqa: E402
from mineaction.store.engine import open_store  # noqa: E402


def timed(label: str, fn, *args, **kw):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    c0 = time.process_time()
    out = fn(*args, **kw)
    print(
        f"{label:<44} {time.perf_counter() - t0:8.2f} s wall {time.process_time() - c0:8.2f} s cpu"
    )
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db")
    ap.add_argument("--scale", default="small")
    ap.add_argument("--period", default="2025")
    args = ap.parse_args()
    url = args.db
    if not url:
        out = HERE / "out"
        out.mkdir(exist_ok=True)
        url = f"sqlite:///{out}/reports-{args.scale}.db"
        store = open_store(url, create=True)
        from mineaction.services import demo

        demo.load(store, scale=args.scale)  # type: ignore[attr-defined]
    store = open_store(url)
    period = Period.parse(args.period)
    _, base = timed("baseline: ledger.check (replay all hazards)", ledger.check, store)
    snap, load = timed("snapshot: load at cut-off now", reporting.load_store, store)
    print(f"{'snapshot / baseline':<44} {load / base:8.2f} x  ({snap.report_count} reports)")
    tmp = Path(tempfile.mkdtemp())
    for name in reporting.REPORTS:
        doc, _ = timed(f"build {name}", reporting.build, snap, name, period)
        for fmt in ("xlsx", "pdf"):
            timed(f"  write {fmt}", write, doc, fmt, tmp / f"{name}.{fmt}")
    timed("map A4 png", maps.render, store, tmp / "map.png")
    timed("export gpkg (all layers)", exports.export, store, "gpkg", tmp / "x.gpkg")


if __name__ == "__main__":
    main()
