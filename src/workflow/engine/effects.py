"""What a definition's effects produce on a case, as data: the engine's side of effects.

Each kind of effect the definition language has (a model of the tagged union
:data:`workflow.definitions.effects.Effect`) becomes the engine's effects
(:class:`~workflow.engine.model.Notify`, ``StartTimer``, ``CancelTimer``, ``CreateTask``,
``RecordMilestone``) for adapters to carry out, with the case's running timers after it.
Pure: the caller passes ``now``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, assert_never

from workflow.definitions.effects import (
    CancelTimerEffect,
    CreateTaskEffect,
    MilestoneEffect,
    NotifyEffect,
    Recipients,
    StartTimerEffect,
)
from workflow.definitions.effects import Effect as EffectSpec
from workflow.definitions.models import Definition
from workflow.definitions.types import text_in
from workflow.engine import timing
from workflow.engine.model import (
    CancelTimer,
    CaseState,
    CreateTask,
    Effect,
    Notify,
    Recipient,
    RecordMilestone,
    StartTimer,
)
from workflow.engine.vocabulary import RecipientKind


def effects_of(
    definition: Definition,
    spec: EffectSpec,
    case: CaseState,
    shared: Mapping[str, Any],
    timers: Mapping[str, datetime],
    now: datetime,
) -> tuple[tuple[Effect, ...], Mapping[str, datetime]]:
    """What one effect of the definition produces, and the running timers after it.

    ``shared`` is the step's inputs departments may see; ``timers`` the case's running
    timers before the effect (not changed: the timers after it are returned).
    """
    match spec:
        case NotifyEffect(notify=notify):
            notices = (
                Notify(r, notify.template, shared) for r in recipients(definition, case, notify.to)
            )
            return tuple(notices), timers
        case StartTimerEffect(start_timer=timer_id):
            due = timing.timer_due(definition, definition.timers_by_id[timer_id], now)
            return (StartTimer(timer_id, due),), {**timers, timer_id: due}
        case CancelTimerEffect(cancel_timer=timer_id):
            if timer_id not in timers:
                return (), timers
            return (CancelTimer(timer_id),), {t: d for t, d in timers.items() if t != timer_id}
        case CreateTaskEffect(create_task=task):
            due_at = timing.due_at(definition, now, task.due, task.align) if task.due else None
            title = text_in(task.title, definition.locale)
            tasks = (CreateTask(r, title, due_at) for r in recipients(definition, case, task.for_))
            return tuple(tasks), timers
        case MilestoneEffect(milestone=milestone):
            return (RecordMilestone(milestone),), timers
        case _:
            assert_never(spec)


def recipients(definition: Definition, case: CaseState, to: Recipients) -> list[Recipient]:
    """The people and departments a recipients spec names on this case, without repeats."""
    found: list[Recipient] = []
    for role in to.roles:
        holder = case.data.get(role)
        found.append(
            Recipient(RecipientKind.ROLE, role, holder if isinstance(holder, str) else None)
        )
    found.extend(Recipient(RecipientKind.DEPARTMENT, dept) for dept in to.departments)
    if to.team:
        for member in case.team_members():
            if member.get("department") and member.get("person"):
                found.append(
                    Recipient(
                        RecipientKind.TEAM_MEMBER, str(member["department"]), str(member["person"])
                    )
                )
    return list(dict.fromkeys(found))


__all__ = ["effects_of", "recipients"]
