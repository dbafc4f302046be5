"""The pure decider: ``decide(definition, case, event, now) -> Decision | Rejection``.

No I/O and no clock: the caller passes ``now``. A rejection changes nothing; a
decision holds the case's new state and the effects, as data, for adapters to carry
out. Stage timers are cancelled on leaving a stage and started on entering one;
entering a final stage cancels every timer.

Taking a step is a sequence of named steps (:data:`_STEPS`): check the separation of
duties (``not_by``), validate the inputs, check
the guard (one expression, or rules each with its message), assign computed data,
book/move/cancel/hold meetings (under the meeting rules), leave the stage (its timers and
open tasks end, or a pause sets its timers aside), carry out the effects, enter the new
stage, let anchored timers follow the data, count the event. Milestones that lapsed
(``expires_after``) are gone before the first of them. Each returns a new draft of the outcome or a
:class:`~workflow.engine.model.Rejection`, and :func:`_take` stops at the first
rejection; nothing is changed in place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from workflow.definitions import expressions
from workflow.definitions.effects import Effect as EffectSpec
from workflow.definitions.message_values import filled
from workflow.definitions.models import Definition
from workflow.definitions.parts import StepSpec, Transition
from workflow.definitions.types import text_variants
from workflow.definitions.vocabulary import (
    PREVIOUS_STAGE,
    REFER_EVENT,
    SYSTEM_ROLE,
    StageKind,
)
from workflow.engine import timers as running_timers
from workflow.engine.context import lazy_expression_context, with_data
from workflow.engine.effects import StepFacts, effects_of, notifications_over_cap
from workflow.engine.input_facts import InputFacts
from workflow.engine.input_rules import case_input_errors
from workflow.engine.inputs import validate_inputs
from workflow.engine.meetings import (
    apply_meetings,
    cancel_meetings_in,
    cancel_open_meetings,
    meeting_rule_errors,
    meeting_task_keys,
)
from workflow.engine.milestones import live_milestones, with_reached
from workflow.engine.model import (
    Actor,
    CancelTasks,
    CancelTimer,
    CaseState,
    Decision,
    Effect,
    Event,
    FieldError,
    HoldTasks,
    MeetingRecord,
    RecordMilestone,
    Rejection,
    RejectionReason,
    ReleaseTasks,
    RevokeMilestone,
    StartTimer,
    Timing,
    changed,
)

_NOTHING: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class _Attempt:
    """A step being taken on a case: what stays fixed while it is decided."""

    definition: Definition
    case: CaseState
    spec: StepSpec
    event: Event
    now: datetime
    #: The transition's id, or 'refer' for the referral.
    step_id: str
    #: The event that names the step (a transition's event, or 'refer').
    event_name: str
    #: The stage the step enters ('@previous' resolved); None when it keeps the stage.
    target: str | None
    opening: bool = False
    #: What only the service knows to check the inputs against (staff, the plan's size).
    facts: InputFacts | None = None
    #: The contexts built for the case data as the step goes (by the data's identity):
    #: each is built once, however many expressions read it.
    views: dict[int, tuple[Mapping[str, Any], expressions.LazyContext]] = field(
        default_factory=dict, compare=False, hash=False
    )


class _Draft(NamedTuple):
    """What deciding an attempt has produced so far; each named step returns a new one.

    A named tuple rather than a dataclass: a step is decided in microseconds, and
    ``_replace`` costs a fraction of ``dataclasses.replace``.
    """

    data: Mapping[str, Any]
    timers: Mapping[str, datetime]
    counts: Mapping[str, int]
    timing: Timing
    #: The validated inputs (none until they are validated).
    values: Mapping[str, Any] = _NOTHING
    #: What expressions see; its case data is the data before this step.
    context: Mapping[str, Any] = _NOTHING
    effects: tuple[Effect, ...] = ()
    #: The meeting the step booked, moved, cancelled or held (its notifications carry it).
    meeting: MeetingRecord | None = None
    #: Events the system raises on the case after the step.
    raises: tuple[str, ...] = ()


def open_case(
    definition: Definition,
    reference: str,
    actor: Actor,
    inputs: Mapping[str, Any],
    now: datetime,
    born: date | None = None,
    facts: InputFacts | None = None,
) -> Decision | Rejection:
    """Open a case by referral: validate the referral, enter the start stage.

    ``born``: the young person's birth date (the engine derives ``person.*`` from it);
    ``facts``: what the service knows to check the inputs against (see :func:`decide`)."""
    referral = definition.referral
    if actor.role not in referral.roles:
        return Rejection(
            RejectionReason.ROLE_NOT_ALLOWED,
            {"event": REFER_EVENT, "role": actor.role, "allowed": ", ".join(referral.roles)},
        )
    blank = CaseState(reference=reference, stage="", opened_at=now, born=born)
    attempt = _Attempt(
        definition,
        blank,
        referral,
        Event(REFER_EVENT, actor, inputs),
        now,
        step_id=REFER_EVENT,
        event_name=REFER_EVENT,
        target=definition.start_stage.id,
        opening=True,
        facts=facts,
    )
    return _take(attempt)


def decide(
    definition: Definition,
    case: CaseState,
    event: Event,
    now: datetime,
    facts: InputFacts | None = None,
) -> Decision | Rejection:
    """Decide what an event does to a case.

    ``facts`` is what the service found in the store to check the inputs against (the
    staff ids the step names, the size of the plan); None checks the inputs alone."""
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
        result = _take(_transition_attempt(definition, case, transition, event, now, facts))
        if isinstance(result, Decision):
            return result
        first_rejection = first_rejection or result
    assert first_rejection is not None
    return first_rejection


def _may_trigger(definition: Definition, transition: Transition, actor: Actor) -> bool:
    if actor.role in transition.roles:
        return True
    return actor.role == SYSTEM_ROLE and transition.event_name in definition.raised_events


def _transition_attempt(
    definition: Definition,
    case: CaseState,
    transition: Transition,
    event: Event,
    now: datetime,
    facts: InputFacts | None = None,
) -> _Attempt:
    target = case.previous_stage if transition.to == PREVIOUS_STAGE else transition.to
    return _Attempt(
        definition,
        case,
        transition,
        event,
        now,
        step_id=transition.id,
        event_name=transition.event_name,
        target=target,
        facts=facts,
    )


# The named steps of taking a step, in order. Each returns a new draft, or the
# rejection that refuses the whole step.


def _validate_inputs(attempt: _Attempt, draft: _Draft) -> _Draft | Rejection:
    values, errors = validate_inputs(
        attempt.definition, attempt.spec.inputs, attempt.event.inputs, attempt.facts
    )
    # Every wrong field at once: the goals' passed deadlines, and the meeting rules a
    # time given breaks, told with the rest (they came in rounds, one kind a try).
    errors = [
        *errors,
        *case_input_errors(attempt.definition, attempt.spec, attempt.case, values, attempt.now),
    ]
    if errors:
        errors += meeting_rule_errors(attempt.definition, attempt.spec, values)
        return Rejection(
            RejectionReason.INVALID_INPUT,
            {"fields": ", ".join(e.name for e in errors)},
            tuple(errors),
        )
    return draft._replace(values=values, context=_context(attempt, values))


def _check_duties(attempt: _Attempt, draft: _Draft) -> _Draft | Rejection:
    """Separation of duties: whoever took one of the ``not_by`` steps may not take this one."""
    not_by = getattr(attempt.spec, "not_by", ())
    who = attempt.event.actor.id
    if not not_by or who is None:
        return draft
    taken = [step for step in not_by if who in attempt.case.step_actors.get(step, ())]
    if not taken:
        return draft
    return Rejection(
        RejectionReason.SEPARATION_OF_DUTIES,
        {"event": attempt.event_name, "steps": ", ".join(taken)},
    )


def _check_guard(attempt: _Attempt, draft: _Draft) -> _Draft | Rejection:
    """The guard must hold; a guard of rules names every rule that failed, beside its field."""
    guard = attempt.spec.guard
    if guard is None:
        return draft
    if isinstance(guard, str):
        passed = _evaluate_guard(attempt, (), guard, draft.context)
        if isinstance(passed, Rejection):
            return passed
        if passed:
            return draft
        message = attempt.spec.guard_message
        custom = filled(text_variants(message), attempt.definition) if message else None
        return Rejection(RejectionReason.GUARD_FALSE, {"event": attempt.event_name}, (), custom)
    failed: list[dict[str, str]] = []
    unplaced: list[dict[str, str]] = []
    fields: list[FieldError] = []
    for index, rule in enumerate(guard):
        passed = _evaluate_guard(attempt, (index, "rule"), rule.rule, draft.context)
        if isinstance(passed, Rejection):
            return passed
        if not passed:
            words = filled(text_variants(rule.message), attempt.definition)
            failed.append(words)
            if rule.field is not None:
                fields.append(FieldError(rule.field, "guard_false", {}, words))
            else:
                unplaced.append(words)
    if not failed:
        return draft
    params: dict[str, Any] = {"event": attempt.event_name, "rules": len(failed)}
    if unplaced:  # shown above the form; the others beside their fields
        params["unplaced"] = _joined(unplaced)
    return Rejection(RejectionReason.GUARD_FALSE, params, tuple(fields), _joined(failed))


def _joined(messages: list[dict[str, str]]) -> dict[str, str]:
    """Several rules' messages as one text per language (Danish where one has no English)."""
    return {lang: " ".join(m.get(lang) or m["da"] for m in messages) for lang in ("da", "en")}


def _evaluate_guard(
    attempt: _Attempt, below: tuple[str | int, ...], source: str, context: Mapping[str, Any]
) -> bool | Rejection:
    """A guard's (or a rule's) truth; a failure names where it is written and what was unset."""
    try:
        return expressions.evaluate_bool(source, context)
    except expressions.ExpressionError as exc:
        return _expression_failure(attempt, ("guard", *below), source, context, str(exc))


def _expression_failure(
    attempt: _Attempt,
    part: tuple[str | int, ...],
    source: str,
    context: Mapping[str, Any],
    detail: str,
) -> Rejection:
    """GUARD_ERROR for an expression that failed: where it is written (file:line:column),
    what went wrong and which values it read were not set."""
    definition = attempt.definition
    if attempt.opening:
        path: tuple[str | int, ...] = ("referral", *part)
    else:
        index = definition.transitions.index(attempt.spec)  # type: ignore[arg-type]
        path = ("transitions", index, *part)
    where = definition.locate(path)
    unset = expressions.unset_names(source, context)
    text = f"{'.'.join(str(p) for p in part)}: {detail}"
    if unset:
        text += f" (not set: {', '.join(unset)})"
    if where is not None:
        text = f"{where}: {text}"
    return Rejection(RejectionReason.GUARD_ERROR, {"event": attempt.event_name, "detail": text})


def _assign(attempt: _Attempt, draft: _Draft) -> _Draft | Rejection:
    """The case data: what it was, the inputs given, then each computed value in order."""
    data = {**draft.data, **{k: v for k, v in draft.values.items() if v is not None}}
    for name, source in attempt.spec.set.items():
        context = _with_data(attempt, draft.context, data)
        try:
            value = expressions.evaluate_value(source, context)
        except expressions.ExpressionError as exc:
            return _expression_failure(attempt, ("set", name), source, context, str(exc))
        data = {**data, name: value}
    return draft._replace(data=data)


def _meetings(attempt: _Attempt, draft: _Draft) -> _Draft | Rejection:
    """Book, move, cancel or hold the case's meetings, under the definition's rules."""
    outcome = apply_meetings(
        attempt.definition, attempt.case, attempt.spec, draft.values, draft.data, attempt.now
    )
    if isinstance(outcome, Rejection):
        return outcome
    if not outcome.changes:
        return draft
    return draft._replace(
        data=outcome.data,
        effects=(*draft.effects, *outcome.changes),
        meeting=outcome.changed,
        raises=(*draft.raises, *outcome.raises),
    )


def _leave_stage(attempt: _Attempt, draft: _Draft) -> _Draft | Rejection:
    """Moving on cancels the running timers of the stage left, and its open tasks."""
    if attempt.target is None or attempt.opening:
        return draft
    definition = attempt.definition
    stage = definition.stages_by_id[attempt.case.stage]
    entering = definition.stages_by_id[attempt.target]
    leaving = [t for t in dict.fromkeys(stage.timers) if t in draft.timers]
    running = running_timers.leave(
        definition,
        running_timers.Running(draft.timers, draft.timing),
        leaving,
        attempt.now,
        pause=bool(entering.pause) and entering.id != stage.id,
    )
    tasks: tuple[Effect, ...] = ()
    data, meeting = draft.data, draft.meeting
    if attempt.target != attempt.case.stage:
        final = entering.kind is StageKind.FINAL
        if entering.pause:  # the stage is set aside, not left: its tasks wait with it
            waiting = attempt.target in definition.stages_tasks_wait_for
            tasks = (
                HoldTasks(stage.id),
                *((CancelTasks(left=None, entered=attempt.target),) if waiting else ()),
            )
            running = changed(running, timing=changed(running.timing, paused_at=attempt.now))
        else:
            # Leaving a pause, the tasks it held go on if the case is back in their stage
            # (else they end); then those of the stage left and waiting for the one entered.
            held = (ReleaseTasks(attempt.target),) if stage.pause and not final else ()
            tasks = (
                *held,
                CancelTasks(left=attempt.case.stage, entered=attempt.target, everything=final),
            )
            since = running.timing.paused_at
            if stage.pause and not final and since is not None:
                # No meeting is held in a pause: one whose time fell in it is cancelled
                # (the step's mails carry it), with the tasks asked for it.
                missed = cancel_meetings_in(data, since, attempt.now)
                if missed.changes:
                    data, meeting = missed.data, missed.changed
                    keys = meeting_task_keys(definition)
                    gone = tuple(c.meeting.key for c in missed.changes)
                    asked = (CancelTasks(keys=keys, meetings=gone),) if keys else ()
                    tasks = (*tasks, *missed.changes, *asked)
            running = changed(running, timing=changed(running.timing, paused_at=None))
        if final:  # the case ends: its booked meetings are cancelled (the mails carry it)
            ended = cancel_open_meetings(data)
            if ended.changes:
                data, meeting = ended.data, ended.changed
                tasks = (*tasks, *ended.changes)
    return draft._replace(
        data=data,
        meeting=meeting,
        timers=running.timers,
        timing=running.timing,
        effects=(*draft.effects, *running.effects, *tasks),
    )


def _carry_out_effects(attempt: _Attempt, draft: _Draft) -> _Draft | Rejection:
    """The step's own effects, each whose condition holds, on the case data as assigned."""
    context = _with_data(attempt, draft.context, draft.data)
    case = changed(attempt.case, data=draft.data)
    shared = {i.name: draft.values.get(i.name) for i in attempt.spec.inputs if i.share}
    facts = StepFacts(draft.values, attempt.target or attempt.case.stage, draft.meeting, context)
    timers, effects, timing = draft.timers, draft.effects, draft.timing
    for index, spec in enumerate(attempt.spec.effects):
        applies = _applies(attempt, index, spec, context)
        if isinstance(applies, Rejection):
            return applies
        if applies:
            try:
                produced, timers = effects_of(
                    attempt.definition, spec, case, shared, timers, attempt.now, facts
                )
            except running_timers.AnchorError as exc:
                return _anchor_failure(attempt, exc)
            for effect in produced:
                if isinstance(effect, StartTimer):
                    timing = _anchored(timing, effect)
                elif isinstance(effect, CancelTimer):  # ended: its anchor does not restart it
                    anchors = {k: v for k, v in timing.anchors.items() if k != effect.timer}
                    timing = changed(timing, anchors=anchors, ended=timing.ended | {effect.timer})
            effects = (*effects, *produced)
    return draft._replace(timers=timers, effects=effects, timing=timing)


def _anchored(timing: Timing, started: StartTimer) -> Timing:
    """The timing with a started timer's anchor kept (or forgotten); started again by a
    step, it runs its course anew."""
    anchors = {k: v for k, v in timing.anchors.items() if k != started.timer}
    if started.anchor is not None:
        anchors[started.timer] = started.anchor
    return changed(timing, anchors=anchors, ended=timing.ended - {started.timer})


def _anchor_failure(attempt: _Attempt, exc: running_timers.AnchorError) -> Rejection:
    """GUARD_ERROR for a timer whose ``at`` failed, located where the timer is written."""
    definition = attempt.definition
    index = [t.id for t in definition.timers].index(exc.timer)
    where = definition.locate(("timers", index, "at"))
    detail = f"{where}: {exc}" if where is not None else str(exc)
    return Rejection(RejectionReason.GUARD_ERROR, {"event": attempt.event_name, "detail": detail})


def _enter_stage(attempt: _Attempt, draft: _Draft) -> _Draft | Rejection:
    """Entering a stage starts its timers; entering a final stage cancels every timer."""
    if attempt.target is None:
        return draft
    definition = attempt.definition
    stage = definition.stages_by_id[attempt.target]
    running = running_timers.Running(draft.timers, draft.timing)
    if stage.kind is StageKind.FINAL:
        for timer in sorted(draft.timers):
            running = running.cancelled(timer)
        return draft._replace(
            timers={}, timing=Timing(), effects=(*draft.effects, *running.effects)
        )
    context = _with_data(attempt, draft.context, draft.data)
    try:
        running = running_timers.enter(
            definition, running, stage.timers, attempt.now, context, pause=bool(stage.pause)
        )
    except running_timers.AnchorError as exc:
        return _anchor_failure(attempt, exc)
    return draft._replace(
        timers=running.timers, timing=running.timing, effects=(*draft.effects, *running.effects)
    )


def _follow_anchors(attempt: _Attempt, draft: _Draft) -> _Draft | Rejection:
    """Anchored timers follow the case data as the step leaves it; timers of the whole
    case (``while_open``) start once their anchor is set."""
    definition = attempt.definition
    stage = definition.stages_by_id[attempt.target or attempt.case.stage]
    if stage.kind is StageKind.FINAL:
        return draft
    has_anchors = definition.case_timers or any(
        definition.timers_by_id[t].at for t in (*stage.timers, *draft.timers)
    )
    if not has_anchors:
        return draft
    context = _with_data(attempt, draft.context, draft.data)
    running = running_timers.Running(draft.timers, draft.timing)
    try:
        running = running_timers.follow_anchors(
            definition, running, stage.timers, attempt.now, context
        )
    except running_timers.AnchorError as exc:
        return _anchor_failure(attempt, exc)
    return draft._replace(
        timers=running.timers, timing=running.timing, effects=(*draft.effects, *running.effects)
    )


def _count(attempt: _Attempt, draft: _Draft) -> _Draft | Rejection:
    """One more of the step's event."""
    event = attempt.event_name
    return draft._replace(counts={**draft.counts, event: draft.counts.get(event, 0) + 1})


_STEPS: tuple[Callable[[_Attempt, _Draft], _Draft | Rejection], ...] = (
    _check_duties,
    _validate_inputs,
    _check_guard,
    _assign,
    _meetings,
    _leave_stage,
    _carry_out_effects,
    _enter_stage,
    _follow_anchors,
    _count,
)


def _take(attempt: _Attempt) -> Decision | Rejection:
    """Run the named steps in order; the first rejection refuses the step (the one place)."""
    case = attempt.case
    live = live_milestones(attempt.definition, case, attempt.now)
    lapsed: tuple[Effect, ...] = ()
    if live != case.milestones:
        lapsed = tuple(RevokeMilestone(m, expired=True) for m in sorted(case.milestones - live))
        attempt = changed(attempt, case=changed(case, milestones=live))
    draft = _Draft(
        data=case.data, timers=case.timers, counts=case.counts, timing=case.timing, effects=lapsed
    )
    for step in _STEPS:
        result = step(attempt, draft)
        if isinstance(result, Rejection):
            return result
        draft = result
    too_many = notifications_over_cap(draft.effects)
    if too_many is not None:
        return too_many
    return _decision(attempt, draft)


def _decision(attempt: _Attempt, draft: _Draft) -> Decision:
    case = attempt.case
    new_stage = attempt.target or case.stage
    if attempt.opening:
        previous = None
    elif attempt.target is not None and new_stage != case.stage:
        previous = case.stage
    else:
        previous = case.previous_stage
    reached, revoked, cancelled = _milestones_and_cancellations(draft.effects)
    # A cancelled timer's count ends with it; one that ended by firing keeps its count
    # until it is cancelled (started again, it goes on counting) — as the store keeps it.
    firings = {k: v for k, v in case.timer_firings.items() if k not in cancelled}
    actor = attempt.event.actor.id
    actors = case.step_actors
    if actor is not None and actor not in actors.get(attempt.step_id, ()):
        actors = {**actors, attempt.step_id: actors.get(attempt.step_id, frozenset()) | {actor}}
    new_case = changed(
        case,
        step_actors=actors,
        stage=new_stage,
        previous_stage=previous,
        data=draft.data,
        milestones=(case.milestones - revoked) | reached,
        timers=draft.timers,
        timing=with_reached(draft.timing, reached, revoked, attempt.now),
        timer_firings=firings,
        counts=draft.counts,
    )
    from_stage = None if attempt.opening else case.stage
    return Decision(
        new_case,
        attempt.event_name,
        attempt.step_id,
        from_stage,
        new_stage,
        draft.effects,
        draft.raises,
    )


def _milestones_and_cancellations(
    effects: tuple[Effect, ...],
) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The milestones the effects record and revoke, and the timers they cancel (a
    milestone revoked and then recorded again in one step holds)."""
    reached: set[str] = set()
    revoked: set[str] = set()
    cancelled: set[str] = set()
    for effect in effects:
        match effect:
            case RecordMilestone(milestone=milestone):
                reached.add(milestone)
                revoked.discard(milestone)
            case RevokeMilestone(milestone=milestone):
                revoked.add(milestone)
                reached.discard(milestone)
            case CancelTimer(timer=timer):
                cancelled.add(timer)
    return frozenset(reached), frozenset(revoked), frozenset(cancelled)


def _context(attempt: _Attempt, inputs: Mapping[str, Any]) -> expressions.LazyContext:
    """What guards, computed values and conditions see (the case data before the step),
    each name built when an expression first reads it."""
    return lazy_expression_context(
        attempt.definition, attempt.case, inputs, attempt.event.actor, attempt.now
    )


def _with_data(
    attempt: _Attempt, context: Mapping[str, Any], data: Mapping[str, Any]
) -> expressions.LazyContext:
    """The context with the case data as it is now, and what follows from it (``case.team``),
    built when an expression first reads it."""
    seen = attempt.views.get(id(data))
    if seen is not None and seen[0] is data:
        return seen[1]
    built = with_data(attempt.definition, context, attempt.case, data)
    attempt.views[id(data)] = (data, built)
    return built


def _applies(
    attempt: _Attempt, index: int, spec: EffectSpec, context: Mapping[str, Any]
) -> bool | Rejection:
    """Whether an effect's condition holds (an effect without one always applies)."""
    if spec.when is None:
        return True
    try:
        return expressions.evaluate_bool(spec.when, context)
    except expressions.ExpressionError as exc:
        part = ("effects", index, "when")
        return _expression_failure(attempt, part, spec.when, context, str(exc))


__all__ = ["decide", "open_case"]
