"""hazard.geom_geojson: the hazard polygon as GeoJSON text, written with the row

OGC API items (hazards) then send the stored text instead of converting each polygon per
request. The projection writes it (``hazard_row``); existing rows are filled here. NULL means
"not made" (readers convert ``geom`` then): a trigger sets it to NULL when ``geom`` is changed
by an UPDATE that does not also write the text, so it can never be stale.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import shapely
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 5000

SQLITE_TRIGGER = """CREATE TRIGGER hazard_geom_geojson_stale AFTER UPDATE OF geom ON hazard
    WHEN new.geom IS NOT old.geom AND new.geom_geojson IS old.geom_geojson BEGIN
        UPDATE hazard SET geom_geojson = NULL WHERE rowid = new.rowid;
    END"""
PG_FUNCTION = """CREATE OR REPLACE FUNCTION hazard_geom_geojson_stale() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.geom IS DISTINCT FROM OLD.geom
           AND NEW.geom_geojson IS NOT DISTINCT FROM OLD.geom_geojson THEN
            NEW.geom_geojson := NULL;
        END IF;
        RETURN NEW;
    END $$"""
PG_TRIGGER = """CREATE TRIGGER hazard_geom_geojson_stale BEFORE UPDATE OF geom ON hazard
    FOR EACH ROW EXECUTE FUNCTION hazard_geom_geojson_stale()"""


def _fill(conn: sa.Connection) -> None:
    """Write the GeoJSON text of every existing hazard, in batches."""
    sqlite = conn.dialect.name == "sqlite"
    key, wkb = ("rowid", "geom") if sqlite else ("hazard_id", "ST_AsBinary(geom)")
    last: object = -1 if sqlite else ""
    while True:
        rows = conn.execute(
            sa.text(
                f"SELECT {key}, {wkb} FROM hazard WHERE {key} > :last ORDER BY {key} LIMIT {BATCH}"
            ),
            {"last": last},
        ).all()
        if not rows:
            return
        texts = shapely.to_geojson(shapely.from_wkb([bytes(r[1]) for r in rows]))
        conn.execute(
            sa.text(f"UPDATE hazard SET geom_geojson = :t WHERE {key} = :k"),
            [{"t": str(t), "k": r[0]} for r, t in zip(rows, texts, strict=True)],
        )
        last = rows[-1][0]


def upgrade() -> None:
    """Apply this migration."""
    op.add_column("hazard", sa.Column("geom_geojson", sa.Text(), nullable=True))
    conn = op.get_bind()
    _fill(conn)
    if conn.dialect.name == "sqlite":
        op.execute(SQLITE_TRIGGER)
    else:
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)


def downgrade() -> None:
    """Revert this migration."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS hazard_geom_geojson_stale")
    else:
        op.execute("DROP TRIGGER IF EXISTS hazard_geom_geojson_stale ON hazard")
        op.execute("DROP FUNCTION IF EXISTS hazard_geom_geojson_stale()")
    # not batch mode: recreating the table on SQLite would drop the R*Tree triggers
    op.execute("ALTER TABLE hazard DROP COLUMN geom_geojson")
