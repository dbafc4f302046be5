"""The parts a definition is made of: departments, roles, stages, timers, transitions...

Small pydantic models; :mod:`workflow.definitions.models` assembles them into a
:class:`~workflow.definitions.models.Definition`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import TYPE_CHECKING, Annotated, Literal, Protocol

from pydantic import (
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)

from workflow.definitions.calendar import NAMED_CLOSED_DAYS
from workflow.definitions.effects import Alignment, Effect, Notify
from workflow.definitions.types import (
    DurationField,
    Identifier,
    LocalizedText,
    StrictModel,
    Text,
)
from workflow.definitions.vocabulary import InputType, Phase, StageKind


def _clock_time(value: object) -> object:
    if not isinstance(value, str | time):
        raise ValueError('write a time of day as text, e.g. "09:00"')
    return value


ClockTime = Annotated[time, BeforeValidator(_clock_time)]

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday"]
if TYPE_CHECKING:
    ClosedDay = str
else:
    #: A named closing day: the names the working calendar knows the dates of.
    ClosedDay = Literal[tuple(NAMED_CLOSED_DAYS)]


class Municipality(StrictModel):
    """The municipality that runs this definition."""

    name: str = Field(description="The municipality's name, e.g. 'Sorø Kommune'.")
    code: Annotated[str, StringConstraints(pattern=r"^\d{3}$")] = Field(
        description="The three-digit municipality code (kommunekode), e.g. '340' for Sorø."
    )
    case_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,5}$")] = Field(
        description="Prefix of case references, e.g. 'SOR' gives 'SOR-2026-0042'."
    )
    kle: Annotated[str, StringConstraints(pattern=r"^\d{2}\.\d{2}(\.\d{2})?$")] | None = Field(
        default=None, description="The KLE subject number cases are filed under, e.g. '27.24.00'."
    )


class AgeRange(StrictModel):
    """The ages (in whole years) of the young people the process is for."""

    min: StrictInt = Field(ge=0, le=40, description="Youngest age accepted at referral.")
    max: StrictInt = Field(ge=0, le=40, description="Oldest age accepted at referral.")

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class Channel(StrictModel):
    """How a department is reached."""

    kind: Literal["email", "webhook", "file", "sms"] = Field(description="Channel kind.")
    address: str = Field(min_length=1, description="Mail address, webhook URL or file folder.")


class Department(StrictModel):
    """A department or partner that can be on a young person's team."""

    id: Identifier
    name: Text = Field(description="The department's name as citizens and staff know it.")
    channels: list[Channel] = Field(
        default_factory=list, description="Where the department's notifications go."
    )


class Role(StrictModel):
    """A role a person can have on a case; transitions name the roles that may trigger them."""

    id: Identifier
    name: Text = Field(description="The role's name, e.g. 'Ungekoordinator'.")
    description: Text | None = Field(default=None, description="What the role does.")
    channels: list[Channel] = Field(
        default_factory=list,
        description="Where notifications to this role go when the person holding it has no "
        "address of their own (e.g. the leaders' shared mailbox).",
    )


class Theme(StrictModel):
    """An agenda theme the young person can choose; themes can structure assessment and plan."""

    id: Identifier
    name: Text
    description: Text | None = None


class Milestone(StrictModel):
    """A named fact about a case (e.g. 'plan agreed') that later guards can test.

    A milestone holds until a step revokes it (`revoke_milestone:`) or, with
    `expires_after`, until that long after it was (last) reached: a lapsed plan no longer
    reads as agreed.
    """

    id: Identifier
    name: Text
    expires_after: DurationField | None = Field(
        default=None,
        description="The milestone lapses this long after it was reached (reaching it again "
        "starts the period again), e.g. '6 months' for a plan that must be renewed.",
    )


class Stage(StrictModel):
    """A stage of the case lifecycle."""

    id: Identifier
    name: Text = Field(description="The stage's name shown to caseworkers.")
    kind: StageKind = Field(description="start, active, waiting or final.")
    phase: Phase | None = Field(
        default=None,
        description="The phase of the collaboration model the stage belongs to; absent for "
        "stages outside the main line (e.g. paused).",
    )
    timers: list[Identifier] = Field(
        default_factory=list,
        description="Timers started when a case enters this stage and cancelled when it leaves.",
    )
    # Optional fields default to None, not False: a definition's content hash (its
    # resolved form without the unset fields) stays what it was before they existed.
    pause: StrictBool | None = Field(
        default=None,
        description="A pause of the course: the timers of the stage left keep their remaining "
        "time (`on_pause: suspend`) and go on from it when the case returns to that stage.",
    )
    description: Text | None = None


class Calendar(StrictModel):
    """Working days, closing days and fixed meeting days."""

    timezone: str = Field(default="Europe/Copenhagen", description="IANA time zone of times.")
    public_holidays: Literal["DK", "none"] = Field(
        default="DK", description="Whose public holidays are not business days."
    )
    closed_days: list[ClosedDay | date] = Field(
        default_factory=list,
        description=f"Further days the municipality is closed: {', '.join(NAMED_CLOSED_DAYS)}, "
        "or a date (YYYY-MM-DD).",
    )
    meeting_weekdays: list[Weekday] = Field(
        default_factory=list,
        description="Fixed meeting weekdays (Monday-Friday); timers aligned to 'meeting_day' "
        "fall on these.",
    )
    meeting_time: ClockTime = Field(default=time(9, 0), description="Time of day meetings start.")
    office_opens: ClockTime = Field(
        default=time(8, 0), description="Time of day timers aligned to business days fall due."
    )


class Repeat(StrictModel):
    """Recurrence of a timer: give `every` or `times_per_year`."""

    every: DurationField | None = Field(default=None, description="Interval between firings.")
    times_per_year: StrictInt | None = Field(
        default=None, ge=1, le=52, description="At least this many firings a year (spread evenly)."
    )
    max_count: StrictInt | None = Field(
        default=None, ge=1, description="Stop after this many firings in total."
    )

    @model_validator(mode="after")
    def _one_interval(self) -> Repeat:
        if (self.every is None) == (self.times_per_year is None):
            raise ValueError("give exactly one of every or times_per_year")
        if self.every is not None and self.every.amount == 0:
            raise ValueError("a timer cannot repeat every 0; give a positive interval")
        return self


class TimerFires(StrictModel):
    """What a timer does when it falls due: raise an event, or notify (escalation)."""

    event: Identifier | None = Field(default=None, description="Event raised as role 'system'.")
    notify: Notify | None = Field(default=None, description="Escalation notification.")

    @model_validator(mode="after")
    def _one(self) -> TimerFires:
        if (self.event is None) == (self.notify is None):
            raise ValueError("give exactly one of event or notify")
        return self


OnPause = Literal["suspend", "continue"]


class Timer(StrictModel):
    """A deadline or reminder, fired by the engine when its time comes.

    It falls due `after` a while from when it starts, or — with `at` — on a date or time
    the case gives (a birthday, a booked meeting), moved by `before`/`after`; an anchored
    timer follows its anchor when the data it reads changes.
    """

    id: Identifier
    name: Text
    at: str | None = Field(
        default=None,
        description="Expression giving the date or time it falls due, e.g. "
        "`person.turns_18_on` or `case.data.next_meeting_at`; a date falls due at "
        "calendar.office_opens. Recomputed after every step; none (not set yet) keeps the "
        "timer from running, and a time already past when it is first computed is skipped.",
    )
    before: DurationField | None = Field(
        default=None, description="With `at`: fall due this long before the anchor."
    )
    after: DurationField | None = Field(
        default=None,
        description="How long after it starts the timer falls due; with `at`: this long "
        "after the anchor.",
    )
    while_open: StrictBool | None = Field(
        default=None,
        description="Runs from the referral until the case closes, whatever its stage "
        "(instead of being listed in a stage's `timers`), e.g. a birthday.",
    )
    on_pause: OnPause | None = Field(
        default=None,
        description="When the case enters a `pause: true` stage: `suspend` (the default) keeps "
        "the time left and goes on from it when the case returns; `continue` lets it run on.",
    )
    align: Alignment = Field(
        default="none",
        description="Move the due time to the next business day, or to the next fixed meeting "
        "day (calendar.meeting_weekdays) at calendar.meeting_time.",
    )
    repeat: Repeat | None = Field(
        default=None,
        description="Fire again at an interval, counted from the first due time (a monthly "
        "timer from 31 January falls due 28 February, 31 March...; a day moved by `align` "
        "does not move the ones after it).",
    )
    fires: TimerFires

    @model_validator(mode="after")
    def _anchor(self) -> Timer:
        if self.before is not None and self.at is None:
            raise ValueError("`before` needs `at` (the date or time it is before)")
        if self.before is not None and self.after is not None:
            raise ValueError("give `before` or `after`, not both")
        return self


class Choice(StrictModel):
    """One allowed value of a choice input."""

    value: Identifier
    label: Text


#: A date input's bounds, in days from the day of the step: a century either way.
MAX_DATE_DAYS = 36_500


class Input(StrictModel):
    """A value the person triggering a transition must (or may) give."""

    name: Identifier = Field(description="Name; the value is kept in the case data by this name.")
    type: InputType
    label: Text = Field(description="The form label.")
    help: Text | None = Field(default=None, description="Help text shown beside the field.")
    required: StrictBool = True
    choices: list[Choice] = Field(
        default_factory=list, description="Allowed values of choice and multichoice inputs."
    )
    min: float | None = Field(
        default=None,
        description="Smallest number, or fewest list items; for a date, the earliest day in "
        "days from the day of the step (0: today or later).",
    )
    max: float | None = Field(
        default=None,
        description="Largest number, or most list items; for a date, the latest day in days "
        "from the day of the step.",
    )
    first_person: StrictBool = Field(
        default=False,
        description="For goals: each goal must be written in first person ('Jeg ...').",
    )
    share: StrictBool = Field(
        default=False,
        description="May be shown to departments in notifications (only for types that carry "
        "no free text: dates, times, choices, departments, themes, numbers, yes/no).",
    )
    kind: Identifier | None = Field(
        default=None,
        description="For meeting inputs: the kind of meeting it books (one of "
        "`meetings.kinds`); absent: the input's name without `_at`.",
    )

    @model_validator(mode="after")
    def _bounds(self) -> Input:
        for bound in (self.min, self.max):
            if bound is not None and (bound != bound or abs(bound) > 1e15):
                raise ValueError("min and max must be finite numbers")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        if self.type is InputType.DATE:
            for bound in (self.min, self.max):
                if bound is not None and (bound != int(bound) or abs(bound) > MAX_DATE_DAYS):
                    raise ValueError(
                        f"a date's min and max are whole days from the day of the step, at "
                        f"most {MAX_DATE_DAYS:,} either way (e.g. min: 0 for today or "
                        f"later), not {bound:g}"
                    )
        return self


MeetingAction = Literal["move", "cancel", "hold"]


class MeetingStep(StrictModel):
    """What a transition does to a booked meeting."""

    action: MeetingAction = Field(
        description="move: to the time given in the step's `meeting` input; cancel; hold: "
        "record it as held (with attendance, if the step asks for it)."
    )
    kind: Identifier | None = Field(
        default=None,
        description="The kind of meeting it acts on when the step has no `booked_meeting` "
        "input: the earliest booked meeting of this kind.",
    )


class Rule(StrictModel):
    """One rule of a guard: an expression that must hold, and what the person is told when
    it does not, beside the input it concerns."""

    rule: str = Field(description="Expression that must be true, e.g. `count(inputs.plan) >= 1`.")
    message: Text = Field(
        description="What the person is told when the rule does not hold. It may name the "
        "definition's fixed values: `{{ target_ages.min }}`, `{{ target_ages.max }}`, "
        "`{{ params.<name> }}` (written as the reader's language writes numbers)."
    )
    field: Identifier | None = Field(
        default=None,
        description="The input the rule concerns: the message is shown beside it.",
    )


#: A guard: one expression (with `guard_message`), or a list of rules with their own messages.
Guard = str | list[Rule]


def guard_rules(guard: Guard | None) -> list[tuple[tuple[str | int, ...], str]]:
    """A guard's expressions, each with its path below the guard (``()`` for a single
    expression, ``(2, 'rule')`` for the third rule)."""
    if guard is None:
        return []
    if isinstance(guard, str):
        return [((), guard)]
    return [((index, "rule"), rule.rule) for index, rule in enumerate(guard)]


class StepSpec(Protocol):
    """What a step asks and does: a transition, or the referral that opens a case.

    Who may take it, what they give, the guard that must hold (and what a refused person
    is told), the case data it computes and its effects. :class:`Transition` and
    :class:`Referral` are both step specs; the decider and the checks take either alike.
    """

    @property
    def roles(self) -> Sequence[str]:
        """Roles allowed to take the step."""

    @property
    def inputs(self) -> Sequence[Input]:
        """What the person taking it gives."""

    @property
    def guard(self) -> Guard | None:
        """Expression (or rules) that must be true for the step to be taken."""

    @property
    def guard_message(self) -> str | LocalizedText | None:
        """What the person is told when the guard is false."""

    @property
    def set(self) -> Mapping[str, str]:
        """Case data computed by expressions, in order."""

    @property
    def effects(self) -> Sequence[Effect]:
        """What the step does besides moving the case."""


class Transition(StrictModel):
    """A step a case can take when an event happens."""

    id: Identifier
    event: Identifier | None = Field(
        default=None, description="The event that triggers it; defaults to the id."
    )
    name: Text = Field(description="The button label caseworkers see.")
    from_: Identifier | Literal["*"] | list[Identifier] = Field(
        alias="from",
        description="The stage(s) it leaves: one id, a list, or '*' for every stage that is "
        "not final.",
    )
    not_from: list[Identifier] = Field(
        default_factory=list, description="Stages excluded from '*'."
    )
    to: Identifier | Literal["@previous"] | None = Field(
        default=None,
        description="The stage it enters; '@previous' returns to the stage before the current "
        "one (resume); absent keeps the stage (no exit or entry).",
    )
    roles: list[Identifier] = Field(
        min_length=1,
        description="Roles allowed to trigger it: what the person is on this case (the "
        "caseworker of record, the coordinator the young person chose, a team member, the "
        "young person, a guardian of a minor, a leader through a legal basis).",
    )
    not_by: list[Identifier] = Field(
        default_factory=list,
        description="Separation of duties: steps (transition ids, or 'refer' for the "
        "referral) whose actors may not take this one, e.g. [refer] on closing.",
    )
    guard: Guard | None = Field(
        default=None,
        description="Expression that must be true, e.g. \"'plan_agreed' in case.milestones\"; "
        "or a list of rules, each with its own message and the input it concerns: a refusal "
        "names every rule that failed.",
    )
    guard_message: Text | None = Field(
        default=None,
        description="What the user is told when the guard (one expression) is false; it may "
        "name `{{ target_ages.min }}`, `{{ target_ages.max }}` and `{{ params.<name> }}`.",
    )
    inputs: list[Input] = Field(default_factory=list, description="What the person must give.")
    set: dict[Identifier, str] = Field(
        default_factory=dict, description="Case data computed by expressions, in order."
    )
    effects: list[Effect] = Field(default_factory=list)
    meeting: MeetingStep | None = Field(
        default=None, description="What the step does to a booked meeting: move, cancel, hold."
    )

    @property
    def event_name(self) -> str:
        """The event that triggers this transition."""
        return self.event or self.id


class Referral(StrictModel):
    """How a case is opened (the event 'refer')."""

    roles: list[Identifier] = Field(min_length=1, description="Roles allowed to refer.")
    inputs: list[Input] = Field(default_factory=list)
    guard: Guard | None = None
    guard_message: Text | None = None
    set: dict[Identifier, str] = Field(default_factory=dict)
    effects: list[Effect] = Field(default_factory=list)


class Template(StrictModel):
    """A notification text (Jinja2, rendered with StrictUndefined)."""

    id: Identifier
    subject: Text
    body: Text


class Removals(StrictModel):
    """Items of the extended definition to remove, by id."""

    departments: list[Identifier] = Field(default_factory=list)
    roles: list[Identifier] = Field(default_factory=list)
    themes: list[Identifier] = Field(default_factory=list)
    milestones: list[Identifier] = Field(default_factory=list)
    stages: list[Identifier] = Field(default_factory=list)
    timers: list[Identifier] = Field(default_factory=list)
    templates: list[Identifier] = Field(default_factory=list)
    transitions: list[Identifier] = Field(default_factory=list)
