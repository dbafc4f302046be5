"""Which steps a person may take next on a case: the buttons a case page shows.

A guard that reads what the person is about to give (``inputs``) is checked when the
step is submitted, and refuses it with its message. A guard that reads only the case as
it is (the young person's age, milestones, counts) is checked here too
(:func:`refused_now`), as is separation of duties, so a step that would be refused
whatever is given is not offered (e.g. "Over aldersgrænsen" for a 17-year-old, or
"Afslut forløbet" to the caseworker who referred).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import cache
from typing import Any

from workflow.definitions import expressions
from workflow.definitions.models import Definition
from workflow.definitions.parts import Transition, guard_rules
from workflow.definitions.vocabulary import InputType, StageKind
from workflow.engine.context import lazy_expression_context
from workflow.engine.meetings import OPEN_STATES, meeting_kind
from workflow.engine.milestones import live_milestones
from workflow.engine.model import Actor, CaseState

#: What a guard may read that the page does not know before the step is submitted: the
#: step's inputs, and the consent (read only for the steps that need it).
_NOT_KNOWN_BEFORE = ("inputs", "consent")


def next_steps(
    definition: Definition,
    stage: str,
    roles: Sequence[str],
    open_meetings: Collection[str] | None = None,
    refused: Collection[str] = (),
) -> list[Transition]:
    """The transitions leaving ``stage`` that one of ``roles`` may trigger, in file order.

    ``open_meetings``: the kinds of the case's meetings still booked (or moved). Given, a
    step that moves, cancels or holds a meeting is left out while none it could act on is
    booked (it would only be refused: "no meeting booked"), and a step that only books a
    meeting while one of its kind is booked. ``refused``: ids of steps that would be
    refused now whatever is given (:func:`refused_now`), left out."""
    current = definition.stages_by_id.get(stage)
    if current is None or current.kind is StageKind.FINAL:
        return []
    return [
        t
        for t in definition.transitions
        if stage in definition.source_stages(t)
        and any(r in t.roles for r in roles)
        and (open_meetings is None or _has_its_meeting(t, open_meetings))
        and t.id not in refused
    ]


def refused_now(
    definition: Definition,
    case: CaseState,
    roles: Sequence[str],
    person: str | None,
    now: datetime,
) -> frozenset[str]:
    """The ids of the steps leaving the case's stage that one of ``roles`` may take but
    whose guard, reading only the case as it is, does not hold now, or that ``person``
    may not take for having taken a step it is ``not_by`` (``case.step_actors``): taken,
    each would be refused whatever the person gave. A guard (or rule) that reads the
    step's inputs or the consent, or that cannot be evaluated here, refuses nothing."""
    refused: set[str] = set()
    contexts: dict[str, Mapping[str, Any]] = {}
    live = live_milestones(definition, case, now)
    if live != case.milestones:
        case = replace(case, milestones=live)
    for transition in _guarded(definition, case.stage, roles):
        role = next(r for r in roles if r in transition.roles)
        context = contexts.get(role)
        if context is None:
            context = contexts[role] = _context(definition, case, Actor(role, person), now)
        if _fails(transition, context) or _not_theirs(transition, case, person):
            refused.add(transition.id)
    return frozenset(refused)


def _not_theirs(transition: Transition, case: CaseState, person: str | None) -> bool:
    """Separation of duties: the person took one of the steps this one is ``not_by``."""
    return person is not None and any(
        person in case.step_actors.get(step, ()) for step in transition.not_by
    )


def _guarded(definition: Definition, stage: str, roles: Sequence[str]) -> Iterable[Transition]:
    for transition in definition.transitions:
        if (
            (transition.guard is not None or transition.not_by)
            and stage in definition.source_stages(transition)
            and any(r in transition.roles for r in roles)
        ):
            yield transition


def _fails(transition: Transition, context: Mapping[str, Any]) -> bool:
    for _, source in guard_rules(transition.guard):
        if not _known_before(source):
            continue
        try:
            if not expressions.evaluate_bool(source, context):
                return True
        except expressions.ExpressionError:
            continue  # the step says why when it is submitted
    return False


@cache
def _known_before(source: str) -> bool:
    """Whether a guard's expression reads only what the page knows before submitting."""
    return not any(expressions.uses_name(source, name) for name in _NOT_KNOWN_BEFORE)


def _context(
    definition: Definition, case: CaseState, actor: Actor, now: datetime
) -> Mapping[str, Any]:
    """What the guards see, as the engine builds it for a step given no inputs."""
    return lazy_expression_context(definition, case, {}, actor, now)


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
