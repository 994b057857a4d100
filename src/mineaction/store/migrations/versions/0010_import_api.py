"""import records for the API (dry runs kept for confirmation) and quarantine resolutions

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _json() -> Any:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("import_batch") as b:
        b.add_column(sa.Column("dry_run", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.add_column(
            sa.Column("status", sa.String(length=20), nullable=False, server_default="imported")
        )
        b.add_column(sa.Column("form_id", sa.String(length=50), nullable=True))
        b.add_column(sa.Column("result", _json(), nullable=True))
        b.add_column(sa.Column("confirmed_as", sa.String(length=40), nullable=True))
        b.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "import_upload",
        sa.Column("batch_id", sa.String(length=40), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("mapping", _json(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("batch_id"),
    )
    with op.batch_alter_table("quarantine") as b:
        b.add_column(sa.Column("repairs", _json(), nullable=True))
        b.add_column(sa.Column("resolution", sa.String(length=20), nullable=True))
        b.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("resolved_by", sa.String(length=100), nullable=True))
        b.add_column(sa.Column("resolution_note", sa.Text(), nullable=True))
        b.add_column(sa.Column("report_id", sa.String(length=100), nullable=True))
        b.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.create_index("ix_quarantine_form", "quarantine", ["form_id", "id"])


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_quarantine_form", table_name="quarantine")
    with op.batch_alter_table("quarantine") as b:
        for name in (
            "version",
            "report_id",
            "resolution_note",
            "resolved_by",
            "resolved_at",
            "resolution",
            "repairs",
        ):
            b.drop_column(name)
    op.drop_table("import_upload")
    with op.batch_alter_table("import_batch") as b:
        for name in ("expires_at", "confirmed_as", "result", "form_id", "status", "dry_run"):
            b.drop_column(name)
