"""The pure decider: ``decide(definition, case, event, now) -> Decision | Rejection``.

No I/O and no clock: the caller passes ``now``. A rejection changes nothing; a
decision holds the case's new state and the effects, as data, for adapters to carry
out. Stage timers are cancelled on leaving a stage and started on entering one;
entering a final stage cancels every timer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from workflow.definitions import expressions
from workflow.definitions.models import (
    PREVIOUS_STAGE,
    REFER_EVENT,
    SYSTEM_ROLE,
    Definition,
    Recipients,
    StageKind,
    Transition,
)
from workflow.definitions.models import Effect as EffectSpec
from workflow.definitions.types import text_in, text_variants
from workflow.engine import timing
from workflow.engine.inputs import validate_inputs
from workflow.engine.model import (
    Actor,
    CancelTimer,
    CaseState,
    CreateTask,
    Decision,
    Effect,
    Event,
    FieldError,
    Notify,
    Recipient,
    RecordMilestone,
    Rejection,
    RejectionReason,
    StartTimer,
)


class _Counts(dict[str, int]):
    """Event counts where an event that never happened counts 0."""

    def __missing__(self, key: str) -> int:
        return 0


class _Data(dict[str, Any]):
    """Case data where a known field that was never given reads as none."""

    def __missing__(self, key: str) -> None:
        return None


def _context(
    definition: Definition,
    case: CaseState,
    inputs: Mapping[str, Any],
    now: datetime,
    actor: Actor,
) -> dict[str, Any]:
    data = _Data(case.data)
    return {
        "case": {
            "reference": case.reference,
            "stage": case.stage,
            "previous_stage": case.previous_stage,
            "data": data,
            "milestones": sorted(case.milestones),
            "counts": _Counts(case.counts),
            "team": list(case.data.get("team") or []),
            "opened_at": case.opened_at.isoformat(),
        },
        "inputs": dict(inputs),
        "actor": {"role": actor.role, "id": actor.id},
        "params": dict(definition.parameters),
        "target_ages": {"min": definition.target_ages.min, "max": definition.target_ages.max},
        "meeting_weekdays": list(definition.calendar.meeting_weekdays),
        "now": now.isoformat(),
        "today": now.date().isoformat(),
    }


class _Step:
    """The parts of a transition (or of the referral) the decider uses."""

    def __init__(self, transition: Transition | None, definition: Definition) -> None:
        spec = transition or definition.referral
        self.id = transition.id if transition else REFER_EVENT
        self.event = transition.event_name if transition else REFER_EVENT
        self.name = transition.name if transition else "Henvisning"
        self.roles = spec.roles
        self.inputs = spec.inputs
        self.guard = spec.guard
        self.guard_message = spec.guard_message
        self.assignments = spec.set
        self.effects = spec.effects
        self.to = transition.to if transition else definition.start_stage.id


def open_case(
    definition: Definition,
    reference: str,
    actor: Actor,
    inputs: Mapping[str, Any],
    now: datetime,
) -> Decision | Rejection:
    """Open a case by referral: validate the referral, enter the start stage."""
    blank = CaseState(reference=reference, stage="", opened_at=now)
    return _apply(
        definition,
        blank,
        _Step(None, definition),
        Event(REFER_EVENT, actor, inputs),
        now,
        opening=True,
    )


def decide(
    definition: Definition, case: CaseState, event: Event, now: datetime
) -> Decision | Rejection:
    """Decide what an event does to a case."""
    stage = definition.stages_by_id.get(case.stage)
    if stage is not None and stage.kind is StageKind.FINAL:
        return Rejection(RejectionReason.CASE_CLOSED, {"stage": case.stage})
    candidates = definition.transitions_by_event.get(event.name)
    if not candidates:
        return Rejection(RejectionReason.UNKNOWN_EVENT, {"event": event.name})
    here = [t for t in candidates if case.stage in definition.source_stages(t)]
    if not here:
        allowed = sorted({s for t in candidates for s in definition.source_stages(t)})
        return Rejection(
            RejectionReason.WRONG_STAGE,
            {"event": event.name, "stage": case.stage, "allowed": ", ".join(allowed)},
        )
    permitted = [t for t in here if _may_trigger(definition, t, event.actor)]
    if not permitted:
        allowed = sorted({r for t in here for r in t.roles})
        return Rejection(
            RejectionReason.ROLE_NOT_ALLOWED,
            {"event": event.name, "role": event.actor.role, "allowed": ", ".join(allowed)},
        )
    first_rejection: Rejection | None = None
    for transition in permitted:
        result = _apply(definition, case, _Step(transition, definition), event, now)
        if isinstance(result, Decision):
            return result
        first_rejection = first_rejection or result
    assert first_rejection is not None
    return first_rejection


def _may_trigger(definition: Definition, transition: Transition, actor: Actor) -> bool:
    if actor.role in transition.roles:
        return True
    return actor.role == SYSTEM_ROLE and transition.event_name in definition.timer_events


def _apply(
    definition: Definition,
    case: CaseState,
    step: _Step,
    event: Event,
    now: datetime,
    *,
    opening: bool = False,
) -> Decision | Rejection:
    if opening and event.actor.role not in step.roles:
        return Rejection(
            RejectionReason.ROLE_NOT_ALLOWED,
            {"event": REFER_EVENT, "role": event.actor.role, "allowed": ", ".join(step.roles)},
        )
    values, errors = validate_inputs(definition, step.inputs, event.inputs)
    if errors:
        return Rejection(
            RejectionReason.INVALID_INPUT,
            {"fields": ", ".join(e.name for e in errors)},
            tuple(errors),
        )
    context = _context(definition, case, values, now, event.actor)
    if step.guard is not None:
        try:
            passed = expressions.evaluate_bool(step.guard, context)
        except expressions.ExpressionError as exc:
            return Rejection(RejectionReason.GUARD_ERROR, {"event": step.event, "detail": exc})
        if not passed:
            custom = text_variants(step.guard_message) if step.guard_message else None
            return Rejection(RejectionReason.GUARD_FALSE, {"event": step.event}, (), custom)

    data = dict(case.data)
    data.update({k: v for k, v in values.items() if v is not None})
    for name, source in step.assignments.items():
        context["case"]["data"] = _Data(data)
        try:
            data[name] = expressions.evaluate_value(source, context)
        except expressions.ExpressionError as exc:
            return Rejection(
                RejectionReason.GUARD_ERROR, {"event": step.event, "detail": f"set {name}: {exc}"}
            )
    context["case"]["data"] = _Data(data)

    target = case.previous_stage if step.to == PREVIOUS_STAGE else step.to
    changes_stage = target is not None
    new_stage = target or case.stage
    timers = dict(case.timers)
    effects: list[Effect] = []
    if changes_stage and not opening:
        for timer_id in definition.stages_by_id[case.stage].timers:
            if timers.pop(timer_id, None) is not None:
                effects.append(CancelTimer(timer_id))

    state = replace(case, data=data)
    produced = _effects(definition, state, step, step.effects, context, values, now, timers)
    if isinstance(produced, Rejection):
        return produced
    effects.extend(produced)
    milestones = case.milestones | {e.milestone for e in produced if isinstance(e, RecordMilestone)}

    stage = definition.stages_by_id[new_stage]
    if changes_stage:
        if stage.kind is StageKind.FINAL:
            effects.extend(CancelTimer(t) for t in sorted(timers))
            timers.clear()
        else:
            for timer_id in stage.timers:
                timers[timer_id] = timing.timer_due(
                    definition, definition.timers_by_id[timer_id], now
                )
                effects.append(StartTimer(timer_id, timers[timer_id]))
    counts = dict(case.counts)
    counts[step.event] = counts.get(step.event, 0) + 1
    # A cancelled timer's count ends with it; one that ended by firing keeps its count
    # until it is cancelled (started again, it goes on counting) — as the store keeps it.
    cancelled = {e.timer for e in effects if isinstance(e, CancelTimer)}
    firings = {k: v for k, v in case.timer_firings.items() if k not in cancelled}
    new_case = replace(
        case,
        stage=new_stage,
        previous_stage=case.stage
        if (changes_stage and new_stage != case.stage) and not opening
        else (None if opening else case.previous_stage),
        data=data,
        milestones=milestones,
        timers=timers,
        timer_firings=firings,
        counts=counts,
    )
    return Decision(
        new_case, step.event, step.id, None if opening else case.stage, new_stage, tuple(effects)
    )


def _effects(
    definition: Definition,
    case: CaseState,
    step: _Step,
    specs: Sequence[EffectSpec],
    context: dict[str, Any],
    values: Mapping[str, Any],
    now: datetime,
    timers: dict[str, datetime],
) -> list[Effect] | Rejection:
    shared = {i.name: values.get(i.name) for i in step.inputs if i.share}
    effects: list[Effect] = []
    for spec in specs:
        if spec.when is not None:
            try:
                if not expressions.evaluate_bool(spec.when, context):
                    continue
            except expressions.ExpressionError as exc:
                return Rejection(
                    RejectionReason.GUARD_ERROR, {"event": step.event, "detail": f"when: {exc}"}
                )
        if spec.notify is not None:
            effects.extend(
                Notify(r, spec.notify.template, shared)
                for r in recipients(definition, case, spec.notify.to)
            )
        elif spec.start_timer is not None:
            timer = definition.timers_by_id[spec.start_timer]
            timers[timer.id] = timing.timer_due(definition, timer, now)
            effects.append(StartTimer(timer.id, timers[timer.id]))
        elif spec.cancel_timer is not None:
            if timers.pop(spec.cancel_timer, None) is not None:
                effects.append(CancelTimer(spec.cancel_timer))
        elif spec.create_task is not None:
            task = spec.create_task
            due = timing.due_at(definition, now, task.due, task.align) if task.due else None
            title = text_in(task.title, definition.locale)
            effects.extend(
                CreateTask(r, title, due) for r in recipients(definition, case, task.for_)
            )
        elif spec.milestone is not None:
            effects.append(RecordMilestone(spec.milestone))
    return effects


def recipients(definition: Definition, case: CaseState, to: Recipients) -> list[Recipient]:
    """The people and departments a recipients spec names on this case, without repeats."""
    found: list[Recipient] = []
    for role in to.roles:
        holder = case.data.get(role)
        found.append(Recipient("role", role, holder if isinstance(holder, str) else None))
    found.extend(Recipient("department", dept) for dept in to.departments)
    if to.team:
        team = case.data.get("team")
        for member in team if isinstance(team, list) else []:
            if isinstance(member, dict) and member.get("department") and member.get("person"):
                found.append(
                    Recipient("team_member", str(member["department"]), str(member["person"]))
                )
    return list(dict.fromkeys(found))


__all__ = ["FieldError", "decide", "open_case", "recipients"]
