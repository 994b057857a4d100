"""The synthetic demo programme and the bulk loader (small scale, SQLite and PostGIS)."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import shapely
from sqlalchemy import func, select

from mineaction.core.codes import ReportState
from mineaction.errors import ConflictError
from mineaction.services import bulk, ledger
from mineaction.services.demo import (
    AREA,
    PROGRAMME_NAME,
    build_demo,
    demo_reference_layers,
    generate,
    report_timestamps,
)
from mineaction.store import schema as s
from mineaction.store.engine import Store, open_store
from mineaction.store.settings import get_setting, set_setting

HAZARD_COLS = [c for c in s.hazard.c if c.name not in ("geom", "version")]
GEOM_COLS = ("geom", "remaining_geom", "cancelled_geom", "reduced_geom", "cleared_geom")


def _fresh(tmp_path: Path, name: str) -> Store:
    return open_store(f"sqlite:///{tmp_path / name}", create=True)


def _reports(store: Store) -> list[tuple[Any, ...]]:
    cols = [
        s.report.c.report_id,
        s.report.c.type,
        s.report.c.state,
        s.report.c.payload,
        s.report.c.approval_seq,
        s.report.c.submitted_at,
        s.report.c.approved_at,
        s.report.c.reason,
    ]
    with store.read() as conn:
        return [tuple(r) for r in conn.execute(select(*cols).order_by(s.report.c.report_id))]


def _hazards(store: Store) -> dict[str, dict[str, Any]]:
    with store.read() as conn:
        rows = conn.execute(select(s.hazard).order_by(s.hazard.c.hazard_id)).mappings()
        out = {}
        for r in rows:
            d = {k: v for k, v in r.items() if k not in GEOM_COLS}
            for g in GEOM_COLS:
                d[g] = None if r[g] is None else shapely.to_wkb(r[g])
            out[r["hazard_id"]] = d
        return out


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """One small demo in SQLite, shared by the read-only tests below."""
    store = _fresh(tmp_path_factory.mktemp("demo"), "demo.db")
    build_demo(store, seed=1, scale="small")
    return store


def test_same_seed_gives_identical_content(small_demo: Store, tmp_path: Path) -> None:
    again = _fresh(tmp_path, "again.db")
    build_demo(again, seed=1, scale="small")
    assert _reports(again) == _reports(small_demo)
    assert _hazards(again) == _hazards(small_demo)
    other = list(generate(2, "small").approved())
    first = list(generate(1, "small").approved())
    assert [d["hazard"]["polygon"] for d in other[:3] if d["type"] == "hazard"] != [
        d["hazard"]["polygon"] for d in first[:3] if d["type"] == "hazard"
    ]


def test_demo_is_marked_synthetic_and_complete(small_demo: Store) -> None:
    with small_demo.read() as conn:
        assert get_setting(conn, "synthetic") is True
        assert get_setting(conn, "programme_name") == PROGRAMME_NAME
        assert get_setting(conn, "programme_area") == AREA.as_list()
        assert get_setting(conn, "demo") == {
            "seed": 1,
            "scale": "small",
            "period": ["2024-10-01", "2026-10-31"],
        }
        orgs = dict(conn.execute(select(s.organisation.c.code, s.organisation.c.name)).all())
        assert len(orgs) >= 6 and all("synthetic" in n for n in orgs.values())
        levels = dict(
            conn.execute(
                select(s.location.c.admin_level, func.count()).group_by(s.location.c.admin_level)
            ).all()
        )
        assert levels[1] == 1 and levels[2] >= 8 and levels[3] >= 40
        seeds = {r[0] for r in conn.execute(select(s.location.c.name))}
        assert {"Sudzha", "Korenevo", "Glushkovo"} <= seeds
        n = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar()
            for t in (s.hazard, s.eo_item, s.accident, s.victim, s.eore_session, s.qm_inspection)
        }
        assert n["hazard"] == 50
        assert all(v > 0 for v in n.values()), n
        layers = dict(
            conn.execute(
                select(s.reference_feature.c.layer, func.count()).group_by(
                    s.reference_feature.c.layer
                )
            ).all()
        )
        assert set(layers) == {
            "settlements",
            "roads",
            "farmland",
            "infrastructure",
            "protected",
            "water",
        }
        states = dict(
            conn.execute(select(s.report.c.state, func.count()).group_by(s.report.c.state)).all()
        )
        assert states.get(ReportState.SUBMITTED.value, 0) >= 2
        assert states.get(ReportState.REJECTED.value, 0) >= 1
        assert states.get(ReportState.SUPERSEDED.value, 0) >= 1
        models = {r[0] for r in conn.execute(select(s.eo_item.c.model))}
        assert models & {"PMN-2", "POM-2", "TM-62M", "PFM-1", "9N235 submunition"}


def _check_invariants(store: Store) -> None:
    with store.read() as conn:
        rows = list(conn.execute(select(s.hazard)).mappings())
    assert rows
    statuses = set()
    for h in rows:
        total = h["area_m2"] + h["expansion_m2"]
        parts = h["cancelled_m2"] + h["reduced_m2"] + h["cleared_m2"] + h["remaining_m2"]
        assert abs(parts - total) <= 1e-4 * total, h["hazard_id"]
        assert 500 * 0.9 <= h["area_m2"] <= 2_000_000 * 1.01, h["hazard_id"]
        statuses.add(h["status"])
        if h["status"] == "handed_over":
            assert h["closed_on"] is not None and h["handed_over_on"] >= h["closed_on"]
        if h["status"] in ("closed", "handed_over") and h["classification"] != "EOD_SPOT":
            assert h["remaining_m2"] <= max(1.0, 0.001 * h["area_m2"]), h["hazard_id"]
        if h["status"] == "open":
            assert h["cleared_m2"] == 0 or h["closed_on"] is None
    assert {"open", "worked_on", "closed", "handed_over"} <= statuses
    result = ledger.check(store)
    assert result.errors == [] and result.differences == []
    assert result.hazards == len(rows)


def test_invariants_on_every_hazard(store: Store) -> None:
    """On SQLite and PostGIS: the bulk path, the projection rules, and ``ledger.check``."""
    summary = build_demo(store, seed=1, scale="small")
    assert summary.reports_by_state["approved"] > 150
    _check_invariants(store)
    # Pending reports can be reviewed like any other: approving one works.
    with store.read() as conn:
        pending = conn.execute(
            select(s.report.c.report_id)
            .where(s.report.c.state == "submitted", s.report.c.type == "activity")
            .order_by(s.report.c.report_id)
        ).scalars()
        first = next(iter(pending), None)
    if first is not None:
        ledger.approve(store, first, actor="tester")
        assert ledger.check(store).differences == []


def test_bulk_equals_approving_one_by_one(tmp_path: Path) -> None:
    everything = list(generate(1, "small").approved())
    hazard_types = {"hazard", "activity", "eo", "handover"}
    # Whole hazard lives (a prefix of the stream) plus accidents (with a correction), QM, EORE.
    rest = [d for d in everything[70:] if d["type"] not in hazard_types]
    docs = (
        everything[:70]
        + [d for d in rest if d["type"] in ("accident", "qm")]
        + [d for d in rest if d["type"] == "eore"][:5]
    )
    assert any(d.get("supersedes") for d in docs)
    loaded = _fresh(tmp_path, "bulk.db")
    with loaded.write() as conn:
        set_setting(conn, "programme_area", AREA.as_list())
    bulk.load_reports(loaded, docs, actor="demo-generator", timestamps=report_timestamps)
    one = _fresh(tmp_path, "one.db")
    with one.write() as conn:
        set_setting(conn, "programme_area", AREA.as_list())
    order = sorted(range(len(docs)), key=lambda i: (docs[i]["date_of_information"], i))
    for i in order:
        ledger.submit(one, docs[i], submitted_by="demo-generator")
    for i in order:
        ledger.approve(one, docs[i]["report_id"], actor="demo-generator")
    assert ledger.check(one).differences == []
    a, b = _hazards(one), _hazards(loaded)
    assert len(a) >= 15
    assert a.keys() == b.keys()
    for hid in a:
        for key in a[hid]:
            va, vb = a[hid][key], b[hid][key]
            if isinstance(va, float):
                assert va == pytest.approx(vb, rel=1e-12, abs=1e-9), (hid, key)
            else:
                assert va == vb, (hid, key)
    with one.read() as c1, loaded.read() as c2:
        q = select(s.report.c.report_id, s.report.c.approval_seq).where(
            s.report.c.state == "approved"
        )
        seq1 = sorted(c1.execute(q).all(), key=lambda r: r[1])
        seq2 = sorted(c2.execute(q).all(), key=lambda r: r[1])
        assert [r[0] for r in seq1] == [r[0] for r in seq2]


def _docs_a() -> list[dict[str, Any]]:
    docs = list(generate(3, "small").approved())
    return docs[:40]


def test_bulk_is_idempotent_and_refuses_conflicts(tmp_path: Path) -> None:
    store = _fresh(tmp_path, "b.db")
    docs = _docs_a()
    seen: list[int] = []
    first = bulk.load_reports(store, docs, actor="im", progress=seen.append, batch=16)
    assert first.new == len(docs) and first.recomputed and sum(seen) == len(docs)
    again = bulk.load_reports(store, docs, actor="im")
    assert again.new == 0 and again.duplicate == len(docs) and not again.recomputed
    before = _reports(store)
    changed = copy.deepcopy(docs)
    changed[-1]["date_of_information"] = "2026-10-30"
    extra = [{**docs[0], "report_id": "EXTRA-1"}]
    with pytest.raises(ConflictError, match="already exists with different content"):
        bulk.load_reports(store, [*extra, *changed], actor="im")
    assert _reports(store) == before


def test_bulk_is_all_or_nothing(tmp_path: Path) -> None:
    store = _fresh(tmp_path, "c.db")
    docs = _docs_a()
    orphan = {
        "report_id": "X-ORPHAN-1",
        "type": "activity",
        "organisation": "SYN-EMR",
        "date_of_information": "2025-01-10",
        "activity": {
            "hazard_id": "NO-SUCH-HAZARD",
            "activity_type": "TS",
            "start_date": "2025-01-01",
        },
    }
    with pytest.raises(ConflictError, match="NO-SUCH-HAZARD"):
        bulk.load_reports(store, [*docs, orphan])
    assert _reports(store) == []
    with pytest.raises(ConflictError, match="twice with different content"):
        bulk.load_reports(store, [docs[0], {**docs[0], "date_of_information": "2026-01-01"}])
    assert _reports(store) == []


def test_bulk_pending_then_approve(tmp_path: Path) -> None:
    store = _fresh(tmp_path, "d.db")
    docs = _docs_a()[:5]
    res = bulk.load_reports(store, docs, approve=False, timestamps=report_timestamps)
    assert res.new == 5 and res.approved == 0 and not res.recomputed
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(s.hazard)).scalar() == 0
    ledger.approve(store, docs[0]["report_id"])
    assert ledger.check(store).differences == []


def test_reference_layers_are_pure_and_inside_the_area() -> None:
    a = demo_reference_layers(5, "small")
    b = demo_reference_layers(5, "small")
    assert {k: [(g.wkb, p) for g, p in v] for k, v in a.items()} == {
        k: [(g.wkb, p) for g, p in v] for k, v in b.items()
    }
    pops = [p["population"] for _, p in a["settlements"]]
    assert min(pops) > 0 and max(pops) >= 100_000
    kinds = {p["kind"] for _, p in a["infrastructure"]}
    assert {"school", "clinic", "water_point", "power_line"} <= kinds
    box = shapely.box(*AREA.as_list())
    for layer, feats in a.items():
        for g, p in feats:
            assert g.is_valid and box.buffer(1e-9).contains(g), (layer, p["id"])


def test_report_dates_are_in_the_demo_period() -> None:
    prog = generate(1, "small")
    docs = list(prog.approved())
    dates = [date.fromisoformat(d["date_of_information"]) for d in docs]
    assert min(dates) >= date(2024, 10, 1) and max(dates) <= date(2026, 10, 31)
    assert prog.pending and prog.rejected


@pytest.mark.parametrize("name", ["mineaction.services.demo", "mineaction.services.demo_layers"])
def test_docstring_examples(name: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(
        importlib.import_module(name),
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.failed == 0
