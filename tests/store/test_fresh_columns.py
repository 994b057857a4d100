"""Fresh derived rows column by column: encoded as stored, and digested without the encoding."""

from __future__ import annotations

import math
import pickle
from datetime import date, datetime
from typing import Any

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from mineaction.store import schema as s
from mineaction.store import shards as sh
from mineaction.store.bulkwrite import FreshColumns, encode_columns, write_encoded
from mineaction.store.engine import Store, _dumps
from mineaction.store.types import Geometry

_SQUARE = [(35.0, 51.0), (35.1, 51.0), (35.1, 51.1), (35.0, 51.0)]
_HOLED = Polygon(
    [(35, 51), (36, 51), (36, 52), (35, 52)], [[(35.2, 51.2), (35.4, 51.2), (35.4, 51.4)]]
)

#: Values a column of each kind might get, with near-misses that encode differently (or the
#: same): int/float, signed zero, NaN/inf/None, dates/datetimes/text, JSON key order and key
#: types, tuples, bools, geometries with another type or SRID.
POOLS: dict[str, list[Any]] = {
    "float": [None, 0, 0.0, -0.0, 1, 1.0, True, math.nan, math.inf, -math.inf, 2.5, 1e300],
    "int": [None, 0, 1, True, False, 1.0, 2**40],
    "text": [None, "", "a", "A", "é", "2024-01-01", "null", "1", date(2024, 1, 1)],
    "date": [
        None,
        date(2024, 1, 1),
        date(2024, 1, 2),
        date(1, 1, 1),
        datetime(2024, 1, 1),
        datetime(2024, 1, 1, 5),
    ],
    "json": [
        None,
        "null",
        {},
        [],
        {"a": 1, "b": 2},
        {"b": 2, "a": 1},
        {1: "x"},
        {"1": "x"},
        [1, 2],
        (1, 2),
        [1.0, 2],
        {"x": -0.0},
        {"x": 0.0},
        {"x": None},
        {"x": math.nan},
        "é",
        True,
        1,
    ],
    "bool": [None, True, False, 1, 0],
    "geometry": [
        None,
        Point(35, 51),
        Point(35, 51.000000000000001),
        shapely.set_srid(Point(35, 51), 4326),
        Point(35, 51, 0),
        Point(),
        Polygon(_SQUARE),
        MultiPolygon([Polygon(_SQUARE)]),
        _HOLED,
        Polygon(),
    ],
}
#: A column of each kind, in a real derived table.
COLUMNS: dict[str, tuple[Table, str]] = {
    "float": (s.hazard, "remaining_m2"),
    "int": (s.hazard, "eo_total"),
    "text": (s.hazard, "name"),
    "date": (s.hazard, "closed_on"),
    "json": (s.hazard, "details"),
    "bool": (s.accident, "demining"),
    "geometry": (s.hazard, "cleared_geom"),
}


def _dialects() -> list[Any]:
    lite = Store("sqlite://", check_schema=False).engine.dialect  # with the engine's serializer
    pg = postgresql.psycopg.dialect(json_serializer=_dumps)
    return [lite, pg]


def _exact(values: list[Any]) -> bytes:
    """Bytes equal only for equal values of equal types (as the driver receives them)."""
    try:
        return pickle.dumps(values, protocol=5)
    except TypeError:  # not picklable (cannot be bound either)
        return repr(values).encode()


def _encoded(dialect: Any, table: Table, name: str, values: list[Any]) -> bytes | None:
    try:
        return _exact(FreshColumns(dialect, table, [name], [values]).encoded()[0])
    except (TypeError, ValueError, AttributeError):  # values this column cannot take
        return None


@pytest.mark.parametrize("kind", sorted(POOLS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_equal_parts_mean_equal_encodings(kind: str, data: st.DataObject) -> None:
    """A digest part never vouches for other encoded values (so other stored bytes)."""
    table, name = COLUMNS[kind]
    pool = st.sampled_from(POOLS[kind])
    n = data.draw(st.integers(1, 4))
    a = data.draw(st.lists(pool, min_size=n, max_size=n))
    b = data.draw(st.lists(pool, min_size=n, max_size=n))
    for dialect in _dialects():
        try:
            part_a = FreshColumns(dialect, table, [name], [a]).parts()[0]
            part_b = FreshColumns(dialect, table, [name], [b]).parts()[0]
        except (TypeError, ValueError, AttributeError):
            continue  # values that cannot be digested cannot be written either
        enc_a, enc_b = _encoded(dialect, table, name, a), _encoded(dialect, table, name, b)
        if part_a == part_b:
            assert enc_a == enc_b, (dialect.name, a, b)
        # and the part is the same whether the column was encoded first or not
        both = FreshColumns(dialect, table, [name], [a])
        if enc_a is not None:
            both.encoded()
            assert both.parts()[0] == part_a


def _sample_rows() -> dict[Table, list[dict[str, Any]]]:
    """Rows of every derived table with awkward values (None, unicode, non-text JSON keys)."""
    out: dict[Table, list[dict[str, Any]]] = {}
    for table in (s.hazard, *sh.PER_REPORT):
        rows = []
        for i in range(3):
            row: dict[str, Any] = {}
            for col in table.columns:
                if col.name == "id":
                    continue
                t = col.type
                if isinstance(t, Geometry):
                    v: Any = [Polygon(_SQUARE), Point(35.5, 51.5), _HOLED][i]
                elif type(t).__name__ == "Date":
                    v = [date(2024, 1, 31), None, date(999, 12, 1)][i]
                elif type(t).__name__ == "JSON":
                    v = [{"é": [1, 2.5, None]}, {3: {"b": 1, "a": -0.0}}, ["x", "y"]][i]
                elif type(t).__name__ == "Boolean":
                    v = [True, False, None][i]
                elif type(t).__name__ in ("Float",):
                    v = [1.5, -0.0, 1e-300][i]
                elif type(t).__name__ == "Integer":
                    v = [1, 0, 2**30][i]
                else:
                    v = [f"{table.name[:2]}{i}", "Ü✓", "x"][i]
                if not col.nullable and v is None:
                    v = {"Date": date(2020, 2, 29), "Boolean": True}.get(type(t).__name__, v)
                row[col.name] = v
            rows.append(row)
        out[table] = rows
    return out


def _stored(conn: Any, table: Table) -> list[str]:
    """The stored rows (all columns but ``id``) as the driver returns them, in order."""
    cols = ", ".join(f'"{c}"' for c in sh.compare_columns(table))
    cur = conn.exec_driver_sql(f'SELECT {cols} FROM "{table.name}"')
    return sorted(map(repr, cur.all()))


def test_encoded_columns_are_what_sqlalchemy_stores(store: Store) -> None:
    """Rows written from FreshColumns are stored exactly as rows inserted by SQLAlchemy."""
    with store.write() as conn:
        for table, batch in _sample_rows().items():
            cols = sh.compare_columns(table)
            fresh = FreshColumns.of_rows(conn.dialect, table, cols, batch)
            encoded = fresh.encoded()
            assert encoded == encode_columns(conn.dialect, table, cols, batch)
            write_encoded(conn, table, cols, list(zip(*encoded, strict=True)))
            ours = _stored(conn, table)
            conn.execute(table.delete())
            conn.execute(table.insert(), batch)
            assert ours == _stored(conn, table), table.name
            conn.execute(table.delete())


def test_digest_covers_version_and_libraries() -> None:
    part = FreshColumns(sqlite.dialect(), s.handover, ["report_id"], [["R1"]]).parts()
    a = sh.rows_digest("sqlite", "handover", ["report_id"], 1, part)
    assert a == sh.rows_digest("sqlite", "handover", ["report_id"], 1, part)
    assert a != sh.rows_digest("postgresql", "handover", ["report_id"], 1, part)
    assert sh.DIGEST_VERSION.endswith(b"-2")
    assert any(e.startswith("geos ") for e in sh._ENCODERS)
