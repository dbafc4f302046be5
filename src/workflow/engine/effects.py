"""What a definition's effects produce on a case, as data: the engine's side of effects.

Each kind of effect the definition language has (a model of the tagged union
:data:`workflow.definitions.effects.Effect`) becomes the engine's effects
(:class:`~workflow.engine.model.Notify`, ``StartTimer``, ``CancelTimer``, ``CreateTask``,
``RecordMilestone``) for adapters to carry out, with the case's running timers after it.
Pure: the caller passes ``now``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, assert_never
from zoneinfo import ZoneInfo

from workflow.definitions.effects import (
    CancelTasksEffect,
    CancelTimerEffect,
    CreateTaskEffect,
    MilestoneEffect,
    NotifyEffect,
    Recipients,
    RevokeMilestoneEffect,
    StartTimerEffect,
)
from workflow.definitions.effects import CreateTask as CreateTaskSpec
from workflow.definitions.effects import Effect as EffectSpec
from workflow.definitions.models import Definition
from workflow.definitions.types import text_in
from workflow.definitions.vocabulary import CaseRole
from workflow.engine import timing
from workflow.engine.context import is_minor
from workflow.engine.model import (
    CancelTasks,
    CancelTimer,
    CaseState,
    CreateTask,
    Effect,
    MeetingRecord,
    Notify,
    Recipient,
    RecordMilestone,
    Rejection,
    RejectionReason,
    RevokeMilestone,
    TaskReminderDue,
)
from workflow.engine.timers import start
from workflow.engine.vocabulary import RecipientKind


@dataclass(frozen=True)
class StepFacts:
    """What an effect may draw on besides the case: the step's inputs, the stage the case
    is in after it, and the meeting it booked, moved, cancelled or held."""

    values: Mapping[str, Any] = field(default_factory=dict)
    stage: str = ""
    meeting: MeetingRecord | None = None
    #: What expressions see after the step's data is assigned (for anchored timers).
    context: Mapping[str, Any] = field(default_factory=dict)


def effects_of(
    definition: Definition,
    spec: EffectSpec,
    case: CaseState,
    shared: Mapping[str, Any],
    timers: Mapping[str, datetime],
    now: datetime,
    facts: StepFacts | None = None,
) -> tuple[tuple[Effect, ...], Mapping[str, datetime]]:
    """What one effect of the definition produces, and the running timers after it.

    ``shared`` is the step's inputs departments may see; ``timers`` the case's running
    timers before the effect (not changed: the timers after it are returned).
    """
    facts = facts or StepFacts(stage=case.stage)
    match spec:
        case NotifyEffect(notify=notify):
            notices = (
                Notify(r, notify.template, shared, None, facts.meeting)
                for r in recipients(definition, case, notify.to, now)
            )
            return tuple(notices), timers
        case StartTimerEffect(start_timer=timer_id):
            started = start(definition, definition.timers_by_id[timer_id], now, facts.context)
            if started is None:  # anchored to a date that is not set: it does not run
                return (), timers
            return (started,), {**timers, timer_id: started.due_at}
        case CancelTimerEffect(cancel_timer=timer_id):
            if timer_id not in timers:
                return (), timers
            return (CancelTimer(timer_id),), {t: d for t, d in timers.items() if t != timer_id}
        case CreateTaskEffect(create_task=task):
            return tuple(_tasks(definition, task, case, facts, now)), timers
        case CancelTasksEffect(cancel_tasks=keys):
            return (CancelTasks(keys=tuple(keys)),), timers
        case MilestoneEffect(milestone=milestone):
            return (RecordMilestone(milestone),), timers
        case RevokeMilestoneEffect(revoke_milestone=milestone):
            if milestone not in case.milestones:
                return (), timers
            return (RevokeMilestone(milestone),), timers
        case _:
            assert_never(spec)


#: The most notifications one step may send (each is an outbox row and a message): a
#: team holds at most 100 people, and a step notifying it twice or more is refused
#: rather than cut short (a cut would leave someone out without anyone knowing).
MAX_NOTIFICATIONS_PER_STEP = 150


def notifications_over_cap(effects: tuple[Effect, ...]) -> Rejection | None:
    """The refusal of a step whose effects send more than
    :data:`MAX_NOTIFICATIONS_PER_STEP` notifications, or None."""
    count = sum(1 for effect in effects if isinstance(effect, Notify))
    if count <= MAX_NOTIFICATIONS_PER_STEP:
        return None
    params = {"count": count, "max": MAX_NOTIFICATIONS_PER_STEP}
    return Rejection(RejectionReason.TOO_MANY_RECIPIENTS, params)


def _tasks(
    definition: Definition, task: CreateTaskSpec, case: CaseState, facts: StepFacts, now: datetime
) -> list[CreateTask]:
    """One task per assignee; a role's task goes to the role's holder on the case."""
    due_at = timing.due_at(definition, now, task.due, task.align) if task.due else None
    meeting = facts.meeting if task.at_latest == "meeting" else None
    if meeting is not None:
        due_at = meeting.starts_at if due_at is None else min(due_at, meeting.starts_at)
    title = text_in(task.title, definition.locale)
    details = facts.values.get(task.details) if task.details else None
    reminders = tuple(_reminders(definition, case, task, due_at)) if due_at else ()
    if meeting is not None:  # a reminder once the meeting has begun comes too late to act on
        reminders = tuple(r for r in reminders if r.at < meeting.starts_at)
    if task.for_ is not None:
        assignees = recipients(definition, case, task.for_, now)
    else:
        assignees = _each(case, task.for_each or "", facts.values)
    need = task.when_done.need if task.when_done else None
    return [
        CreateTask(
            assignee,
            title,
            due_at,
            key=task.id,
            details=str(details) if details else None,
            until=task.until or "stage",
            stage=facts.stage,
            reminders=reminders,
            need=need,
            raises=task.when_done.raises if task.when_done else None,
            meeting=meeting.key if meeting is not None else None,
        )
        for assignee in assignees
    ]


def _each(case: CaseState, for_each: str, values: Mapping[str, Any]) -> list[Recipient]:
    """The assignees of ``for_each``: team members, the team's departments, an input's items."""
    if for_each == "team":
        return recipients_of_team(case.team_members())
    if for_each == "team_departments":
        departments = dict.fromkeys(str(m["department"]) for m in case.team_members())
        return [Recipient(RecipientKind.DEPARTMENT, d) for d in departments]
    name = for_each.removeprefix("inputs.")
    items = values.get(name) or case.data.get(name) or []
    if items and isinstance(items[0], Mapping):
        return recipients_of_team(items)
    return [Recipient(RecipientKind.DEPARTMENT, str(d)) for d in dict.fromkeys(items)]


def recipients_of_team(team: Any) -> list[Recipient]:
    """One recipient per team member (department and person)."""
    found = [
        Recipient(RecipientKind.TEAM_MEMBER, str(m["department"]), str(m["person"]))
        for m in team
        if isinstance(m, Mapping) and m.get("department") and m.get("person")
    ]
    return list(dict.fromkeys(found))


def _reminders(
    definition: Definition, case: CaseState, task: CreateTaskSpec, due_at: datetime
) -> list[TaskReminderDue]:
    found = []
    for reminder in task.reminders:
        if reminder.before is not None:
            at = timing.add_duration(
                definition, due_at, replace(reminder.before, amount=-reminder.before.amount)
            )
        elif reminder.after is not None:
            at = timing.add_duration(definition, due_at, reminder.after)
        else:
            at = due_at
        to = tuple(recipients(definition, case, reminder.to)) if reminder.to else ()
        found.append(TaskReminderDue(at, reminder.template, to))
    return found


def recipients(
    definition: Definition, case: CaseState, to: Recipients, now: datetime | None = None
) -> list[Recipient]:
    """The people and departments a recipients spec names on this case, without repeats.

    A guardian is told only while the young person is a minor (on ``now``'s date): custody
    ends at 18, and so do the guardian's notifications."""
    found: list[Recipient] = []
    adult = now is not None and not is_minor(
        case.born, now.astimezone(ZoneInfo(definition.calendar.timezone)).date(), case.data
    )
    for role in to.roles:
        if role == CaseRole.GUARDIAN and adult:
            continue
        holder = case.data.get(role)
        found.append(
            Recipient(RecipientKind.ROLE, role, holder if isinstance(holder, str) else None)
        )
    found.extend(Recipient(RecipientKind.DEPARTMENT, dept) for dept in to.departments)
    if to.team:
        found.extend(recipients_of_team(case.team_members()))
    return list(dict.fromkeys(found))


__all__ = [
    "MAX_NOTIFICATIONS_PER_STEP",
    "StepFacts",
    "effects_of",
    "notifications_over_cap",
    "recipients",
    "recipients_of_team",
]
