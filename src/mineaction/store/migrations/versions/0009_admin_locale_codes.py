"""per-account language, country code-list terms, point coordinates of EO finds and accidents

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import shapely
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_POINT_TABLES = (("eo_item", "id"), ("accident", "accident_id"))


def _backfill_points(table: str, key: str) -> None:
    """Fill ``x``/``y`` (centroid lon/lat) from the geometry of rows written before 0006."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            f"UPDATE {table} SET x = ST_X(ST_Centroid(geom)), y = ST_Y(ST_Centroid(geom)) "
            "WHERE geom IS NOT NULL"
        )
        return
    rows = bind.exec_driver_sql(f"SELECT {key}, geom FROM {table} WHERE geom IS NOT NULL").all()
    updates = []
    for ident, wkb in rows:
        c = shapely.centroid(shapely.from_wkb(bytes(wkb)))
        if not c.is_empty:
            updates.append((c.x, c.y, ident))
    if updates:
        bind.exec_driver_sql(f"UPDATE {table} SET x = ?, y = ? WHERE {key} = ?", updates)


def upgrade() -> None:
    """Apply this migration."""
    op.add_column("app_user", sa.Column("locale", sa.String(length=10), nullable=True))
    op.create_table(
        "code_term",
        sa.Column("list_name", sa.String(length=50), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("base_term", sa.String(length=100), nullable=False),
        sa.Column(
            "labels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("list_name", "code"),
    )
    for table, key in _POINT_TABLES:
        op.add_column(table, sa.Column("x", sa.Float(), nullable=True))
        op.add_column(table, sa.Column("y", sa.Float(), nullable=True))
        _backfill_points(table, key)
    op.create_index("ix_eo_xy", "eo_item", ["x", "y"])
    op.create_index("ix_accident_xy", "accident", ["x", "y"])


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_accident_xy", table_name="accident")
    op.drop_index("ix_eo_xy", table_name="eo_item")
    for table, _key in _POINT_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("y")
            batch.drop_column("x")
    op.drop_table("code_term")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("locale")
