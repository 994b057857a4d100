"""import batches and the quarantine

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "import_batch",
        sa.Column("batch_id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("organisation", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("format", sa.String(length=30), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "counts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("batch_id"),
    )
    op.create_index("ix_import_batch_org", "import_batch", ["organisation", "at"])
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organisation", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("record", sa.String(length=300), nullable=False),
        sa.Column("record_key", sa.String(length=64), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=True),
        sa.Column("form_id", sa.String(length=50), nullable=True),
        sa.Column("field", sa.String(length=200), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "problems",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "raw",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_quarantine_batch", "quarantine", ["batch_id"])
    op.create_index("ix_quarantine_key", "quarantine", ["record_key"])
    op.create_index("ix_quarantine_source", "quarantine", ["organisation", "source_key"])


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_quarantine_source", table_name="quarantine")
    op.drop_index("ix_quarantine_key", table_name="quarantine")
    op.drop_index("ix_quarantine_batch", table_name="quarantine")
    op.drop_table("quarantine")
    op.drop_index("ix_import_batch_org", table_name="import_batch")
    op.drop_table("import_batch")
