"""Bulk writes through the driver store exactly what SQLAlchemy's insert stores (both stores).

On PostgreSQL the rows go by binary COPY where every value fits it (geometries as EWKB
bytes, jsonb in its binary input form, floats as their 8 bytes), else by text COPY: either
way every stored value must be the one an ordinary ``INSERT`` stores.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from shapely.geometry import Point, box
from sqlalchemy import Connection, Table, delete, insert, text
from sqlalchemy.exc import DataError

from mineaction.store import schema as s
from mineaction.store.bulkwrite import encode_rows, format_copy, insert_many
from mineaction.store.engine import Store


def _accidents() -> list[dict[str, Any]]:
    rows = []
    values: list[tuple[Any, ...]] = [
        # killed, injured, x, y, demining, location, when
        (2**31 - 1, -(2**31), -0.0, 1e-320, True, "é☃\t\n\\ x", date(1, 1, 1)),
        (0, 3, 1.7976931348623157e308, 0.1, False, "", date(9999, 12, 31)),
        (1, 0, None, None, False, None, date(2024, 2, 29)),
    ]
    for i, (killed, injured, x, y, demining, location, when) in enumerate(values):
        rows.append(
            {
                "accident_id": f"A{i}",
                "report_id": f"R-AC-{i}",
                "organisation": "FSD",
                "date": when,
                "device_category": "AP_MINE",
                "demining": demining,
                "hazard_id": None if i == 2 else "H1",
                "location": location,
                "killed": killed,
                "injured": injured,
                "geom": Point(35.2 + i / 7, 51.2) if i != 1 else box(35.2, 51.2, 35.3, 51.3),
                "x": x,
                "y": y,
            }
        )
    return rows


def _handovers() -> list[dict[str, Any]]:
    return [
        {
            "report_id": f"R-HO-{i}",
            "hazard_id": "H1",
            "organisation": "FSD",
            "date": date(2024, 5, i + 1),
            "recipient": "Sudzha community",
            "certificate": None,
            "community": community,
        }
        for i, community in enumerate(
            [{"b": [1, 2.5, None], "a": "x\ty", "é": {"n": -0.0}}, None, [], "text", 3]
        )
    ]


def _stored(conn: Connection, table: Table) -> list[tuple[Any, ...]]:
    """Every column as stored (PostgreSQL: as it prints it: hex EWKB, exact floats, ...)."""
    pattern = 'CAST("{}" AS TEXT)' if conn.dialect.name == "postgresql" else '"{}"'
    cols = ", ".join(pattern.format(c.name) for c in table.columns)
    key = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
    return [
        tuple(r) for r in conn.execute(text(f'SELECT {cols} FROM "{table.name}" ORDER BY {key}'))
    ]


@pytest.mark.parametrize(
    ("table", "rows"), [(s.accident, _accidents()), (s.handover, _handovers())], ids=str
)
def test_bulk_write_stores_what_insert_stores(
    store: Store, table: Table, rows: list[dict[str, Any]]
) -> None:
    with store.write() as conn:
        conn.execute(insert(table), rows)
        expected = _stored(conn, table)
        conn.execute(delete(table))
        insert_many(conn, table, rows)
        assert _stored(conn, table) == expected
        if store.dialect == "postgresql":
            keys, data = encode_rows(conn.dialect, table, rows)
            assert format_copy(conn, table, keys, data).binary


def test_values_binary_copy_cannot_take_go_as_text(store: Store) -> None:
    """An int in a float column (binary COPY takes floats only): text COPY, the same values."""
    rows = _accidents()
    rows[0]["x"] = 5
    with store.write() as conn:
        conn.execute(insert(s.accident), rows)
        expected = _stored(conn, s.accident)
        conn.execute(delete(s.accident))
        insert_many(conn, s.accident, rows)
        assert _stored(conn, s.accident) == expected
        if store.dialect == "postgresql":
            keys, data = encode_rows(conn.dialect, s.accident, rows)
            assert not format_copy(conn, s.accident, keys, data).binary


def test_integer_out_of_range_is_refused_not_wrapped(pg_url: str, fresh_pg_db: str) -> None:
    """Binary COPY would send 2**31 as -2**31: such a batch goes as text and PostgreSQL refuses."""
    store = Store(fresh_pg_db, check_schema=False)
    try:
        store.upgrade()
        rows = _accidents()
        rows[2]["killed"] = 2**31
        with pytest.raises(DataError, match="out of range"), store.write() as conn:
            insert_many(conn, s.accident, rows)
        with store.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM accident")).scalar() == 0
    finally:
        store.dispose()
