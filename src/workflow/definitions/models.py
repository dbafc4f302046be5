"""The definition language: what a municipality writes, as pydantic models.

The JSON Schema in ``schema/definition.schema.json`` and the reference in
``docs/definition-reference.md`` are generated from these models, so every field
carries a description written for definition authors.
"""

from __future__ import annotations

import hashlib
from datetime import date, time
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)

from workflow.calendar import WEEKDAYS, WorkingCalendar
from workflow.definitions.types import (
    DurationField,
    Identifier,
    Locale,
    StrictModel,
    Text,
)


def _clock_time(value: object) -> object:
    if not isinstance(value, str | time):
        raise ValueError('write a time of day as text, e.g. "09:00"')
    return value


ClockTime = Annotated[time, BeforeValidator(_clock_time)]

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday"]
ClosedDay = Literal["christmas_eve", "new_years_eve", "constitution_day"]

#: Stage ``to`` value meaning "back to the stage the case was in before this one" (resume).
PREVIOUS_STAGE = "@previous"
#: Stage ``from`` value meaning "any stage that is not final".
ANY_ACTIVE = "*"
#: The role the engine acts as when a timer fires an event.
SYSTEM_ROLE = "system"
#: The event name that opens a case through the ``referral`` block.
REFER_EVENT = "refer"


class Phase(StrEnum):
    """The phases of the collaboration model every stage belongs to."""

    REFERRAL = "referral"
    PRE_MEETING = "pre_meeting"
    FIRST_MEETING = "first_meeting"
    FOLLOW_UP = "follow_up"
    HANDOVER = "handover"
    CLOSED = "closed"


class StageKind(StrEnum):
    """What a stage is: where cases start, where work happens, a wait, or an end."""

    START = "start"
    ACTIVE = "active"
    WAITING = "waiting"
    FINAL = "final"


class InputType(StrEnum):
    """The types of value a person gives when triggering a transition."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    CHOICE = "choice"
    MULTICHOICE = "multichoice"
    DEPARTMENT = "department"
    DEPARTMENTS = "departments"
    THEME = "theme"
    THEMES = "themes"
    PERSON = "person"
    TEAM = "team"
    GOALS = "goals"
    GOAL_REVIEWS = "goal_reviews"
    NETWORKS = "networks"


#: Input types whose values may be shared with departments in notifications: they carry
#: no free text about the young person.
SHAREABLE_INPUT_TYPES = frozenset(
    {
        InputType.DATE,
        InputType.DATETIME,
        InputType.CHOICE,
        InputType.MULTICHOICE,
        InputType.DEPARTMENT,
        InputType.DEPARTMENTS,
        InputType.THEME,
        InputType.THEMES,
        InputType.INTEGER,
        InputType.BOOLEAN,
    }
)


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

    kind: Literal["email", "webhook", "file"] = Field(description="Channel kind.")
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
    """A named fact about a case (e.g. 'plan agreed') that later guards can test."""

    id: Identifier
    name: Text


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
    description: Text | None = None


class Calendar(StrictModel):
    """Working days, closing days and fixed meeting days."""

    timezone: str = Field(default="Europe/Copenhagen", description="IANA time zone of times.")
    public_holidays: Literal["DK", "none"] = Field(
        default="DK", description="Whose public holidays are not business days."
    )
    closed_days: list[ClosedDay | date] = Field(
        default_factory=list,
        description="Further days the municipality is closed: christmas_eve, new_years_eve, "
        "constitution_day, or a date (YYYY-MM-DD).",
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


class Recipients(StrictModel):
    """Who is told or given a task. The team is the one the young person chose."""

    roles: list[Identifier] = Field(
        default_factory=list, description="Roles on the case, e.g. coordinator, caseworker."
    )
    departments: list[Identifier] = Field(
        default_factory=list, description="Departments, reached through their channels."
    )
    team: StrictBool = Field(
        default=False,
        description="Every member of the young person's team, one each (known at run time).",
    )

    @model_validator(mode="after")
    def _someone(self) -> Recipients:
        if not (self.roles or self.departments or self.team):
            raise ValueError("name at least one recipient: roles, departments or team: true")
        return self


class Notify(StrictModel):
    """Tell recipients something, with a named template."""

    to: Recipients
    template: Identifier = Field(description="Id of a template in `templates`.")


Alignment = Literal["none", "business_day", "meeting_day"]
EFFECT_KINDS = ("notify", "start_timer", "cancel_timer", "create_task", "milestone")


class CreateTask(StrictModel):
    """Give each recipient a task."""

    for_: Recipients = Field(alias="for", description="Who gets the task (one each).")
    title: Text = Field(description="What must be done.")
    due: DurationField | None = Field(default=None, description="Due this long after the step.")
    align: Alignment = Field(default="none", description="Move the due date to a working day.")


class Effect(StrictModel):
    """One effect of a transition or timer: exactly one of its fields is given."""

    notify: Notify | None = Field(default=None, description="Send notifications.")
    start_timer: Identifier | None = Field(default=None, description="Start (or restart) a timer.")
    cancel_timer: Identifier | None = Field(default=None, description="Cancel a running timer.")
    create_task: CreateTask | None = Field(default=None, description="Create tasks.")
    milestone: Identifier | None = Field(default=None, description="Record a milestone.")
    when: str | None = Field(
        default=None, description="Expression; the effect happens only when it is true."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Effect:
        given = [name for name in EFFECT_KINDS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "an effect has exactly one of notify, start_timer, cancel_timer, create_task, "
                f"milestone; this one has {(len(given) and ', '.join(given)) or 'none'}"
            )
        return self


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


class Timer(StrictModel):
    """A deadline or reminder, fired by the engine when its time comes."""

    id: Identifier
    name: Text
    after: DurationField | None = Field(
        default=None, description="How long after it starts the timer falls due."
    )
    align: Alignment = Field(
        default="none",
        description="Move the due time to the next business day, or to the next fixed meeting "
        "day (calendar.meeting_weekdays) at calendar.meeting_time.",
    )
    repeat: Repeat | None = Field(default=None, description="Fire again at an interval.")
    fires: TimerFires


class Choice(StrictModel):
    """One allowed value of a choice input."""

    value: Identifier
    label: Text


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
    min: float | None = Field(default=None, description="Smallest number, or fewest list items.")
    max: float | None = Field(default=None, description="Largest number, or most list items.")
    first_person: StrictBool = Field(
        default=False,
        description="For goals: each goal must be written in first person ('Jeg ...').",
    )
    share: StrictBool = Field(
        default=False,
        description="May be shown to departments in notifications (only for types that carry "
        "no free text: dates, times, choices, departments, themes, numbers, yes/no).",
    )

    @model_validator(mode="after")
    def _bounds(self) -> Input:
        for bound in (self.min, self.max):
            if bound is not None and (bound != bound or abs(bound) > 1e15):
                raise ValueError("min and max must be finite numbers")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        return self


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
    roles: list[Identifier] = Field(min_length=1, description="Roles allowed to trigger it.")
    guard: str | None = Field(
        default=None,
        description="Expression that must be true, e.g. \"'plan_agreed' in case.milestones\".",
    )
    guard_message: Text | None = Field(
        default=None, description="What the user is told when the guard is false."
    )
    inputs: list[Input] = Field(default_factory=list, description="What the person must give.")
    set: dict[Identifier, str] = Field(
        default_factory=dict, description="Case data computed by expressions, in order."
    )
    effects: list[Effect] = Field(default_factory=list)

    @property
    def event_name(self) -> str:
        """The event that triggers this transition."""
        return self.event or self.id


class Referral(StrictModel):
    """How a case is opened (the event 'refer')."""

    roles: list[Identifier] = Field(min_length=1, description="Roles allowed to refer.")
    inputs: list[Input] = Field(default_factory=list)
    guard: str | None = None
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


ParameterValue = int | float | str | bool


class Definition(StrictModel):
    """A process definition: the national base, or a municipality's own."""

    id: Identifier = Field(description="The definition's id; a file is named `<id>.yaml`.")
    extends: Identifier | None = Field(
        default=None, description="Id of the definition this one extends (usually 'base')."
    )
    abstract: StrictBool = Field(
        default=False, description="A base others extend; it opens no cases itself."
    )
    version: StrictInt = Field(ge=1, description="Version; raise it when you change the process.")
    title: Text = Field(description="The process's name.")
    municipality: Municipality | None = Field(default=None, description="Required unless abstract.")
    locale: Locale = Field(default="da", description="Default language of texts.")
    target_ages: AgeRange
    parameters: dict[Identifier, ParameterValue] = Field(
        default_factory=dict, description="Constants for expressions (`params.<name>`)."
    )
    calendar: Calendar = Field(default_factory=Calendar)
    departments: list[Department] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)
    themes: list[Theme] = Field(default_factory=list)
    milestones: list[Milestone] = Field(default_factory=list)
    stages: list[Stage] = Field(default_factory=list)
    timers: list[Timer] = Field(default_factory=list)
    templates: list[Template] = Field(default_factory=list)
    referral: Referral
    transitions: list[Transition] = Field(default_factory=list)
    remove: Removals | None = Field(
        default=None, description="Remove items of the extended definition by id."
    )

    @cached_property
    def stages_by_id(self) -> dict[str, Stage]:
        """Stages by id."""
        return {s.id: s for s in self.stages}

    @cached_property
    def timers_by_id(self) -> dict[str, Timer]:
        """Timers by id."""
        return {t.id: t for t in self.timers}

    @cached_property
    def templates_by_id(self) -> dict[str, Template]:
        """Templates by id."""
        return {t.id: t for t in self.templates}

    @cached_property
    def departments_by_id(self) -> dict[str, Department]:
        """Departments by id."""
        return {d.id: d for d in self.departments}

    @cached_property
    def start_stage(self) -> Stage:
        """The stage a new case starts in."""
        return next(s for s in self.stages if s.kind is StageKind.START)

    @cached_property
    def transitions_by_event(self) -> dict[str, list[Transition]]:
        """Transitions grouped by their event, in definition order."""
        grouped: dict[str, list[Transition]] = {}
        for transition in self.transitions:
            grouped.setdefault(transition.event_name, []).append(transition)
        return grouped

    @cached_property
    def timer_events(self) -> frozenset[str]:
        """Events that timers raise (the system role may trigger them)."""
        return frozenset(t.fires.event for t in self.timers if t.fires.event)

    @cached_property
    def case_fields(self) -> frozenset[str]:
        """Every name case data can hold: inputs and computed values."""
        names = {i.name for i in self.referral.inputs} | set(self.referral.set)
        for transition in self.transitions:
            names |= {i.name for i in transition.inputs} | set(transition.set)
        return frozenset(names)

    @cached_property
    def working_calendar(self) -> WorkingCalendar:
        """The calendar timers are computed on."""
        cal = self.calendar
        return WorkingCalendar(
            public_holidays=cal.public_holidays == "DK",
            closed_days=frozenset(d for d in cal.closed_days if isinstance(d, str)),
            closed_dates=frozenset(d for d in cal.closed_days if isinstance(d, date)),
            meeting_weekdays=frozenset(WEEKDAYS.index(d) for d in cal.meeting_weekdays),
        )

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of the resolved definition; a case pins it with the version."""
        canonical = self.model_dump_json(by_alias=True, exclude_none=True)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def source_stages(self, transition: Transition) -> list[str]:
        """The stage ids a transition can leave."""
        if transition.from_ == ANY_ACTIVE:
            return [
                s.id
                for s in self.stages
                if s.kind is not StageKind.FINAL and s.id not in transition.not_from
            ]
        if isinstance(transition.from_, str):
            return [transition.from_]
        return list(transition.from_)
