"""Write export layers (GeoPackage, GeoJSON, KML, Shapefile, FlatGeobuf, CSV) with pyogrio."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyogrio.raw import write as ogr_write
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from mineaction.core.cells import csv_cell
from mineaction.errors import ValidationError

#: format -> (GDAL driver, file extension, several layers in one file)
FORMATS: dict[str, tuple[str, str, bool]] = {
    "gpkg": ("GPKG", ".gpkg", True),
    "geojson": ("GeoJSON", ".geojson", False),
    "kml": ("KML", ".kml", False),
    "shp": ("ESRI Shapefile", ".shp", False),
    "fgb": ("FlatGeobuf", ".fgb", False),
    "csv": ("CSV", ".csv", False),
}


@dataclass(frozen=True)
class Field:
    """An attribute: name, kind (str|int|float|date|bool) and a name of at most 10 characters."""

    name: str
    kind: str = "str"
    short: str | None = None

    def name_for(self, fmt: str) -> str:
        """Return the field name used in a format (Shapefile names are 10 characters at most).

        >>> Field("classification", short="class").name_for("shp")
        'class'
        """
        return (self.short or self.name[:10]) if fmt == "shp" else self.name


@dataclass
class Layer:
    """A layer to write: name, geometry type, fields, rows and one geometry per row."""

    name: str
    geometry_type: str  # "MultiPolygon" or "Point"
    fields: list[Field]
    rows: list[dict[str, Any]] = field(default_factory=list)
    geoms: list[BaseGeometry | None] = field(default_factory=list)

    def add(self, row: dict[str, Any], geom: BaseGeometry | None) -> None:
        """Append one feature."""
        self.rows.append(row)
        if geom is not None and geom.is_empty:
            geom = None
        if isinstance(geom, Polygon) and self.geometry_type == "MultiPolygon":
            geom = MultiPolygon([geom])
        self.geoms.append(geom)


def _column(f: Field, rows: Sequence[dict[str, Any]], fmt: str) -> tuple[Any, Any]:
    values = [r.get(f.name) for r in rows]
    mask = np.array([v is None for v in values], dtype=bool)
    if f.kind == "int":
        arr: Any = np.array([0 if v is None else int(v) for v in values], dtype="int64")
    elif f.kind == "float":
        arr = np.array([np.nan if v is None else float(v) for v in values], dtype="float64")
    elif f.kind == "bool":
        arr = np.array([bool(v) for v in values], dtype=bool)
    elif f.kind == "date":
        arr = np.array(
            [v.isoformat() if isinstance(v, date) else "NaT" for v in values], dtype="datetime64[D]"
        )
        if fmt in ("kml", "csv"):
            arr = np.array([None if v is None else v.isoformat() for v in values], dtype=object)
    elif fmt == "csv":  # opened in spreadsheets: formula-like text is neutralised
        arr = np.array([None if v is None else csv_cell(str(v)) for v in values], dtype=object)
    else:
        arr = np.array([None if v is None else str(v) for v in values], dtype=object)
    return arr, (mask if mask.any() and f.kind in ("int", "bool") else None)


def _targets(fmt: str, out: Path, layers: Sequence[Layer]) -> list[Path]:
    _driver, ext, multi = FORMATS[fmt]
    if multi:
        return [out] * len(layers)
    if len(layers) == 1 and out.suffix.lower() == ext:
        return [out]
    return [out / f"{layer.name}{ext}" for layer in layers]


def write_layers(layers: Sequence[Layer], fmt: str, out: Path) -> list[Path]:
    """Write layers in one format; return the files written.

    GeoPackage holds every layer in one file; the other formats hold one layer per file, so
    ``out`` is a directory (unless a single layer is written to a file with the right suffix).
    Existing files of the same names are replaced.
    """
    if fmt not in FORMATS:
        raise ValidationError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    driver, ext, _multi = FORMATS[fmt]
    targets = _targets(fmt, out, layers)
    for t in dict.fromkeys(targets):
        t.parent.mkdir(parents=True, exist_ok=True)
        if t.is_dir():
            raise ValidationError(f"{t} is a directory; give a file name ending in {ext}")
        if fmt == "shp":
            for sib in t.parent.glob(t.stem + ".*"):
                if sib.suffix.lower() in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
                    sib.unlink()
        elif t.exists():
            t.unlink()
    for layer, target in zip(layers, targets, strict=True):
        geoms = np.array(
            [None if g is None else shapely.to_wkb(g) for g in layer.geoms], dtype=object
        )
        cols = [_column(f, layer.rows, fmt) for f in layer.fields]
        options: dict[str, Any] = {}
        if fmt == "csv":
            options["layer_options"] = {"GEOMETRY": "AS_WKT"}
        if fmt == "fgb" and any(g is None for g in layer.geoms):
            options["layer_options"] = {"SPATIAL_INDEX": "NO"}
        if fmt == "shp":
            options["encoding"] = "UTF-8"
        ogr_write(
            str(target),
            geoms,
            [c[0] for c in cols],
            [f.name_for(fmt) for f in layer.fields],
            field_mask=[c[1] for c in cols],
            layer=layer.name,
            driver=driver,
            geometry_type=layer.geometry_type,
            crs="EPSG:4326",
            **options,
        )
    return list(dict.fromkeys(targets))


def remove(path: Path) -> None:
    """Remove a file or directory tree if it exists."""
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
