"""Reference layers for prioritisation: load, import from GIS files, list and read back.

Layers (``LAYERS``): ``settlements`` (points or polygons with ``population``), ``roads`` (lines
with a ``class`` and optional ``market_access`` weight), ``farmland`` (land-use polygons),
``infrastructure`` (schools, clinics, water points, power lines ...), ``protected`` (protected
areas) and ``water`` (water bodies). Accidents come from the ``accident`` table, not from here.

Geometry is WGS84 lon/lat. On load each feature's ``kind`` (road class, infrastructure type,
land use) and ``value`` (population, market-access weight) are read from its properties so
that scoring does not need to parse JSON.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, LargeBinary, delete, func, select, type_coerce

from mineaction.errors import GeometryError, ValidationError
from mineaction.store import schema as s
from mineaction.store.engine import Store

LAYERS = ("settlements", "roads", "farmland", "infrastructure", "protected", "water")

#: Property names read (first found, case-insensitive) as a feature's id, kind and value.
ID_KEYS = ("feature_id", "id", "fid", "osm_id", "pcode", "code")
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "settlements": ("kind", "type", "place", "class"),
    "roads": ("class", "road_class", "highway", "fclass", "kind", "type"),
    "farmland": ("kind", "landuse", "land_use", "crop", "type", "class"),
    "infrastructure": ("kind", "type", "amenity", "power", "infrastructure", "class", "fclass"),
    "protected": ("kind", "designation", "type", "class"),
    "water": ("kind", "water", "natural", "type", "class"),
}
VALUE_KEYS: dict[str, tuple[str, ...]] = {
    "settlements": ("population", "pop", "pop_total", "inhabitants", "value"),
    "roads": ("market_access", "weight", "value"),
    "farmland": ("value",),
    "infrastructure": ("weight", "value"),
    "protected": ("value",),
    "water": ("value",),
}

#: Common OSM-style synonyms folded into the infrastructure kinds the presets weigh.
INFRASTRUCTURE_KINDS = {
    "school": "school",
    "kindergarten": "school",
    "college": "school",
    "university": "school",
    "clinic": "clinic",
    "hospital": "clinic",
    "doctors": "clinic",
    "health_post": "clinic",
    "health": "clinic",
    "water_point": "water_point",
    "drinking_water": "water_point",
    "well": "water_point",
    "water_well": "water_point",
    "borehole": "water_point",
    "power_line": "power_line",
    "line": "power_line",
    "minor_line": "power_line",
    "substation": "power_line",
}

_CHUNK = 5_000


@dataclass(frozen=True)
class LayerSummary:
    """What is loaded in one reference layer."""

    layer: str
    features: int
    kinds: dict[str, int]
    sources: list[str]
    loaded_at: datetime | None


def _lookup_lower(lower: Mapping[str, Any], keys: Iterable[str]) -> Any:
    for key in keys:
        v = lower.get(key)
        if v is not None and v != "":
            return v
    return None


def _kind_value(layer: str, lower: Mapping[str, Any]) -> tuple[str | None, float | None]:
    kind_raw = _lookup_lower(lower, KIND_KEYS[layer])
    kind = None if kind_raw is None else str(kind_raw).strip().lower().replace(" ", "_")[:50]
    if layer == "infrastructure" and kind is not None:
        kind = INFRASTRUCTURE_KINDS.get(kind, kind)
    value_raw = _lookup_lower(lower, VALUE_KEYS[layer])
    value: float | None = None
    if value_raw is not None:
        try:
            value = float(value_raw)
        except (TypeError, ValueError):
            value = None
        if value is not None and not math.isfinite(value):
            value = None
    return kind, value


def feature_kind_value(layer: str, props: Mapping[str, Any]) -> tuple[str | None, float | None]:
    """Return a feature's ``kind`` and numeric ``value`` read from its properties.

    >>> feature_kind_value("settlements", {"name": "A", "Population": "1200"})
    (None, 1200.0)
    >>> feature_kind_value("infrastructure", {"amenity": "hospital"})
    ('clinic', None)
    >>> feature_kind_value("roads", {"highway": "Primary", "market_access": 0.8})
    ('primary', 0.8)
    """
    return _kind_value(layer, _lower(props))


def check_layer(layer: str) -> str:
    """Return the layer name if known, else raise :class:`ValidationError`.

    >>> check_layer("roads")
    'roads'
    """
    if layer not in LAYERS:
        raise ValidationError(
            f"unknown reference layer {layer!r}: use one of {', '.join(LAYERS)}", where="layer"
        )
    return layer


_COLUMNS = (
    "layer",
    "feature_id",
    "kind",
    "value",
    "properties",
    "geom",
    "minx",
    "miny",
    "maxx",
    "maxy",
    "source",
    "loaded_at",
)


def _lower(props: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in props.items()}


def _rows(
    layer: str,
    features: Iterable[tuple[BaseGeometry, Mapping[str, Any]]],
    *,
    dialect: str,
    source: str | None,
    loaded_at: Any,
    start: int,
) -> Iterable[tuple[list[str], list[tuple[Any, ...]]]]:
    """Yield chunks of (feature ids, driver-level row tuples), checking geometry in bulk.

    Geometry is encoded in bulk as the ``Geometry`` column type would encode it (WKB on
    SQLite, hex EWKB with SRID 4326 on PostGIS) and properties as JSON text, so that the
    insert can bypass per-row type processing (about 4x faster for a million features).
    """
    chunk: list[tuple[BaseGeometry, Mapping[str, Any]]] = []
    n = start

    def flush(
        items: list[tuple[BaseGeometry, Mapping[str, Any]]], first: int
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        geoms = np.array([g for g, _ in items], dtype=object)
        bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise GeometryError("feature has no geometry", where=f"{layer} feature {first + i + 1}")
        bounds = shapely.bounds(geoms)
        out_of_range = (
            ~np.isfinite(bounds).all(axis=1)
            | (np.abs(bounds[:, [0, 2]]) > 180).any(axis=1)
            | (np.abs(bounds[:, [1, 3]]) > 90).any(axis=1)
        )
        if out_of_range.any():
            i = int(np.flatnonzero(out_of_range)[0])
            raise GeometryError(
                "coordinates out of range for longitude/latitude; name the file's CRS "
                "(--crs EPSG:NNNN) if they are projected metres",
                where=f"{layer} feature {first + i + 1}",
            )
        if dialect == "postgresql":
            wkb = shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True)
        else:
            wkb = shapely.to_wkb(geoms)
        ids: list[str] = []
        rows: list[tuple[Any, ...]] = []
        for i, (_, props) in enumerate(items):
            low = _lower(props)
            fid_raw = _lookup_lower(low, ID_KEYS)
            fid = str(fid_raw)[:100] if fid_raw is not None else f"{layer}-{first + i + 1}"
            kind, value = _kind_value(layer, low)
            x0, y0, x1, y1 = bounds[i].tolist()
            ids.append(fid)
            rows.append(
                (
                    layer,
                    fid,
                    kind,
                    value,
                    orjson.dumps(
                        props, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
                    ).decode(),
                    wkb[i],
                    x0,
                    y0,
                    x1,
                    y1,
                    source,
                    loaded_at,
                )
            )
        return ids, rows

    first = n
    for item in features:
        chunk.append(item)
        n += 1
        if len(chunk) >= _CHUNK:
            yield flush(chunk, first)
            chunk = []
            first = n
    if chunk:
        yield flush(chunk, first)


def load_layer_in(
    conn: Connection,
    layer: str,
    features: Iterable[tuple[BaseGeometry, Mapping[str, Any]]],
    *,
    replace: bool = True,
    source: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Load features into a layer inside an open write transaction; return how many."""
    check_layer(layer)
    t = s.reference_feature
    existing: set[str] = set()
    if replace:
        conn.execute(delete(t).where(t.c.layer == layer))
        start = 0
    else:
        existing = set(conn.execute(select(t.c.feature_id).where(t.c.layer == layer)).scalars())
        start = len(existing)
    dialect = conn.dialect
    # constant columns encoded once, as their column types would
    stamp = t.c.loaded_at.type.dialect_impl(dialect).bind_processor(dialect)
    now = datetime.now(UTC)
    loaded_at = stamp(now) if stamp is not None else now
    mark = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
    sql = (
        f"INSERT INTO reference_feature ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(_COLUMNS))})"
    )
    total = 0
    seen = existing
    for ids, rows in _rows(
        layer, features, dialect=dialect.name, source=source, loaded_at=loaded_at, start=start
    ):
        for fid in ids:
            if fid in seen:
                raise ValidationError(
                    f"feature id {fid!r} appears twice; ids must be unique in a layer",
                    where=f"{layer} feature {fid}",
                )
            seen.add(fid)
        conn.exec_driver_sql(sql, rows)
        total += len(rows)
        if progress is not None:
            progress(len(rows))
    return total


def load_layer(
    store: Store,
    layer: str,
    features: Iterable[tuple[BaseGeometry, Mapping[str, Any]]],
    *,
    replace: bool = True,
    source: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Load (geometry in WGS84, properties) features into a reference layer; return how many.

    With ``replace`` (default) the layer's previous features are deleted first; otherwise the
    features are added. All or nothing: one transaction.
    """
    with store.write() as conn:
        return load_layer_in(
            conn, layer, features, replace=replace, source=source, progress=progress
        )


def import_file(
    store: Store,
    path: str | Path,
    layer: str,
    *,
    crs: str | None = None,
    source_layer: str | None = None,
    replace: bool = True,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Import a GIS file (GeoPackage, Shapefile, GeoJSON ...) into a reference layer."""
    from mineaction.io.gisfiles import read_features

    check_layer(layer)
    features, _crs = read_features(path, layer=source_layer, crs=crs)
    name = Path(path).name + (f":{source_layer}" if source_layer else "")
    return load_layer(store, layer, features, replace=replace, source=name[:300], progress=progress)


def list_layers(store: Store) -> list[LayerSummary]:
    """Return a summary of every reference layer (empty layers included)."""
    t = s.reference_feature
    with store.read() as conn:
        kinds = conn.execute(
            select(t.c.layer, t.c.kind, func.count(), func.max(t.c.loaded_at)).group_by(
                t.c.layer, t.c.kind
            )
        ).all()
        sources = conn.execute(select(t.c.layer, t.c.source).distinct()).all()
    out = []
    for layer in LAYERS:
        ks = {(k or "-"): int(n) for (lay, k, n, _) in kinds if lay == layer}
        loaded = [at for (lay, _, _, at) in kinds if lay == layer and at is not None]
        out.append(
            LayerSummary(
                layer=layer,
                features=sum(ks.values()),
                kinds=ks,
                sources=sorted({src for (lay, src) in sources if lay == layer and src}),
                loaded_at=max(loaded) if loaded else None,
            )
        )
    return out


@dataclass
class LayerData:
    """A reference layer read for analysis: arrays aligned by position."""

    layer: str
    feature_ids: np.ndarray
    geoms: np.ndarray
    kinds: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.geoms)

    @classmethod
    def build(
        cls,
        layer: str,
        geoms: Iterable[BaseGeometry],
        kinds: Iterable[str | None] | None = None,
        values: Iterable[float | None] | None = None,
        feature_ids: Iterable[str] | None = None,
    ) -> LayerData:
        """Build layer arrays from Python sequences (missing values become NaN / None)."""
        g = np.array(list(geoms), dtype=object)
        n = len(g)
        k = np.array(list(kinds) if kinds is not None else [None] * n, dtype=object)
        v = np.array(
            [np.nan if x is None else float(x) for x in values]
            if values is not None
            else [np.nan] * n,
            dtype=float,
        )
        ids = np.array(
            list(feature_ids)
            if feature_ids is not None
            else [f"{layer}-{i + 1}" for i in range(n)],
            dtype=object,
        )
        return cls(layer=layer, feature_ids=ids, geoms=g, kinds=k, values=v)


def read_layer(
    conn: Connection, layer: str, bbox: tuple[float, float, float, float] | None = None
) -> LayerData:
    """Read one layer's geometry, kind and value (optionally only features touching ``bbox``)."""
    check_layer(layer)
    t = s.reference_feature
    geom_col = (
        func.ST_AsBinary(t.c.geom, type_=LargeBinary)
        if conn.dialect.name == "postgresql"
        else type_coerce(t.c.geom, LargeBinary)
    )
    q = select(t.c.feature_id, t.c.kind, t.c.value, geom_col.label("wkb")).where(t.c.layer == layer)
    if bbox is not None:
        x0, y0, x1, y1 = bbox
        q = q.where(t.c.maxx >= x0, t.c.minx <= x1, t.c.maxy >= y0, t.c.miny <= y1)
    q = q.order_by(t.c.id)
    # Raw WKB decoded in bulk: much faster than one shapely call per row for 1e6 features.
    result = conn.execute(q.execution_options(yield_per=50_000))
    ids: list[str] = []
    kinds: list[Any] = []
    values: list[Any] = []
    wkbs: list[Any] = []
    for fid, kind, value, wkb in result:
        ids.append(fid)
        kinds.append(kind)
        values.append(value)
        wkbs.append(bytes(wkb) if isinstance(wkb, memoryview) else wkb)
    geoms = shapely.from_wkb(np.array(wkbs, dtype=object)) if wkbs else np.array([], dtype=object)
    return LayerData(
        layer=layer,
        feature_ids=np.array(ids, dtype=object),
        geoms=np.asarray(geoms, dtype=object),
        kinds=np.array(kinds, dtype=object),
        values=np.array([np.nan if v is None else v for v in values], dtype=float),
    )
