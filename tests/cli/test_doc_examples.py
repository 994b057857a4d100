"""The examples in docs/examples submit and approve as the format document says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mineaction.services import ledger
from mineaction.store import projections as proj
from mineaction.store.engine import Store
from mineaction.store.settings import set_setting

EXAMPLES = sorted((Path(__file__).parents[2] / "docs" / "examples").glob("*.json"))


def test_examples_cover_every_report_type() -> None:
    types = {json.loads(p.read_text())["type"] for p in EXAMPLES}
    assert types == {"hazard", "activity", "eo", "accident", "eore", "qm", "handover"}


def test_examples_submit_approve_and_close_the_hazard(store: Store) -> None:
    with store.write() as conn:
        set_setting(conn, "programme_area", [34, 50.8, 38.6, 52.5])
    for path in EXAMPLES:
        result = ledger.submit(store, json.loads(path.read_text()), where=str(path))
        ledger.approve(store, result.report_id, actor="im")
    with store.read() as conn:
        h = proj.get_hazard(conn, "KRS-HAZ-0001")
    assert h["status"] == "handed_over"
    assert h["classification"] == "CHA"
    assert h["remaining_m2"] == pytest.approx(0, abs=1e-6)
    # the TS polygon given in UTM 36N lies inside the hazard and is then cleared over
    assert h["cancelled_m2"] + h["reduced_m2"] + h["cleared_m2"] == pytest.approx(
        h["area_m2"] + h["expansion_m2"], rel=1e-4
    )
    assert h["eo_found"] == {"AP_MINE": 14, "AT_MINE": 2}
