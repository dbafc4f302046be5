"""The in-memory simulator: run a case through a definition from a script, on a fake clock.

A script (YAML, see ``definitions/examples/`` and the script format in
docs/definitions.md) lists events at times; between them time passes and due timers fire
in order through :func:`workflow.engine.firing.fire_timer`, the function the sweep fires
them with in production — a timer whose event is refused leaves the timer's own record
(``timer:<id>``), shown refused. Nothing is stored, nothing is sent: the result is a
timeline. What production does around a step is done here the same way:

* the young person's birth date (``young_person: {born: ...}``, or derived from the
  referral's ``age``) is passed to the case, and the referral's ``age`` follows from it;
* a step's ``consent:`` / ``withdraw_consent:`` is recorded after the step with the
  rules of :mod:`workflow.engine.consent` (a consent production would refuse, e.g. a
  15-year-old's without a parent, is a problem), and ``consent_given`` /
  ``consent_withdrawn`` are raised as the system when the definition handles them;
* notifications to departments no consent in force covers are shown withheld;
* events a step raises (a no-show) are raised as the system right after it.

A definition whose timers fire for ever without time passing (loaded without the
load-time checks) stops the simulation after :data:`MAX_FIRINGS_AT_ONE_INSTANT` firings
at one instant, with a problem line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError, model_validator

from workflow.definitions.calendar import age_on
from workflow.definitions.dates import add_months_to
from workflow.definitions.models import Definition
from workflow.definitions.types import DurationField, Identifier, StrictModel
from workflow.definitions.validation_errors import problems_from_validation
from workflow.definitions.vocabulary import REFER_EVENT, SYSTEM_ROLE, CaseRole
from workflow.definitions.yamlsource import YamlMap, read_yaml_file
from workflow.engine.access import young_person_actor
from workflow.engine.consent import (
    GIVES_CONSENT,
    WITHDRAWS_CONSENT,
    GivenConsent,
    consent_in_force,
    consent_problems,
    consented_departments,
    withdraw_from,
    withheld_reason,
)
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
    HoldTasks,
    MeetingChanged,
    Notify,
    RecordMilestone,
    Rejection,
    ReleaseTasks,
    RevokeMilestone,
    StartTimer,
    TimerFired,
)
from workflow.engine.timing import add_duration
from workflow.errors import DefinitionError, Problem

#: Timer firings at one instant after which the simulation stops: a definition whose
#: timers fire for ever without time passing (``validate`` refuses these) cannot hang it.
MAX_FIRINGS_AT_ONE_INSTANT = 1000
#: Timer firings in one simulation after which it stops (memory stays bounded).
MAX_FIRINGS = 100_000

#: The events production raises when a consent is recorded or withdrawn (when the
#: definition handles them), and the actor id it raises them with.
CONSENT_GIVEN, CONSENT_WITHDRAWN = "consent_given", "consent_withdrawn"
CONSENT_ACTOR = "consent"


class ScriptYoungPerson(StrictModel):
    """The young person of a scripted case: only what the engine derives facts from."""

    born: date = Field(
        description="The birth date, e.g. 2011-03-14: person.age, person.minor and the "
        "birthdays follow from it (the date itself never reaches expressions)."
    )


class ScriptConsent(StrictModel):
    """A consent recorded right after a step, as the caseworker records the signed form."""

    departments: list[Identifier] = Field(min_length=1, description="Departments it covers.")
    categories: list[Identifier] = Field(default_factory=list, description="Data categories.")
    guardian: bool = Field(default=False, description="A custodial parent consented too.")


#: Departments to withdraw consent for, or ``all``.
Withdrawal = Annotated[list[Identifier], Field(min_length=1)] | Literal["all"]


class ScriptStep(StrictModel):
    """One step of a script: an event at a time, time passing, or a consent change."""

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
        description="A consent the actor records right after the step (refused as in "
        "production, e.g. under privacy.guardian_consent_under without guardian: true).",
    )
    withdraw_consent: Withdrawal | None = Field(
        default=None,
        description="Withdraw consent right after the step: a list of departments, or all.",
    )

    @model_validator(mode="after")
    def _shape(self) -> ScriptStep:
        if self.event is not None and self.wait is not None:
            raise ValueError("a step has either 'event' or 'wait', not both")
        changes = self.consent is not None or self.withdraw_consent is not None
        if self.event is None and self.wait is None and not changes:
            raise ValueError(
                "a step has either 'event' or 'wait' (or only a consent change: "
                "'consent' or 'withdraw_consent')"
            )
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
    young_person: ScriptYoungPerson | None = Field(
        default=None,
        description="The young person's birth date; absent: derived from the referral's "
        "age (their birthday half a year away on the start day).",
    )
    grants: list[ScriptGrant] = Field(
        default_factory=list, description="Legal bases recorded before the case starts."
    )
    pool: list[ScriptDeposit] = Field(
        default_factory=list, description="Payments into the pool before the case starts."
    )
    steps: list[ScriptStep] = Field(min_length=1)


def derived_birth_date(age: int, day: date) -> date:
    """A birth date that gives ``age`` on ``day``, the next birthday half a year away."""
    return add_months_to(day, -(12 * age + 6))


def script_birth_date(script: Script) -> date | None:
    """The young person's birth date a script gives, or derives from its referral's
    ``age`` on the start day; None when it gives neither."""
    if script.young_person is not None:
        return script.young_person.born
    refer = next((s for s in script.steps if s.event == REFER_EVENT), None)
    age = refer.inputs.get("age") if refer is not None else None
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 120:
        return None
    return derived_birth_date(age, script.start.date())


@dataclass
class Entry:
    """One line of a timeline: an event, a timer, a consent change, and what came of it.

    ``kind``: ``event`` (a step someone — or the system — took), ``timer`` (a timer fell
    due; :attr:`refused` when the event it raised was refused), ``rejected`` (a refused
    event: nothing happened), ``consent`` (a consent given or withdrawn, in ``note``) or
    ``stopped`` (the simulation could not go on).
    """

    at: datetime
    kind: str
    event: str
    actor: str
    from_stage: str | None
    to_stage: str | None
    effects: tuple[Effect, ...] = ()
    rejection: Rejection | None = None
    problem: str | None = None
    #: Notifications not sent, by their index in ``effects``: why (no consent covers them).
    withheld: dict[int, str] = field(default_factory=dict)
    #: What a consent entry did, in words.
    note: str | None = None

    @property
    def refused(self) -> str | None:
        """For a timer: the reason its event was refused (None: accepted, or no event)."""
        for effect in self.effects:
            if isinstance(effect, TimerFired) and effect.rejected:
                return effect.rejected
        return None


@dataclass
class Timeline:
    """The result of a simulation."""

    entries: list[Entry] = field(default_factory=list)
    case: CaseState | None = None

    @property
    def problems(self) -> list[str]:
        """Expectations of the script that were not met, and what production would refuse."""
        return [e.problem for e in self.entries if e.problem]

    def stages(self) -> list[str]:
        """The stages the case went through, in order, repeats of a stage collapsed."""
        seen: list[str] = []
        for entry in self.records():
            if entry.to_stage and (not seen or seen[-1] != entry.to_stage):
                seen.append(entry.to_stage)
        return seen

    def records(self) -> list[Entry]:
        """The entries the case's history holds in production: the steps taken and the
        timers fired (a timer whose event was refused is the timer's own record)."""
        return [e for e in self.entries if e.kind in ("event", "timer")]

    def withheld(self) -> list[tuple[Entry, Notify, str]]:
        """The notifications not sent for want of consent: entry, notification, why."""
        found = []
        for entry in self.entries:
            for index, why in sorted(entry.withheld.items()):
                effect = entry.effects[index]
                assert isinstance(effect, Notify)
                found.append((entry, effect, why))
        return found


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


def simulate(definition: Definition, script: Script) -> Timeline:
    """Run a script through a definition."""
    run = _Run(definition, script, ZoneInfo(definition.calendar.timezone))
    run.play()
    return run.timeline


class _StopError(Exception):
    """The simulation cannot go on (a timer loop); the timeline says why."""


@dataclass
class _Run:
    """One simulation under way: the case, the clock, the consents given."""

    definition: Definition
    script: Script
    zone: ZoneInfo
    timeline: Timeline = field(default_factory=Timeline)
    born: date | None = None
    consents: tuple[GivenConsent, ...] = ()
    #: Departments a withdrawal took out (in force again once a consent names them).
    taken_back: frozenset[str] = frozenset()
    firings: int = 0

    def local(self, moment: datetime) -> datetime:
        return moment if moment.tzinfo else moment.replace(tzinfo=self.zone)

    def play(self) -> None:
        self.born = script_birth_date(self.script)
        clock = self.local(self.script.start)
        for step in self.script.steps:
            if step.at is not None:
                target = self.local(step.at)
            elif step.after is not None or step.wait is not None:
                amount = step.after or step.wait
                assert amount is not None
                target = add_duration(self.definition, clock, amount)
            else:
                target = clock
            try:
                self.advance(target)
            except _StopError:
                return
            clock = max(clock, target)
            first = len(self.timeline.entries)
            if step.event is not None:
                self.take(step, clock)
            if step.consent is not None:
                self.give(step, step.consent, clock)
            if step.withdraw_consent is not None:
                self.withdraw(step, step.withdraw_consent, clock)
            # The step's notifications go out after its consent change (as the demo and
            # the store tests play a script: the step, the consent, then the delivery).
            for entry in self.timeline.entries[first:]:
                self.mark_withheld(entry)

    # --- time passing ---------------------------------------------------------------

    def advance(self, target: datetime) -> None:
        """Fire the case's timers due by ``target`` in order, as the sweep fires them."""
        instant: datetime | None = None
        at_instant = 0
        while (case := self.timeline.case) is not None:
            due = due_timers(case, target)
            if not due:
                return
            timer_id, due_at = due[0]
            at_instant = at_instant + 1 if due_at == instant else 1
            instant = due_at
            if at_instant > MAX_FIRINGS_AT_ONE_INSTANT:
                self.stop(
                    due_at,
                    f"timer {timer_id}: timers fired {MAX_FIRINGS_AT_ONE_INSTANT} times at "
                    f"{due_at:%Y-%m-%d %H:%M} without time passing (a timer that re-enters its "
                    "own stage with no delay?): the simulation stops here",
                )
            self.firings += 1
            if self.firings > MAX_FIRINGS:
                self.stop(
                    due_at,
                    f"timers fired {MAX_FIRINGS} times in one simulation: it stops here",
                )
            result = fire_timer(self.definition, case, timer_id, due_at)
            if isinstance(result, Rejection):  # pragma: no cover - a due timer always fires
                self.stop(due_at, f"timer {timer_id} could not fire: {result}")
                return
            self.timeline.case = result.case
            entry = Entry(
                due_at,
                "timer",
                timer_id,
                SYSTEM_ROLE,
                result.from_stage,
                result.to_stage,
                result.effects,
            )
            self.timeline.entries.append(entry)
            self.mark_withheld(entry)

    def stop(self, at: datetime, problem: str) -> None:
        self.timeline.entries.append(
            Entry(at, "stopped", "", SYSTEM_ROLE, None, None, problem=problem)
        )
        raise _StopError

    # --- events -----------------------------------------------------------------------

    def actor(self, text: str) -> Actor:
        """An actor from ``role`` or ``role:id``; the young person without an id is the
        case's own young person (as production acts for them)."""
        role, _, ident = text.partition(":")
        if role == CaseRole.YOUNG_PERSON and not ident:
            ident = young_person_actor(self.script.case)
        return Actor(role, ident or None)

    def take(self, step: ScriptStep, clock: datetime) -> None:
        assert step.event is not None
        actor = self.actor(step.actor)
        problem = None
        if step.event == REFER_EVENT:
            inputs = dict(step.inputs)
            declared = {i.name for i in self.definition.referral.inputs}
            if self.born is not None and "age" in declared:
                age = age_on(self.born, clock.astimezone(self.zone).date())
                given = inputs.get("age")
                if self.script.young_person is not None and given is not None and given != age:
                    problem = (
                        f"refer: the referral's age {given!r} is not the age young_person.born "
                        f"gives ({age}); production uses the birth date"
                    )
                inputs["age"] = age  # as production: the age follows from the birth date
            result = open_case(
                self.definition, self.script.case, actor, inputs, clock, born=self.born
            )
        elif self.timeline.case is None:
            self.timeline.entries.append(
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
            return
        else:
            event = Event(step.event, actor, step.inputs)
            result = decide(self.definition, self.timeline.case, event, clock)
        entry = _entry(clock, step, result)
        if problem is not None and entry.problem is None:
            entry.problem = problem
        self.timeline.entries.append(entry)
        if isinstance(result, Decision):
            self.timeline.case = result.case
            for raised in result.raises:
                self.raise_event(raised, f"{result.event}:{raised}", clock)

    def raise_event(self, event: str, actor_id: str, clock: datetime) -> None:
        """An event the system raises on the case (a no-show, a consent): taken if the
        case takes it where it now is; refused, nothing happens (no problem: production
        only notes the refusal in its audit log)."""
        case = self.timeline.case
        assert case is not None
        result = decide(self.definition, case, Event(event, Actor(SYSTEM_ROLE, actor_id)), clock)
        who = f"{SYSTEM_ROLE}:{actor_id}"
        if isinstance(result, Rejection):
            self.timeline.entries.append(
                Entry(clock, "rejected", event, who, None, None, rejection=result)
            )
            return
        self.timeline.case = result.case
        self.timeline.entries.append(
            Entry(clock, "event", event, who, result.from_stage, result.to_stage, result.effects)
        )

    # --- consent ----------------------------------------------------------------------

    def consent(self) -> dict[str, Any]:
        facts = consent_in_force(self.consents)
        return facts | {"withdrawn": sorted(self.taken_back - set(facts["departments"]))}

    def consent_entry(
        self, clock: datetime, step: ScriptStep, note: str, problem: str | None
    ) -> None:
        self.timeline.entries.append(
            Entry(clock, "consent", "consent", step.actor, None, None, problem=problem, note=note)
        )

    def give(self, step: ScriptStep, given: ScriptConsent, clock: datetime) -> None:
        """Record a consent right after the step, with production's checks."""
        role = step.actor.partition(":")[0]
        problems = self.consent_refusal(role, GIVES_CONSENT, "records a consent")
        if not problems:
            age = None
            if self.born is not None:
                age = age_on(self.born, clock.astimezone(self.zone).date())
            under = self.definition.privacy.guardian_consent_under
            if age is None and under is not None and not given.guardian:
                problems.append(
                    "the young person's age is not known (give young_person: {born: ...} or "
                    f"the referral's age): a consent under {under} needs guardian: true"
                )
            problems += [
                str(p)
                for p in consent_problems(
                    self.definition, given.departments, given.categories, given.guardian, age
                )
            ]
        if problems:
            refused = "; ".join(problems)
            self.consent_entry(clock, step, f"REFUSED {refused}", f"consent: refused: {refused}")
            return
        self.consents = (
            *self.consents,
            GivenConsent(frozenset(given.departments), frozenset(given.categories), given.guardian),
        )
        self.changed()
        extras = []
        if given.categories:
            extras.append(f"categories {', '.join(sorted(set(given.categories)))}")
        if given.guardian:
            extras.append("with a custodial parent")
        note = "given for " + ", ".join(sorted(set(given.departments)))
        note += f" ({'; '.join(extras)})" if extras else ""
        self.consent_entry(clock, step, note, None)
        self.tell_case(CONSENT_GIVEN, clock)

    def withdraw(self, step: ScriptStep, which: Sequence[str] | str, clock: datetime) -> None:
        """Withdraw consent right after the step (for some departments, or all)."""
        role = step.actor.partition(":")[0]
        problems = self.consent_refusal(role, WITHDRAWS_CONSENT, "withdraws a consent")
        departments = None if which == "all" else list(which)
        left, withdrawn, found = withdraw_from(self.consents, departments)
        if not problems:
            problems = [str(p) for p in found]
        if problems:
            refused = "; ".join(problems)
            self.consent_entry(
                clock,
                step,
                f"withdrawal REFUSED {refused}",
                f"withdraw_consent: refused: {refused}",
            )
            return
        self.consents = left
        self.taken_back |= set(withdrawn)
        self.changed()
        note = "withdrawn for " + (", ".join(withdrawn) or "nothing (none was in force)")
        self.consent_entry(clock, step, note, None)
        if withdrawn:
            self.tell_case(CONSENT_WITHDRAWN, clock)

    def consent_refusal(self, role: str, allowed: frozenset[str], does: str) -> list[str]:
        """Why production would refuse the consent change before looking at it."""
        if self.timeline.case is None:
            return ["the case is not opened yet"]
        if role not in allowed:
            return [f"a {role} never {does}: {', '.join(sorted(allowed))} do"]
        return []

    def changed(self) -> None:
        """The case's consent follows the consents in force."""
        assert self.timeline.case is not None
        self.timeline.case = replace(self.timeline.case, consent=self.consent())

    def tell_case(self, event: str, clock: datetime) -> None:
        """Raise a consent event as production does: only when the definition handles it."""
        if event in self.definition.transitions_by_event:
            self.raise_event(event, CONSENT_ACTOR, clock)

    def mark_withheld(self, entry: Entry) -> None:
        """Mark the entry's notifications no consent in force covers (as delivery withholds
        them when it sends)."""
        consented = consented_departments(self.consents)
        for index, effect in enumerate(entry.effects):
            if isinstance(effect, Notify):
                why = withheld_reason(effect.recipient.kind, effect.recipient.id, consented)
                if why is not None:
                    entry.withheld[index] = why


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
        case CancelTasks() | HoldTasks() | ReleaseTasks():
            return _describe_tasks(effect)
        case MeetingChanged(action=action, meeting=m):
            return (
                f"{action} meeting {m.key} ({m.kind}) {m.starts_at:%Y-%m-%d %H:%M} "
                f"[{m.state}, seq {m.sequence}]"
            )
        case RecordMilestone(milestone=m):
            return f"milestone {m}"
        case RevokeMilestone(milestone=m, expired=expired):
            return f"milestone {m} lapsed" if expired else f"revoke milestone {m}"
        case TimerFired(timer=t, event=ev, rejected=rej):
            raised = f" -> event {ev}" if ev else ""
            return f"timer {t} fired{raised}" + (f" (refused: {rej})" if rej else "")
    return repr(effect)  # pragma: no cover


def _describe_tasks(effect: CancelTasks | HoldTasks | ReleaseTasks) -> str:
    """What a stage change does to the open tasks, as a line of the timeline."""
    match effect:
        case HoldTasks(stage=stage):
            return f"hold open tasks of stage {stage}"
        case ReleaseTasks(stage=stage):
            return f"release held tasks of stage {stage} (end the others)"
        case CancelTasks(keys=keys) if keys:
            return f"cancel open tasks {', '.join(keys)}"
        case CancelTasks(everything=True):
            return "cancel every open task"
        case CancelTasks(left=None):
            return "cancel open tasks waiting for it"
    return f"cancel open tasks of stage {effect.left}"


def _refusal(rejection: Rejection, locale: str) -> str:
    fields = "; ".join(f"{e.name}: {e.text(locale)}" for e in rejection.field_errors)
    return f"{rejection.reason.value}: {rejection.text(locale)}" + (
        f" [{fields}]" if fields else ""
    )


def _effect_lines(entry: Entry) -> list[str]:
    lines = []
    for index, effect in enumerate(entry.effects):
        if entry.refused and isinstance(effect, TimerFired):
            continue  # said on the entry's own line
        line = f"    {describe_effect(effect)}"
        if index in entry.withheld:
            line += f" WITHHELD: {entry.withheld[index]}"
        lines.append(line)
    return lines


def format_timeline(timeline: Timeline, locale: str = "da") -> str:
    """The timeline as text, one block per event or timer; refusals in ``locale``."""
    lines = []
    for entry in timeline.entries:
        when = f"{entry.at:%Y-%m-%d %H:%M}"
        if entry.kind == "rejected":
            reason = _refusal(entry.rejection, locale) if entry.rejection else entry.problem
            lines.append(f"{when}  {entry.event} by {entry.actor}: REFUSED {reason}")
            continue
        if entry.kind == "stopped":
            lines.append(f"{when}  STOPPED: {entry.problem}")
            continue
        if entry.kind == "consent":
            lines.append(f"{when}  consent by {entry.actor}: {entry.note}")
            continue
        if entry.kind == "timer" and entry.refused:
            fired = next(e for e in entry.effects if isinstance(e, TimerFired))
            lines.append(
                f"{when}  {entry.event} timer: event {fired.event} REFUSED ({entry.refused}); "
                f"stays in {entry.from_stage}"
            )
        else:
            who = "timer" if entry.kind == "timer" else f"by {entry.actor}"
            move = f"{entry.from_stage or '(new)'} -> {entry.to_stage}"
            lines.append(f"{when}  {entry.event} {who}: {move}")
        lines.extend(_effect_lines(entry))
        if entry.problem:
            lines.append(f"    !! {entry.problem}")
    return "\n".join(lines) + "\n"
