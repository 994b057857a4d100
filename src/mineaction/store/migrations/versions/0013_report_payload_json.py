"""report.payload on PostgreSQL: ``json`` (the text as written) instead of ``jsonb``

A full recompute reads every approved payload as text; from ``jsonb`` the server had to
print each one back to text (about 2 s of server CPU for the national demo's 466,000
reports), while ``json`` keeps the text itself. Nothing queries the payload with ``jsonb``
operators. Existing payloads keep exactly the text ``jsonb`` printed (so they parse to the
same values with the same key order as before); new ones keep the text the program wrote.
A CHECK keeps what ``jsonb`` refused refused (``\\u0000`` in a string, which no text column
could hold): every payload must still convert to ``jsonb``. SQLite stores JSON as text
already: nothing changes there.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

CHECK = "ck_report_payload_jsonb"


def upgrade() -> None:
    """Apply this migration."""
    if op.get_bind().dialect.name != "postgresql":
        return
    # one rewrite of the table; the CHECK is verified in the same pass
    op.execute(
        "ALTER TABLE report ALTER COLUMN payload TYPE json USING payload::json, "
        f"ADD CONSTRAINT {CHECK} CHECK (payload::jsonb IS NOT NULL)"
    )


def downgrade() -> None:
    """Revert this migration."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"ALTER TABLE report DROP CONSTRAINT {CHECK}, "
        "ALTER COLUMN payload TYPE jsonb USING payload::jsonb"
    )
