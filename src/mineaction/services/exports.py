"""GIS exports of the national picture: hazards, remaining and released land, activities, EO,
accidents (and victims, personal data, only for permitted users; every such export is audited).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import Connection, select

from mineaction.core.access import PERSONAL_DATA, Role
from mineaction.core.reporting import Scope
from mineaction.errors import PermissionDeniedError, ValidationError
from mineaction.io.gisexport import FORMATS, Field, Layer, write_layers
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.store.reports import audit

LAYERS = ("hazards", "remaining", "released", "activities", "eo", "accidents")
PERSONAL_LAYERS = ("victims",)

HAZARD_FIELDS = [
    Field("hazard_id", short="hazard_id"),
    Field("name"),
    Field("organisation", short="org"),
    Field("classification", short="class"),
    Field("status"),
    Field("location", short="pcode"),
    Field("contamination", short="contam"),
    Field("area_m2", "float"),
    Field("cancelled_m2", "float", "cancel_m2"),
    Field("reduced_m2", "float", "reduce_m2"),
    Field("cleared_m2", "float", "clear_m2"),
    Field("remaining_m2", "float", "remain_m2"),
    Field("expansion_m2", "float", "expand_m2"),
    Field("eo_total", "int"),
    Field("first_date", "date"),
    Field("last_date", "date"),
    Field("closed_on", "date"),
    Field("handed_over_on", "date", "handed_on"),
    Field("report_count", "int", "reports"),
    Field("last_report_id", short="last_rep"),
]
REMAINING_FIELDS = [
    Field("hazard_id"),
    Field("organisation", short="org"),
    Field("classification", short="class"),
    Field("status"),
    Field("location", short="pcode"),
    Field("remaining_m2", "float", "remain_m2"),
]
RELEASED_FIELDS = [
    Field("report_id"),
    Field("hazard_id"),
    Field("organisation", short="org"),
    Field("date", "date"),
    Field("activity_type", short="activity"),
    Field("outcome"),
    Field("method"),
    Field("depth_cm", "float"),
    Field("reported_m2", "float", "rep_m2"),
    Field("polygon_m2", "float", "poly_m2"),
]
ACTIVITY_FIELDS = [
    Field("report_id"),
    Field("hazard_id"),
    Field("organisation", short="org"),
    Field("activity_type", short="activity"),
    Field("stage"),
    Field("method"),
    Field("team"),
    Field("team_days", "float"),
    Field("start_date", "date"),
    Field("end_date", "date"),
    Field("date_of_information", "date", "info_date"),
    Field("depth_cm", "float"),
    Field("cancelled_m2", "float", "cancel_m2"),
    Field("reduced_m2", "float", "reduce_m2"),
    Field("cleared_m2", "float", "clear_m2"),
]
EO_FIELDS = [
    Field("id", "int"),
    Field("report_id"),
    Field("hazard_id"),
    Field("organisation", short="org"),
    Field("date", "date"),
    Field("source"),
    Field("category"),
    Field("model"),
    Field("quantity", "int"),
    Field("condition"),
    Field("disposal"),
    Field("depth_cm", "float"),
]
ACCIDENT_FIELDS = [
    Field("accident_id", short="accident"),
    Field("report_id"),
    Field("organisation", short="org"),
    Field("date", "date"),
    Field("device_category", short="device"),
    Field("demining", "bool"),
    Field("hazard_id"),
    Field("location", short="pcode"),
    Field("killed", "int"),
    Field("injured", "int"),
]
VICTIM_FIELDS = [
    Field("victim_id"),
    Field("accident_id", short="accident"),
    Field("report_id"),
    Field("name"),
    Field("sex"),
    Field("age", "int"),
    Field("status"),
    Field("deminer", "bool"),
    Field("activity"),
    Field("tampered", "bool"),
]


@dataclass
class ExportResult:
    """What an export wrote."""

    files: list[Path]
    counts: dict[str, int]


def parse_layers(text: str | None, *, personal: bool = False) -> list[str]:
    """Parse ``--layers`` (comma separated; default all, plus victims with personal data).

    >>> parse_layers("hazards, eo")
    ['hazards', 'eo']
    >>> parse_layers(None)[-1]
    'accidents'
    """
    if not text:
        return [*LAYERS, *(PERSONAL_LAYERS if personal else ())]
    names = [n.strip() for n in text.split(",") if n.strip()]
    known = (*LAYERS, *PERSONAL_LAYERS)
    for n in names:
        if n not in known:
            raise ValidationError(
                f"unknown layer {n!r}; use some of {', '.join(known)}", where="--layers"
            )
    return list(dict.fromkeys(names))


def _hazard_index(conn: Connection) -> dict[str, tuple[str | None, str]]:
    q = select(s.hazard.c.hazard_id, s.hazard.c.location, s.hazard.c.organisation)
    return {r[0]: (r[1], r[2]) for r in conn.execute(q)}


def build_layers(conn: Connection, names: Sequence[str], scope: Scope) -> list[Layer]:
    """Read the requested layers from the database, within the scope."""
    hz = _hazard_index(conn)

    def loc(hazard_id: str | None) -> str | None:
        return hz.get(hazard_id, (None, ""))[0] if hazard_id else None

    def keep(org: str | None, location: str | None) -> bool:
        return scope.has_org(org) and scope.has_area(location)

    out: list[Layer] = []
    for name in names:
        if name in ("hazards", "remaining"):
            layer = Layer(
                name, "MultiPolygon", HAZARD_FIELDS if name == "hazards" else REMAINING_FIELDS
            )
            for r in conn.execute(select(s.hazard).order_by(s.hazard.c.hazard_id)).mappings():
                if not keep(r["organisation"], r["location"]):
                    continue
                row = dict(r)
                row["contamination"] = ",".join(r["contamination"] or [])
                geom = r["geom"] if name == "hazards" else r["remaining_geom"]
                if name == "remaining" and (geom is None or geom.is_empty):
                    continue
                layer.add(row, geom)
        elif name == "released":
            layer = Layer(name, "MultiPolygon", RELEASED_FIELDS)
            q = select(s.release_polygon).order_by(s.release_polygon.c.id)
            for r in conn.execute(q).mappings():
                if keep(r["organisation"], loc(r["hazard_id"])):
                    layer.add(dict(r), r["geom"])
        elif name == "activities":
            layer = Layer(name, "MultiPolygon", ACTIVITY_FIELDS)
            polys: dict[str, list[Any]] = defaultdict(list)
            for rid, geom in conn.execute(
                select(s.release_polygon.c.report_id, s.release_polygon.c.geom)
            ):
                polys[rid].append(geom)
            q = select(s.activity).order_by(
                s.activity.c.date_of_information, s.activity.c.report_id
            )
            for r in conn.execute(q).mappings():
                if keep(r["organisation"], loc(r["hazard_id"])):
                    parts = polys.get(r["report_id"])
                    layer.add(dict(r), shapely.unary_union(parts) if parts else None)
        elif name == "eo":
            layer = Layer(name, "Point", EO_FIELDS)
            spot = {
                r[0]: (r[1] or {}).get("eo", {}).get("location")
                for r in conn.execute(
                    select(s.report.c.report_id, s.report.c.payload).where(s.report.c.type == "eo")
                )
            }
            for r in conn.execute(select(s.eo_item).order_by(s.eo_item.c.id)).mappings():
                where = loc(r["hazard_id"]) or spot.get(r["report_id"])
                if keep(r["organisation"], where):
                    layer.add(dict(r), r["geom"])
        elif name == "accidents":
            layer = Layer(name, "Point", ACCIDENT_FIELDS)
            q = select(s.accident).order_by(s.accident.c.accident_id)
            for r in conn.execute(q).mappings():
                if keep(r["organisation"], r["location"] or loc(r["hazard_id"])):
                    layer.add(dict(r), r["geom"])
        else:  # victims
            layer = Layer(name, "Point", VICTIM_FIELDS)
            accidents = {r["accident_id"]: r for r in conn.execute(select(s.accident)).mappings()}
            q = select(s.victim).order_by(s.victim.c.victim_id)
            for r in conn.execute(q).mappings():
                a = accidents.get(r["accident_id"])
                if a is not None and keep(a["organisation"], a["location"] or loc(a["hazard_id"])):
                    layer.add(dict(r), a["geom"])
        out.append(layer)
    return out


def export(
    store: Store,
    fmt: str,
    out: Path,
    *,
    layers: Sequence[str] | None = None,
    scope: Scope | None = None,
    include_personal_data: bool = False,
    role: Role | None = None,
    actor: str | None = None,
) -> ExportResult:
    """Export layers of the current national picture to a GIS format.

    Victims (names, sex, age) are exported only with ``include_personal_data`` and a role
    allowed to read personal data; such an export is written to the audit log.
    """
    if fmt not in FORMATS:
        raise ValidationError(
            f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", where="--format"
        )
    names = list(layers) if layers else parse_layers(None, personal=include_personal_data)
    personal = [n for n in names if n in PERSONAL_LAYERS]
    if personal and not include_personal_data:
        raise PermissionDeniedError(
            "the victims layer holds personal data: ask for it with --include-personal-data"
        )
    if include_personal_data and (role is None or role not in PERSONAL_DATA):
        raise PermissionDeniedError(
            "exporting personal data needs the admin or im_officer role; "
            "export without --include-personal-data"
        )
    scope = scope or Scope()
    with store.read() as conn:
        built = build_layers(conn, names, scope)
    files = write_layers(built, fmt, out)
    counts = {layer.name: len(layer.rows) for layer in built}
    with store.write() as conn:
        audit(
            conn,
            actor=actor,
            action="export_personal_data" if include_personal_data else "export",
            entity="export",
            entity_id=str(out),
            details={
                "format": fmt,
                "layers": counts,
                "scope": {"area": scope.area, "organisation": scope.organisation},
                "personal_data": include_personal_data,
            },
        )
    return ExportResult(files, counts)
