"""derived_digest triggers on PostgreSQL: find the report by its index, whatever the collation

The row trigger of migration 0012 called ``derived_digest_forget_report(TG_TABLE_NAME,
NEW.report_id)``. ``TG_TABLE_NAME`` is of type ``name``, whose collation is "C", while the report
id has the database's default collation: the call took "C", and ``report.report_id``'s index
(default collation) could not serve ``report_id = rid``. Every insert, update or delete of a
per-report derived row outside a recompute (each approval writes several) scanned the whole
``report`` table once per stored digest of that table: about 6 s per row with the national demo
(36 digests x 466,884 reports), where an index lookup takes well under a millisecond. The
function now compares in the default collation whatever its caller passes, and the triggers
pass the table name as text in the default collation. SQLite is not affected.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

PG_FORGET_REPORT = """CREATE OR REPLACE FUNCTION derived_digest_forget_report(t text, rid text)
    RETURNS void LANGUAGE sql AS $$
    DELETE FROM derived_digest d WHERE d.tbl = (t COLLATE "default") AND (
        NOT EXISTS (SELECT 1 FROM report WHERE report_id = (rid COLLATE "default"))
        OR EXISTS (SELECT 1 FROM report r WHERE r.report_id = (rid COLLATE "default") AND (
            (r.hazard_id IS NOT NULL AND NOT d.no_hazard
             AND (d.lo IS NULL OR r.hazard_id > d.lo) AND (d.hi IS NULL OR r.hazard_id <= d.hi))
            OR (r.hazard_id IS NULL AND d.no_hazard
             AND (d.lo IS NULL OR r.report_id > d.lo) AND (d.hi IS NULL OR r.report_id <= d.hi)))))
    $$"""
#: the table's name as text in the default collation (``TG_TABLE_NAME`` is a "C" ``name``)
_TABLE = """(TG_TABLE_NAME::text COLLATE "default")"""
PG_STALE = f"""CREATE OR REPLACE FUNCTION derived_digest_stale() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM derived_digest WHERE tbl = {_TABLE}) THEN
            IF TG_TABLE_NAME = 'hazard' THEN
                IF TG_OP <> 'INSERT' THEN PERFORM derived_digest_forget_hazard(OLD.hazard_id); END IF;
                IF TG_OP <> 'DELETE' THEN PERFORM derived_digest_forget_hazard(NEW.hazard_id); END IF;
            ELSE
                IF TG_OP <> 'INSERT' THEN
                    PERFORM derived_digest_forget_report({_TABLE}, OLD.report_id);
                END IF;
                IF TG_OP <> 'DELETE' THEN
                    PERFORM derived_digest_forget_report({_TABLE}, NEW.report_id);
                END IF;
            END IF;
        END IF;
        RETURN NULL;
    END $$"""
PG_TRUNCATED = f"""CREATE OR REPLACE FUNCTION derived_digest_truncated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM derived_digest WHERE tbl = {_TABLE};
        RETURN NULL;
    END $$"""


def _revision_0012() -> ModuleType:
    """Load migration 0012 (its function definitions are what a downgrade restores)."""
    path = Path(__file__).with_name("0012_derived_digest.py")
    spec = importlib.util.spec_from_file_location("mineaction_migration_0012", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    """Apply this migration."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for sql in (PG_FORGET_REPORT, PG_STALE, PG_TRUNCATED):
        op.execute(sql)


def downgrade() -> None:
    """Revert this migration."""
    if op.get_bind().dialect.name != "postgresql":
        return
    old = _revision_0012()
    for sql in (old.PG_FORGET_REPORT, old.PG_STALE, old.PG_TRUNCATED):
        op.execute(sql)
