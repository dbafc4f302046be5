"""Which timers run, and until when, as a step leaves and enters stages.

Pure functions on the running timers (timer -> due time) and the case's
:class:`~workflow.engine.model.Timing`: starting a timer (after a while, or anchored
to a date the case gives), setting timers aside for a pause and resuming them with the
time they had left, and following anchors when the data they read changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from workflow.definitions import expressions
from workflow.definitions.models import Definition
from workflow.definitions.parts import Timer
from workflow.engine import timing
from workflow.engine.model import CancelTimer, Effect, StartTimer, Suspended, Timing, changed


class AnchorError(Exception):
    """A timer's ``at`` could not be evaluated (or gave no date or time)."""

    def __init__(self, timer: str, detail: str) -> None:
        super().__init__(f"timer {timer}: at: {detail}")
        self.timer = timer


def start(
    definition: Definition, timer: Timer, now: datetime, context: Mapping[str, Any]
) -> StartTimer | None:
    """The start of a timer at ``now`` (None: an anchored timer whose anchor is not set)."""
    if timer.at is None:
        due = timing.timer_due(definition, timer, now)
        anchor = timing.timer_anchor(definition, timer, now) if timer.repeat else None
        return StartTimer(timer.id, due, anchor)
    try:
        value = expressions.evaluate_raw(timer.at, context)
        found = timing.anchored_due(definition, timer, value)
    except (expressions.ExpressionError, TypeError, ValueError) as exc:
        raise AnchorError(timer.id, str(exc)) from exc
    if found is None:
        return None
    due, anchor = found
    return StartTimer(timer.id, due, anchor if timer.repeat else None)


@dataclass(frozen=True)
class Running:
    """The running timers, the timing kept, and the timer effects of a step so far."""

    timers: Mapping[str, datetime]
    timing: Timing
    effects: tuple[Effect, ...] = ()

    def started(self, effect: StartTimer) -> Running:
        anchors = dict(self.timing.anchors)
        if effect.anchor is not None:
            anchors[effect.timer] = effect.anchor
        else:
            anchors.pop(effect.timer, None)
        return Running(
            {**self.timers, effect.timer: effect.due_at},
            changed(self.timing, anchors=anchors),
            (*self.effects, effect),
        )

    def cancelled(self, timer: str) -> Running:
        anchors = {k: v for k, v in self.timing.anchors.items() if k != timer}
        return Running(
            {t: d for t, d in self.timers.items() if t != timer},
            changed(self.timing, anchors=anchors, ended=self.timing.ended | {timer}),
            (*self.effects, CancelTimer(timer)),
        )


def leave(
    definition: Definition, running: Running, leaving: list[str], now: datetime, *, pause: bool
) -> Running:
    """Leave a stage: its running timers end — or, entering a pause, are set aside with
    the time they had left (``on_pause: suspend``) or run on (``continue``)."""
    for timer_id in leaving:
        timer = definition.timers_by_id[timer_id]
        if pause and timer.on_pause == "continue":
            continue
        if pause and timer.at is None:
            left = (running.timers[timer_id] - now).total_seconds()
            suspended = {**running.timing.suspended, timer_id: Suspended(max(left, 0.0), now)}
            running = changed(running, timing=changed(running.timing, suspended=suspended))
        running = running.cancelled(timer_id)
    return running


def enter(
    definition: Definition,
    running: Running,
    stage_timers: list[str],
    now: datetime,
    context: Mapping[str, Any],
    *,
    pause: bool,
) -> Running:
    """Enter a stage: start its timers — a timer set aside by a pause goes on with the
    time it had left, one that ran on through the pause keeps its due time. Entering a
    stage that is no pause forgets what was set aside."""
    if running.timing.ended & set(stage_timers):  # the stage's own timers begin anew
        ended = running.timing.ended - set(stage_timers)
        running = changed(running, timing=changed(running.timing, ended=ended))
    for timer_id in dict.fromkeys(stage_timers):
        timer = definition.timers_by_id[timer_id]
        held = running.timing.suspended.get(timer_id)
        if held is not None:
            # It goes on with the time it had left; a repeating one counts its later
            # firings from this due time (its count began again when it was set aside).
            resumed = now + timedelta(seconds=held.remaining_seconds)
            due = timing.align(definition, resumed, timer.align)
            anchor = resumed if timer.repeat is not None else None
            running = running.started(StartTimer(timer_id, due, anchor))
            continue
        if timer_id in running.timers and timer.on_pause == "continue":
            continue  # ran on through the pause
        started = start(definition, timer, now, context)
        if started is not None and (timer.at is None or started.due_at > now):
            running = running.started(started)
    if not pause and running.timing.suspended:
        running = changed(running, timing=changed(running.timing, suspended={}))
    return running


def follow_anchors(
    definition: Definition,
    running: Running,
    stage_timers: list[str],
    now: datetime,
    context: Mapping[str, Any],
) -> Running:
    """After a step: anchored timers follow the data they read (moved, or ended when it is
    no longer set); an anchored timer of the stage or of the whole case (``while_open``)
    that has not run yet starts once its anchor is set and still to come."""
    candidates = [definition.timers_by_id[t] for t in dict.fromkeys(stage_timers)]
    candidates += list(definition.case_timers)
    fixed = definition.fixed_anchors
    for timer_id in list(running.timers):
        timer = definition.timers_by_id[timer_id]
        if timer.at is None or timer_id in fixed:
            continue  # not anchored, or anchored to what no step changes (a birthday)
        started = start(definition, timer, now, context)
        if started is None:
            running = running.cancelled(timer_id)
        elif started.due_at != running.timers[timer_id] and not timer.repeat:
            running = running.started(started)
    for timer in candidates:
        if timer.id in running.timers or timer.id in running.timing.ended:
            continue
        if timer.at is None and not timer.while_open:
            continue  # a stage's timer after a while starts only on entering the stage
        started = start(definition, timer, now, context)
        if started is not None and started.due_at > now:
            running = running.started(started)
        elif timer.id in fixed:  # its day has passed (18 already) and will not come again
            ended = running.timing.ended | {timer.id}
            running = changed(running, timing=changed(running.timing, ended=ended))
    return running
