"""``report.payload`` keeps the JSON text the program wrote (PostgreSQL ``json``, migration 0013)."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError
from tests.factories import hazard_report

from mineaction.services import ledger
from mineaction.store.engine import Store


def _stored_text(store: Store, rid: str) -> str:
    with store.read() as conn:
        q = text("SELECT CAST(payload AS TEXT) FROM report WHERE report_id = :r")
        return str(conn.execute(q, {"r": rid}).scalar_one())


def test_payload_is_stored_as_the_text_written(store: Store) -> None:
    """Both stores keep the compact text in the report's own key order (no jsonb reordering).

    A recompute reads this text as it is: PostgreSQL need not print a ``jsonb`` value back.
    """
    ledger.submit(store, hazard_report("R-HA-1", "H1", name="Field north of the road"))
    stored = _stored_text(store, "R-HA-1")
    with store.read() as conn:
        row = conn.execute(text("SELECT payload FROM report")).scalar_one()
    as_read = orjson.loads(row) if isinstance(row, str) else row
    assert stored == orjson.dumps(as_read).decode()
    assert list(as_read)[:3] == ["format", "report_id", "type"]
    assert list(as_read["hazard"])[:2] == ["hazard_id", "name"]
    if store.dialect == "postgresql":
        with store.read() as conn:
            kind = conn.execute(
                text(
                    "SELECT data_type FROM information_schema.columns "
                    "WHERE table_name = 'report' AND column_name = 'payload'"
                )
            ).scalar_one()
        assert kind == "json"


def test_payload_jsonb_could_not_hold_is_still_refused(pg_url: str, fresh_pg_db: str) -> None:
    """``\\u0000`` in a string: ``jsonb`` refused it, the CHECK of migration 0013 still does."""
    store = Store(fresh_pg_db, check_schema=False)
    try:
        store.upgrade()
        with pytest.raises(DataError, match="Unicode escape"):
            ledger.submit(store, hazard_report("R-HA-1", "H1", name="a\x00b"))
        with store.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM report")).scalar() == 0
        ledger.submit(store, hazard_report("R-HA-2", "H2", name="a b"))
        assert orjson.loads(_stored_text(store, "R-HA-2"))["hazard"]["name"] == "a b"
    finally:
        store.dispose()
