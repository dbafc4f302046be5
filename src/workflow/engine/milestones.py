"""Milestones that hold, and for how long: when each was reached, and which lapsed.

A milestone with ``expires_after`` holds that long after it was (last) reached; the
engine remembers when in the case's :class:`~workflow.engine.model.Timing`. Pure.
"""

from __future__ import annotations

from datetime import datetime

from workflow.definitions.models import Definition
from workflow.engine.model import CaseState, Timing, changed
from workflow.engine.timing import add_duration


def with_reached(
    timing: Timing, reached: frozenset[str], revoked: frozenset[str], now: datetime
) -> Timing:
    """The timing with when each milestone was reached (for ``expires_after``)."""
    if not reached and not (revoked & timing.reached.keys()):
        return timing
    kept = {m: at for m, at in timing.reached.items() if m not in revoked}
    return changed(timing, reached={**kept, **dict.fromkeys(reached, now)})


def live_milestones(definition: Definition, case: CaseState, now: datetime) -> frozenset[str]:
    """The case's milestones that still hold at ``now`` (those with ``expires_after``
    lapse that long after they were reached)."""
    expiring = definition.expiring_milestones
    if not expiring or not case.milestones & expiring.keys():
        return case.milestones
    lapsed = set()
    for milestone in case.milestones & expiring.keys():
        reached = case.timing.reached.get(milestone)
        if reached is not None and add_duration(definition, reached, expiring[milestone]) <= now:
            lapsed.add(milestone)
    return case.milestones - lapsed
