"""Upgrading a database made by an earlier schema keeps every record (SQLite and PostGIS).

Pattern for every new migration: add a ``seed_NNNN(conn, dialect)`` below that writes data with
raw SQL in the shape of schema ``NNNN`` (never through today's code, which follows the newest
schema) and returns the rows it expects to find afterwards, then register it in ``SEEDS``. The
test creates a database at that revision with Alembic, seeds it, upgrades it to head, and checks
that every seeded row is still there, unchanged, and that the ledger recomputes and checks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import shapely
from sqlalchemy import Connection, text

from mineaction.services import ledger
from mineaction.store.engine import Store

HAZARD_PAYLOAD = (
    '{"format":"mineaction.report/1","report_id":"M-HA-1","type":"hazard","organisation":"FSD",'
    '"date_of_information":"2024-01-10","extensions":{},"hazard":{"hazard_id":"MH1","evidence":'
    '[{"type":"VERBAL_REPORT"}],"contamination":["AP_MINE"],"polygon":{"type":"Polygon",'
    '"coordinates":[[[35.204,51.2],[35.204,51.202000000000005],[35.2,51.202000000000005],'
    '[35.2,51.2],[35.204,51.2]]]},"blockages":[]}}'
)
CLEARANCE_PAYLOAD = (
    '{"format":"mineaction.report/1","report_id":"M-CL-1","type":"activity","organisation":'
    '"FSD","date_of_information":"2024-03-01","extensions":{},"activity":{"hazard_id":"MH1",'
    '"activity_type":"CLEARANCE","stage":"progress","assets":[],"start_date":"2024-03-01",'
    '"clearance_depth_cm":20.0,"releases":[{"outcome":"cleared","polygon":{"type":"Polygon",'
    '"coordinates":[[[35.202000000000005,51.2],[35.202000000000005,51.202000000000005],'
    '[35.2,51.202000000000005],[35.2,51.2],[35.202000000000005,51.2]]]},"criteria":[]}],'
    '"eo_items":[{"category":"AP_MINE","model":"PMN-2","quantity":2,"condition":"unknown"}]}}'
)
PENDING_PAYLOAD = HAZARD_PAYLOAD.replace("M-HA-1", "M-HA-2").replace('"MH1"', '"MH2"')

Expected = dict[str, list[tuple[Any, ...]]]  # table -> rows of (selected columns...)


def _ts(dialect: str, iso: str) -> str:
    """A timestamp literal as each store keeps it (SQLAlchemy's SQLite text form, or ISO)."""
    return iso.replace("T", " ") + ".000000" if dialect == "sqlite" else iso + "+00:00"


def _json(dialect: str) -> str:
    return "CAST(:{} AS JSONB)" if dialect == "postgresql" else ":{}"


def _geom(dialect: str) -> str:
    return "ST_GeomFromEWKB(:{})" if dialect == "postgresql" else ":{}"


def seed_0001(conn: Connection, dialect: str) -> Expected:
    """The initial schema: settings, an organisation, a location, a ledger of three reports."""
    j, g = _json(dialect), _geom(dialect)
    conn.execute(
        text(f"INSERT INTO setting (key, value) VALUES ('programme_name', {j.format('v')})"),
        {"v": '"Kursk border (migration test)"'},
    )
    conn.execute(
        text(
            "INSERT INTO organisation (code, name, kind, country) VALUES "
            "('FSD', 'Swiss Foundation for Mine Action', 'operator', 'CH')"
        )
    )
    loc = shapely.to_wkb(shapely.box(35.1, 51.1, 35.3, 51.3), include_srid=True)
    if dialect == "postgresql":
        loc = shapely.to_wkb(
            shapely.set_srid(shapely.box(35.1, 51.1, 35.3, 51.3), 4326), include_srid=True
        )
    else:
        loc = shapely.to_wkb(shapely.box(35.1, 51.1, 35.3, 51.3))
    conn.execute(
        text(
            "INSERT INTO location (pcode, name, admin_level, population, geom) VALUES "
            f"('RU46', 'Kursk Oblast', 1, 1082458, {g.format('g')})"
        ),
        {"g": loc},
    )
    reports = [
        (1, "M-HA-1", "hazard", "MH1", "2024-01-10", "approved", HAZARD_PAYLOAD, 1),
        (2, "M-CL-1", "activity", "MH1", "2024-03-01", "approved", CLEARANCE_PAYLOAD, 2),
        (3, "M-HA-2", "hazard", "MH2", "2024-01-10", "submitted", PENDING_PAYLOAD, None),
    ]
    for seq, rid, typ, hid, doi, state, payload, aseq in reports:
        conn.execute(
            text(
                "INSERT INTO report (seq, report_id, type, organisation, hazard_id, "
                "date_of_information, state, payload, warnings, submitted_at, submitted_by, "
                "approval_seq, approved_at, approved_by, version) VALUES (:seq, :rid, :typ, "
                f"'FSD', :hid, :doi, :state, {j.format('payload')}, {j.format('warnings')}, "
                ":sat, 'alice', :aseq, :aat, :aby, :version)"
            ),
            {
                "seq": seq,
                "rid": rid,
                "typ": typ,
                "hid": hid,
                "doi": doi,
                "state": state,
                "payload": payload,
                "warnings": "[]",
                "sat": _ts(dialect, "2024-05-01T10:00:00"),
                "aseq": aseq,
                "aat": _ts(dialect, "2024-05-02T10:00:00") if aseq else None,
                "aby": "im" if aseq else None,
                "version": 2 if aseq else 1,
            },
        )
        conn.execute(
            text(
                "INSERT INTO report_event (report_id, at, actor, action, from_state, to_state) "
                "VALUES (:rid, :at, 'alice', 'submit', NULL, 'submitted')"
            ),
            {"rid": rid, "at": _ts(dialect, "2024-05-01T10:00:00")},
        )
        if aseq:
            conn.execute(
                text(
                    "INSERT INTO report_event (report_id, at, actor, action, from_state, "
                    "to_state) VALUES (:rid, :at, 'im', 'approve', 'submitted', 'approved')"
                ),
                {"rid": rid, "at": _ts(dialect, "2024-05-02T10:00:00")},
            )
    conn.execute(
        text(
            "INSERT INTO audit_log (at, actor, action, entity, entity_id, details) VALUES "
            f"(:at, 'im', 'approve', 'report', 'M-HA-1', {j.format('d')})"
        ),
        {"at": _ts(dialect, "2024-05-02T10:00:00"), "d": '{"note": "seeded at 0001"}'},
    )
    return {
        "SELECT key FROM setting": [("programme_name",)],
        "SELECT code, name, country FROM organisation": [
            ("FSD", "Swiss Foundation for Mine Action", "CH")
        ],
        "SELECT pcode, name, admin_level, population FROM location": [
            ("RU46", "Kursk Oblast", 1, 1082458)
        ],
        "SELECT seq, report_id, state, approval_seq, version FROM report ORDER BY seq": [
            (1, "M-HA-1", "approved", 1, 2),
            (2, "M-CL-1", "approved", 2, 2),
            (3, "M-HA-2", "submitted", None, 1),
        ],
        "SELECT report_id, action FROM report_event ORDER BY id": [
            ("M-HA-1", "submit"),
            ("M-HA-1", "approve"),
            ("M-CL-1", "submit"),
            ("M-CL-1", "approve"),
            ("M-HA-2", "submit"),
        ],
        "SELECT actor, action, entity_id FROM audit_log ORDER BY id": [("im", "approve", "M-HA-1")],
    }


def seed_0006(conn: Connection, dialect: str) -> Expected:
    """Schema 0006: the 0001 ledger plus its projected hazard row (0007 indexes hazards)."""
    expected = seed_0001(conn, dialect)
    j, g = _json(dialect), _geom(dialect)
    poly = shapely.box(35.2, 51.2, 35.204, 51.202)
    conn.execute(
        text(
            "INSERT INTO hazard (hazard_id, organisation, classification, status, contamination, "
            "area_m2, cancelled_m2, reduced_m2, cleared_m2, remaining_m2, expansion_m2, "
            "eo_found, eo_total, report_count, flags, details, geom, minx, miny, maxx, maxy, "
            f"version) VALUES ('MH1', 'FSD', 'SHA', 'open', {j.format('c')}, 61000, 0, 0, "
            f"0, 61000, 0, {j.format('e')}, 0, 1, {j.format('f')}, {j.format('d')}, "
            f"{g.format('g')}, 35.2, 51.2, 35.204, 51.202, 1)"
        ),
        {
            "c": '["AP_MINE"]',
            "e": "{}",
            "f": "[]",
            "d": "{}",
            "g": shapely.to_wkb(shapely.set_srid(poly, 4326), include_srid=True)
            if dialect == "postgresql"
            else shapely.to_wkb(poly),
        },
    )
    expected["SELECT hazard_id, minx, maxy FROM hazard"] = [("MH1", 35.2, 51.202)]
    if dialect == "sqlite":
        # 0007: the existing hazard is in the R*Tree (float32 box, rounded outwards)
        expected[
            "SELECT count(*) FROM hazard_rtree r JOIN hazard h ON h.rowid = r.id WHERE "
            "r.minx <= h.minx AND r.maxx >= h.maxx AND r.miny <= h.miny AND r.maxy >= h.maxy"
        ] = [(1,)]
    return expected


def _wkb(dialect: str, geom: Any) -> bytes:
    if dialect == "postgresql":
        return bytes(shapely.to_wkb(shapely.set_srid(geom, 4326), include_srid=True))
    return bytes(shapely.to_wkb(geom))


def seed_0008(conn: Connection, dialect: str) -> Expected:
    """Schema 0008: the 0006 data plus an account, an EO find and an accident (no x/y yet)."""
    expected = seed_0006(conn, dialect)
    g = _geom(dialect)
    at = _ts(dialect, "2024-05-01T10:00:00")
    conn.execute(
        text(
            "INSERT INTO app_user (username, display_name, role, organisation, admin_area, "
            "password_hash, disabled, created_at, updated_at, version) VALUES ('olga', 'Olga', "
            "'viewer', 'FSD', NULL, NULL, false, :at, :at, 1)"
        ),
        {"at": at},
    )
    conn.execute(
        text(
            "INSERT INTO eo_item (report_id, hazard_id, organisation, date, source, category, "
            f"quantity, geom) VALUES ('M-CL-1', 'MH1', 'FSD', '2024-03-01', 'activity', "
            f"'AP_MINE', 2, {g.format('g')})"
        ),
        {"g": _wkb(dialect, shapely.Point(35.201, 51.201))},
    )
    conn.execute(
        text(
            "INSERT INTO accident (accident_id, report_id, organisation, date, device_category, "
            "demining, killed, injured, geom) VALUES ('ACC-1', 'M-CL-1', 'FSD', '2024-03-02', "
            f"'AP_MINE', false, 0, 1, {g.format('g')})"
        ),
        {"g": _wkb(dialect, shapely.Point(35.25, 51.25))},
    )
    expected.update(
        {
            "SELECT username, role, organisation, locale FROM app_user": [
                ("olga", "viewer", "FSD", None)
            ],
            "SELECT category, quantity, x, y FROM eo_item": [("AP_MINE", 2, 35.201, 51.201)],
            "SELECT accident_id, injured, x, y FROM accident": [("ACC-1", 1, 35.25, 51.25)],
            "SELECT count(*) FROM code_term": [(0,)],
        }
    )
    return expected


def seed_0009(conn: Connection, dialect: str) -> Expected:
    """Schema 0009: the ledger of 0001 plus an import batch and a quarantined record."""
    expected = seed_0001(conn, dialect)
    j = _json(dialect)
    conn.execute(
        text(
            "INSERT INTO import_batch (batch_id, at, actor, organisation, filename, format, "
            f"sha256, counts) VALUES ('B1', :at, 'alice', 'FSD', 'eo.json', 'kobo-json', "
            f"'{'0' * 64}', {j.format('counts')})"
        ),
        {
            "at": _ts(dialect, "2024-05-03T10:00:00"),
            "counts": '{"ma_eo_spot": {"read": 2, "new": 1, "duplicate": 0, "rejected": 1}}',
        },
    )
    conn.execute(
        text(
            "INSERT INTO quarantine (batch_id, at, organisation, filename, record, record_key, "
            "source_key, form_id, field, message, problems, raw, resolved) VALUES ('B1', :at, "
            "'FSD', 'eo.json', 'eo.json, submission 2', :key, 'uuid:2', 'ma_eo_spot', "
            f"'items[0].eo_quantity', 'negative', {j.format('problems')}, {j.format('raw')}, "
            ":resolved)"
        ),
        {
            "at": _ts(dialect, "2024-05-03T10:00:00"),
            "key": "k" * 64,
            "problems": '[{"field": "items[0].eo_quantity", "message": "negative"}]',
            "raw": '{"_uuid": "2"}',
            "resolved": False,
        },
    )
    return expected | {
        "SELECT batch_id, organisation, filename, dry_run, status, result FROM import_batch": [
            ("B1", "FSD", "eo.json", False, "imported", None)
        ],
        "SELECT batch_id, record, field, resolved, resolution, repairs, version FROM quarantine": [
            ("B1", "eo.json, submission 2", "items[0].eo_quantity", False, None, None, 1)
        ],
        "SELECT count(*) FROM import_upload": [(0,)],
    }


def seed_0010(conn: Connection, dialect: str) -> Expected:
    """Schema 0010: the 0006 hazard row, without its GeoJSON text (0011 writes it)."""
    expected = seed_0006(conn, dialect)
    poly = shapely.box(35.2, 51.2, 35.204, 51.202)
    expected["SELECT hazard_id, geom_geojson FROM hazard"] = [("MH1", shapely.to_geojson(poly))]
    return expected


def seed_0011(conn: Connection, dialect: str) -> Expected:
    """Schema 0011: the 0010 data with the hazard's GeoJSON text (0012 adds the digests)."""
    expected = seed_0010(conn, dialect)
    text_ = shapely.to_geojson(shapely.box(35.2, 51.2, 35.204, 51.202))
    conn.execute(text("UPDATE hazard SET geom_geojson = :t"), {"t": text_})
    expected["SELECT count(*) FROM derived_digest"] = [(0,)]
    return expected


def seed_0012(conn: Connection, dialect: str) -> Expected:
    """Schema 0012: the 0011 data (0013 makes ``report.payload`` ``json`` on PostgreSQL).

    Every payload must keep the very text the database printed before (``jsonb``'s own form
    on PostgreSQL), so that a recompute reads the same values in the same key order.
    """
    expected = seed_0011(conn, dialect)
    query = "SELECT report_id, CAST(payload AS TEXT) FROM report ORDER BY seq"
    expected[query] = [tuple(r) for r in conn.execute(text(query))]
    assert len(expected[query]) == 3
    return expected


def seed_0013(conn: Connection, dialect: str) -> Expected:
    """Schema 0013: the 0012 data (0014 only redefines the digest triggers' functions)."""
    return seed_0012(conn, dialect)


#: revision -> seeder writing data in that revision's shape (add one per new migration).
SEEDS: dict[str, Callable[[Connection, str], Expected]] = {
    "0001": seed_0001,
    "0006": seed_0006,
    "0008": seed_0008,
    "0009": seed_0009,
    "0010": seed_0010,
    "0011": seed_0011,
    "0012": seed_0012,
    "0013": seed_0013,
}


@pytest.mark.parametrize("revision", sorted(SEEDS))
def test_upgrade_from_earlier_schema_keeps_all_data(store_url: str, revision: str) -> None:
    store = Store(store_url, check_schema=False)
    try:
        store.upgrade(revision)
        assert store.current_revision() == revision
        with store.write() as conn:
            expected = SEEDS[revision](conn, store.dialect)
            payloads_before = [
                orjson.loads(p) if isinstance(p, str) else p
                for (p,) in conn.execute(text("SELECT payload FROM report ORDER BY seq"))
            ]
        store.upgrade()
        store.check_schema()
        with store.read() as conn:
            for query, rows in expected.items():
                assert [tuple(r) for r in conn.execute(text(query))] == rows, query
            payloads_after = [
                orjson.loads(p) if isinstance(p, str) else p
                for (p,) in conn.execute(text("SELECT payload FROM report ORDER BY seq"))
            ]
        assert payloads_after == payloads_before
        # the upgraded ledger is usable: rebuild the projection, check it, approve the pending one
        result = ledger.recompute(store)
        assert result.hazards == 1 and not result.errors
        assert not ledger.check(store).differences
        ledger.approve(store, "M-HA-2", actor="im")
        checked = ledger.check(store)
        assert checked.hazards == 2 and not checked.differences
        state, steps = ledger.explain(store, "MH1")
        assert [st.report_id for st in steps] == ["M-HA-1", "M-CL-1"]
        assert state.summary()["cleared_m2"] == pytest.approx(
            state.summary()["area_m2"] / 2, rel=1e-3
        )
    finally:
        store.dispose()


#: Operations that touch existing rows: a migration using any of them needs its own seed.
DATA_CHANGING = ("add_column", "alter_column", "drop_", "rename", "execute", "bulk_insert")


def test_every_migration_that_changes_existing_tables_has_a_seed() -> None:
    """A migration altering existing tables must come with a seed in its (earlier) shape."""
    from alembic.script import ScriptDirectory

    from mineaction.store.engine import MIGRATIONS

    missing = []
    for rev in ScriptDirectory(str(MIGRATIONS)).walk_revisions():
        if rev.down_revision is None:
            continue
        body = Path(rev.path).read_text(encoding="utf-8").split("def downgrade", 1)[0]
        lines = [ln for ln in body.splitlines() if "CREATE INDEX" not in ln]
        changes = any(op in ln for ln in lines for op in DATA_CHANGING)
        if changes and rev.down_revision not in SEEDS:
            missing.append(f"{rev.revision} (needs seed_{rev.down_revision})")
    assert not missing, (
        f"migrations {missing} change existing tables but no seed writes data in the shape "
        "they upgrade from: add it to tests/store/test_migrations.py (see its docstring)"
    )
