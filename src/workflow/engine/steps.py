"""Which steps a person may take next on a case: the buttons a case page shows.

Guards are not evaluated here: they depend on the values the person is about to give,
so a step whose guard fails is refused (with its message) when it is submitted.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from workflow.definitions.models import Definition
from workflow.definitions.parts import Transition
from workflow.definitions.vocabulary import InputType, StageKind
from workflow.engine.meetings import OPEN_STATES, meeting_kind


def next_steps(
    definition: Definition,
    stage: str,
    roles: Sequence[str],
    open_meetings: Collection[str] | None = None,
) -> list[Transition]:
    """The transitions leaving ``stage`` that one of ``roles`` may trigger, in file order.

    ``open_meetings``: the kinds of the case's meetings still booked (or moved). Given, a
    step that moves, cancels or holds a meeting is left out while none it could act on is
    booked (it would only be refused: "no meeting booked"), and a step that only books a
    meeting while one of its kind is booked."""
    current = definition.stages_by_id.get(stage)
    if current is None or current.kind is StageKind.FINAL:
        return []
    return [
        t
        for t in definition.transitions
        if stage in definition.source_stages(t)
        and any(r in t.roles for r in roles)
        and (open_meetings is None or _has_its_meeting(t, open_meetings))
    ]


def open_meeting_kinds(meetings: Sequence[Mapping[str, Any]]) -> frozenset[str] | None:
    """The kinds of a case view's meetings that are still booked (or moved); None for a
    case with no meetings at all (one from before meetings were kept, or before its first
    booking), for which nothing is left out."""
    if not meetings:
        return None
    return frozenset(str(m["kind"]) for m in meetings if m.get("state") in OPEN_STATES)


def _has_its_meeting(transition: Transition, open_meetings: Collection[str]) -> bool:
    """A move, cancel or hold needs a meeting booked; a step that only books meetings is for
    when none of their kinds is (else it would replace the one booked: "Flyt mødet")."""
    action = transition.meeting
    if action is None:
        inputs = transition.inputs
        only_booking = bool(inputs) and all(i.type is InputType.MEETING for i in inputs)
        return not (only_booking and all(meeting_kind(i) in open_meetings for i in inputs))
    if action.action not in ("move", "cancel", "hold"):
        return True
    return action.kind in open_meetings if action.kind else bool(open_meetings)


def acting_role(allowed: Sequence[str], roles: Sequence[str]) -> str | None:
    """The first of a person's ``roles`` (in their order of preference) that is allowed."""
    return next((r for r in roles if r in allowed), None)
