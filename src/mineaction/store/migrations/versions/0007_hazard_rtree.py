"""SQLite: an R*Tree of hazard bounding boxes, kept up to date by triggers

Bbox queries (OGC API items, map) on SQLite otherwise scan a one-dimensional index range
(``minx <= ?``), which at national scale is most of the table. PostgreSQL needs nothing here.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS hazard_rtree USING rtree(id, minx, maxx, miny, maxy)",
    "INSERT INTO hazard_rtree SELECT rowid, minx, maxx, miny, maxy FROM hazard",
    """CREATE TRIGGER hazard_rtree_insert AFTER INSERT ON hazard BEGIN
        INSERT INTO hazard_rtree VALUES (new.rowid, new.minx, new.maxx, new.miny, new.maxy);
    END""",
    """CREATE TRIGGER hazard_rtree_delete AFTER DELETE ON hazard BEGIN
        DELETE FROM hazard_rtree WHERE id = old.rowid;
    END""",
    """CREATE TRIGGER hazard_rtree_update AFTER UPDATE OF minx, maxx, miny, maxy ON hazard BEGIN
        UPDATE hazard_rtree SET minx = new.minx, maxx = new.maxx, miny = new.miny,
            maxy = new.maxy WHERE id = new.rowid;
    END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS hazard_rtree_update",
    "DROP TRIGGER IF EXISTS hazard_rtree_delete",
    "DROP TRIGGER IF EXISTS hazard_rtree_insert",
    "DROP TABLE IF EXISTS hazard_rtree",
]


def upgrade() -> None:
    """Apply this migration."""
    if op.get_bind().dialect.name == "sqlite":
        for stmt in SQLITE_UP:
            op.execute(stmt)


def downgrade() -> None:
    """Revert this migration."""
    if op.get_bind().dialect.name == "sqlite":
        for stmt in SQLITE_DOWN:
            op.execute(stmt)
