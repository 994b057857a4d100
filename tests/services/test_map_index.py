"""The map's in-memory hazard index, built a chunk of rows at a time (both stores), holds the
same hazards as the table, and its masks select what a plain filter of the rows selects."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from tests.factories import hazard_report, rect

from mineaction.services import ledger, mapdata
from mineaction.services.dashboard import NATIONAL, Scope
from mineaction.store import schema as s
from mineaction.store.engine import Store


def _hazards(store: Store) -> None:
    """Seven hazards over two organisations, three admin areas and a year of dates."""
    for i in range(7):
        doc = hazard_report(
            f"R-H{i}",
            f"H{i}",
            org=("FSD", "HALO")[i % 2],
            date=date(2024, 1 + i, 10).isoformat(),
            polygon=rect(0.01 * i, 0.005 * i, 0.01 * i + 0.004, 0.005 * i + 0.002),
            location=("RU460", "RU461", "RU47")[i % 3],
        )
        ledger.submit(store, doc, submitted_by="t")
        ledger.approve(store, doc["report_id"], actor="im")


@pytest.mark.parametrize("chunk", [1, 3, 7, 1000])
def test_index_built_in_chunks_matches_the_table(
    store: Store, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hazards(store)
    monkeypatch.setattr(mapdata, "INDEX_CHUNK", chunk)
    index = mapdata.hazard_index(store, fresh=True)
    h = s.hazard
    with store.read() as conn:
        # the index keeps the table's row order (no ORDER BY): read it the same way
        rows = conn.execute(
            select(
                h.c.minx,
                h.c.miny,
                h.c.maxx,
                h.c.maxy,
                h.c.organisation,
                h.c.location,
                h.c.last_date,
                h.c.status,
            )
        ).all()
    assert len(rows) == 7
    assert index.minx.tolist() == [r.minx for r in rows]
    assert index.maxx.tolist() == [r.maxx for r in rows]
    everything = (-180.0, -90.0, 180.0, 90.0)
    cases = [
        (mapdata.MapFilter(), NATIONAL, lambda r: True),
        (mapdata.MapFilter(organisation="HALO"), NATIONAL, lambda r: r.organisation == "HALO"),
        (
            mapdata.MapFilter(location="RU46"),
            NATIONAL,
            lambda r: r.location.startswith("RU46"),
        ),
        (
            mapdata.MapFilter(since=date(2024, 4, 1)),
            NATIONAL,
            lambda r: r.last_date >= date(2024, 4, 1),
        ),
        (
            mapdata.MapFilter(status=rows[0].status),
            Scope(organisation="FSD"),
            lambda r: r.status == rows[0].status and r.organisation == "FSD",
        ),
        (mapdata.MapFilter(), Scope(location="RU47"), lambda r: r.location == "RU47"),
        (mapdata.MapFilter(organisation="nobody"), NATIONAL, lambda r: False),
    ]
    for filters, scope, keep in cases:
        got = index.mask(everything, filters, scope).tolist()
        assert got == [bool(keep(r)) for r in rows], (filters, scope)
    # a box up to the third hazard from the west, a little lower than all of them
    x0, x1 = min(r.minx for r in rows), sorted(r.maxx for r in rows)[2]
    y0, y1 = min(r.miny for r in rows), max(r.maxy for r in rows) - 0.001
    got = index.mask((x0, y0, x1, y1), mapdata.MapFilter(), NATIONAL).tolist()
    want = [r.maxx >= x0 and r.minx <= x1 and r.maxy >= y0 and r.miny <= y1 for r in rows]
    assert got == want
    assert 0 < sum(want) < 7
