"""The reliability report reads the saved figures and fails on any lost record."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from tests.reliability import report
from tests.reliability.concurrency import ConcurrencyStats
from tests.reliability.fuzzing import FuzzStats
from tests.reliability.killing import KillStats


def _save(folder: Path, lost: int) -> None:
    k = KillStats()
    k.tried["approve"] = k.killed["approve"] = k.survived["approve"] = 5
    k.records_lost = lost
    c = ConcurrencyStats(clients=20, seconds=3.0)
    c.operations["approve 200"] = 7
    f = FuzzStats(cases=10, accepted=2, rejected=8)
    for name, data in (
        ("kill", {"sqlite": k.as_dict(), "postgis": k.as_dict()}),
        ("concurrency", {"sqlite": c.as_dict()}),
        ("fuzz", {"sqlite": {"submit": f.as_dict(), "import": f.as_dict()}}),
    ):
        (folder / f"{name}.json").write_bytes(orjson.dumps(data))


@pytest.mark.parametrize("lost", [0, 1])
def test_report_prints_figures_and_fails_on_loss(
    tmp_path: Path, lost: int, capsys: pytest.CaptureFixture[str]
) -> None:
    _save(tmp_path, lost)
    assert report.print_report(tmp_path) is (lost == 0)
    out = capsys.readouterr().out
    assert "kill points tried" in out and "fuzz cases run" in out and "records lost" in out
    assert ("all held" in out) is (lost == 0)
