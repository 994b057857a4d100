"""covering index for the map: every column the map and dashboard read without geometry

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = [
    "minx",
    "maxx",
    "miny",
    "maxy",
    "classification",
    "status",
    "organisation",
    "location",
    "remaining_m2",
    "first_date",
    "last_date",
    "hazard_id",
    "name",
]


def upgrade() -> None:
    """Apply this migration."""
    op.create_index("ix_hazard_map", "hazard", COLUMNS)


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_hazard_map", table_name="hazard")
