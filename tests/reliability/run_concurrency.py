"""Long concurrent-editors run against a real server, figures printed per store.

Usage (from the repository root)::

    MINEACTION_TEST_PG_URL=postgresql://... python tests/reliability/run_concurrency.py \\
        [--clients 20] [--seconds 60] [--stores sqlite,postgis] [--json results.json]

Exits 1 on any 5xx, hang, lost update or inconsistency.
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
    """Run the workload on each store and print its figures."""
    from tests.reliability.concurrency import run_concurrency
    from tests.reliability.pgutil import ensure_template, pg_databases

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--stores", default="sqlite,postgis")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    results = {}
    failed = False
    with tempfile.TemporaryDirectory(prefix="mineaction-conc-") as tmp:
        for kind in args.stores.split(","):
            if kind == "sqlite":
                stats = run_concurrency(
                    f"sqlite:///{tmp}/c.db", clients=args.clients, seconds=args.seconds
                )
            else:
                pg_url = os.environ.get("MINEACTION_TEST_PG_URL")
                if not pg_url:
                    print("MINEACTION_TEST_PG_URL is not set", file=sys.stderr)
                    return 2
                with pg_databases(pg_url, ensure_template(pg_url)) as make:
                    stats = run_concurrency(make(), clients=args.clients, seconds=args.seconds)
            results[kind] = stats.as_dict()
            failed |= bool(stats.failures) or stats.records_lost > 0
            print(f"\n== {kind}: {stats.clients} clients, {stats.seconds:.0f} s")
            print(
                f"requests {stats.total}, completed (2xx) {stats.completed}, "
                f"412 stale {stats.count(status='412')}, 409 {stats.count(status='409')}, "
                f"5xx {stats.count(status='5')}, hangs {stats.hangs}\n"
                f"recompute --check: {stats.check_hazards} hazards, {stats.check_reports} "
                f"reports, {stats.check_differences} differences; "
                f"records lost {stats.records_lost}, failures {len(stats.failures)}, "
                f"slowest answer {stats.max_latency:.1f} s\n"
                f"CPU: server {stats.server_cpu:.0f} s, clients {stats.client_cpu:.0f} s "
                f"(machine shared: 2 cores, other engineers' jobs running)"
            )
            for k, n in sorted(stats.operations.items()):
                print(f"  {k:<20} {n:>7}")
            for f in stats.failures[:10]:
                print(f"  FAILURE {f}")
    if args.json:
        Path(args.json).write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
