"""Reliability report: kill points, concurrent clients, fuzz cases, records lost, per store.

Usage (from the repository root)::

    MINEACTION_TEST_PG_URL=postgresql://... python tests/reliability/report.py [--quick]
    python tests/reliability/report.py --from DIR    # print saved kill/concurrency/fuzz JSON

Runs tests/reliability/run_kill.py, run_concurrency.py and run_fuzz.py (``--quick``: small
sizes for a smoke run; default: >= 10,000 API fuzz cases (schemathesis as five users plus
authenticated writes) and 10,000 submission/import fuzz cases per store, 20 clients for 60 s), saves
their JSON figures in DIR (default: a temporary folder) and prints one table. Exits 1 when any
part failed or lost a record.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

if __package__ in (None, ""):  # run as a file: python tests/reliability/NAME.py
    import testspath  # sys.path[0] is this folder

    testspath.use_repository_src()


def _a(text: str) -> list[str]:
    return text.split()


FULL = {
    "kill": _a("--approve 25 --submit 25 --recompute 15 --migrate 15 --import 10 --demo 4"),
    "concurrency": _a("--clients 20 --seconds 60"),
    "fuzz": _a("--api 100 --api-writes 5000 --ogc 2000 --uploads 500 --submit 6000 --import 4000"),
}
QUICK = {
    "kill": _a("--approve 3 --submit 3 --recompute 2 --migrate 2 --import 2 --demo 1"),
    "concurrency": _a("--clients 20 --seconds 5"),
    "fuzz": _a("--api 2 --api-writes 100 --ogc 50 --uploads 30 --submit 100 --import 50"),
}


def _load(folder: Path, name: str) -> dict[str, Any]:
    """Figures saved as NAME.json, merged with NAME-*.json (supplementary runs) per store."""
    out: dict[str, Any] = {}
    for path in sorted(folder.glob(f"{name}.json")) + sorted(folder.glob(f"{name}-*.json")):
        for store, figures in orjson.loads(path.read_bytes()).items():
            if isinstance(figures, dict) and isinstance(out.get(store), dict) and name == "fuzz":
                out[store] = {**out[store], **figures}
            else:
                out[store] = figures
    return out


def _fuzz_failures(by_fuzzer: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for name, figures in by_fuzzer.items():
        if isinstance(figures, dict):
            out += [f"{name}: {c}" for c in figures.get("crashes") or []]
            out += [f"{name}: {c}" for c in figures.get("partial_writes") or []]
    return out


def print_report(folder: Path) -> bool:
    """Print the table from the saved figures; return True when all is well."""
    kill, conc, fuzz = (_load(folder, n) for n in ("kill", "concurrency", "fuzz"))
    ok = True
    print(f"\n{'':<34} {'SQLite':>12} {'PostGIS':>12}")
    rows: list[tuple[str, list[Any]]] = []
    stores = ("sqlite", "postgis")

    def get(d: dict[str, Any], store: str, *keys: str) -> Any:
        v: Any = d.get(store)
        for k in keys:
            if not isinstance(v, dict):
                return None
            v = v.get(k)
        return v

    rows.append(
        (
            "kill points tried",
            [sum((get(kill, st, "tried") or {}).values()) or None for st in stores],
        )
    )
    rows.append(
        (
            "  runs really interrupted",
            [sum((get(kill, st, "killed") or {}).values()) or None for st in stores],
        )
    )
    rows.append(
        (
            "  survived (consistent, exact)",
            [sum((get(kill, st, "survived") or {}).values()) or None for st in stores],
        )
    )

    def killed(st: str, *scenarios: str) -> int | None:
        return sum((get(kill, st, "killed") or {}).get(k, 0) for k in scenarios) or None

    def per(key: str, scenario: str) -> list[Any]:
        return [(get(kill, st, key) or {}).get(scenario) for st in stores]

    rows.append(("  approve, submit: killed", [killed(st, "approve", "submit") for st in stores]))
    rows.append(("  recompute --jobs 1: killed", [killed(st, "recompute -j1") for st in stores]))
    rows.append(("  recompute --jobs 2: killed", [killed(st, "recompute -j2") for st in stores]))
    rows.append(("    with workers running", per("killed_with_workers", "recompute -j2")))
    rows.append(
        ("    with scratch files (SQLite)", per("killed_with_scratch_dir", "recompute -j2"))
    )
    rows.append(
        (
            "  recompute: rolled back exactly",
            [sum((get(kill, st, "rolled_back") or {}).values()) or None for st in stores],
        )
    )
    rows.append(("  db upgrade: killed", [killed(st, "migrate") for st in stores]))
    rows.append(("  import: killed", [killed(st, "import") for st in stores]))
    rows.append(("concurrent clients", [get(conc, st, "clients") for st in stores]))
    rows.append(("  seconds", [get(conc, st, "seconds") for st in stores]))
    rows.append(("  requests", [get(conc, st, "requests") for st in stores]))
    rows.append(("  operations completed (2xx)", [get(conc, st, "completed") for st in stores]))
    for label, op in (
        ("    verify (operator QC) 200", "verify 200"),
        ("    ops_approve (operations) 200", "ops_approve 200"),
        ("    approve (final, IM) 200", "approve 200"),
        ("    reject 200", "reject 200"),
    ):
        rows.append((label, [get(conc, st, "operations", op) for st in stores]))
    rows.append(("  412 stale version", [get(conc, st, "stale_412") for st in stores]))
    rows.append(("  409 (must be 0)", [get(conc, st, "conflict_409") for st in stores]))
    rows.append(("  5xx (must be 0)", [get(conc, st, "server_errors_5xx") for st in stores]))
    rows.append(("  deadlocks/hangs (must be 0)", [get(conc, st, "hangs") for st in stores]))
    rows.append(
        ("  recompute --check differences", [get(conc, st, "check_differences") for st in stores])
    )
    rows.append(("  server CPU s", [get(conc, st, "server_cpu_s") for st in stores]))

    def cases(st: str, *prefixes: str, but: str = "-") -> int | None:
        total = sum(
            int((v or {}).get("cases") or 0)
            for k, v in (fuzz.get(st) or {}).items()
            if k.startswith(prefixes) and not k.startswith(but)
        )
        return total or None

    rows.append(("fuzz cases run", [cases(st, "") for st in stores]))
    rows.append(
        ("  API cases (the four below)", [cases(st, "api", "ogc", "uploads") for st in stores])
    )
    rows.append(
        ("    schemathesis, 5 users", [cases(st, "api", but="api_writes") for st in stores])
    )
    rows.append(("    writes: submit/review/edit", [cases(st, "api_writes") for st in stores]))
    rows.append(("    OGC API - Features", [cases(st, "ogc") for st in stores]))
    rows.append(("    uploads (hostile, 413)", [cases(st, "uploads") for st in stores]))
    rows.append(("  submissions (service)", [cases(st, "submit") for st in stores]))
    rows.append(("  import files", [cases(st, "import") for st in stores]))
    rows.append(
        (
            "  crashes or partial writes",
            [
                None
                if not fuzz.get(st)
                else sum(
                    len((v or {}).get("crashes") or []) + len((v or {}).get("partial_writes") or [])
                    for v in fuzz[st].values()
                )
                for st in stores
            ],
        )
    )
    lost = []
    for st in stores:
        parts = [get(kill, st, "records_lost"), get(conc, st, "records_lost")]
        lost.append(None if all(p is None for p in parts) else sum(p or 0 for p in parts))
    rows.append(("records lost (must be 0)", lost))
    failures = []
    for st in stores:
        failures += [f"fuzz/{st}: {f}" for f in _fuzz_failures(fuzz.get(st) or {})]
        failures += [f"kill/{st}: {f}" for f in get(kill, st, "failures") or []]
        failures += [f"concurrency/{st}: {f}" for f in get(conc, st, "failures") or []]
    for label, values in rows:
        print(f"{label:<34} " + " ".join(f"{'-' if v is None else v:>12}" for v in values))
    must_be_zero = [
        v
        for label, values in rows
        if "must be 0" in label or label.strip() in ("crashes or partial writes",)
        for v in values
    ]
    ok = not failures and all(v in (None, 0) for v in must_be_zero)
    for f in failures[:20]:
        print(f"FAILURE {f}")
    print("\nresult:", "all held" if ok else "FAILED")
    return ok


def main(argv: list[str] | None = None) -> int:
    """Run the campaigns (or read saved figures) and print the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--from", dest="source", help="only print the figures saved in this folder")
    ap.add_argument("--out", help="folder for the JSON figures (default: temporary)")
    ap.add_argument("--stores", default="sqlite,postgis")
    args = ap.parse_args(argv)
    if args.source:
        return 0 if print_report(Path(args.source)) else 1
    from tests.reliability import run_concurrency, run_fuzz, run_kill

    sizes = QUICK if args.quick else FULL
    with tempfile.TemporaryDirectory(prefix="mineaction-report-") as tmp:
        folder = Path(args.out or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name, mod in (("kill", run_kill), ("concurrency", run_concurrency), ("fuzz", run_fuzz)):
            print(f"\n#### {name}")
            mod.main(
                [*sizes[name], "--stores", args.stores, "--json", str(folder / f"{name}.json")]
            )
        return 0 if print_report(folder) else 1


if __name__ == "__main__":
    sys.exit(main())
