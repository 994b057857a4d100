"""reference layers and prioritisation runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mineaction.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_JSON = mineaction.store.types.JSONType


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "reference_feature",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("layer", sa.String(length=30), nullable=False),
        sa.Column("feature_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("properties", _JSON, nullable=False),
        sa.Column("geom", mineaction.store.types.Geometry(), nullable=False),
        sa.Column("minx", sa.Float(), nullable=False),
        sa.Column("miny", sa.Float(), nullable=False),
        sa.Column("maxx", sa.Float(), nullable=False),
        sa.Column("maxy", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reference_feature", schema=None) as batch_op:
        batch_op.create_index("ux_reference_layer_feature", ["layer", "feature_id"], unique=True)
        batch_op.create_index(
            "ix_reference_bbox", ["layer", "minx", "maxx", "miny", "maxy"], unique=False
        )

    op.create_table(
        "priority_run",
        sa.Column("run_id", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("config_name", sa.String(length=100), nullable=False),
        sa.Column("config_version", sa.String(length=50), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("config", _JSON, nullable=False),
        sa.Column("data_cutoff", sa.Date(), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=True),
        sa.Column("data_hash", sa.String(length=64), nullable=False),
        sa.Column("reference", _JSON, nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=True),
        sa.Column("hazard_count", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("notes", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("run_id"),
    )
    with op.batch_alter_table("priority_run", schema=None) as batch_op:
        batch_op.create_index("ix_priority_run_created", ["created_at"], unique=False)

    op.create_table(
        "priority_score",
        sa.Column("run_id", sa.String(length=60), nullable=False),
        sa.Column("hazard_id", sa.String(length=100), nullable=False),
        sa.Column("hazard_version", sa.Integer(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("priority_class", sa.String(length=30), nullable=False),
        sa.Column("criteria", _JSON, nullable=False),
        sa.Column("contributions", _JSON, nullable=False),
        sa.Column("remaining_m2", sa.Float(), nullable=False),
        sa.Column("expected_team_days", sa.Float(), nullable=False),
        sa.Column("expected_cost", sa.Float(), nullable=False),
        sa.Column("value_for_money", sa.Float(), nullable=False),
        sa.Column("vfm_rank", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["priority_run.run_id"]),
        sa.PrimaryKeyConstraint("run_id", "hazard_id"),
    )
    with op.batch_alter_table("priority_score", schema=None) as batch_op:
        batch_op.create_index("ix_priority_score_hazard", ["hazard_id"], unique=False)
        batch_op.create_index("ix_priority_score_rank", ["run_id", "rank"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_reference_feature_geom ON reference_feature USING gist (geom)")


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("priority_score")
    op.drop_table("priority_run")
    op.drop_table("reference_feature")
