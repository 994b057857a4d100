"""Which side is the planning gap on? Plan vs best plan found vs pooled LP vs converged dual.

Usage::

    python benchmarks/planning_gap.py --sizes 20 50 100 --time-limit 60 --long 240

For each generated instance (seed ``--seed``): our plan (construction + ``--time-limit`` CPU s
of search, one process); the best plan found with more CPU (our plan continued for 4 rounds
of ``--long``/4 CPU s with other seeds, a restart from the construction for ``--long``/2,
CP-SAT with the best plan as hint for ``--cpsat`` s then ``--long``/8 of search, and the
column generation's integer restricted master decoded into team queues); the pooled LP
(``bounds.lp_bound``); the schedule Lagrangian by ``--subgradient`` subgradient iterations;
and the converged schedule dual (``colgen.column_generation_bound``). With ``--elementary``
also the converged *elementary* schedule dual (pricing over schedules that take each operation
at most once, continued from the no-repeat master and its multipliers; small sizes only), and
the integer master is then solved over the elementary master's columns. CPU seconds throughout
(``time.process_time``). Figures of the fourth and sixth sessions: docs/planning.md.
Bounds only, with quick plans: ``--time-limit 5 --long 0 --cpsat 0``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mineaction.core.planning.bounds import lp_bound  # noqa: E402
from mineaction.core.planning.check import check_plan  # noqa: E402
from mineaction.core.planning.colgen import (  # noqa: E402
    _Master,
    column_generation_bound,
    schedule_bound,
)
from mineaction.core.planning.cpsat import cpsat_plan  # noqa: E402
from mineaction.core.planning.generate import generate_problem  # noqa: E402
from mineaction.core.planning.instance import Instance, compile_problem  # noqa: E402
from mineaction.core.planning.planner import construct, plan  # noqa: E402
from mineaction.core.planning.schedule import Plan, list_schedule, make_plan  # noqa: E402
from mineaction.core.planning.search import local_search  # noqa: E402

CPU = time.process_time


def master_plan(inst: Instance, master: _Master, time_limit: float) -> tuple[float, Plan | None]:
    """Integer restricted master (HiGHS MIP over the generated columns) decoded into a plan."""
    import highspy

    h = master.h
    n = inst.n_ops
    ncol, first = h.getNumCol(), 2 * n
    lam = np.arange(first, ncol, dtype=np.int32)
    kinds = np.full(len(lam), highspy.HighsVarType.kInteger, dtype=np.uint8)
    h.changeColsIntegrality(len(lam), lam, kinds)
    art = np.arange(n, 2 * n, dtype=np.int32)
    h.changeColsBounds(n, art, np.zeros(n), np.zeros(n))  # every operation on a schedule
    h.setOptionValue("time_limit", float(time_limit))
    h.run()
    if h.modelStatusToString(h.getModelStatus()) not in ("Optimal", "Time limit reached"):
        return float("nan"), None
    x = np.asarray(h.getSolution().col_value)[first:]
    chosen: dict[tuple[int, int], list[list[int]]] = defaultdict(list)
    for j in np.flatnonzero(x > 0.5).tolist():
        k, home, occ = master.cols[j]
        for _ in range(int(round(x[j]))):
            chosen[(k, home)].append([o for o, _, _ in occ])
    seqs: list[list[int]] = [[] for _ in range(inst.n_teams)]
    for i in range(inst.n_teams):
        queue = chosen.get((int(inst.team_type[i]), int(inst.team_home[i])))
        if queue:
            seqs[i] = queue.pop()
    if any(chosen.values()):
        return float(h.getInfo().objective_function_value), None
    return float(h.getInfo().objective_function_value), make_plan(inst, seqs, "master IP")


def run(n: int, args: argparse.Namespace) -> None:
    """One size: plans, bounds, one printed row."""
    inst = compile_problem(generate_problem(n, seed=args.seed))
    c = CPU()
    ours = plan(inst, time_limit=args.time_limit, seed=args.seed, clock=CPU)
    ours_cpu = CPU() - c
    cands = {"ours": ours}
    best = ours
    for r in range(4):
        best = min(
            best, local_search(best, args.long / 4, seed=100 + r, clock=CPU), key=Plan.objective
        )
    cands["continued"] = best
    cands["restart"] = local_search(construct(inst), args.long / 2, seed=7, clock=CPU)
    hint = min(cands.values(), key=Plan.objective)
    if args.cpsat > 0:
        cp = cpsat_plan(inst, time_limit=args.cpsat, hint=hint, workers=1, seed=args.seed)
        cands["cp-sat+search"] = local_search(cp, args.long / 8, seed=9, clock=CPU)
    seeds = [*cands.values(), list_schedule(inst, "wspt"), list_schedule(inst, "greedy")]
    ub = min(p.objective() for p in seeds)
    horizon = max(float(p.end.max()) for p in seeds)
    c = CPU()
    prices: list = []
    lp = lp_bound(inst, horizon, prices_out=prices).value
    lp_cpu = CPU() - c
    c = CPU()
    sub = schedule_bound(inst, horizon, prices[0], ub, iterations=args.subgradient, clock=CPU)
    sub_cpu = CPU() - c
    c = CPU()
    out: list[object] = []
    cg = column_generation_bound(
        inst,
        horizon,
        seed_plans=seeds,
        pi0=prices[0],
        target=ub,
        iterations=100_000,
        time_limit=args.cg_limit,
        clock=CPU,
        master_out=out,
    )
    cg_cpu = CPU() - c
    master = out[0]
    assert isinstance(master, _Master)
    elem_txt = ""
    if args.elementary:
        c = CPU()

        def progress(it: int, lag: float, value: float, cols: int) -> None:
            """Elementary column generation: a line every 10 iterations."""
            if it % 10 == 0:
                print(
                    f"  elementary it. {it}: Lagrangian {lag:.5e}, master {value:.5e}, "
                    f"{cols} cols, {CPU() - c:.0f} s",
                    flush=True,
                )

        eout: list[object] = []
        try:
            el = column_generation_bound(
                inst,
                horizon,
                seed_plans=seeds,
                pi0=cg.multipliers,
                alpha0=cg.chain_multipliers,
                iterations=100_000,
                time_limit=args.cg_limit,
                clock=CPU,
                master_out=eout,
                elementary=True,
                pseudo_warm=False,
                seed_columns=master.cols,
                progress=progress if args.verbose else None,
            )
        except RuntimeError as exc:
            # too many labels: the restricted elementary master (columns of the no-repeat
            # pricing without their repeats) still bounds the elementary dual from above
            assert isinstance(eout[0], _Master)
            master = eout[0]
            upper = master.solve()[0]
            elem_txt = (
                f"; elementary dual NOT computed ({exc}; after {CPU() - c:.0f} s); restricted "
                f"elementary master {upper:.5e} = an upper limit on it (best/limit-1 "
                f"{min(p.objective() for p in cands.values()) / upper - 1:.1%})"
            )
        else:
            el_cpu = CPU() - c
            assert isinstance(eout[0], _Master)
            master = eout[0]
            el_conv = el.value >= el.master * (1 - 1e-6)
            el_lb = max(el.value, cg.value)
            elem_txt = (
                f"; elementary dual {el_lb:.5e} (master {el.master:.5e}, "
                f"{'converged' if el_conv else 'NOT converged'}, {el.iterations} it. after the "
                f"no-repeat CG, {el.columns} cols, {el_cpu:.0f} s, {master.lag.labels} labels; "
                f"+{el_lb / cg.value - 1:.2%} over the no-repeat dual)"
            )
    ip_value, ip_plan = master_plan(inst, master, args.mip_limit)
    if ip_plan is not None:
        cands["master IP"] = ip_plan
    for name, p in cands.items():
        bad = check_plan(p)
        assert not bad, f"{name}: {bad[:3]}"
    best_name, best_plan = min(cands.items(), key=lambda kv: kv[1].objective())
    b = best_plan.objective()
    converged = cg.value >= cg.master * (1 - 1e-6)
    print(
        f"{n} packages ({inst.n_ops} ops, {inst.n_teams} teams): ours {ours.objective():.5e} "
        f"({ours_cpu:.0f} s CPU); best {b:.5e} ({best_name}; "
        + ", ".join(f"{k} {p.objective():.5e}" for k, p in cands.items())
        + f"); LP {lp:.5e} ({lp_cpu:.0f} s); subgradient {sub.value:.5e} ({sub.iterations} it., "
        f"{sub_cpu:.0f} s); schedule dual {cg.value:.5e} (master {cg.master:.5e}, "
        f"{'converged' if converged else 'NOT converged'}, {cg.iterations} it., {cg.columns} cols, "
        f"{cg_cpu:.0f} s){elem_txt}; master IP {ip_value:.5e}; best/LP-1 {b / lp - 1:.1%}, "
        f"best/dual-1 {b / cg.value - 1:.1%}, ours/best-1 {ours.objective() / b - 1:.1%}; "
        f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )


def main() -> None:
    """Parse arguments and run each size."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20, 50, 100])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=60.0, help="our plan, CPU s")
    ap.add_argument("--long", type=float, default=240.0, help="extra search CPU s")
    ap.add_argument("--cpsat", type=float, default=60.0, help="CP-SAT s (0: skip)")
    ap.add_argument("--subgradient", type=int, default=300)
    ap.add_argument("--cg-limit", type=float, default=1800.0, help="column generation CPU s")
    ap.add_argument("--mip-limit", type=float, default=60.0, help="integer master s")
    ap.add_argument(
        "--elementary",
        action="store_true",
        help="also the elementary schedule dual (small sizes: exact labelling per pricing)",
    )
    ap.add_argument("--verbose", action="store_true", help="progress of the elementary CG")
    args = ap.parse_args()
    for n in args.sizes:
        run(n, args)


if __name__ == "__main__":
    main()
