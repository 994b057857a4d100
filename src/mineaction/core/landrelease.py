"""Polygon land-release accounting: cancelled, reduced and cleared land of one hazard, in m².

Released polygons are unioned per outcome. Where outcomes overlap the stronger one wins
(cleared > reduced > cancelled), so no m² is counted twice. Released land outside the hazard
polygon is recorded as *expansion* rather than clipped away. For every hazard:

    cancelled_m2 + reduced_m2 + cleared_m2 + remaining_m2 == area_m2 + expansion_m2

(all geodesic, see :func:`mineaction.core.geometry.geodesic_area_m2`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from mineaction.core.codes import ReleaseOutcome
from mineaction.core.geometry import geodesic_area_m2, geodesic_areas_m2

#: Strongest outcome first.
OUTCOME_STRENGTH: tuple[ReleaseOutcome, ...] = (
    ReleaseOutcome.CLEARED,
    ReleaseOutcome.REDUCED,
    ReleaseOutcome.CANCELLED,
)


def _union(a: BaseGeometry | None, b: BaseGeometry | None) -> BaseGeometry | None:
    if a is None or a.is_empty:
        return b
    if b is None or b.is_empty:
        return a
    return shapely.union(a, b)


def _diff(a: BaseGeometry | None, b: BaseGeometry | None) -> BaseGeometry | None:
    if a is None or a.is_empty:
        return None
    if b is None or b.is_empty:
        return a
    out = shapely.difference(a, b)
    return None if out.is_empty else out


def _polygonal(geom: BaseGeometry | None) -> BaseGeometry | None:
    """Drop lines/points that overlay operations may leave behind."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.unary_union(parts) if parts else None


@dataclass(frozen=True)
class ReleaseAreas:
    """Areas of one hazard in m²: baseline, released by outcome, remaining, expansion."""

    area_m2: float
    cancelled_m2: float
    reduced_m2: float
    cleared_m2: float
    remaining_m2: float
    expansion_m2: float

    @property
    def released_m2(self) -> float:
        """Return cancelled + reduced + cleared m²."""
        return self.cancelled_m2 + self.reduced_m2 + self.cleared_m2

    def imbalance(self) -> float:
        """Return the relative error of the accounting invariant (0.0 when exact).

        >>> ReleaseAreas(100, 10, 20, 30, 40, 0).imbalance()
        0.0
        """
        total = self.area_m2 + self.expansion_m2
        parts = self.released_m2 + self.remaining_m2
        if total == 0:
            return 0.0 if parts == 0 else 1.0
        return abs(parts - total) / total


@dataclass(frozen=True)
class ReleaseParts:
    """The disjoint pieces of a hazard after release (lon/lat geometries, None when empty)."""

    cleared: BaseGeometry | None
    reduced: BaseGeometry | None
    cancelled: BaseGeometry | None
    remaining: BaseGeometry | None
    expansion: BaseGeometry | None

    def areas(self, hazard: BaseGeometry | None) -> ReleaseAreas:
        """Return the geodesic areas of the pieces."""
        return ReleaseAreas(
            area_m2=geodesic_area_m2(hazard),
            cancelled_m2=geodesic_area_m2(self.cancelled),
            reduced_m2=geodesic_area_m2(self.reduced),
            cleared_m2=geodesic_area_m2(self.cleared),
            remaining_m2=geodesic_area_m2(self.remaining),
            expansion_m2=geodesic_area_m2(self.expansion),
        )


@dataclass
class LandRelease:
    """Released land of one hazard: the union of released polygons per outcome.

    >>> from shapely.geometry import box
    >>> hazard = box(35.0, 51.0, 35.002, 51.001)
    >>> lr = LandRelease()
    >>> lr.add(ReleaseOutcome.CANCELLED, box(35.0, 51.0, 35.001, 51.001))
    >>> lr.add(ReleaseOutcome.CLEARED, box(35.0005, 51.0, 35.0015, 51.001))
    >>> a = lr.parts(hazard).areas(hazard)
    >>> round(a.cancelled_m2), round(a.cleared_m2), round(a.remaining_m2), round(a.area_m2)
    (3905, 7809, 3905, 15619)
    >>> a.imbalance() < 1e-9
    True
    """

    released: dict[ReleaseOutcome, BaseGeometry] = field(default_factory=dict)
    #: The last :meth:`unreleased` result: (hazard, released land, hazard minus released land).
    _last: tuple[BaseGeometry, BaseGeometry, BaseGeometry] | None = field(
        default=None, compare=False, repr=False
    )

    def add(self, outcome: ReleaseOutcome, polygon: BaseGeometry) -> None:
        """Add a released polygon with its outcome."""
        merged = _union(self.released.get(outcome), polygon)
        if merged is not None:
            self.released[outcome] = merged

    def copy(self) -> LandRelease:
        """Return an independent copy (geometries are immutable)."""
        return LandRelease(dict(self.released), self._last)

    def unreleased(self, hazard: BaseGeometry) -> BaseGeometry:
        """Return the hazard minus all released land (kept for :meth:`parts` to reuse).

        >>> from shapely.geometry import box
        >>> lr = LandRelease(); lr.add(ReleaseOutcome.CLEARED, box(0, 0, 1, 2))
        >>> lr.unreleased(box(0, 0, 2, 2)).bounds
        (1.0, 0.0, 2.0, 2.0)
        """
        total = self.total()
        if total is None:
            return hazard
        last = self._last
        if last is not None and last[0] is hazard and last[1] is total:
            return last[2]
        out = shapely.difference(hazard, total)
        self._last = (hazard, total, out)
        return out

    def _known_unreleased(self, hazard: BaseGeometry, taken: BaseGeometry) -> BaseGeometry | None:
        """Return ``hazard - taken`` if :meth:`unreleased` computed it already, else None."""
        last = self._last
        if last is not None and last[0] is hazard and last[1] is taken:
            return last[2]
        return None

    def total(self) -> BaseGeometry | None:
        """Return the union of all released land."""
        out: BaseGeometry | None = None
        for outcome in OUTCOME_STRENGTH:
            out = _union(out, self.released.get(outcome))
        return out

    def parts(self, hazard: BaseGeometry | None) -> ReleaseParts:
        """Split hazard and released land into disjoint pieces, stronger outcome first."""
        taken: BaseGeometry | None = None
        pieces: dict[ReleaseOutcome, BaseGeometry | None] = {}
        for outcome in OUTCOME_STRENGTH:
            own = _polygonal(_diff(self.released.get(outcome), taken))
            pieces[outcome] = own
            taken = _union(taken, own)
        known = None if hazard is None or taken is None else self._known_unreleased(hazard, taken)
        if known is not None:
            remaining = None if known.is_empty else _polygonal(known)
        else:
            remaining = _polygonal(_diff(hazard, taken))
        expansion = _polygonal(_diff(taken, hazard)) if hazard is not None else taken
        return ReleaseParts(
            cleared=pieces[ReleaseOutcome.CLEARED],
            reduced=pieces[ReleaseOutcome.REDUCED],
            cancelled=pieces[ReleaseOutcome.CANCELLED],
            remaining=remaining,
            expansion=expansion,
        )


_EMPTY = shapely.from_wkt("POLYGON EMPTY")


def _column(values: list[BaseGeometry | None]) -> np.ndarray:
    out = np.fromiter(values, dtype=object, count=len(values))
    out[shapely.is_missing(out) | shapely.is_empty(out)] = _EMPTY
    return out


def _masked(op: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Apply ``op`` where both sides are non-empty; elsewhere keep ``a`` (as the scalar code)."""
    out = a.copy()
    both = ~shapely.is_empty(a) & ~shapely.is_empty(b)
    if both.any():
        out[both] = op(a[both], b[both])
    return out


def _union_masked(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = _masked(shapely.union, a, b)
    only_b = shapely.is_empty(a) & ~shapely.is_empty(b)
    out[only_b] = b[only_b]
    return out


_POLYGON_TYPES = np.array([3, 6])  # shapely type ids of Polygon and MultiPolygon


def _polygonal_column(arr: np.ndarray) -> list[BaseGeometry | None]:
    """Return :func:`_polygonal` of every element (type tests vectorised)."""
    out: list[BaseGeometry | None] = arr.tolist()
    plain = np.isin(shapely.get_type_id(arr), _POLYGON_TYPES) & ~shapely.is_empty(arr)
    for i in np.flatnonzero(~plain).tolist():
        out[i] = _polygonal(out[i])
    return out


def parts_batch(items: list[tuple[LandRelease, BaseGeometry]]) -> list[ReleaseParts]:
    """Split many hazards at once (vectorised GEOS calls); same pieces as :meth:`LandRelease.parts`.

    >>> from shapely.geometry import box
    >>> hz = box(35, 51, 35.002, 51.001)
    >>> lr = LandRelease(); lr.add(ReleaseOutcome.CANCELLED, box(35, 51, 35.001, 51.001))
    >>> lr.add(ReleaseOutcome.CLEARED, box(35.0005, 51, 35.0015, 51.001))
    >>> b = parts_batch([(lr, hz)])[0]; p = lr.parts(hz)
    >>> b.areas(hz) == p.areas(hz)
    True
    """
    if not items:
        return []
    hazards = _column([h for _, h in items])
    cleared = _column([lr.released.get(ReleaseOutcome.CLEARED) for lr, _ in items])
    reduced = _column([lr.released.get(ReleaseOutcome.REDUCED) for lr, _ in items])
    cancelled = _column([lr.released.get(ReleaseOutcome.CANCELLED) for lr, _ in items])
    reduced_own = _column(_polygonal_column(_masked(shapely.difference, reduced, cleared)))
    taken = _union_masked(cleared, reduced_own)
    cancelled_own = _column(_polygonal_column(_masked(shapely.difference, cancelled, taken)))
    taken = _union_masked(taken, cancelled_own)
    # Released land that is exactly the hazard polygon (same coordinates) leaves nothing on
    # either side: the overlay of a polygon with itself is empty.
    some = ~shapely.is_empty(taken)
    same = some & shapely.equals_exact(hazards, taken, 0.0)
    # hazard minus released land is often known already from the closure check of the fold
    known: list[BaseGeometry | None] = [None] * len(items)
    for i in np.flatnonzero(some & ~same).tolist():
        lr, h = items[i]
        known[i] = lr._known_unreleased(h, taken[i])
    todo = np.fromiter((k is None for k in known), dtype=bool, count=len(known)) & ~same
    diffed = hazards.copy()
    diffed[todo] = _masked(shapely.difference, hazards[todo], taken[todo])
    for i, k in enumerate(known):
        if k is not None:
            diffed[i] = k
    diffed[same] = _EMPTY
    remaining = _polygonal_column(diffed)
    outside = taken.copy()
    outside[~same] = _masked(shapely.difference, taken[~same], hazards[~same])
    outside[same] = _EMPTY
    expansion = _polygonal_column(outside)
    return [
        ReleaseParts(cleared=c, reduced=r, cancelled=x, remaining=rem, expansion=exp)
        for c, r, x, rem, exp in zip(
            _polygonal_column(cleared),
            _polygonal_column(reduced_own),
            _polygonal_column(cancelled_own),
            remaining,
            expansion,
            strict=True,
        )
    ]


def closure_tolerance_m2(area_m2: float) -> float:
    """Return the remaining area below which a hazard counts as fully released.

    The larger of 1 m² and 0.1 % of the hazard area (GPS slivers along shared edges).

    >>> closure_tolerance_m2(50_000)
    50.0
    >>> closure_tolerance_m2(100)
    1.0
    """
    return max(1.0, 0.001 * area_m2)


def areas_batch(
    items: list[tuple[ReleaseParts, BaseGeometry | None]],
) -> list[ReleaseAreas]:
    """Return the areas of many hazards' pieces at once (vectorised; same result as one by one).

    >>> from shapely.geometry import box
    >>> hz = box(35, 51, 35.002, 51.001)
    >>> lr = LandRelease(); lr.add(ReleaseOutcome.CLEARED, box(35, 51, 35.001, 51.001))
    >>> p = lr.parts(hz)
    >>> areas_batch([(p, hz)])[0] == p.areas(hz)
    True
    """
    flat: list[BaseGeometry | None] = []
    for parts, hazard in items:
        flat.extend(
            (
                hazard,
                parts.cancelled,
                parts.reduced,
                parts.cleared,
                parts.remaining,
                parts.expansion,
            )
        )
    if not flat:
        return []
    values = geodesic_areas_m2(flat).reshape(-1, 6).tolist()
    return [ReleaseAreas(*row) for row in values]
