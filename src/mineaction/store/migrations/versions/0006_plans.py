"""stored plans (mineaction plan) and their items

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "plan_run",
        sa.Column("plan_id", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("data_cutoff", sa.Date(), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=True),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("objective_kind", sa.String(length=40), nullable=False),
        sa.Column("objective", sa.Float(), nullable=False),
        sa.Column("bound", sa.Float(), nullable=True),
        sa.Column("bound_method", sa.String(length=100), nullable=True),
        sa.Column("gap", sa.Float(), nullable=True),
        sa.Column("method", sa.String(length=100), nullable=False),
        sa.Column("package_count", sa.Integer(), nullable=False),
        sa.Column("team_count", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.String(length=100), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id"),
    )
    op.create_index("ix_plan_run_created", "plan_run", ["created_at"])
    op.create_table(
        "plan_item",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.String(length=60), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.String(length=150), nullable=False),
        sa.Column("hazard_id", sa.String(length=100), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("start_day", sa.Float(), nullable=False),
        sa.Column("end_day", sa.Float(), nullable=False),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.Column("task_id", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plan_run.plan_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_item_plan", "plan_item", ["plan_id", "team", "seq"])
    op.create_index("ix_plan_item_task", "plan_item", ["task_id"])


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_plan_item_task", table_name="plan_item")
    op.drop_index("ix_plan_item_plan", table_name="plan_item")
    op.drop_table("plan_item")
    op.drop_index("ix_plan_run_created", table_name="plan_run")
    op.drop_table("plan_run")
