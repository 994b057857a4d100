"""The projection: a hazard's current state folded from its approved reports.

Reports are applied in order of date of information, ties broken by approval order. Each
application returns a :class:`Step` so that the state can be explained report by report
("why is the remaining area X?").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry

from mineaction.core.codes import (
    DEFAULT_EVIDENCE_KIND,
    ActivityStage,
    ActivityType,
    EvidenceKind,
    EvidenceType,
    HazardClassification,
    HazardStatus,
    ReleaseOutcome,
    ReportType,
)
from mineaction.core.geometry import (
    approx_area_m2,
    approx_areas_m2,
    geodesic_area_m2,
    geodesic_areas_m2,
    points_xy_fast,
    shape_fast,
    shapes_fast,
)
from mineaction.core.landrelease import (
    LandRelease,
    ReleaseAreas,
    ReleaseParts,
    closure_tolerance_m2,
)
from mineaction.core.status import check_transition
from mineaction.errors import TransitionError

#: Reported and computed m² differing by more than this share (and 10 m²) are flagged.
REPORTED_DIFF_THRESHOLD = 0.05

# Code-list members looked up once (attribute access on an enum class is slow on 3.11).
_OUTCOMES = {o.value: o for o in ReleaseOutcome}
_MISSING = object()
_POINT_REPORTS = frozenset({ReportType.ACCIDENT, ReportType.EORE})
_ACTIVITIES = {a.value: a for a in ActivityType}
_ACTIVITY_VALUES = {a: a.value for a in ActivityType}
_HAZARD, _ACTIVITY, _EO, _HANDOVER = (
    ReportType.HAZARD,
    ReportType.ACTIVITY,
    ReportType.EO,
    ReportType.HANDOVER,
)
_OPEN, _WORKED_ON, _CLOSED, _HANDED_OVER = (
    HazardStatus.OPEN,
    HazardStatus.WORKED_ON,
    HazardStatus.CLOSED,
    HazardStatus.HANDED_OVER,
)
_SHA, _CHA, _EOD_SPOT = (
    HazardClassification.SHA,
    HazardClassification.CHA,
    HazardClassification.EOD_SPOT,
)
_DIRECT, _INDIRECT = EvidenceKind.DIRECT, EvidenceKind.INDIRECT
_COMPLETION = ActivityStage.COMPLETION.value
#: Activities whose first report moves an open hazard to worked on.
_STARTS_WORK = frozenset({ActivityType.TS, ActivityType.CLEARANCE, ActivityType.BAC})
#: Activities whose completion leaving land is flagged.
_FLAGS_LEFTOVER = frozenset({ActivityType.CLEARANCE, ActivityType.BAC})

#: Report types that change a hazard's state.
HAZARD_REPORT_TYPES = frozenset(
    {ReportType.HAZARD, ReportType.ACTIVITY, ReportType.EO, ReportType.HANDOVER}
)


#: How far (share of the hazard's m²) the overlay's remaining m² may fall below "hazard m² minus
#: the released polygons' m²" by rounding alone. Areas of pieces cut out of a polygon add up to
#: its area to ~1e-8 even 160 km across (core/geometry.py, edges straight in lon/lat); before
#: that, with the plane's trapezoid, the defect reached 9.2e-5 for 20-30 km polygons. The
#: closure shortcuts (:meth:`HazardState.closure_bound`, the "could the releases cover it yet"
#: test) leave this much to the exact overlay: far more than rounding, still only hazards
#: within 0.2 % of closing.
CLOSURE_MARGIN = 1e-3


@dataclass(frozen=True)
class LedgerEntry:
    """An approved report as the projection sees it (payload already normalised to WGS84)."""

    report_id: str
    type: ReportType
    organisation: str
    date_of_information: date
    approval_seq: int
    payload: Mapping[str, Any]
    #: Geometries and areas built ahead for many entries at once (see :func:`prepare_entries`).
    prepared: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def trusted(
        cls,
        report_id: str,
        type: ReportType,
        organisation: str,
        date_of_information: date,
        approval_seq: int,
        payload: Mapping[str, Any],
    ) -> LedgerEntry:
        """Build an entry from stored, already checked values (bulk reads: half the cost).

        >>> e = LedgerEntry.trusted("R1", ReportType.EO, "FSD", date(2024, 1, 2), 3, {"eo": {}})
        >>> e == LedgerEntry("R1", ReportType.EO, "FSD", date(2024, 1, 2), 3, {"eo": {}})
        True
        """
        entry = object.__new__(cls)
        entry.__dict__.update(
            report_id=report_id,
            type=type,
            organisation=organisation,
            date_of_information=date_of_information,
            approval_seq=approval_seq,
            payload=payload,
            prepared={},
            body=payload[type],  # what the cached property below would compute
        )
        return entry

    @cached_property
    def body(self) -> Mapping[str, Any]:
        """Return the report body (looked up once)."""
        body: Mapping[str, Any] = self.payload[self.type]  # a StrEnum keys like its value
        return body

    @property
    def sort_key(self) -> tuple[date, int]:
        """Return the application order key: date of information, then approval order."""
        return (self.date_of_information, self.approval_seq)


@dataclass
class Step:
    """What one report did to a hazard."""

    report_id: str
    type: str
    date_of_information: date
    approval_seq: int
    organisation: str
    status_before: str | None
    status_after: str
    classification_after: str
    cancelled_m2: float
    reduced_m2: float
    cleared_m2: float
    remaining_m2: float
    area_m2: float
    expansion_m2: float
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict."""
        out = dict(self.__dict__)
        out["date_of_information"] = self.date_of_information.isoformat()
        return out


def classify(
    evidence: Iterable[Mapping[str, Any]],
    *,
    eo_found: int = 0,
    rules: Mapping[EvidenceType, EvidenceKind] = DEFAULT_EVIDENCE_KIND,
) -> HazardClassification:
    """Derive SHA/CHA from evidence: direct evidence or EO found makes a CHA (IMAS 04.10).

    >>> classify([{"type": "VERBAL_REPORT"}])
    <HazardClassification.SHA: 'SHA'>
    >>> classify([{"type": "VERBAL_REPORT"}, {"type": "MARKING"}])
    <HazardClassification.CHA: 'CHA'>
    >>> classify([], eo_found=3)
    <HazardClassification.CHA: 'CHA'>
    """
    if eo_found > 0:
        return _CHA
    for ev in evidence:
        kind = ev.get("kind") or _evidence_kind(rules, ev["type"])
        if kind == _DIRECT:
            return _CHA
    return _SHA


def _evidence_kind(rules: Mapping[EvidenceType, EvidenceKind], value: str) -> EvidenceKind:
    """Return the kind of an evidence type (code-list keys are str enums: look up directly)."""
    kind = rules.get(value)  # type: ignore[call-overload]
    if kind is None:
        kind = rules.get(EvidenceType(value), _INDIRECT)  # unknown codes still raise
    return kind


@dataclass
class HazardState:
    """The derived current state of one hazard."""

    hazard_id: str
    organisation: str
    polygon: BaseGeometry
    classification: HazardClassification = HazardClassification.SHA
    status: HazardStatus = HazardStatus.OPEN
    status_reason: str | None = None
    name: str | None = None
    location: str | None = None
    benchmark: BaseGeometry | None = None
    contamination: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    explicit_classification: str | None = None
    estimated_area_m2: float | None = None
    blockages: list[str] = field(default_factory=list)
    beneficiaries: dict[str, Any] | None = None
    release: LandRelease = field(default_factory=LandRelease)
    eo_found: dict[str, int] = field(default_factory=dict)
    reported_m2: dict[str, float] = field(default_factory=dict)
    activity_types: list[str] = field(default_factory=list)
    first_date: date | None = None
    last_date: date | None = None
    closed_on: date | None = None
    handed_over_on: date | None = None
    report_count: int = 0
    last_report_id: str | None = None
    flags: list[str] = field(default_factory=list)
    released_upper_m2: float = 0.0
    #: How many evidence items :func:`_reclassify` has looked at, and whether one was direct.
    _evidence_seen: int = 0
    _direct_evidence: bool = False
    #: Sum of the geodesic areas of every released polygon (an upper bound of released land).
    released_sum_m2: float = 0.0
    #: True once a released polygon is exactly the current hazard polygon (all land released).
    polygon_released: bool = False
    #: The GeoJSON the current polygon was built from (to spot a release of the same polygon).
    _polygon_source: Any = None
    _parts: ReleaseParts | None = None
    _areas: ReleaseAreas | None = None
    _hazard_m2: float | None = None

    def set_areas(self, areas: ReleaseAreas) -> None:
        """Store areas computed elsewhere (batch computation during recompute)."""
        self._areas = areas

    def set_parts(self, parts: ReleaseParts) -> None:
        """Store pieces computed elsewhere (batch computation during recompute)."""
        self._parts = parts

    def invalidate(self, *, boundary: bool = False) -> None:
        """Forget cached parts and areas after a change (and the hazard area if it moved)."""
        self._parts = None
        self._areas = None
        if boundary:
            self._hazard_m2 = None

    @property
    def hazard_area_m2(self) -> float:
        """Return the area of the hazard polygon in m² (cached)."""
        if self._areas is not None:
            return self._areas.area_m2
        if self._hazard_m2 is None:
            self._hazard_m2 = geodesic_area_m2(self.polygon)
        return self._hazard_m2

    def remaining_m2(self) -> float:
        """Return the area not yet released, without computing every piece."""
        if self._areas is not None:
            return self._areas.remaining_m2
        if not self.release.released:
            return self.hazard_area_m2
        return geodesic_area_m2(self.release.unreleased(self.polygon))

    def closure_bound(self, tolerance_m2: float) -> int:
        """Tell without any overlay whether the unreleased area is surely above or below a tolerance.

        Returns -1 when it is certainly above ``tolerance_m2`` (the released polygons add up
        to less than the hazard minus the tolerance, with a margin of ``CLOSURE_MARGIN`` of
        the hazard area + 0.01 m²), 1 when it is certainly below (a released polygon is
        exactly the hazard polygon), 0 when only the overlay can tell.
        """
        if self.polygon_released:
            return 1
        hazard_m2 = self.hazard_area_m2
        if hazard_m2 - self.released_sum_m2 > tolerance_m2 + CLOSURE_MARGIN * hazard_m2 + 0.01:
            return -1
        return 0

    @property
    def parts(self) -> ReleaseParts:
        """Return the disjoint released/remaining/expansion pieces."""
        if self._parts is None:
            self._parts = self.release.parts(self.polygon)
        return self._parts

    @property
    def areas(self) -> ReleaseAreas:
        """Return the geodesic areas of the pieces in m²."""
        if self._areas is None:
            self._areas = self.parts.areas(self.polygon)
        return self._areas

    @property
    def eo_total(self) -> int:
        """Return the number of EO items found on this hazard."""
        return sum(self.eo_found.values())

    def summary(self) -> dict[str, Any]:
        """Return the machine-readable current state (no geometry)."""
        a = self.areas
        return {
            "id": self.hazard_id,
            "name": self.name,
            "organisation": self.organisation,
            "classification": self.classification.value,
            "status": self.status.value,
            "status_reason": self.status_reason,
            "location": self.location,
            "contamination": list(self.contamination),
            "area_m2": round(a.area_m2, 2),
            "cancelled_m2": round(a.cancelled_m2, 2),
            "reduced_m2": round(a.reduced_m2, 2),
            "cleared_m2": round(a.cleared_m2, 2),
            "remaining_m2": round(a.remaining_m2, 2),
            "expansion_m2": round(a.expansion_m2, 2),
            "estimated_area_m2": self.estimated_area_m2,
            "eo_found": dict(self.eo_found),
            "first_date": self.first_date.isoformat() if self.first_date else None,
            "last_date": self.last_date.isoformat() if self.last_date else None,
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "handed_over_on": self.handed_over_on.isoformat() if self.handed_over_on else None,
            "report_count": self.report_count,
            "flags": list(self.flags),
        }


def _geom(obj: Mapping[str, Any] | None) -> BaseGeometry | None:
    return None if obj is None else shape_fast(obj)


def _set_status(state: HazardState, target: HazardStatus, reason: str | None, on: date) -> None:
    if target is state.status:
        return
    check_transition(state.status, target, hazard_id=state.hazard_id)
    if target != state.status:
        state.status = target
        state.status_reason = reason
        if target is _CLOSED:
            state.closed_on = on
        elif target is _HANDED_OVER:
            state.handed_over_on = on
        elif target is _OPEN:
            state.closed_on = None
            state.handed_over_on = None


def _reclassify(state: HazardState, notes: list[str]) -> None:
    # Evidence only grows: look at the new items only (same answer as classify() on all).
    evidence = state.evidence
    if state._evidence_seen < len(evidence):
        if not state._direct_evidence:
            state._direct_evidence = classify(evidence[state._evidence_seen :]) is _CHA
        state._evidence_seen = len(evidence)
    eo_total = sum(state.eo_found.values()) if state.eo_found else 0
    derived = _CHA if state._direct_evidence or eo_total > 0 else _SHA
    explicit = state.explicit_classification
    if explicit == _EOD_SPOT:
        state.classification = _EOD_SPOT
    elif explicit is not None and eo_total == 0 and explicit != derived:
        state.classification = HazardClassification(explicit)
        notes.append(f"classification {explicit} given, but the evidence suggests {derived}")
    else:
        if derived != state.classification:
            notes.append(f"classification {state.classification} -> {derived}")
        state.classification = derived


def _apply_hazard(
    state: HazardState | None, e: LedgerEntry, notes: list[str], *, explain: bool = True
) -> HazardState:
    b = e.body
    prepared = e.prepared
    if state is None:
        if "polygon" not in b:
            raise TransitionError(
                "the first report of a hazard must include its polygon",
                where=f"report {e.report_id}, hazard.polygon",
            )
        polygon = prepared.get("polygon")
        state = HazardState(
            hazard_id=b["hazard_id"],
            organisation=e.organisation,
            polygon=shape_fast(b["polygon"]) if polygon is None else polygon,
        )
        state._hazard_m2 = prepared.get("polygon_m2")
        state._polygon_source = b["polygon"]
        state.first_date = e.date_of_information
        if explain:
            notes.append(f"new hazard, {state.hazard_area_m2:,.0f} m²")
    elif "polygon" in b:
        before = state.hazard_area_m2 if explain else 0.0
        polygon = prepared.get("polygon")
        state.polygon = shape_fast(b["polygon"]) if polygon is None else polygon
        state.invalidate(boundary=True)
        state.polygon_released = False
        state._polygon_source = b["polygon"]
        state._hazard_m2 = prepared.get("polygon_m2")
        if explain:
            notes.append(
                f"boundary changed (baseline change): {before:,.0f} m² -> "
                f"{state.hazard_area_m2:,.0f} m²"
            )
    for key in ("name", "location", "estimated_area_m2", "beneficiaries"):
        if key in b:
            setattr(state, key, b[key])
    if "benchmark" in b:
        point = prepared.get("benchmark", _MISSING)
        state.benchmark = _geom(b["benchmark"]) if point is _MISSING else point
    if b.get("contamination"):
        state.contamination = sorted(set(state.contamination) | set(b["contamination"]))
    if b.get("blockages"):
        state.blockages = sorted(set(state.blockages) | set(b["blockages"]))
    if b.get("evidence"):
        state.evidence = state.evidence + list(b["evidence"])
    if "classification" in b:
        state.explicit_classification = b["classification"]
    _reclassify(state, notes)
    if "status" in b:
        _set_status(state, HazardStatus(b["status"]), b.get("status_reason"), e.date_of_information)
        notes.append(f"status set to {b['status']}: {b.get('status_reason')}")
    return state


def _compare_reported(
    e: LedgerEntry,
    b: Mapping[str, Any],
    areas: list[float],
    notes: list[str],
    flags: list[str],
) -> None:
    computed: dict[str, float] = {}
    threshold = REPORTED_DIFF_THRESHOLD
    for i, (rel, area) in enumerate(zip(b.get("releases", []), areas, strict=True)):
        outcome = rel["outcome"]
        computed[outcome] = computed.get(outcome, 0.0) + area
        rep = rel.get("reported_m2")
        # _differs(rep, area), inlined (called for every released polygon)
        if rep is not None and (
            (diff := abs(rep - area)) > 10.0 and diff > threshold * max(area, rep)
        ):
            msg = (
                f"releases[{i}]: reported {rep:,.0f} m² {rel['outcome']} but the polygon is "
                f"{area:,.0f} m²"
            )
            notes.append(msg)
            flags.append(f"{e.report_id}: {msg}")
    for outcome, rep in (b.get("reported") or {}).items():
        key = outcome.removesuffix("_m2")
        comp = computed.get(key, 0.0)
        if _differs(rep, comp):
            msg = f"reported {rep:,.0f} m² {key} in total but the polygons give {comp:,.0f} m²"
            notes.append(msg)
            flags.append(f"{e.report_id}: {msg}")


def _differs(reported: float, computed: float) -> bool:
    diff = abs(reported - computed)
    return diff > 10.0 and diff > REPORTED_DIFF_THRESHOLD * max(computed, reported)


def _add_eo(
    state: HazardState, items: Iterable[Mapping[str, Any]], notes: list[str], explain: bool = True
) -> None:
    found = 0
    eo_found = state.eo_found
    for item in items:
        q = int(item.get("quantity", 1))
        category = item["category"]
        eo_found[category] = eo_found.get(category, 0) + q
        found += q
    if found and explain:
        notes.append(f"{found} EO item(s) found")


def _apply_activity(
    state: HazardState, e: LedgerEntry, notes: list[str], *, explain: bool = True
) -> None:
    b = e.body
    if state.status is _CLOSED or state.status is _HANDED_OVER:
        raise TransitionError(
            f"hazard is {state.status.value}; no {b['activity_type']} work can be reported on it "
            "(rule: reopen it with a hazard report giving a reason first)",
            where=f"report {e.report_id}, hazard {state.hazard_id}",
        )
    activity = _ACTIVITIES.get(b["activity_type"]) or ActivityType(b["activity_type"])
    if activity not in state.activity_types:
        state.activity_types.append(_ACTIVITY_VALUES[activity])
    prepared = e.prepared
    if "releases" in prepared:
        polygons, areas = prepared["releases"], prepared["releases_approx_m2"]
        exact = prepared["releases_m2"]
    else:
        polygons = [shape_fast(rel["polygon"]) for rel in b.get("releases", [])]
        areas = [approx_area_m2(p) for p in polygons]
        exact = geodesic_areas_m2(np.asarray(polygons, dtype=object)).tolist() if polygons else []
    if polygons:
        add = state.release.add
        for rel, poly in zip(b["releases"], polygons, strict=True):
            add(_OUTCOMES[rel["outcome"]], poly)
            # the same GeoJSON as the hazard polygon: the same coordinates, all land released
            if not state.polygon_released and rel["polygon"] == state._polygon_source:
                state.polygon_released = True
        state.released_upper_m2 += sum(areas)
        state.released_sum_m2 += sum(exact)
        state.invalidate()
    items = b.get("eo_items")
    if items:
        _add_eo(state, items, notes, explain)
    _reclassify(state, notes)
    if polygons or "reported" in b:
        _compare_reported(e, b, areas, notes, state.flags)
    if activity in _STARTS_WORK and state.status is _OPEN:
        _set_status(state, _WORKED_ON, f"{activity.value} started", e.date_of_information)
    hazard_m2 = state.hazard_area_m2
    tolerance = closure_tolerance_m2(hazard_m2)
    # Released land can only cover the hazard once the released polygons add up to its
    # area: skip the overlay until then (most progress reports on large hazards).
    could_close = state.released_upper_m2 >= hazard_m2 - tolerance - CLOSURE_MARGIN * hazard_m2
    completion = b.get("stage") == _COMPLETION
    if not (could_close or completion):
        return
    # The remaining m² is only shown in the explanation and in the flag of a clearance
    # completion that leaves land; otherwise only which side of the tolerance it is on counts,
    # and that is often clear without an overlay.
    bound = state.closure_bound(tolerance)
    needs_m2 = explain or (completion and not b.get("close_reason") and activity in _FLAGS_LEFTOVER)
    if bound > 0:
        remaining_m2 = 0.0
    elif bound < 0 and not needs_m2:
        remaining_m2 = math.inf
    else:
        remaining_m2 = state.remaining_m2()
    if remaining_m2 <= tolerance:
        _set_status(state, _CLOSED, "all land released", e.date_of_information)
    elif completion:
        if b.get("close_reason"):
            _set_status(state, _CLOSED, b["close_reason"], e.date_of_information)
            notes.append(f"closed with {remaining_m2:,.0f} m² remaining: {b['close_reason']}")
        else:
            msg = (
                f"completion report leaves {remaining_m2:,.0f} m² remaining; the hazard stays "
                f"{state.status.value} (give close_reason to close it)"
            )
            notes.append(msg)
            if activity in _FLAGS_LEFTOVER:
                state.flags.append(f"{e.report_id}: {msg}")


def prepare_entries(entries: list[LedgerEntry]) -> None:
    """Build the geometries (and their areas) of many entries at once, vectorised.

    Fills ``entry.prepared``: ``polygon`` and ``polygon_m2`` (and ``benchmark`` when given) of
    hazard reports; ``releases``, ``releases_approx_m2`` and ``releases_m2`` of activity
    reports; ``eo_points`` (one per EO item, None without a point) and ``eo_xy`` (their
    lon/lat) of activity and EO reports; ``point`` (and ``point_xy``) of accident and EORE
    reports. The fold and the derived rows then use them
    instead of building geometries one by one; the values are the same as one by one, bit
    for bit. Entries without releases or EO items get no keys for them (nothing to build).
    """
    hazards: list[LedgerEntry] = []
    releases: list[tuple[dict[str, Any], int]] = []
    rel_objs: list[Any] = []
    # points: (prepared dict, key, the GeoJSON point or None) and (prepared dict, EO items)
    singles: list[tuple[dict[str, Any], str, Any]] = []
    item_lists: list[tuple[dict[str, Any], list[Any]]] = []
    for e in entries:
        t = e.type
        b = e.body
        if t == _HAZARD:
            if "polygon" in b:
                hazards.append(e)
            if "benchmark" in b:
                singles.append((e.prepared, "benchmark", b["benchmark"]))
            continue
        # (entries without releases or EO items need nothing: the fold and the derived
        # rows loop over nothing for them)
        if t == _ACTIVITY:
            rels = b.get("releases")
            if rels:
                releases.append((e.prepared, len(rels)))
                rel_objs.extend([r["polygon"] for r in rels])
            items = b.get("eo_items")
            if items:
                item_lists.append((e.prepared, items))
        elif t == _EO:
            items = b.get("items")
            if items:
                item_lists.append((e.prepared, items))
        elif t in _POINT_REPORTS:
            singles.append((e.prepared, "point", b.get("point")))
    if hazards:
        polys = shapes_fast([e.body["polygon"] for e in hazards])
        areas = geodesic_areas_m2(np.asarray(polys, dtype=object)).tolist()
        for e, g, a in zip(hazards, polys, areas, strict=True):
            prepared = e.prepared
            prepared["polygon"] = g
            prepared["polygon_m2"] = a
    if releases:
        geoms = shapes_fast(rel_objs)
        approx = approx_areas_m2(geoms)
        exact = geodesic_areas_m2(np.asarray(geoms, dtype=object)).tolist() if geoms else []
        i = 0
        for prepared, n in releases:
            j = i + n
            prepared["releases"] = geoms[i:j]
            prepared["releases_approx_m2"] = approx[i:j]
            prepared["releases_m2"] = exact[i:j]
            i = j
    point_objs = [obj for _, _, obj in singles if obj is not None]
    counts = []  # how many items of each list have a point
    for _, items in item_lists:
        before = len(point_objs)
        point_objs.extend([p for it in items if (p := it.get("point")) is not None])
        counts.append(len(point_objs) - before)
    # a point's centroid is the point itself: its x/y for the derived rows' bbox columns
    point_geoms, xs, ys = points_xy_fast(point_objs)
    k = 0
    for prepared, key, obj in singles:
        if obj is None:
            prepared[key] = None
        else:
            prepared[key] = point_geoms[k]
            prepared[f"{key}_xy"] = (xs[k], ys[k])
            k += 1
    for (prepared, items), n in zip(item_lists, counts, strict=True):
        j = k + n
        if n == len(items):  # every item has a point
            prepared["eo_points"] = point_geoms[k:j]
            prepared["eo_xy"] = list(zip(xs[k:j], ys[k:j], strict=True))
        else:
            points: list[Any] = []
            xy: list[tuple[Any, Any]] = []
            for it in items:
                if it.get("point") is not None:
                    points.append(point_geoms[k])
                    xy.append((xs[k], ys[k]))
                    k += 1
                else:
                    points.append(None)
                    xy.append((None, None))
            prepared["eo_points"] = points
            prepared["eo_xy"] = xy
        k = j


def fold(state: HazardState | None, e: LedgerEntry) -> HazardState:
    """Apply one approved report without building the explanation (fast path for recompute)."""
    return _apply(state, e, [], explain=False)


def apply(state: HazardState | None, e: LedgerEntry) -> tuple[HazardState, Step]:
    """Apply one approved report to a hazard state; return the new state and the step.

    Raises :class:`TransitionError` when the report breaks a status rule. The state passed
    in may be modified; callers that need the old state keep a copy.
    """
    notes: list[str] = []
    before = None if state is None else state.status.value
    prev = (
        (0.0, 0.0, 0.0)
        if state is None
        else (state.areas.cancelled_m2, state.areas.reduced_m2, state.areas.cleared_m2)
    )
    state = _apply(state, e, notes)
    a = state.areas
    step = Step(
        report_id=e.report_id,
        type=e.type.value,
        date_of_information=e.date_of_information,
        approval_seq=e.approval_seq,
        organisation=e.organisation,
        status_before=before,
        status_after=state.status.value,
        classification_after=state.classification.value,
        cancelled_m2=a.cancelled_m2 - prev[0],
        reduced_m2=a.reduced_m2 - prev[1],
        cleared_m2=a.cleared_m2 - prev[2],
        remaining_m2=a.remaining_m2,
        area_m2=a.area_m2,
        expansion_m2=a.expansion_m2,
        notes=notes,
    )
    return state, step


def _apply(
    state: HazardState | None, e: LedgerEntry, notes: list[str], *, explain: bool = True
) -> HazardState:
    t = e.type
    if t == _HAZARD:
        state = _apply_hazard(state, e, notes, explain=explain)
    else:
        if state is None:
            raise TransitionError(
                "hazard does not exist yet: approve its hazard report (with the polygon) first",
                where=f"report {e.report_id}, hazard {e.body.get('hazard_id')}",
            )
        if t == _ACTIVITY:
            _apply_activity(state, e, notes, explain=explain)
        elif t == _EO:
            _add_eo(state, e.body.get("items", []), notes, explain)
            _reclassify(state, notes)
        elif t == _HANDOVER:
            _set_status(
                state,
                _HANDED_OVER,
                f"handed over to {e.body['recipient']}",
                e.date_of_information,
            )
            notes.append(f"handed over to {e.body['recipient']}")
    state.report_count += 1
    state.last_report_id = e.report_id
    state.last_date = e.date_of_information
    return state


def project(entries: Iterable[LedgerEntry]) -> tuple[HazardState, list[Step]]:
    """Fold a hazard's approved reports (any order) into its state and the explanation.

    >>> from datetime import date
    >>> poly = {"type": "Polygon", "coordinates": [[[35, 51], [35.001, 51], [35.001, 51.001],
    ...         [35, 51.001], [35, 51]]]}
    >>> h = LedgerEntry("R1", ReportType.HAZARD, "FSD", date(2024, 1, 1), 1,
    ...     {"hazard": {"hazard_id": "H1", "polygon": poly}})
    >>> c = LedgerEntry("R2", ReportType.ACTIVITY, "FSD", date(2024, 2, 1), 2,
    ...     {"activity": {"hazard_id": "H1", "activity_type": "CLEARANCE",
    ...      "stage": "completion", "releases": [{"outcome": "cleared", "polygon": poly}]}})
    >>> state, steps = project([c, h])
    >>> state.status.value, round(state.areas.cleared_m2), round(state.areas.remaining_m2)
    ('closed', 7809, 0)
    >>> [s.report_id for s in steps]
    ['R1', 'R2']
    """
    ordered = sorted(entries, key=lambda x: x.sort_key)
    state: HazardState | None = None
    steps: list[Step] = []
    for e in ordered:
        state, step = apply(state, e)
        steps.append(step)
    if state is None:
        raise TransitionError("no approved reports for this hazard")
    return state, steps
