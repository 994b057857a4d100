"""Long crash-safety campaign: many SIGKILLs at random points, figures printed per store.

Usage (from the repository root)::

    MINEACTION_TEST_PG_URL=postgresql://... python tests/reliability/run_kill.py \\
        [--approve 40] [--submit 40] [--recompute 20] [--recompute-hazards 300] [--migrate 20] \\
        [--stores sqlite,postgis] \\
        [--seed N] [--json results.json]

Prints kill points tried, runs really interrupted, survived (consistent after the kill and
exact after the re-run), and records lost (must be 0). Exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import orjson

if __package__ in (None, ""):  # run as a file: python tests/reliability/NAME.py
    import testspath  # sys.path[0] is this folder

    testspath.use_repository_src()


def main(argv: list[str] | None = None) -> int:
    """Run the campaign and print its figures."""
    from tests.reliability import killing

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--approve", type=int, default=40)
    ap.add_argument("--submit", type=int, default=40)
    ap.add_argument("--recompute", type=int, default=20)
    ap.add_argument("--migrate", type=int, default=20)
    ap.add_argument("--import", dest="imports", type=int, default=15)
    ap.add_argument("--demo", type=int, default=4, help="kills of `mineaction demo` (bulk load)")
    ap.add_argument("--hazards-per-batch", type=int, default=3)
    ap.add_argument(
        "--recompute-hazards",
        type=int,
        default=300,
        help="hazards (3 approved reports each) loaded before the recompute kills",
    )
    ap.add_argument("--stores", default="sqlite,postgis")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="write the figures to this file too")
    args = ap.parse_args(argv)
    rounds = {"approve": args.approve, "submit": args.submit, "recompute": args.recompute}
    results: dict[str, dict[str, object]] = {}
    failed = False
    with tempfile.TemporaryDirectory(prefix="mineaction-kill-") as tmp:
        folder = Path(tmp)
        for kind in args.stores.split(","):
            stats = killing.KillStats()
            if kind == "sqlite":
                stats.merge(
                    killing.ledger_campaign(
                        f"sqlite:///{folder}/ledger.db",
                        folder,
                        rounds=rounds,
                        hazards_per_batch=args.hazards_per_batch,
                        recompute_hazards=args.recompute_hazards,
                        seed=args.seed,
                    )
                )
                with killing.sqlite_dbs(folder) as (make, copy):
                    stats.merge(
                        killing.migration_campaign(make, copy, rounds=args.migrate, seed=args.seed)
                    )
                    stats.merge(
                        killing.import_campaign(make, copy, rounds=args.imports, seed=args.seed)
                    )
                    if args.demo:
                        stats.merge(
                            killing.demo_campaign(make, copy, rounds=args.demo, seed=args.seed)
                        )
            elif kind == "postgis":
                from tests.reliability.pgutil import ensure_template

                pg_url = os.environ.get("MINEACTION_TEST_PG_URL")
                if not pg_url:
                    print(
                        "MINEACTION_TEST_PG_URL is not set: cannot run on PostGIS", file=sys.stderr
                    )
                    return 2
                template = ensure_template(pg_url)
                with killing.postgis_dbs(pg_url, template) as (make, copy):
                    stats.merge(
                        killing.ledger_campaign(
                            make(),
                            folder,
                            rounds=rounds,
                            hazards_per_batch=args.hazards_per_batch,
                            recompute_hazards=args.recompute_hazards,
                            seed=args.seed,
                        )
                    )
                    stats.merge(
                        killing.migration_campaign(make, copy, rounds=args.migrate, seed=args.seed)
                    )
                    stats.merge(
                        killing.import_campaign(make, copy, rounds=args.imports, seed=args.seed)
                    )
                    if args.demo:
                        stats.merge(
                            killing.demo_campaign(make, copy, rounds=args.demo, seed=args.seed)
                        )
            else:
                print(f"unknown store {kind!r}: use sqlite and/or postgis", file=sys.stderr)
                return 2
            results[kind] = stats.as_dict()
            failed |= bool(stats.failures) or stats.records_lost > 0
            print(f"\n== {kind}: {stats.seconds:.0f} s")
            print(
                f"{'scenario':<14} {'tried':>6} {'killed':>7} {'survived':>9} "
                f"{'rolled back':>12} {'w/ workers':>11} {'w/ scratch':>11}"
            )
            for sc in killing.SCENARIOS:
                if stats.tried[sc]:
                    print(
                        f"{sc:<14} {stats.tried[sc]:>6} {stats.killed[sc]:>7} "
                        f"{stats.survived[sc]:>9} {stats.rolled_back[sc]:>12} "
                        f"{stats.with_workers[sc]:>11} {stats.with_scratch[sc]:>11}"
                    )
            print(
                f"{'total':<14} {sum(stats.tried.values()):>6} {sum(stats.killed.values()):>7} "
                f"{sum(stats.survived.values()):>9}   records lost: {stats.records_lost}"
            )
            for f in stats.failures[:10]:
                print(f"  FAILURE {f}")
    if args.json:
        Path(args.json).write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
