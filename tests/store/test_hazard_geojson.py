"""hazard.geom_geojson: written with every projected hazard, never stale (SQLite and PostGIS)."""

from __future__ import annotations

import orjson
import shapely
from sqlalchemy import text
from tests.factories import activity_report, hazard_report, rect

from mineaction.core.access import Scope
from mineaction.ogc.collections import COLLECTIONS, Query
from mineaction.services import ledger
from mineaction.store.engine import Store


def _stored(store: Store) -> dict[str, tuple[str | None, bytes]]:
    wkb = "ST_AsBinary(geom)" if store.dialect == "postgresql" else "geom"
    with store.read() as conn:
        rows = conn.execute(text(f"SELECT hazard_id, geom_geojson, {wkb} FROM hazard")).all()
    return {r[0]: (r[1], bytes(r[2])) for r in rows}


def _approve(store: Store, doc: dict[str, object]) -> None:
    ledger.submit(store, doc)
    ledger.approve(store, str(doc["report_id"]), actor="im")


def test_approvals_and_recompute_write_the_polygon_as_geojson(store: Store) -> None:
    _approve(store, hazard_report("R-1", "H1"))
    _approve(store, hazard_report("R-2", "H2", polygon=rect(0.01, 0.01, 0.013, 0.012)))
    # an expansion changes H1's polygon: its text follows
    _approve(store, hazard_report("R-3", "H1", date="2024-02-01", polygon=rect(0, 0, 0.006, 0.003)))
    _approve(
        store, activity_report("R-4", "H2", releases=[("cleared", rect(0.01, 0.01, 0.011, 0.012))])
    )
    approved = _stored(store)
    assert set(approved) == {"H1", "H2"}
    for text_, wkb in approved.values():
        assert text_ == shapely.to_geojson(shapely.from_wkb(wkb))
    assert orjson.loads(approved["H1"][0] or "")["coordinates"][0][0][0] == 35.206
    ledger.recompute(store)
    assert _stored(store) == approved  # the same text from the batch writer


def test_changing_geom_without_the_text_clears_it_and_items_still_answer(store: Store) -> None:
    _approve(store, hazard_report("R-1", "H1"))
    other = shapely.box(35.3, 51.3, 35.31, 51.31)
    geom = "ST_GeomFromText(:w, 4326)" if store.dialect == "postgresql" else "CAST(:b AS BLOB)"
    with store.write() as conn:
        conn.execute(
            text(f"UPDATE hazard SET geom = {geom} WHERE hazard_id = 'H1'"),
            {"w": other.wkt, "b": shapely.to_wkb(other)},
        )
    ((text_, _wkb),) = _stored(store).values()
    assert text_ is None  # the trigger: never a stale text
    hazards = COLLECTIONS["hazards"]
    with store.read() as conn:
        page = hazards.read(conn, Scope(), Query(), store.dialect)
    (feature,) = page.dicts()
    assert shapely.geometry.shape(feature["geometry"]).equals(other)
    # writing the geometry and its text together keeps the text
    with store.write() as conn:
        conn.execute(
            text(f"UPDATE hazard SET geom = {geom}, geom_geojson = :t WHERE hazard_id = 'H1'"),
            {"w": other.wkt, "b": shapely.to_wkb(other), "t": shapely.to_geojson(other)},
        )
    assert next(iter(_stored(store).values()))[0] == shapely.to_geojson(other)
