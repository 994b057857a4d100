"""Alembic environment: runs migrations on the connection handed over by the store."""

from __future__ import annotations

from alembic import context

from mineaction.store.schema import metadata

config = context.config


def run_migrations() -> None:
    """Run migrations on ``config.attributes['connection']`` (or the configured URL)."""
    connection = config.attributes.get("connection")
    if connection is None:
        from sqlalchemy import create_engine

        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,
        user_module_prefix="mineaction.store.types.",
        # SQLite DDL is transactional too (the store drives transactions itself): run the whole
        # upgrade in one transaction, so a crash leaves the old schema or the new, never between.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
