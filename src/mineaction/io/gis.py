"""GIS files (GeoPackage, GeoJSON, Shapefile, KML/KMZ, FlatGeobuf) and coordinate tables.

Every feature or row becomes a :class:`Submission` for one of our forms (``--form`` or the
mapping's ``form``), so it is validated exactly like a field submission. A YAML column mapping
names the columns when they are not ours::

    form: ma_hazard            # which form the rows fill
    layer: hazards             # layer to read (default: the first)
    crs: EPSG:28407            # CRS of the coordinates, overriding the file's
    geometry: polygon          # form field that receives the feature geometry
    id: HAZ_NO                 # column identifying a record across re-imports
    columns:                   # our field: their column
      hazard_id: HAZ_NO
      classification: KLASS
      report_date: SURVEY_DATE
    values:                    # their value -> our code, per field
      classification: {suspected: SHA, confirmed: CHA}
    defaults:                  # answers used when a column is empty or absent
      report_date: 2024-05-01
    coordinates:               # tables only: x/y (with crs), lat/lon, mgrs or gk (X=…, Y=…)
      x: EASTING
      y: NORTHING
"""

from __future__ import annotations

import hashlib
import math
import tempfile
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import orjson
import shapely
import yaml
from shapely.geometry import mapping as shp_mapping

from mineaction.core.geometry import normalise_crs, to_wgs84
from mineaction.core.geoparse import (
    ABSURD_COORDINATE,
    check_sane,
    parse_gauss_kruger,
    parse_mgrs,
    parse_position,
    transform_xy,
)
from mineaction.errors import GeometryError, UnsafeCoordinateError, ValidationError
from mineaction.forms import FORMS, Form
from mineaction.io.safety import check_xml, open_zip, read_member
from mineaction.io.submissions import Submission

#: The form field a feature's geometry fills when the mapping does not say.
GEOMETRY_FIELD = {
    "ma_hazard": "polygon",
    "ma_activity": "release_polygon",
    "ma_eo_spot": "eo_point",
    "ma_accident": "accident_point",
    "ma_eore": "session_point",
}
MAX_FEATURES = 1_000_000
_MAPPING_KEYS = {
    "form",
    "layer",
    "crs",
    "geometry",
    "id",
    "columns",
    "values",
    "defaults",
    "coordinates",
}


class _NoAliasLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses anchors/aliases (no "billion laughs" in a mapping)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Refuse an alias; compose everything else as the safe loader does."""
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                problem=f"aliases (*{event.anchor}) are not allowed in a column mapping",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)


def yaml_error_text(exc: yaml.YAMLError) -> str:
    """Say what is wrong in a YAML text and where (line and column), in one line.

    >>> try:
    ...     yaml.safe_load("teams: [")
    ... except yaml.YAMLError as exc:
    ...     yaml_error_text(exc)
    "not valid YAML (line 1, column 9): expected the node content, but found '<stream end>'"
    """
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or not problem:
        return f"not valid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    return f"not valid YAML (line {mark.line + 1}, column {mark.column + 1}): {problem}"


def load_mapping(text: str | bytes, where: str = "mapping") -> dict[str, Any]:
    """Parse and check a YAML column mapping.

    >>> load_mapping("form: ma_hazard\\ncolumns: {hazard_id: HAZ_NO}")["columns"]
    {'hazard_id': 'HAZ_NO'}
    """
    try:
        doc = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        raise ValidationError(yaml_error_text(exc), where=where) from None
    if not isinstance(doc, dict):
        raise ValidationError("a column mapping is a YAML mapping (key: value)", where=where)
    unknown = set(doc) - _MAPPING_KEYS
    if unknown:
        raise ValidationError(
            f"unknown keys {sorted(unknown)}; allowed: {sorted(_MAPPING_KEYS)}", where=where
        )
    for key in ("columns", "values", "defaults", "coordinates"):
        if key in doc and not isinstance(doc[key], dict):
            raise ValidationError(f"{key!r} must be a mapping", where=where)
    if "form" in doc and doc["form"] not in FORMS:
        raise ValidationError(
            f"unknown form {doc['form']!r}; known: {', '.join(FORMS)}", where=where
        )
    form = FORMS.get(doc.get("form", ""))
    if form is not None:
        fields = form.fields()
        for key in ("columns", "values", "defaults"):
            for name in doc.get(key, {}) or {}:
                if name not in fields:
                    raise ValidationError(
                        f"{key}: {name!r} is not a field of form {form.form_id}", where=where
                    )
    if "crs" in doc:
        normalise_crs(str(doc["crs"]))
    return doc


def _form(form: str | None, mapping: dict[str, Any] | None, where: str) -> Form:
    name = (mapping or {}).get("form") or form
    if not name:
        raise ValidationError(
            "a GIS file or table needs --form (e.g. ma_hazard) or a mapping with 'form'",
            where=where,
        )
    if name not in FORMS:
        raise ValidationError(f"unknown form {name!r}; known: {', '.join(FORMS)}", where=where)
    return FORMS[name]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _digest(obj: Any) -> str:
    return hashlib.sha256(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()[
        :32
    ]


def _to_submission(
    props: dict[str, Any],
    geometry: dict[str, Any] | None,
    form: Form,
    mapping: dict[str, Any],
    where: str,
    problems: list[dict[str, str]],
) -> Submission:
    fields = form.fields()
    columns: dict[str, str] = {str(k): str(v) for k, v in (mapping.get("columns") or {}).items()}
    lower = {str(k).lower(): k for k in props}
    answers: dict[str, Any] = {}
    for name in fields:
        col = columns.get(name)
        key = col if col is not None and col in props else lower.get((col or name).lower())
        value = _plain(props.get(key)) if key is not None else None
        if isinstance(value, str) and not value.strip():
            value = None
        translate = (mapping.get("values") or {}).get(name)
        if value is not None and isinstance(translate, dict):
            value = translate.get(value, translate.get(str(value), value))
        if value is None and name in (mapping.get("defaults") or {}):
            value = _plain(mapping["defaults"][name])
        if value is not None:
            answers[name] = value
    geo_field = mapping.get("geometry") or GEOMETRY_FIELD.get(form.form_id)
    if geometry is not None and geo_field:
        answers[geo_field] = geometry
    repeats: dict[str, list[dict[str, Any]]] = {}
    for rname, rfields in form.repeats().items():
        row = {n: answers.pop(n) for n in rfields if n in answers}
        if row:
            repeats[rname] = [row]
    id_col = mapping.get("id")
    ident = props.get(id_col) if id_col else None
    content = _digest({"a": answers, "r": repeats})
    root = _digest({"id": str(ident)}) if ident not in (None, "") else content
    return Submission(
        system="gis",
        form_id=form.form_id,
        instance_id=content,
        root_id=root,
        where=where,
        answers=answers,
        repeats=repeats,
        raw={"properties": {k: _plain(v) for k, v in props.items()}, "geometry": geometry},
        problems=problems,
    )


def _geometry(
    wkb: Any, crs: str, where: str, problems: list[dict[str, str]]
) -> dict[str, Any] | None:
    if wkb is None:
        return None
    try:
        geom = shapely.from_wkb(wkb)
        if geom is None or geom.is_empty:
            return None
        coords = shapely.get_coordinates(geom, include_z=bool(shapely.has_z(geom)))
        bad = coords[~np.isfinite(coords) | (np.abs(np.nan_to_num(coords)) > ABSURD_COORDINATE)]
        if bad.size:
            check_sane(float(bad[0]), "coordinate", f"{where}, geometry")
        geom = shapely.force_2d(to_wgs84(geom, crs))
        coords = shapely.get_coordinates(geom)
        if not np.isfinite(coords).all():
            raise GeometryError(f"coordinates cannot be transformed from {crs}")
        return dict(shp_mapping(geom))
    except UnsafeCoordinateError:
        raise  # the whole file is refused
    except GeometryError as exc:
        problems.append({"field": "geometry", "message": exc.message})
    except Exception as exc:  # shapely/GEOS raise several kinds on malformed WKB
        problems.append({"field": "geometry", "message": f"unreadable geometry ({str(exc)[:80]})"})
    return None


def _read_ogr(
    path: str, where: str, layer: str | None
) -> tuple[dict[str, Any], Any, list[Any], Any]:
    import pyogrio
    from pyogrio.raw import read

    try:
        layers = pyogrio.list_layers(path)
        if not len(layers):
            raise ValidationError("the file has no layers", where=where)
        if layer is not None and layer not in [str(x[0]) for x in layers]:
            raise ValidationError(
                f"no layer {layer!r}; layers: {', '.join(str(x[0]) for x in layers)}", where=where
            )
        meta, _fids, geoms, values = read(
            path, layer=layer or str(layers[0][0]), datetime_as_string=True
        )
    except ValidationError:
        raise
    except Exception as exc:  # pyogrio DataSourceError, DataLayerError, FieldError, GDAL errors
        text = str(exc).replace(path, where).split("; It might help")[0][:160]
        raise ValidationError(
            f"cannot read the GIS file ({type(exc).__name__}: {text}); is it truncated or of "
            "another format?",
            where=where,
        ) from None
    return meta, geoms, list(meta["fields"]), values


def read_gis(
    data: bytes, filename: str, *, form: str | None = None, mapping: dict[str, Any] | None = None
) -> list[Submission]:
    """Read a GIS file (bytes) into submissions for one form; raise on an unreadable file."""
    where = PurePath(filename).name
    mapping = mapping or {}
    the_form = _form(form, mapping, where)
    ext = PurePath(filename).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="mineaction-gis-") as tmp:
        if ext == ".shp" and not data.startswith(b"PK"):
            raise ValidationError(
                "a Shapefile is several files (.shp, .shx, .dbf, .prj): zip them together and "
                "upload the .zip",
                where=where,
            )
        if ext in (".zip", ".kmz", ".shp"):  # a .shp here is bundled with its sidecar files
            zf = open_zip(data, where)
            members = [n for n in zf.namelist() if not n.endswith("/")]
            inner = [
                n
                for n in members
                if n.lower().endswith((".shp", ".kml", ".gpkg", ".fgb", ".geojson"))
            ]
            if not inner:
                raise ValidationError(
                    "no .shp, .kml, .gpkg, .fgb or .geojson in the archive", where=where
                )
            target = inner[0]
            for name in members:
                (Path(tmp) / PurePath(name).name).write_bytes(read_member(zf, name, where))
            path = str(Path(tmp) / PurePath(target).name)
            if target.lower().endswith(".kml"):
                check_xml(Path(path).read_bytes(), f"{where}/{target}")
        else:
            if ext == ".kml":
                check_xml(data, where)
            path = str(Path(tmp) / f"upload{ext}")
            Path(path).write_bytes(data)
        meta, geoms, names, values = _read_ogr(path, where, mapping.get("layer"))
    n = len(geoms) if geoms is not None else (len(values[0]) if values else 0)
    if n > MAX_FEATURES:
        raise ValidationError(f"more than {MAX_FEATURES} features", where=where)
    file_crs = meta.get("crs")
    crs = str(mapping.get("crs") or file_crs or "EPSG:4326")
    crs = normalise_crs(crs)
    out = []
    for i in range(n):
        props = {name: values[j][i] for j, name in enumerate(names)}
        rwhere = f"{where}, feature {i + 1}"
        problems: list[dict[str, str]] = []
        geometry = _geometry(geoms[i] if geoms is not None else None, crs, rwhere, problems)
        out.append(_to_submission(props, geometry, the_form, mapping, rwhere, problems))
    return out


def read_table(
    data: bytes, filename: str, *, form: str | None = None, mapping: dict[str, Any] | None = None
) -> list[Submission]:
    """Read a CSV table with coordinate columns into submissions."""
    from mineaction.io.submissions import _csv_rows

    return table_records(
        _csv_rows(data, PurePath(filename).name), filename, form=form, mapping=mapping
    )


_AUTO = (
    ("lat", "lon"),
    ("latitude", "longitude"),
    ("lat", "lng"),
    ("y", "x"),
    ("northing", "easting"),
)


def _number(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError
    return float(str(v).replace(" ", "").replace(",", ".")) if isinstance(v, str) else float(v)


def _row_point(
    row: dict[str, Any], coords: dict[str, Any], crs: str | None, where: str
) -> dict[str, Any] | None:
    lower = {str(k).lower(): k for k in row}

    def col(name: str | None) -> Any:
        if name is None:
            return None
        key = name if name in row else lower.get(str(name).lower())
        return None if key is None else row.get(key)

    if coords.get("mgrs"):
        text = col(coords["mgrs"])
        if text in (None, ""):
            return None
        lon, lat = parse_mgrs(str(text), where=where)
    elif coords.get("gk_x") or coords.get("gk_y"):
        x, y = col(coords.get("gk_x")), col(coords.get("gk_y"))
        if x in (None, "") or y in (None, ""):
            return None
        try:
            lon, lat = parse_gauss_kruger(_number(x), _number(y), where=where)
        except (ValueError, TypeError):
            raise GeometryError(f"X={x!r} Y={y!r} are not numbers", where=where) from None
    elif coords.get("position"):
        text = col(coords["position"])
        if text in (None, ""):
            return None
        lon, lat = parse_position(str(text), where=where)
    else:
        xs, ys = coords.get("x") or coords.get("lon"), coords.get("y") or coords.get("lat")
        if not (xs and ys):
            for ycol, xcol in _AUTO:
                if ycol in lower and xcol in lower:
                    xs, ys = lower[xcol], lower[ycol]
                    break
            else:
                return None
        x, y = col(xs), col(ys)
        if x in (None, "") or y in (None, ""):
            return None
        try:
            fx, fy = _number(x), _number(y)
        except (ValueError, TypeError):
            raise GeometryError(f"coordinates {x!r}, {y!r} are not numbers", where=where) from None
        lon, lat = transform_xy(fx, fy, crs or "EPSG:4326", where=where)
    return {"type": "Point", "coordinates": [lon, lat]}


def table_records(
    rows: list[dict[str, Any]],
    filename: str,
    *,
    form: str | None = None,
    mapping: dict[str, Any] | None = None,
) -> list[Submission]:
    """Turn table rows (CSV/XLSX) with coordinate columns into submissions."""
    where = PurePath(filename).name
    mapping = mapping or {}
    the_form = _form(form, mapping, where)
    if len(rows) > MAX_FEATURES:
        raise ValidationError(f"more than {MAX_FEATURES} rows", where=where)
    crs = normalise_crs(str(mapping["crs"])) if mapping.get("crs") else None
    coords = mapping.get("coordinates") or {}
    out = []
    for i, row in enumerate(rows, 2):
        rwhere = f"{where}, row {i}"
        problems: list[dict[str, str]] = []
        try:
            point = _row_point(row, coords, crs, rwhere)
        except UnsafeCoordinateError:
            raise  # the whole file is refused
        except ValidationError as exc:
            problems.append({"field": "coordinates", "message": exc.message})
            point = None
        out.append(_to_submission(row, point, the_form, mapping, rwhere, problems))
    return out
