"""Long fuzz run: mutated reports and damaged import files, figures printed per store.

Usage (from the repository root)::

    MINEACTION_TEST_PG_URL=postgresql://... python tests/reliability/run_fuzz.py \\
        [--api 100] [--api-writes 5000] [--ogc 2000] [--submit 6000] [--import 4000] \\
        [--stores sqlite,postgis] [--json results.json]

API cases: schemathesis on every operation as five users (admin, IM officer, operator,
viewer, anonymous), authenticated writes (submit, review actions, task edits) and OGC API -
Features requests (hostile query parameters and ids; /ogc is not in the OpenAPI document).

Exits 1 on any crash (an exception that is not a clear rejection) or partial write.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

if __package__ in (None, ""):  # run as a file: python tests/reliability/NAME.py
    import testspath  # sys.path[0] is this folder

    testspath.use_repository_src()


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzers on each store and print their figures."""
    from tests.reliability import fuzzing
    from tests.reliability.pgutil import ensure_template, pg_databases

    from mineaction.store.engine import open_store

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--submit", type=int, default=6000)
    ap.add_argument("--import", dest="imports", type=int, default=4000)
    ap.add_argument("--api", type=int, default=100, help="cases per API operation and user")
    ap.add_argument(
        "--api-writes", type=int, default=5000, help="authenticated write requests (submit, review)"
    )
    ap.add_argument("--ogc", type=int, default=2000, help="OGC API - Features requests")
    ap.add_argument("--uploads", type=int, default=500, help="hostile and damaged uploads")
    ap.add_argument(
        "--api-paths", default="", help="comma-separated path prefixes: fuzz only those operations"
    )
    ap.add_argument("--key-suffix", default="", help="appended to every fuzzer's name")
    ap.add_argument("--stores", default="sqlite,postgis")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    results = {}
    failed = False
    api_paths = tuple(p for p in args.api_paths.split(",") if p)

    def api_fuzzer(store: Any, n: int) -> fuzzing.FuzzStats:
        return fuzzing.fuzz_api(store, n, paths=api_paths)

    with tempfile.TemporaryDirectory(prefix="mineaction-fuzz-") as tmp:
        for kind in args.stores.split(","):
            # The API fuzzers share the seeded two-organisation programme (ORG-A, ORG-B); the
            # submission and import fuzzers need an open programme (organisation FSD is not
            # registered there, so every case would stop at the organisation check).
            api_plan = (
                ("api", api_fuzzer, args.api),
                ("api_writes", fuzzing.fuzz_api_writes, args.api_writes),
                ("ogc", fuzzing.fuzz_ogc, args.ogc),
                ("uploads", fuzzing.fuzz_uploads, args.uploads),
            )
            data_plan = (
                ("submit", fuzzing.fuzz_submit, args.submit),
                ("import", fuzzing.fuzz_import, args.imports),
            )

            def run(url: str, plan: Any) -> dict[str, fuzzing.FuzzStats]:
                store = open_store(url, create=True)
                try:
                    out: dict[str, fuzzing.FuzzStats] = {}
                    for name, fuzzer, n in plan:
                        if n:
                            t0, c0 = time.perf_counter(), time.process_time()
                            name = name + args.key_suffix
                            out[name] = fuzzer(store, n)
                            out[name].wall = time.perf_counter() - t0
                            out[name].cpu = time.process_time() - c0
                            print(f"   {name}: {out[name].cases} cases", flush=True)
                    return out
                finally:
                    store.dispose()

            if kind == "sqlite":
                out = run(f"sqlite:///{tmp}/fuzz-api.db", api_plan)
                out |= run(f"sqlite:///{tmp}/fuzz-data.db", data_plan)
            else:
                pg_url = os.environ.get("MINEACTION_TEST_PG_URL")
                if not pg_url:
                    print("MINEACTION_TEST_PG_URL is not set", file=sys.stderr)
                    return 2
                with pg_databases(pg_url, ensure_template(pg_url)) as make:
                    out = run(make(), api_plan)
                    out |= run(make(), data_plan)
            results[kind] = {k: v.as_dict() for k, v in out.items()}
            print(f"\n== {kind}")
            print(
                f"{'fuzzer':<11} {'cases':>7} {'accepted':>9} {'rejected':>9} {'crashes':>8} "
                f"{'partial':>8} {'wall s':>7} {'CPU s':>7}"
            )
            for name, st in out.items():
                print(
                    f"{name:<11} {st.cases:>7} {st.accepted:>9} {st.rejected:>9} "
                    f"{len(st.crashes):>8} {len(st.partial_writes):>8} {st.wall:>7.0f} "
                    f"{st.cpu:>7.0f}"
                )
                for c in (st.crashes + st.partial_writes)[:5]:
                    print(f"  FAILURE {c}")
                failed |= bool(st.crashes or st.partial_writes)
    if args.json:
        Path(args.json).write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
