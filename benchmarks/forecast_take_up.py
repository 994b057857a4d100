"""How the programme takes hazards up: the observed pace and the order, fitted before past dates.

For each ``--as-of`` date (data as it stood then, `services.planning.load_programme`):

* the pace: monthly first take-ups of never-worked hazards and going-on take-ups of hazards
  already worked on over the 12 months before it (mean, log-sigma), and hazards newly reported;
* the order: AUC of candidate orders for the hazards taken up each month against those not
  (0.5 = random): the take-up curve by idle months, most recently reported first, longest
  waiting first, smallest first (the plan's priority with equal weights), nearest to last
  month's work (bounding-box centres), in a region worked last month, random;
* the baseline comparison: first take-ups of the never-worked stock per quarter after the date
  in reality against three replays (mean of 50 draws): the fitted curves per hazard, the pace
  applied to the stock from day 1, and the pace with newly reported hazards competing.

Prints CPU seconds. Example::

    python benchmarks/forecast_take_up.py --db sqlite:///region.db \\
        --as-of 2025-07-31 --as-of 2025-10-31 --as-of 2026-01-31
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import select

from mineaction.core.planning.calibration import (
    HazardHistory,
    months_idle,
    take_up_order_auc,
    take_up_pace,
    tasking_curve,
)
from mineaction.core.planning.forecast import _pace_months
from mineaction.services import planning as svc
from mineaction.store import schema as s
from mineaction.store.engine import Store, open_store


def _replays(
    stock: list[HazardHistory], curve: np.ndarray, start: date, pace: float, new: float
) -> dict[str, list[int]]:
    """First take-ups per quarter (4 quarters) of the stock: curve, pace, pace + new reports."""
    rng = np.random.default_rng(1)
    ages = np.asarray([months_idle(h, start) for h in stock], dtype=np.int64)
    top = curve.size - 1
    out: dict[str, list[np.ndarray]] = {
        "curves": [],
        "pace from day 1": [],
        "pace, new compete": [],
    }
    for _ in range(50):
        left = np.ones(len(stock), dtype=bool)
        per = np.zeros(12)
        for m in range(12):
            take = left & (rng.uniform(size=len(stock)) < curve[np.minimum(ages + m, top)])
            per[m] = take.sum()
            left &= ~take
        out["curves"].append(per)
        for name, compete in (("pace from day 1", 0.0), ("pace, new compete", new)):
            months = _pace_months(curve, ages, pace, 0.0, rng, compete, 12)
            out[name].append(np.bincount(months[np.isfinite(months)].astype(int), minlength=12))
    return {
        k: [int(round(float(np.mean(v, axis=0)[q : q + 3].sum()))) for q in (0, 3, 6, 9)]
        for k, v in out.items()
    }


def _report(
    store: Store,
    text: str,
    geo: dict[str, tuple[float, float, float]],
    now: dict[str, HazardHistory],
    scores: dict[date, dict[str, float]],
) -> None:
    """Pace, order AUCs and the stock replays as of one date."""
    cut = date.fromisoformat(text)
    data = svc.load_programme(store, cut)
    hist = svc.hazard_histories(data)
    region = {x.hazard_id: x.region for x in data.hazards}
    window = svc._history_window(cut)
    first = tasking_curve(hist.values(), window, worked=False)
    p = first.probability
    active: dict[date, tuple[set[str], np.ndarray]] = {}

    def worked_last_month(m0: date) -> tuple[set[str], np.ndarray]:
        if m0 not in active:
            p0 = (m0 - timedelta(days=1)).replace(day=1)
            ids = [
                x.hazard_id
                for x in hist.values()
                if any(p0 <= e < m0 for e in (*x.events, *x.ends))
            ]
            pts = np.asarray([geo[i][:2] for i in ids]) if ids else np.zeros((0, 2))
            active[m0] = ({region[i] for i in ids}, pts)
        return active[m0]

    def near(x: HazardHistory, m0: date) -> float:
        pts = worked_last_month(m0)[1]
        if not len(pts):
            return 0.0
        cx, cy, _ = geo[x.hazard_id]
        kx = 111.0 * math.cos(math.radians(cy))
        return -float(np.hypot((pts[:, 0] - cx) * kx, (pts[:, 1] - cy) * 111.0).min())

    rng = np.random.default_rng(0)
    orders: dict[str, Callable[[HazardHistory, date], float]] = {
        "curve order (take-up probability by idle months)": lambda x, m0: p[
            min(months_idle(x, m0), len(p) - 1)
        ],
        "most recently reported first": lambda x, m0: x.first.toordinal(),
        "longest waiting first": lambda x, m0: -x.first.toordinal(),
        "smallest first (plan priority, equal weights)": lambda x, m0: -geo[x.hazard_id][2],
        "nearest to last month's work": near,
        "in a region worked last month": lambda x, m0: float(
            region[x.hazard_id] in worked_last_month(m0)[0]
        ),
        "random": lambda x, m0: float(rng.uniform()),
    }
    if scores:  # the priority score as the ledger stood the day before the month
        orders["priority score (prioritise --as-of the day before the month)"] = lambda x, m0: (
            scores.get(m0 - timedelta(days=1), {}).get(x.hazard_id, -1.0)
        )
    auc = take_up_order_auc(hist.values(), window, orders)
    pace = take_up_pace(hist.values(), window)
    again = take_up_pace(hist.values(), window, worked=True)
    print(
        f"as of {cut}: first take-ups {pace.per_month:.1f}/month (log-sigma {pace.sigma:.2f},"
        f" months {list(pace.counts)}); going on {again.per_month:.1f}/month (log-sigma "
        f"{again.sigma:.2f}); newly reported {pace.new_per_month:.1f}/month"
    )
    for name, v in sorted(auc.items(), key=lambda kv: -(kv[1] or 0.0)):
        print(f"  order AUC {'-' if v is None else f'{v:.3f}'}  {name}")
    open_ids = {x.hazard_id for x in data.open_hazards()}
    stock = [x for x in hist.values() if x.hazard_id in open_ids and not x.events]
    real = np.zeros(12, dtype=int)
    for x in stock:
        later = [e for e in now[x.hazard_id].events if e > cut] if x.hazard_id in now else []
        if later:
            m = (later[0].year - cut.year) * 12 + later[0].month - cut.month - 1
            if m < 12:
                real[m] += 1
    quarters = [int(real[q : q + 3].sum()) for q in (0, 3, 6, 9)]
    print(f"  never-worked stock {len(stock)}: first take-ups per quarter, real {quarters}")
    reps = _replays(
        stock, np.asarray(p), cut + timedelta(days=1), pace.per_month, pace.new_per_month
    )
    for name, v in reps.items():
        print(f"    {name:18s} {v}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="database URL (region demo)")
    ap.add_argument("--as-of", action="append", required=True, help="YYYY-MM-DD (repeat)")
    ap.add_argument(
        "--scores-dir",
        help="directory of `mineaction prioritise --as-of D --no-save --out prio-D.json` "
        "exports, D = the last day of each month before a history month (priority order)",
    )
    args = ap.parse_args()
    store = open_store(args.db)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with store.read() as conn:
        h = s.hazard.c
        geo = {
            r.hazard_id: ((r.minx + r.maxx) / 2, (r.miny + r.maxy) / 2, r.area_m2)
            for r in conn.execute(select(h.hazard_id, h.minx, h.maxx, h.miny, h.maxy, h.area_m2))
        }
    now = svc.hazard_histories(svc.load_programme(store, None))
    scores: dict[date, dict[str, float]] = {}
    if args.scores_dir:
        for f in sorted(Path(args.scores_dir).glob("prio-*.json")):
            run = json.loads(f.read_text(encoding="utf-8"))
            day = date.fromisoformat(run["run"]["data_cutoff"])
            scores[day] = {r["hazard_id"]: float(r["score"]) for r in run["scores"]}
    for text in args.as_of:
        _report(store, text, geo, now, scores)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"cpu {time.process_time() - cpu0:.1f} s, wall {time.perf_counter() - wall0:.1f} s, "
        f"peak {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
