"""Scratch files of a parallel recompute: every value kept exactly as bound, rows in order."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mineaction.store import shards as sh

_VALUES: list[Any] = [None, 0, 1, -1, 2**62, 0.0, -0.0, 1.5, float("inf"), "", "é✓", b"\x00\x01"]


def _rows(n: int, width: int, seed: int) -> list[tuple[Any, ...]]:
    return [
        tuple(_VALUES[(seed + 7 * i + 3 * j) % len(_VALUES)] for j in range(width))
        for i in range(n)
    ]


def _read(path: Path, name: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(f'SELECT * FROM "{name}" ORDER BY rowid').fetchall()
    finally:
        db.close()


@pytest.mark.parametrize("width", [1, 3, 38, 70])
def test_scratch_rows_are_kept_exactly_and_in_order(tmp_path: Path, width: int) -> None:
    k = sh.SCRATCH_ROWS_PER_INSERT
    cols = [f"c{j}" for j in range(width)]
    path = tmp_path / "scratch.db"
    batches = [_rows(n, width, n) for n in (0, 1, k - 1, k, k + 1, 3 * k + 5)]
    for rows in batches:  # appended shard after shard, as a worker does
        columns = [[r[j] for r in rows] for j in range(width)]  # column by column
        sh.write_scratch(str(path), [("t", cols, columns), ("u", cols[:1], columns[:1])])
    want = [r for rows in batches for r in rows]
    got = _read(path, "t")
    assert got == want
    # the same types too (0.0 is not 0, -0.0 keeps its sign, bytes stay BLOBs)
    assert [[(type(v), repr(v)) for v in r] for r in got] == [
        [(type(v), repr(v)) for v in r] for r in want
    ]
    assert _read(path, "u") == [r[:1] for r in want]
