"""Planned work on hazards (tasks): create, change with optimistic concurrency."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update

from mineaction.errors import NotFoundError, StaleVersionError, ValidationError
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.store.reports import audit, now

TASK_STATUSES = ("planned", "in_progress", "done", "cancelled")
EDITABLE = (
    "organisation",
    "activity_type",
    "team",
    "planned_start",
    "planned_end",
    "status",
    "notes",
)


def task_dict(row: Any) -> dict[str, Any]:
    """Return a task row as JSON-compatible data."""
    return {
        k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in dict(row).items()
    }


#: Fields a task cannot be without (an update may change them, not clear them).
REQUIRED = ("activity_type", "status")


def _check(values: dict[str, Any]) -> None:
    status = values.get("status")
    if status is not None and status not in TASK_STATUSES:
        raise ValidationError(f"task status {status!r}: use one of {', '.join(TASK_STATUSES)}")
    a, b = values.get("planned_start"), values.get("planned_end")
    if a and b and b < a:
        raise ValidationError(f"planned_end {b} is before planned_start {a}")


def create_task(store: Store, values: dict[str, Any], *, actor: str | None) -> dict[str, Any]:
    """Create a task on a hazard (the hazard must exist)."""
    _check(values)
    at = now()
    row = {k: values.get(k) for k in EDITABLE}
    row["status"] = row["status"] or "planned"
    task_id = values.get("task_id") or f"T-{secrets.token_hex(5)}"
    with store.write() as conn:
        hz = conn.execute(
            select(s.hazard.c.organisation).where(s.hazard.c.hazard_id == values["hazard_id"])
        ).first()
        if hz is None:
            raise NotFoundError(f"no hazard {values['hazard_id']!r} to plan work on")
        if conn.execute(select(s.task.c.task_id).where(s.task.c.task_id == task_id)).first():
            from mineaction.errors import ConflictError

            raise ConflictError(f"task {task_id!r} already exists")
        row["organisation"] = row["organisation"] or hz[0]
        conn.execute(
            insert(s.task).values(
                task_id=task_id,
                hazard_id=values["hazard_id"],
                created_at=at,
                updated_at=at,
                version=1,
                **row,
            )
        )
        audit(conn, actor=actor, action="create", entity="task", entity_id=task_id)
        out = conn.execute(select(s.task).where(s.task.c.task_id == task_id)).mappings().one()
    return task_dict(out)


def update_task(
    store: Store,
    task_id: str,
    changes: dict[str, Any],
    *,
    expected_version: int | None,
    actor: str | None,
) -> dict[str, Any]:
    """Change a task; refuse with :class:`StaleVersionError` if it changed since ``expected_version``."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"cannot change {', '.join(sorted(unknown))} of a task")
    cleared = sorted(k for k in REQUIRED if k in changes and changes[k] is None)
    if cleared:  # found by the API fuzz run: {"status": null} was a 500
        raise ValidationError(
            f"a task always has {' and '.join(cleared)}: give a value instead of null"
        )
    t = s.task
    with store.write() as conn:
        row = conn.execute(select(t).where(t.c.task_id == task_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no task {task_id!r}")
        _check({**dict(row), **changes})
        version = int(row["version"]) if expected_version is None else expected_version
        result = conn.execute(
            update(t)
            .where(t.c.task_id == task_id, t.c.version == version)
            .values(**changes, updated_at=now(), version=t.c.version + 1)
        )
        if result.rowcount != 1:
            raise StaleVersionError(
                f"task {task_id} is at version {row['version']}, not {version}: someone changed "
                "it meanwhile; reload it and apply your change again"
            )
        audit(
            conn,
            actor=actor,
            action="update",
            entity="task",
            entity_id=task_id,
            details={k: (str(v) if isinstance(v, date) else v) for k, v in changes.items()},
        )
        out = conn.execute(select(t).where(t.c.task_id == task_id)).mappings().one()
    return task_dict(out)
