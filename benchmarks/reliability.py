"""Reliability report (issue #8): kill points, 20 clients x 60 s, fuzz cases, records lost.

Usage (from the repository root)::

    MINEACTION_TEST_PG_URL=postgresql://... python benchmarks/reliability.py [--quick] [--out DIR]
    python benchmarks/reliability.py --from DIR     # print figures saved by an earlier run

A thin entry point to ``tests/reliability/report.py`` (the campaigns live next to the CI tests
that run them small): SIGKILL at random points, concurrent editors on a real server, hypothesis
and schemathesis fuzzing, on SQLite and PostGIS; one table for both stores. Exits 1 when any
part failed or lost a record.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    script = Path(__file__).resolve().parents[1] / "tests" / "reliability" / "report.py"
    sys.path.insert(0, str(script.parent))
    sys.argv[0] = str(script)
    runpy.run_path(str(script), run_name="__main__")
