"""Printable maps: hazards by status over admin boundaries and settlements, at any cut-off."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from shapely.geometry.base import BaseGeometry

from mineaction.core.reporting import Scope
from mineaction.errors import ValidationError
from mineaction.services.reporting.snapshot import load_store
from mineaction.store.engine import Store

DEFAULT_MARKING = "RESTRICTED — contains locations of uncleared hazards"
SIZES = {"A4": (11.69, 8.27), "A3": (16.54, 11.69)}


@dataclass
class MapHazard:
    """A hazard as drawn: id, class, status, polygon and remaining area."""

    hazard_id: str
    classification: str
    status: str
    polygon: BaseGeometry
    remaining_m2: float


@dataclass
class MapPlace:
    """An admin area (polygon) or settlement (point) from the gazetteer."""

    pcode: str
    name: str
    admin_level: int
    geom: BaseGeometry
    population: int | None = None


@dataclass
class MapData:
    """Everything a printable map shows."""

    title: str
    subtitle: str
    cut_off: datetime
    ledger_hash: str
    marking: str
    programme: str | None
    hazards: list[MapHazard] = field(default_factory=list)
    areas: list[MapPlace] = field(default_factory=list)
    settlements: list[MapPlace] = field(default_factory=list)


def map_data(
    store: Store,
    *,
    scope: Scope | None = None,
    cut_off: datetime | None = None,
    title: str | None = None,
    marking: str = DEFAULT_MARKING,
) -> MapData:
    """Collect the hazards (replayed at the cut-off) and gazetteer entries in scope."""
    scope = scope or Scope()
    snap = load_store(store, cut_off)
    data = MapData(
        title=title or f"Hazardous areas{' — ' + snap.programme if snap.programme else ''}",
        subtitle=f"{scope.describe().capitalize()}; hazard status as known at the data cut-off",
        cut_off=snap.cut_off,
        ledger_hash=snap.ledger_hash,
        marking=marking,
        programme=snap.programme,
    )
    for hid in sorted(snap.hazards):
        st = snap.hazards[hid]
        if scope.has_area(st.location) and scope.has_org(st.organisation):
            data.hazards.append(
                MapHazard(
                    hid,
                    st.classification.value,
                    st.status.value,
                    st.polygon,
                    st.areas.remaining_m2,
                )
            )
    for loc in snap.locations.values():
        if loc.geom is None or loc.geom.is_empty:
            continue
        if scope.area and not (
            loc.pcode.startswith(scope.area) or scope.area.startswith(loc.pcode)
        ):
            continue
        place = MapPlace(loc.pcode, loc.name, loc.admin_level, loc.geom, loc.population)
        if loc.geom.geom_type == "Point":
            data.settlements.append(place)
        elif loc.geom.geom_type in ("Polygon", "MultiPolygon"):
            data.areas.append(place)
    return data


def render(
    store: Store,
    out: Path,
    *,
    size: str = "A4",
    scope: Scope | None = None,
    cut_off: datetime | None = None,
    title: str | None = None,
    marking: str = DEFAULT_MARKING,
) -> MapData:
    """Draw the printable map to ``out`` (.pdf or .png); return what was drawn."""
    from mineaction.io.maps import draw_map

    if size not in SIZES:
        raise ValidationError(f"unknown paper size {size!r}; use A4 or A3", where="--size")
    if out.suffix.lower() not in (".pdf", ".png"):
        raise ValidationError(f"{out.name}: the map is written as .pdf or .png", where="--out")
    data = map_data(store, scope=scope, cut_off=cut_off, title=title, marking=marking)
    if not data.hazards and not data.areas:
        raise ValidationError(
            f"nothing to draw: no hazards or admin areas in {(scope or Scope()).describe()}"
        )
    draw_map(data, out, SIZES[size])
    return data
