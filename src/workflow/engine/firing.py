"""Timers firing: a due timer raises its event (as 'system') or sends its escalation.

Pure, like the decider it calls: the caller passes ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from workflow.definitions.models import Definition
from workflow.definitions.vocabulary import SYSTEM_ROLE
from workflow.engine import timing
from workflow.engine.decide import decide
from workflow.engine.effects import recipients
from workflow.engine.model import (
    Actor,
    CancelTimer,
    CaseState,
    Decision,
    Effect,
    Event,
    Notify,
    Rejection,
    RejectionReason,
    StartTimer,
    TimerFired,
    changed,
)


def due_timers(case: CaseState, now: datetime) -> list[tuple[str, datetime]]:
    """The case's timers that are due at ``now``, earliest first."""
    return sorted(
        ((t, due) for t, due in case.timers.items() if due <= now),
        key=lambda item: (item[1], item[0]),
    )


def fire_timer(
    definition: Definition, case: CaseState, timer_id: str, now: datetime
) -> Decision | Rejection:
    """A due timer fires: it raises its event (as 'system') or sends its escalation.

    The timer is consumed (or rescheduled, if it repeats) even when its event is
    refused, so a timer can never fire forever; the refusal is kept in the effect.
    """
    due = case.timers.get(timer_id)
    if due is None:
        return Rejection(RejectionReason.TIMER_NOT_RUNNING, {"timer": timer_id})
    if due > now:
        return Rejection(RejectionReason.TIMER_NOT_DUE, {"timer": timer_id, "due": due.isoformat()})
    timer = definition.timers_by_id[timer_id]
    timers = dict(case.timers)
    firings = dict(case.timer_firings)
    firings[timer_id] = firings.get(timer_id, 0) + 1
    anchors = dict(case.timing.anchors)
    following = timing.next_due(
        definition, timer, due, now, anchors.get(timer_id), firings[timer_id]
    )
    if timer.repeat and timer.repeat.max_count and firings[timer_id] >= timer.repeat.max_count:
        following = None
    reschedule: list[Effect] = []
    ended = case.timing.ended
    if following is None:
        del timers[timer_id]
        anchors.pop(timer_id, None)
        ended = ended | {timer_id}
    else:
        timers[timer_id], anchor = following
        if anchor is None:
            anchors.pop(timer_id, None)
        else:
            anchors[timer_id] = anchor
        reschedule.append(StartTimer(timer_id, timers[timer_id], anchor))
    ticked = changed(
        case,
        timers=timers,
        timer_firings=firings,
        timing=changed(case.timing, anchors=anchors, ended=ended),
    )

    if timer.fires.event is not None:
        event = Event(timer.fires.event, Actor(SYSTEM_ROLE, f"timer:{timer_id}"))
        result = decide(definition, ticked, event, now)
        if isinstance(result, Decision):
            fired = TimerFired(timer_id, due, timer.fires.event)
            # The step may itself have restarted or cancelled the timer (re-entering its
            # stage); then that is its state, and the reschedule is not repeated.
            touched = any(_touches(e, timer_id) for e in result.effects)
            still = timer_id in result.case.timers and not touched
            # This firing counts even if the step cancelled or restarted the timer.
            counted = {**result.case.timer_firings, timer_id: firings[timer_id]}
            return changed(
                result,
                case=changed(result.case, timer_firings=counted),
                effects=(fired, *result.effects, *(reschedule if still else [])),
            )
        # Refused: no step happened. The record is the timer's own (``timer:<id>``, as
        # for an escalation), holding the refusal; the event is named only inside it.
        fired = TimerFired(timer_id, due, timer.fires.event, rejected=result.reason.value)
        return Decision(
            ticked,
            f"timer:{timer_id}",
            f"timer:{timer_id}",
            case.stage,
            case.stage,
            (fired, *reschedule),
        )
    assert timer.fires.notify is not None
    notices: Iterable[Effect] = (
        Notify(r, timer.fires.notify.template, {}, timer_id)
        for r in recipients(definition, case, timer.fires.notify.to, now)
    )
    return Decision(
        ticked,
        f"timer:{timer_id}",
        f"timer:{timer_id}",
        case.stage,
        case.stage,
        (TimerFired(timer_id, due), *notices, *reschedule),
    )


def _touches(effect: Effect, timer_id: str) -> bool:
    """Whether an effect starts or cancels the timer."""
    match effect:
        case StartTimer(timer=timer) | CancelTimer(timer=timer):
            return timer == timer_id
        case _:
            return False


__all__ = ["due_timers", "fire_timer"]
