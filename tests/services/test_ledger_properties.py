"""Property: approving reports one by one, in any order, gives what a full recompute gives."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.factories import activity_report, hazard_report, rect

from mineaction.services import ledger
from mineaction.store import projections as proj
from mineaction.store.engine import open_store

KINDS = {"NTS": "cancelled", "TS": "reduced", "CLEARANCE": "cleared"}


@st.composite
def histories(draw: st.DrawFn) -> list[dict]:
    reports = [hazard_report(date="2024-01-01")]
    n = draw(st.integers(min_value=1, max_value=5))
    for i in range(n):
        kind = draw(st.sampled_from(sorted(KINDS)))
        x0 = draw(st.integers(min_value=0, max_value=5)) * 0.001
        w = draw(st.integers(min_value=1, max_value=3)) * 0.001
        day = draw(st.integers(min_value=2, max_value=28))
        reports.append(
            activity_report(
                f"R-{i}",
                activity=kind,
                date=f"2024-02-{day:02d}",
                releases=[(KINDS[kind], rect(x0, 0, x0 + w, 0.002))],
            )
        )
    return reports


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), order=st.randoms(use_true_random=False))
def test_incremental_approval_equals_recompute(history: list[dict], order: object) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'p.db'}", create=True)
        for doc in history:
            ledger.submit(store, doc)
        ledger.approve(store, history[0]["report_id"])
        rest = [d["report_id"] for d in history[1:]]
        order.shuffle(rest)  # type: ignore[attr-defined]
        approved = []
        for rid in rest:
            try:
                ledger.approve(store, rid)
                approved.append(rid)
            except Exception as exc:  # a closed hazard refuses further work: that is a rule
                assert "closed" in str(exc)
        with store.read() as conn:
            incremental = dict(proj.get_hazard(conn, "H1"))
        assert ledger.check(store).differences == []
        ledger.recompute(store)
        with store.read() as conn:
            rebuilt = dict(proj.get_hazard(conn, "H1"))
        for key in (
            "status",
            "classification",
            "area_m2",
            "cancelled_m2",
            "reduced_m2",
            "cleared_m2",
            "remaining_m2",
            "expansion_m2",
        ):
            assert incremental[key] == rebuilt[key] or abs(incremental[key] - rebuilt[key]) < 1e-6
        a = rebuilt
        total = a["cancelled_m2"] + a["reduced_m2"] + a["cleared_m2"] + a["remaining_m2"]
        assert abs(total - (a["area_m2"] + a["expansion_m2"])) <= 1e-4 * a["area_m2"]
        store.dispose()
