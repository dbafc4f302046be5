"""The definition language: what a municipality writes, as pydantic models.

The JSON Schema in ``schema/definition.schema.json`` and the reference in
``docs/definition-reference.md`` are generated from these models, so every field
carries a description written for definition authors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, PrivateAttr, StrictBool, StrictInt

from workflow.definitions.calendar import WEEKDAYS, WorkingCalendar
from workflow.definitions.casework import (
    Conferences,
    DisplayField,
    MeetingKind,
    MeetingRules,
    Meetings,
    Pool,
)
from workflow.definitions.dates import date_functions
from workflow.definitions.effects import CreateTaskEffect
from workflow.definitions.expressions import uses_name
from workflow.definitions.parts import (
    AgeRange,
    Calendar,
    Department,
    Milestone,
    Municipality,
    Referral,
    Removals,
    Role,
    Stage,
    Template,
    Theme,
    Timer,
    Transition,
    guard_rules,
)
from workflow.definitions.privacy import DataCategory, Privacy
from workflow.definitions.progression import Progression
from workflow.definitions.sourcemap import SourceMap, SourcePath
from workflow.definitions.types import Duration, Identifier, Locale, StrictModel, Text, text_in
from workflow.definitions.vocabulary import (
    ANY_ACTIVE,
    REFER_EVENT,
    SYSTEM_EVENTS,
    InputType,
    StageKind,
)
from workflow.errors import Location

__all__ = ["Definition", "ParameterValue"]

ParameterValue = int | float | str | bool


class Definition(StrictModel):
    """A process definition: the national base, or a municipality's own."""

    id: Identifier = Field(description="The definition's id; a file is named `<id>.yaml`.")
    extends: Identifier | None = Field(
        default=None,
        description="The definition this one extends (usually 'base'): an id, looked up beside "
        "the file and then in the definitions folder, or a relative path to a .yaml file.",
    )
    abstract: StrictBool = Field(
        default=False, description="A base others extend; it opens no cases itself."
    )
    version: StrictInt = Field(ge=1, description="Version; raise it when you change the process.")
    title: Text = Field(description="The process's name.")
    municipality: Municipality | None = Field(default=None, description="Required unless abstract.")
    locale: Locale = Field(default="da", description="Default language of texts.")
    target_ages: AgeRange = Field(description="Ages accepted at referral.")
    parameters: dict[Identifier, ParameterValue] = Field(
        default_factory=dict, description="Constants for expressions (`params.<name>`)."
    )
    calendar: Calendar = Field(
        default_factory=Calendar, description="Working days, closing days, meeting days."
    )
    departments: list[Department] = Field(
        default_factory=list, description="Departments and partners that can be on a team."
    )
    roles: list[Role] = Field(default_factory=list, description="Roles people have on a case.")
    themes: list[Theme] = Field(
        default_factory=list, description="Agenda themes the young person chooses from."
    )
    milestones: list[Milestone] = Field(
        default_factory=list, description="Named facts later guards can test."
    )
    stages: list[Stage] = Field(default_factory=list, description="The stages of the lifecycle.")
    timers: list[Timer] = Field(default_factory=list, description="Deadlines and reminders.")
    templates: list[Template] = Field(
        default_factory=list, description="Texts of notifications (Jinja2)."
    )
    referral: Referral = Field(description="Who may open a case, and what they give.")
    transitions: list[Transition] = Field(
        default_factory=list, description="The steps that move a case."
    )
    privacy: Privacy = Field(
        default_factory=Privacy,
        description="Consent scopes, the guardian's consent for minors, and retention.",
    )
    meetings: Meetings | None = Field(
        default=None, description="Kinds of meeting and the rules every booking keeps."
    )
    conferences: Conferences | None = Field(
        default=None, description="A recurring case-conference session (e.g. every 14 days)."
    )
    pool: Pool | None = Field(
        default=None, description="A pooled budget departments pay into and grants draw from."
    )
    display: list[DisplayField] = Field(
        default_factory=list, description="Case data the case page shows (e.g. a budget)."
    )
    progression: Progression | None = Field(
        default=None,
        description="The progression scale a `progression` input records the young person's "
        "level on at each meeting (the base ships the youth-progression levels; writing "
        "`progression:` replaces the extended definition's scale whole).",
    )
    remove: Removals | None = Field(
        default=None, description="Remove items of the extended definition by id."
    )
    #: Where each part was written (set by the loader; empty for a stored version).
    _source: SourceMap = PrivateAttr(default_factory=SourceMap)

    def locate(self, path: SourcePath) -> Location | None:
        """Where a part was written, e.g. ``locate(("transitions", 3, "guard"))``.

        The path uses the keys as written in YAML (``from``, not ``from_``) and indexes
        into the resolved lists; a part that is not written (a default) is located at
        the nearest part that encloses it. None for a definition with no file (stored).
        """
        return self._source.locate(path)

    @cached_property
    def events_separating_duties(self) -> frozenset[str]:
        """The events a transition with ``not_by`` takes: only their steps need to know who
        took the earlier steps (the store reads it from the history for them alone)."""
        return frozenset(t.event_name for t in self.transitions if t.not_by)

    @cached_property
    def meeting_rules(self) -> MeetingRules:
        """The rules every booking keeps (none declared: the defaults)."""
        return self.meetings.rules if self.meetings else MeetingRules()

    @cached_property
    def meeting_kinds_by_id(self) -> dict[str, MeetingKind]:
        """Meeting kinds by id."""
        return {k.id: k for k in self.meetings.kinds} if self.meetings else {}

    @cached_property
    def choice_labels(self) -> dict[str, Text]:
        """Every choice value's label: the steps' choices first, then the meeting rooms."""
        labels: dict[str, Text] = {}
        for item in (*self.referral.inputs, *(i for t in self.transitions for i in t.inputs)):
            for choice in item.choices:
                labels.setdefault(choice.value, choice.label)
        for room in self.meeting_rules.rooms:
            labels.setdefault(room.value, room.label)
        return labels

    def choice_label(self, value: str, locale: str) -> str:
        """The label of a choice value given in any step (e.g. a meeting room), else the value."""
        label = self.choice_labels.get(value)
        return text_in(label, locale) if label is not None else value

    @cached_property
    def task_titles(self) -> dict[str, Text]:
        """The title of every task the referral and the steps give, by the words a task
        is stored with (the definition's own language); the first to word it wins."""
        titles: dict[str, Text] = {}
        effects = [*self.referral.effects, *(e for t in self.transitions for e in t.effects)]
        for effect in effects:
            if isinstance(effect, CreateTaskEffect):
                title = effect.create_task.title
                titles.setdefault(text_in(title, self.locale), title)
        return titles

    def task_title(self, stored: str, locale: str) -> str:
        """A task's title (as stored) in ``locale`` when the definition words it there,
        else as stored (a task added by hand)."""
        title = self.task_titles.get(stored)
        return text_in(title, locale) if title is not None else stored

    @cached_property
    def raised_events(self) -> frozenset[str]:
        """Events the system raises: timers' events and tasks' ``when_done`` events."""
        raised = set(self.timer_events)
        steps: list[Referral | Transition] = [self.referral, *self.transitions]
        for step in steps:
            for effect in step.effects:
                task = getattr(effect, "create_task", None)
                if task is not None and task.when_done is not None:
                    raised.add(task.when_done.raises)
        for event in SYSTEM_EVENTS:
            if event in self.transitions_by_event:
                raised.add(event)
        return frozenset(raised)

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
    def data_categories_by_id(self) -> dict[str, DataCategory]:
        """Data categories (consent scopes) by id."""
        return {c.id: c for c in self.privacy.data_categories}

    @cached_property
    def start_stage(self) -> Stage:
        """The stage a new case starts in."""
        return next(s for s in self.stages if s.kind is StageKind.START)

    @cached_property
    def transitions_by_id(self) -> dict[str, Transition]:
        """Transitions by id (a step's own is looked up several times as it is recorded)."""
        return {t.id: t for t in self.transitions}

    @cached_property
    def transitions_by_event(self) -> dict[str, list[Transition]]:
        """Transitions grouped by their event, in definition order."""
        grouped: dict[str, list[Transition]] = {}
        for transition in self.transitions:
            grouped.setdefault(transition.event_name, []).append(transition)
        return grouped

    @cached_property
    def stages_tasks_wait_for(self) -> frozenset[str]:
        """The stages some ``create_task`` lives until (``until: <stage>``): entering one
        ends those tasks; entering another has none to end."""
        return frozenset(
            str(effect.create_task.until)
            for transition in self.transitions
            for effect in transition.effects
            if isinstance(effect, CreateTaskEffect)
            and effect.create_task.until not in (None, "stage", "case")
        )

    @cached_property
    def timer_events(self) -> frozenset[str]:
        """Events that timers raise (the system role may trigger them)."""
        return frozenset(t.fires.event for t in self.timers if t.fires.event)

    @cached_property
    def meeting_holding_events(self) -> frozenset[str]:
        """The events of the steps that record a meeting as held."""
        return frozenset(
            t.event_name for t in self.transitions if t.meeting and t.meeting.action == "hold"
        )

    @cached_property
    def input_names_by_type(self) -> dict[InputType, list[str]]:
        """The names of the inputs of each type (referral and transitions), sorted."""
        names: dict[InputType, set[str]] = {}
        inputs = [*self.referral.inputs, *(i for t in self.transitions for i in t.inputs)]
        for item in inputs:
            names.setdefault(item.type, set()).add(item.name)
        return {kind: sorted(found) for kind, found in names.items()}

    @cached_property
    def case_fields(self) -> frozenset[str]:
        """Every name case data can hold: inputs and computed values."""
        names = {i.name for i in self.referral.inputs} | set(self.referral.set)
        for transition in self.transitions:
            names |= {i.name for i in transition.inputs} | set(transition.set)
        return frozenset(names)

    @cached_property
    def moment_fields(self) -> frozenset[str]:
        """Case data expressions see as dates or times: date, datetime and meeting inputs,
        and computed values (a computed value that is ISO text is a date)."""
        moments = (InputType.DATE, InputType.DATETIME, InputType.MEETING)
        names = {n for kind in moments for n in self.input_names_by_type.get(kind, [])}
        names |= set(self.referral.set)
        for transition in self.transitions:
            names |= set(transition.set)
        return frozenset(names)

    @cached_property
    def date_functions(self) -> dict[str, Callable[..., Any]]:
        """The date functions expressions call, on this definition's calendar."""
        return date_functions(self.working_calendar, ZoneInfo(self.calendar.timezone))

    @cached_property
    def case_timers(self) -> tuple[Timer, ...]:
        """Timers that run while the case is open (``while_open``), whatever its stage."""
        return tuple(t for t in self.timers if t.while_open)

    @cached_property
    def expiring_milestones(self) -> dict[str, Duration]:
        """Milestones that lapse, and after how long."""
        return {m.id: m.expires_after for m in self.milestones if m.expires_after is not None}

    @cached_property
    def events_reading_consent(self) -> frozenset[str]:
        """The events whose steps read ``consent`` (the store loads it only for them; for
        every event when a timer's anchor reads it)."""
        if any(t.at and uses_name(t.at, "consent") for t in self.timers):
            return frozenset(self.transitions_by_event) | {REFER_EVENT}
        steps: list[tuple[str, Referral | Transition]] = [(REFER_EVENT, self.referral)]
        steps += [(t.event_name, t) for t in self.transitions]
        return frozenset(
            event
            for event, step in steps
            if any(uses_name(source, "consent") for source in _step_expressions(step))
            # A plan's goals name only departments of the team or the consent (the engine's).
            or any(i.type is InputType.GOALS for i in step.inputs)
        )

    @cached_property
    def fixed_anchors(self) -> frozenset[str]:
        """Anchored timers whose anchor no step can move: it reads only the young person's
        facts, the parameters and the ages (e.g. a birthday), not the case or the time."""
        moving = ("case", "now", "today", "consent")
        return frozenset(
            t.id
            for t in self.timers
            if t.at is not None and not any(uses_name(t.at, name) for name in moving)
        )

    @cached_property
    def reads_meetings(self) -> bool:
        """Whether an expression reads ``case.meetings`` or ``case.next_meeting_at``."""
        return any(
            "meetings" in source or "next_meeting_at" in source
            for source in self.expression_sources
        )

    @cached_property
    def expression_sources(self) -> tuple[str, ...]:
        """Every expression of the definition (guards, rules, computed values, conditions,
        timer anchors)."""
        found: list[str] = [t.at for t in self.timers if t.at]
        steps: list[Referral | Transition] = [self.referral, *self.transitions]
        for step in steps:
            found += _step_expressions(step)
        return tuple(found)

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


def _step_expressions(step: Referral | Transition) -> list[str]:
    """A step's expressions: its guard (or rules), computed values and effect conditions."""
    found = [source for _, source in guard_rules(step.guard)]
    found += list(step.set.values())
    found += [e.when for e in step.effects if e.when]
    return found
