"""Reading vector GIS files (GeoPackage, Shapefile, GeoJSON, FlatGeobuf ...) with pyogrio."""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

from mineaction.core.geometry import WGS84, normalise_crs
from mineaction.errors import ValidationError


def _plain(value: Any) -> Any:
    """Return a JSON-friendly Python value for a field value read by pyogrio."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def read_features(
    path: str | Path, *, layer: str | None = None, crs: str | None = None
) -> tuple[list[tuple[BaseGeometry, dict[str, Any]]], str]:
    """Read a vector file's features as (WGS84 geometry, properties); also return the source CRS.

    ``crs`` names the file's CRS when the file does not declare one (or overrides it).
    Features without geometry are skipped.
    """
    where = str(path)
    if not Path(path).exists():
        raise ValidationError("file not found", where=where)
    try:
        meta, _fids, wkb, fields = pyogrio.raw.read(path, layer=layer)
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ...
        raise ValidationError(
            f"cannot read as a GIS file ({exc}); give a GeoPackage, Shapefile, GeoJSON or "
            "FlatGeobuf file (and --source-layer for multi-layer files)",
            where=where,
        ) from exc
    source_crs = normalise_crs(crs) if crs else (meta.get("crs") or None)
    if source_crs is None:
        source_crs = WGS84
    try:
        code = normalise_crs(source_crs)
    except Exception as exc:
        raise ValidationError(
            f"unknown CRS {source_crs!r}: give --crs EPSG:NNNN", where=where
        ) from exc
    geoms = shapely.from_wkb(wkb)
    keep = ~shapely.is_missing(geoms)
    if keep.any() and code != WGS84:
        try:
            tr = Transformer.from_crs(
                CRS.from_user_input(code), CRS.from_epsg(4326), always_xy=True
            )
        except CRSError as exc:
            raise ValidationError(f"cannot transform from {code}: {exc}", where=where) from exc

        def _apply(xy: np.ndarray) -> np.ndarray:
            x, y = tr.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        geoms[keep] = shapely.transform(geoms[keep], _apply)
    names = list(meta.get("fields", []))
    out: list[tuple[BaseGeometry, dict[str, Any]]] = []
    for i in np.flatnonzero(keep):
        props = {name: _plain(fields[j][i]) for j, name in enumerate(names)}
        out.append((geoms[i], props))
    return out, code
