"""Column types shared by SQLite and PostGIS: geometry and JSON."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import JSON, LargeBinary
from sqlalchemy.dialects.postgresql import JSON as PG_JSON
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType


class _PostGISGeometry(UserDefinedType[Any]):
    """PostGIS ``geometry(Geometry, 4326)``."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        """Return the PostGIS column type."""
        return "geometry(Geometry,4326)"


class Geometry(TypeDecorator[BaseGeometry]):
    """A WGS84 geometry: PostGIS ``geometry`` on PostgreSQL, WKB ``BLOB`` on SQLite.

    Python values are shapely geometries. On PostgreSQL values travel as hex EWKB with
    SRID 4326, which PostGIS reads and writes natively.
    """

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Use the PostGIS type on PostgreSQL."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_PostGISGeometry())
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Encode a shapely geometry as WKB (bytes on SQLite, hex EWKB on PostGIS)."""
        if value is None:
            return None
        if isinstance(value, bytes | str):
            value = shapely.from_wkb(value)
        if dialect.name == "postgresql":
            return shapely.to_wkb(shapely.set_srid(value, 4326), hex=True, include_srid=True)
        return shapely.to_wkb(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> BaseGeometry | None:
        """Decode WKB or hex EWKB into a shapely geometry."""
        if value is None:
            return None
        geom = shapely.from_wkb(value)
        return shapely.set_srid(geom, 0) if dialect.name == "postgresql" else geom


JSONType = JSON().with_variant(JSONB(), "postgresql")
"""JSON: text on SQLite, ``jsonb`` on PostgreSQL."""

JSONTextType = JSON().with_variant(PG_JSON(), "postgresql")
"""JSON kept as the text written: text on SQLite, ``json`` on PostgreSQL (``report.payload``).

A full recompute reads every payload as text; ``jsonb`` would be printed back to text by
the server each time (migration 0013).
"""
