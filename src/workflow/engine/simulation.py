"""The in-memory simulator: run a case through a definition from a script, on a fake clock.

A script (YAML, see ``definitions/examples/``) lists events at times; between them
time passes and due timers fire in order, exactly as the sweep will fire them in
production. Nothing is stored, nothing is sent: the result is a timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError, model_validator

from workflow.definitions.models import Definition
from workflow.definitions.types import DurationField, Identifier, StrictModel
from workflow.definitions.validation_errors import problems_from_validation
from workflow.definitions.vocabulary import REFER_EVENT
from workflow.definitions.yamlsource import YamlMap, read_yaml_file
from workflow.engine.decide import decide, open_case
from workflow.engine.firing import due_timers, fire_timer
from workflow.engine.model import (
    Actor,
    CancelTasks,
    CancelTimer,
    CaseState,
    CreateTask,
    Decision,
    Effect,
    Event,
    MeetingChanged,
    Notify,
    RecordMilestone,
    Rejection,
    StartTimer,
    TimerFired,
)
from workflow.errors import DefinitionError, Problem


class ScriptConsent(StrictModel):
    """A consent recorded right after a step (played through the service layer only)."""

    departments: list[Identifier] = Field(min_length=1, description="Departments it covers.")
    categories: list[Identifier] = Field(default_factory=list, description="Data categories.")
    guardian: bool = Field(default=False, description="A custodial parent consented too.")


class ScriptStep(StrictModel):
    """One step of a script: an event at a time, or time passing."""

    at: datetime | None = Field(default=None, description="When (local time if no offset).")
    after: DurationField | None = Field(default=None, description="How long after the last step.")
    event: Identifier | None = Field(default=None, description="The event; 'refer' opens the case.")
    wait: DurationField | None = Field(default=None, description="Only let time pass.")
    actor: str = Field(default="caseworker", description="Role, or role:staff-id.")
    inputs: dict[str, Any] = Field(default_factory=dict)
    expect_stage: Identifier | None = Field(default=None, description="Stage after the step.")
    expect_rejection: str | None = Field(default=None, description="The step must be refused.")
    consent: ScriptConsent | None = Field(
        default=None,
        description="A consent recorded after the step (the engine's simulation ignores it).",
    )

    @model_validator(mode="after")
    def _shape(self) -> ScriptStep:
        if (self.event is None) == (self.wait is None):
            raise ValueError("a step has either 'event' or 'wait'")
        if self.at is not None and self.after is not None:
            raise ValueError("give 'at' or 'after', not both")
        return self


class ScriptGrant(StrictModel):
    """A recorded legal basis the script's case needs (played through the service layer)."""

    person: str = Field(description="The staff id it is for.")
    basis: Identifier = Field(description="A short code, e.g. oversight.")
    law: str = Field(description="The law it rests on.")
    actions: list[Identifier] = Field(default_factory=lambda: ["read", "export"])


class ScriptDeposit(StrictModel):
    """A department's payment into the municipality's pool before the case starts
    (played through the service layer; the engine's simulation ignores it)."""

    department: Identifier
    amount: int = Field(ge=1, le=10_000_000, description="Whole kroner.")


class Script(StrictModel):
    """A scripted case: which definition, which case reference, when it starts, its steps."""

    definition: Identifier
    case: str = Field(description="The case reference, e.g. SOR-2026-0042.")
    start: datetime
    grants: list[ScriptGrant] = Field(
        default_factory=list, description="Legal bases recorded before the case starts."
    )
    pool: list[ScriptDeposit] = Field(
        default_factory=list, description="Payments into the pool before the case starts."
    )
    steps: list[ScriptStep] = Field(min_length=1)


@dataclass
class Entry:
    """One line of a timeline: an event or a timer, and what came of it."""

    at: datetime
    kind: str  # "event" | "timer" | "rejected"
    event: str
    actor: str
    from_stage: str | None
    to_stage: str | None
    effects: tuple[Effect, ...] = ()
    rejection: Rejection | None = None
    problem: str | None = None


@dataclass
class Timeline:
    """The result of a simulation."""

    entries: list[Entry] = field(default_factory=list)
    case: CaseState | None = None

    @property
    def problems(self) -> list[str]:
        """Expectations of the script that were not met."""
        return [e.problem for e in self.entries if e.problem]

    def stages(self) -> list[str]:
        """The stages the case went through, in order, repeats of a stage collapsed."""
        seen: list[str] = []
        for entry in self.entries:
            if entry.to_stage and (not seen or seen[-1] != entry.to_stage):
                seen.append(entry.to_stage)
        return seen


def load_script(path: str | Path) -> Script:
    """Read a simulation script; raise DefinitionError with located problems."""
    file = Path(path)
    raw, problems = read_yaml_file(file)
    if raw is None or problems:
        raise DefinitionError(problems)
    if not isinstance(raw, YamlMap):
        raise DefinitionError([Problem(getattr(raw, "loc", None), "", "a script must be a map")])
    try:
        return Script.model_validate(raw)
    except ValidationError as exc:
        raise DefinitionError(problems_from_validation(exc, raw, Script)) from None


def _actor(text: str) -> Actor:
    role, _, ident = text.partition(":")
    return Actor(role, ident or None)


def simulate(definition: Definition, script: Script) -> Timeline:
    """Run a script through a definition."""
    zone = ZoneInfo(definition.calendar.timezone)

    def local(moment: datetime) -> datetime:
        return moment if moment.tzinfo else moment.replace(tzinfo=zone)

    from workflow.engine.timing import add_duration

    timeline = Timeline()
    clock = local(script.start)
    for step in script.steps:
        if step.at is not None:
            target = local(step.at)
        elif step.after is not None or step.wait is not None:
            amount = step.after or step.wait
            assert amount is not None
            target = add_duration(definition, clock, amount)
        else:
            target = clock
        timeline.case, fired = _advance(definition, timeline.case, target)
        timeline.entries.extend(fired)
        clock = max(clock, target)
        if step.event is None:
            continue
        actor = _actor(step.actor)
        event = Event(step.event, actor, step.inputs)
        if step.event == REFER_EVENT:
            result = open_case(definition, script.case, actor, step.inputs, clock)
        elif timeline.case is None:
            timeline.entries.append(
                Entry(
                    clock,
                    "rejected",
                    step.event,
                    step.actor,
                    None,
                    None,
                    problem=f"{step.event}: the case is not opened yet",
                )
            )
            continue
        else:
            result = decide(definition, timeline.case, event, clock)
        timeline.entries.append(_entry(clock, step, result))
        if isinstance(result, Decision):
            timeline.case = result.case
    return timeline


def _advance(
    definition: Definition, case: CaseState | None, target: datetime
) -> tuple[CaseState | None, list[Entry]]:
    """The case after its timers due by ``target`` fired in order, and an entry for each."""
    entries: list[Entry] = []
    while case is not None:
        due = due_timers(case, target)
        if not due:
            break
        timer_id, due_at = due[0]
        result = fire_timer(definition, case, timer_id, due_at)
        assert isinstance(result, Decision), result
        case = result.case
        entries.append(
            Entry(
                due_at,
                "timer",
                timer_id,
                "system",
                result.from_stage,
                result.to_stage,
                result.effects,
            )
        )
    return case, entries


def _entry(at: datetime, step: ScriptStep, result: Decision | Rejection) -> Entry:
    """The timeline's entry for a scripted event, with any expectation it did not meet."""
    assert step.event is not None
    if isinstance(result, Rejection):
        problem = None
        if step.expect_rejection is None:
            problem = f"{at:%Y-%m-%d %H:%M} {step.event}: refused: {result}"
        elif step.expect_rejection != result.reason.value:
            problem = (
                f"{step.event}: expected rejection '{step.expect_rejection}', "
                f"got '{result.reason.value}'"
            )
        return Entry(
            at,
            "rejected",
            step.event,
            step.actor,
            None,
            None,
            rejection=result,
            problem=problem,
        )
    problem = None
    if step.expect_rejection is not None:
        problem = f"{step.event}: expected rejection '{step.expect_rejection}', but accepted"
    elif step.expect_stage is not None and step.expect_stage != result.to_stage:
        problem = f"{step.event}: expected stage '{step.expect_stage}', got '{result.to_stage}'"
    return Entry(
        at,
        "event",
        step.event,
        step.actor,
        result.from_stage,
        result.to_stage,
        result.effects,
        problem=problem,
    )


def describe_effect(effect: Effect) -> str:
    """One effect as a line of the timeline."""
    match effect:
        case Notify(recipient=r, template=t):
            return f"notify {r} [{t}]"
        case StartTimer(timer=t, due_at=due):
            return f"start timer {t} (due {due:%Y-%m-%d %H:%M})"
        case CancelTimer(timer=t):
            return f"cancel timer {t}"
        case CreateTask(assignee=r, title=title, due_at=due):
            return f"task for {r}: {title}" + (f" (due {due:%Y-%m-%d})" if due else "")
        case CancelTasks(left=left, everything=everything):
            if everything:
                return "cancel every open task"
            return f"cancel open tasks of stage {left}"
        case MeetingChanged(action=action, meeting=m):
            return (
                f"{action} meeting {m.key} ({m.kind}) {m.starts_at:%Y-%m-%d %H:%M} "
                f"[{m.state}, seq {m.sequence}]"
            )
        case RecordMilestone(milestone=m):
            return f"milestone {m}"
        case TimerFired(timer=t, event=ev, rejected=rej):
            raised = f" -> event {ev}" if ev else ""
            return f"timer {t} fired{raised}" + (f" (refused: {rej})" if rej else "")
    return repr(effect)  # pragma: no cover


def _refusal(rejection: Rejection, locale: str) -> str:
    fields = "; ".join(f"{e.name}: {e.text(locale)}" for e in rejection.field_errors)
    return f"{rejection.reason.value}: {rejection.text(locale)}" + (
        f" [{fields}]" if fields else ""
    )


def format_timeline(timeline: Timeline, locale: str = "da") -> str:
    """The timeline as text, one block per event or timer; refusals in ``locale``."""
    lines = []
    for entry in timeline.entries:
        when = f"{entry.at:%Y-%m-%d %H:%M}"
        if entry.kind == "rejected":
            reason = _refusal(entry.rejection, locale) if entry.rejection else entry.problem
            lines.append(f"{when}  {entry.event} by {entry.actor}: REFUSED {reason}")
            continue
        who = "timer" if entry.kind == "timer" else f"by {entry.actor}"
        move = f"{entry.from_stage or '(new)'} -> {entry.to_stage}"
        lines.append(f"{when}  {entry.event} {who}: {move}")
        lines.extend(f"    {describe_effect(e)}" for e in entry.effects)
        if entry.problem:
            lines.append(f"    !! {entry.problem}")
    return "\n".join(lines) + "\n"
