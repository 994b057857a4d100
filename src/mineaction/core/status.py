"""Hazard status rules: open -> worked on -> closed -> handed over (and explicit reopening)."""

from __future__ import annotations

from mineaction.core.codes import HazardStatus
from mineaction.errors import TransitionError

S = HazardStatus

#: Allowed transitions and the rule that allows each one.
TRANSITIONS: dict[tuple[HazardStatus, HazardStatus], str] = {
    (S.OPEN, S.WORKED_ON): "first technical survey or clearance progress starts work",
    (S.OPEN, S.CLOSED): "all land released (e.g. cancelled by NTS) or closed with a reason",
    (S.WORKED_ON, S.CLOSED): "remaining area ~0 after release, or closed with a reason",
    (S.CLOSED, S.HANDED_OVER): "handover record after release (IMAS 08.30)",
    (S.CLOSED, S.OPEN): "reopened by a hazard report with a reason (new evidence)",
    (S.HANDED_OVER, S.OPEN): "reopened by a hazard report with a reason (residual contamination)",
    (S.WORKED_ON, S.OPEN): "reset by a hazard report with a reason (work suspended)",
}


def check_transition(current: HazardStatus, target: HazardStatus, *, hazard_id: str) -> str:
    """Return the rule allowing ``current -> target``; raise :class:`TransitionError` if none.

    >>> check_transition(S.OPEN, S.WORKED_ON, hazard_id="H1")
    'first technical survey or clearance progress starts work'
    >>> check_transition(S.OPEN, S.HANDED_OVER, hazard_id="H1")
    Traceback (most recent call last):
    ...
    mineaction.errors.TransitionError: hazard H1: cannot go from open to handed_over: ...
    """
    if current == target:
        return "no change"
    rule = TRANSITIONS.get((current, target))
    if rule is None:
        allowed = sorted(t.value for (c, t) in TRANSITIONS if c == current)
        raise TransitionError(
            f"cannot go from {current.value} to {target.value}: from {current.value} a hazard "
            f"may only go to {', '.join(allowed) or 'nothing'} "
            "(rule: open -> worked_on -> closed -> handed_over; handover only after release)",
            where=f"hazard {hazard_id}",
        )
    return rule
