"""The recompute fast paths give exactly what the plain computation gives, byte for byte."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import shapely
from hypothesis import example, given, settings
from hypothesis import strategies as st
from shapely.geometry import box, mapping
from tests.core.cut_hazards import grid_cells, irregular_hazard

from mineaction.core.codes import ReleaseOutcome, ReportType
from mineaction.core.landrelease import LandRelease, ReleaseParts, parts_batch
from mineaction.core.projection import HazardState, LedgerEntry, fold, prepare_entries, project

Out = ReleaseOutcome
HAZARD = box(35.0, 51.0, 35.004, 51.002)


def _wkb(parts: ReleaseParts) -> list[bytes | None]:
    return [
        None if g is None else shapely.to_wkb(g)
        for g in (parts.cleared, parts.reduced, parts.cancelled, parts.remaining, parts.expansion)
    ]


cells = st.tuples(
    st.integers(min_value=0, max_value=5),
    st.integers(min_value=0, max_value=3),
    st.integers(min_value=1, max_value=3),
    st.integers(min_value=1, max_value=2),
)


def _cell(c: tuple[int, int, int, int]) -> Any:
    x, y, w, h = c
    return box(35.0 + x * 0.001, 51.0 + y * 0.0005, 35.0 + (x + w) * 0.001, 51.0 + (y + h) * 0.0005)


def _strip(c: tuple[int, int]) -> Any:
    x, w = c
    return box(35.0 + x * 0.001, 51.0, 35.0 + min(4, x + w) * 0.001, 51.002)


#: Full-height strips: two or three of them cover the hazard exactly, as clearance lanes do.
strips = st.tuples(st.integers(min_value=0, max_value=3), st.integers(min_value=1, max_value=4))

releases = st.lists(
    st.tuples(
        st.sampled_from(list(Out)),
        st.one_of(cells.map(_cell), strips.map(_strip), st.just(HAZARD)),
    ),
    max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(items=st.lists(releases, min_size=1, max_size=5), checked=st.lists(st.booleans()))
def test_reusing_the_closure_overlay_gives_the_same_pieces(
    items: list[list[tuple[ReleaseOutcome, Any]]], checked: list[bool]
) -> None:
    fresh, reused = [], []
    for i, rels in enumerate(items):
        a, b = LandRelease(), LandRelease()
        for outcome, poly in rels:
            a.add(outcome, poly)
            b.add(outcome, poly)
        if i < len(checked) and checked[i]:
            b.unreleased(HAZARD)  # what the fold's closure check leaves behind
        fresh.append((a, HAZARD))
        reused.append((b, HAZARD))
    want = [_wkb(lr.parts(h)) for lr, h in fresh]
    assert [_wkb(p) for p in parts_batch(reused)] == want
    assert [_wkb(lr.parts(h)) for lr, h in reused] == want
    assert [_wkb(p) for p in parts_batch(fresh)] == want


def _entry(rid: str, kind: ReportType, day: int, body: dict[str, Any]) -> LedgerEntry:
    when = date(2024, 1, 1) + timedelta(days=day)
    return LedgerEntry(rid, kind, "ORG", when, day + 1, {kind.value: {"hazard_id": "H1", **body}})


ACTIVITY = {"cancelled": "NTS", "reduced": "TS", "cleared": "CLEARANCE"}


@st.composite
def histories(draw: st.DrawFn) -> list[LedgerEntry]:
    entries = [_entry("R0", ReportType.HAZARD, 0, {"polygon": mapping(HAZARD)})]
    for i in range(draw(st.integers(min_value=1, max_value=5))):
        outcome = draw(st.sampled_from(sorted(ACTIVITY)))
        geom = draw(st.one_of(cells.map(_cell), strips.map(_strip), st.just(HAZARD)))
        body: dict[str, Any] = {
            "activity_type": ACTIVITY[outcome],
            "stage": draw(st.sampled_from(["progress", "completion"])),
            "releases": [{"outcome": outcome, "polygon": mapping(geom)}],
        }
        if draw(st.booleans()):
            body["close_reason"] = "residual risk accepted"
        entries.append(_entry(f"R{i + 1}", ReportType.ACTIVITY, i + 1, body))
    return entries


def _state(entries: list[LedgerEntry], *, prepared: bool) -> HazardState | str:
    entries = [
        LedgerEntry(
            e.report_id, e.type, e.organisation, e.date_of_information, e.approval_seq, e.payload
        )
        for e in entries
    ]
    if prepared:
        prepare_entries(entries)
    state: HazardState | None = None
    try:
        for e in entries:
            state = fold(state, e)
    except Exception as exc:  # a rule refusing a report: both ways must refuse it
        return str(exc)
    assert state is not None
    return state


def _outcome(state: HazardState | str) -> Any:
    if isinstance(state, str):
        return state
    return (state.summary(), state.status_reason, _wkb(state.parts))


def _history(*acts: tuple[str, str, Any, bool]) -> list[LedgerEntry]:
    entries = [_entry("R0", ReportType.HAZARD, 0, {"polygon": mapping(HAZARD)})]
    for i, (outcome, stage, geom, reason) in enumerate(acts):
        body: dict[str, Any] = {
            "activity_type": ACTIVITY[outcome],
            "stage": stage,
            "releases": [{"outcome": outcome, "polygon": mapping(geom)}],
        }
        if reason:
            body["close_reason"] = "residual risk accepted"
        entries.append(_entry(f"R{i + 1}", ReportType.ACTIVITY, i + 1, body))
    return entries


LEFT, RIGHT = _strip((0, 2)), _strip((2, 2))


@settings(max_examples=100, deadline=None)
@given(history=histories())
@example(_history(("cleared", "progress", LEFT, False), ("cleared", "progress", RIGHT, False)))
@example(_history(("cancelled", "completion", LEFT, False), ("reduced", "completion", RIGHT, True)))
@example(_history(("cancelled", "completion", HAZARD, False)))
@example(_history(("reduced", "completion", LEFT, False), ("cleared", "completion", LEFT, False)))
@example(_history(("cleared", "completion", LEFT, True), ("cleared", "progress", RIGHT, False)))
def test_closure_shortcuts_decide_as_the_overlay_does(history: list[LedgerEntry]) -> None:
    fast = _outcome(_state(history, prepared=True))
    unprepared = _outcome(_state(history, prepared=False))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(HazardState, "closure_bound", lambda self, tolerance_m2: 0)
        exact = _outcome(_state(history, prepared=False))
    assert fast == exact
    assert unprepared == exact
    if not isinstance(exact, str):
        state, _steps = project(history)
        assert (state.summary(), state.status_reason, _wkb(state.parts)) == exact


def _ledger_sample() -> list[LedgerEntry]:
    pt = {"type": "Point", "coordinates": [35.001, 51.001]}
    left, right = mapping(_strip((0, 2))), mapping(_strip((2, 1)))
    bodies: list[tuple[ReportType, dict[str, Any]]] = [
        (ReportType.HAZARD, {"polygon": mapping(HAZARD), "benchmark": pt, "name": "A"}),
        (ReportType.HAZARD, {"benchmark": None}),
        (
            ReportType.ACTIVITY,
            {
                "activity_type": "CLEARANCE",
                "start_date": "2024-01-02",
                "releases": [
                    {"outcome": "cleared", "polygon": left, "reported_m2": 5.0},
                    {"outcome": "reduced", "polygon": right},
                ],
                "eo_items": [{"category": "AP_MINE", "point": pt}, {"category": "UXO"}],
            },
        ),
        (ReportType.ACTIVITY, {"activity_type": "NTS", "start_date": "2024-01-03"}),
        (ReportType.EO, {"items": [{"category": "UXO", "point": pt, "quantity": 2}]}),
        (
            ReportType.ACCIDENT,
            {
                "accident_id": "A1",
                "date": "2024-01-04",
                "device_category": "AP_MINE",
                "point": pt,
                "victims": [{"victim_id": "V1", "status": "injured"}],
            },
        ),
        (ReportType.EORE, {"session_id": "S1", "date": "2024-01-05", "beneficiaries": {}}),
        (
            ReportType.EORE,
            {"session_id": "S2", "date": "2024-01-05", "beneficiaries": {}, "point": pt},
        ),
    ]
    return [_entry(f"R{i}", kind, i, body) for i, (kind, body) in enumerate(bodies)]


def _rows(entries: list[LedgerEntry]) -> list[Any]:
    from mineaction.store.projections import derived_rows

    out = []
    for e in entries:
        for table, rows in sorted(derived_rows(e).items(), key=lambda kv: kv[0].name):
            for row in rows:
                out.append(
                    (
                        table.name,
                        [
                            (k, shapely.to_wkb(v) if hasattr(v, "geom_type") else v, type(v))
                            for k, v in row.items()
                        ],
                    )
                )
    return out


def test_prepared_entries_give_the_same_derived_rows_and_state() -> None:
    plain, prepared = _ledger_sample(), _ledger_sample()
    prepare_entries(prepared)
    assert "eo_xy" in prepared[2].prepared and "point_xy" in prepared[5].prepared
    assert _rows(prepared) == _rows(plain)
    states = []
    for entries in (plain, prepared):
        state: HazardState | None = None
        for e in entries[:5]:
            state = fold(state, e)
        assert state is not None
        states.append(state)
    assert _outcome(states[0]) == _outcome(states[1])
    assert states[0].benchmark is None and states[0].eo_total == 4


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=10**6),
    n=st.integers(min_value=4, max_value=60),
    radius_m=st.floats(min_value=20, max_value=30_000),
    cuts=st.integers(min_value=1, max_value=5),
    kept=st.sets(st.integers(min_value=0, max_value=35), min_size=1),
    outcomes=st.lists(st.sampled_from(list(ReleaseOutcome)), min_size=36, max_size=36),
)
def test_closure_margin_covers_the_overlays_rounding(
    seed: int, n: int, radius_m: float, cuts: int, kept: set[int], outcomes: list[Any]
) -> None:
    """What closure_bound trusts: remaining >= hazard - sum(released) - margin, as computed.

    The released polygons are cells of the hazard cut by a grid, so that they add up to the
    hazard (or to it minus the cells left out) and only rounding tells the two sides apart.
    """
    from mineaction.core.geometry import geodesic_area_m2
    from mineaction.core.projection import CLOSURE_MARGIN

    hazard = irregular_hazard(seed, n, radius_m)
    lr, released_sum = LandRelease(), 0.0
    for k, cell in grid_cells(hazard, cuts):
        if k in kept:
            lr.add(outcomes[k], cell)
            released_sum += geodesic_area_m2(cell)
    hazard_m2 = geodesic_area_m2(hazard)
    margin = CLOSURE_MARGIN * hazard_m2 + 0.01
    assert geodesic_area_m2(lr.unreleased(hazard)) >= hazard_m2 - released_sum - margin
    assert lr.parts(hazard).areas(hazard).remaining_m2 >= hazard_m2 - released_sum - margin
