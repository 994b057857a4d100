"""derived_digest: digests of the derived rows per table and shard range, kept honest by triggers

A recompute stores, per derived table and shard range, a digest of the rows it wrote or
verified. Any other INSERT, UPDATE or DELETE of a derived row (an approval, a direct edit of
the database) deletes the digest of the range the row belongs to (by the report's hazard id,
or its report id for reports without a hazard; every digest of the table when the row names
no known report; TRUNCATE on PostgreSQL too). A digest that is still there therefore vouches
for the stored rows, and the next recompute need not read them back when its fresh rows hash
to it (docs/recompute.md). The table starts empty: the first recompute compares everything.

A recompute itself writes without the triggers (SQLite: dropped and made again inside its
transaction; PostgreSQL: ``SET LOCAL mineaction.derived_writer = 'on'``, which the row
triggers' WHEN clause skips) and replaces every digest before it commits.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

PER_REPORT = (
    "release_polygon",
    "activity",
    "eo_item",
    "accident",
    "victim",
    "eore_session",
    "qm_inspection",
    "handover",
)
EVENTS = (
    ("ins", "INSERT", ("new",)),
    ("del", "DELETE", ("old",)),
    ("upd", "UPDATE", ("old", "new")),
)

CREATE_TABLE = """CREATE TABLE derived_digest (
    tbl VARCHAR(40) NOT NULL,
    no_hazard BOOLEAN NOT NULL,
    lo VARCHAR(100),
    hi VARCHAR(100),
    digest VARCHAR(64) NOT NULL
)"""
CREATE_INDEX = "CREATE INDEX ix_derived_digest_tbl ON derived_digest (tbl, no_hazard)"


def _sqlite_forget_report(table: str, row: str) -> str:
    return f"""DELETE FROM derived_digest WHERE tbl = '{table}' AND (
            NOT EXISTS (SELECT 1 FROM report WHERE report_id = {row}.report_id)
            OR EXISTS (SELECT 1 FROM report r WHERE r.report_id = {row}.report_id AND (
                (r.hazard_id IS NOT NULL AND derived_digest.no_hazard = 0
                 AND (derived_digest.lo IS NULL OR r.hazard_id > derived_digest.lo)
                 AND (derived_digest.hi IS NULL OR r.hazard_id <= derived_digest.hi))
                OR (r.hazard_id IS NULL AND derived_digest.no_hazard = 1
                 AND (derived_digest.lo IS NULL OR r.report_id > derived_digest.lo)
                 AND (derived_digest.hi IS NULL OR r.report_id <= derived_digest.hi)))));"""


def _sqlite_forget_hazard(row: str) -> str:
    return f"""DELETE FROM derived_digest WHERE tbl = 'hazard' AND no_hazard = 0 AND (
            {row}.hazard_id IS NULL OR ((lo IS NULL OR {row}.hazard_id > lo)
            AND (hi IS NULL OR {row}.hazard_id <= hi)));"""


def sqlite_triggers() -> list[tuple[str, str]]:
    """Return ``(name, CREATE TRIGGER ...)`` of every SQLite digest trigger."""
    out = []
    for table in ("hazard", *PER_REPORT):
        for suffix, event, rows in EVENTS:
            body = "\n        ".join(
                _sqlite_forget_hazard(r) if table == "hazard" else _sqlite_forget_report(table, r)
                for r in rows
            )
            name = f"derived_digest_{table}_{suffix}"
            out.append(
                (
                    name,
                    f"""CREATE TRIGGER {name} AFTER {event} ON {table}
    WHEN EXISTS (SELECT 1 FROM derived_digest WHERE tbl = '{table}')
    BEGIN
        {body}
    END""",
                )
            )
    return out


PG_FORGET_REPORT = """CREATE OR REPLACE FUNCTION derived_digest_forget_report(t text, rid text)
    RETURNS void LANGUAGE sql AS $$
    DELETE FROM derived_digest d WHERE d.tbl = t AND (
        NOT EXISTS (SELECT 1 FROM report WHERE report_id = rid)
        OR EXISTS (SELECT 1 FROM report r WHERE r.report_id = rid AND (
            (r.hazard_id IS NOT NULL AND NOT d.no_hazard
             AND (d.lo IS NULL OR r.hazard_id > d.lo) AND (d.hi IS NULL OR r.hazard_id <= d.hi))
            OR (r.hazard_id IS NULL AND d.no_hazard
             AND (d.lo IS NULL OR r.report_id > d.lo) AND (d.hi IS NULL OR r.report_id <= d.hi)))))
    $$"""
PG_FORGET_HAZARD = """CREATE OR REPLACE FUNCTION derived_digest_forget_hazard(hid text)
    RETURNS void LANGUAGE sql AS $$
    DELETE FROM derived_digest d WHERE d.tbl = 'hazard' AND NOT d.no_hazard AND (
        hid IS NULL OR ((d.lo IS NULL OR hid > d.lo) AND (d.hi IS NULL OR hid <= d.hi)))
    $$"""
PG_STALE = """CREATE OR REPLACE FUNCTION derived_digest_stale() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM derived_digest WHERE tbl = TG_TABLE_NAME) THEN
            IF TG_TABLE_NAME = 'hazard' THEN
                IF TG_OP <> 'INSERT' THEN PERFORM derived_digest_forget_hazard(OLD.hazard_id); END IF;
                IF TG_OP <> 'DELETE' THEN PERFORM derived_digest_forget_hazard(NEW.hazard_id); END IF;
            ELSE
                IF TG_OP <> 'INSERT' THEN
                    PERFORM derived_digest_forget_report(TG_TABLE_NAME, OLD.report_id);
                END IF;
                IF TG_OP <> 'DELETE' THEN
                    PERFORM derived_digest_forget_report(TG_TABLE_NAME, NEW.report_id);
                END IF;
            END IF;
        END IF;
        RETURN NULL;
    END $$"""
PG_TRUNCATED = """CREATE OR REPLACE FUNCTION derived_digest_truncated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM derived_digest WHERE tbl = TG_TABLE_NAME;
        RETURN NULL;
    END $$"""
#: a recompute (the trusted writer) sets this for its transaction; the row triggers skip it
PG_WHEN = "current_setting('mineaction.derived_writer', true) IS DISTINCT FROM 'on'"


def pg_triggers() -> list[str]:
    """Return the PostgreSQL statements creating every digest trigger (functions first)."""
    out = [PG_FORGET_REPORT, PG_FORGET_HAZARD, PG_STALE, PG_TRUNCATED]
    for table in ("hazard", *PER_REPORT):
        out.append(
            f"""CREATE TRIGGER derived_digest_{table}_row AFTER INSERT OR UPDATE OR DELETE
    ON {table} FOR EACH ROW WHEN ({PG_WHEN}) EXECUTE FUNCTION derived_digest_stale()"""
        )
        out.append(
            f"""CREATE TRIGGER derived_digest_{table}_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION derived_digest_truncated()"""
        )
    return out


def upgrade() -> None:
    """Apply this migration."""
    op.execute(CREATE_TABLE)
    op.execute(CREATE_INDEX)
    if op.get_bind().dialect.name == "sqlite":
        for _name, sql in sqlite_triggers():
            op.execute(sql)
    else:
        for sql in pg_triggers():
            op.execute(sql)


def downgrade() -> None:
    """Revert this migration."""
    if op.get_bind().dialect.name == "sqlite":
        for name, _sql in sqlite_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for table in ("hazard", *PER_REPORT):
            op.execute(f"DROP TRIGGER IF EXISTS derived_digest_{table}_row ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS derived_digest_{table}_truncate ON {table}")
        for fn in (
            "derived_digest_stale()",
            "derived_digest_truncated()",
            "derived_digest_forget_report(text, text)",
            "derived_digest_forget_hazard(text)",
        ):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    op.execute("DROP TABLE derived_digest")
