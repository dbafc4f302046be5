"""Stateful property test: after any sequence of events, the store holds what the engine says.

A hypothesis state machine opens a case through the real service layer and store, then
takes steps on it — mostly steps the current stage allows, by a role that may take them,
with valid inputs; but also steps from other stages, by other roles, with missing,
unknown or garbage inputs — and lets time pass, with the timer sweep firing due timers.
Beside it runs the pure engine (``open_case``, ``decide``, ``fire_timer``) on its own
copy of the case. After every step the stored case must equal the engine's: stage,
case data, milestones, counts, running timers and their firings, the history events
with their effects, the outbox rows, the tasks, the team, coordinator, meetings and the
plans as stored. A refused step must leave the store exactly as it was. As long as the
sweep ran whenever a timer fell due, the whole script is also replayed by the
simulator (``workflow simulate``), whose timeline must be the same.

Each example is a new case in one store per backend (SQLite always, PostgreSQL too);
the cases of earlier examples get their timers cancelled so the sweep leaves them be.
Set ``HYPOTHESIS_PROFILE=fuzz`` for a long, randomised run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select, update

from tests.integration.conftest import Clock
from workflow.cases.model import RejectedError, StepResult, YoungPersonDetails, storable_inputs
from workflow.definitions.calendar import age_on
from workflow.definitions.effects import CreateTaskEffect
from workflow.definitions.models import Definition
from workflow.definitions.parts import Input
from workflow.definitions.vocabulary import REFER_EVENT, InputType, StageKind
from workflow.engine import timing
from workflow.engine.access import young_person_actor
from workflow.engine.decide import decide, open_case
from workflow.engine.firing import due_timers, fire_timer
from workflow.engine.inputs import GOAL_STATUSES, NETWORK_KINDS, REVIEW_STATUSES
from workflow.engine.model import (
    Actor,
    CancelTasks,
    CaseState,
    CreateTask,
    Decision,
    Effect,
    Event,
    HoldTasks,
    MeetingChanged,
    Notify,
    Rejection,
    ReleaseTasks,
    Timing,
)
from workflow.engine.simulation import Script, ScriptStep, ScriptYoungPerson, simulate
from workflow.engine.steps import next_steps
from workflow.errors import CaseNotFoundError, NotAllowedError
from workflow.runtime import Runtime, build_runtime
from workflow.settings import Settings
from workflow.store.repository import dedupe_key, effect_record
from workflow.store.tables import (
    AuditEntry,
    Case,
    CaseTask,
    CaseTimer,
    CoordinatorAssignment,
    HistoryEvent,
    Meeting,
    OutboxRow,
    Plan,
    PlanGoal,
    TeamMembership,
    YoungPerson,
)

FUZZING = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
DEFINITIONS = ["soroe", "horsens"]
#: The caseworker of every case: the access rule lets them take any step their role may.
STAFF = "cw-fuzz"
PEOPLE = ["tovholder-lise", "laerer-anna", "raadgiver-bo", "vejleder-sara", STAFF]
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**6), max_value=10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    _containers,
    max_leaves=6,
)
printable = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))
texts = st.text(printable, min_size=1, max_size=40).filter(str.strip)
#: Values no store can hold as text: the engine must refuse them.
NASTY = ["a\x00b", "\x00", "x\ud800y", "\x1b[31mred", "line\x0bbreak"]
people = st.one_of(
    st.sampled_from(PEOPLE),
    texts,
    # Long staff ids, up to the 200 characters the engine allows: the outbox's dedupe
    # key (reference, step, index and recipient) is then shortened by hash to fit.
    st.text(printable, min_size=100, max_size=200).filter(str.strip),
)


def _json(value: Any) -> Any:
    """A value as it comes back from a JSON column."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat()))


def _instants(effects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Effects with their times in UTC: one instant may be written with either offset.

    A due time the engine computes is local (+01:00); one it reads back from the store
    (a timer that fires) is UTC. Both name the same instant.
    """
    return [
        {
            key: datetime.fromisoformat(value).astimezone(UTC).isoformat()
            if key == "due_at" and isinstance(value, str)
            else value
            for key, value in effect.items()
        }
        for effect in effects
    ]


# --- valid (and nearly valid) inputs, drawn for the case as it is ---------------------------


def _local(moment: datetime, definition: Definition) -> datetime:
    return moment.astimezone(ZoneInfo(definition.calendar.timezone))


@st.composite
def meeting_times(draw: st.DrawFn, definition: Definition, now: datetime) -> str:
    """A meeting time: mostly on one of the calendar's meeting weekdays, in the coming weeks."""
    day = _local(now, definition).date() + timedelta(days=draw(st.integers(0, 60)))
    wanted = {
        ["monday", "tuesday", "wednesday", "thursday", "friday"].index(w)
        for w in definition.calendar.meeting_weekdays
    }
    # Rare branches sit on a middle value: hypothesis favours the ends of a range.
    if wanted and draw(st.integers(0, 9)) != 4:
        while day.weekday() not in wanted:
            day += timedelta(days=1)
    moment = datetime.combine(day, time(draw(st.sampled_from([9, 10, 13]))))
    if draw(st.booleans()):
        return moment.isoformat()  # local time, as a form sends it
    return moment.replace(tzinfo=ZoneInfo(definition.calendar.timezone)).isoformat()


def _bounded_list(item: Input, element: st.SearchStrategy[Any], **kw: Any) -> Any:
    low = int(item.min) if item.min is not None else 0
    high = int(item.max) if item.max is not None else max(low, 3)
    return st.lists(element, min_size=low, max_size=min(high, low + 3), **kw)


def value_for(
    item: Input, definition: Definition, data: dict[str, Any], now: datetime
) -> st.SearchStrategy[Any]:
    """Values the engine should accept for one input (guards aside)."""
    departments = sorted(definition.departments_by_id)
    themes = [t.id for t in definition.themes]
    chosen = [t for t in data.get("agenda") or [] if isinstance(t, str)] or themes
    # A meeting place without its own choices offers the meeting rules' rooms.
    choices = [c.value for c in item.choices] or [r.value for r in definition.meeting_rules.rooms]
    kind = item.type
    if kind is InputType.TEXT:
        return texts
    if kind in (InputType.PERSON, InputType.COORDINATOR):
        return people
    if kind is InputType.INTEGER:
        low = int(item.min) if item.min is not None else -1000
        high = int(item.max) if item.max is not None else 1000
        return st.integers(low, high)
    if kind is InputType.DECIMAL:
        return st.floats(
            min_value=item.min if item.min is not None else -1e6,
            max_value=item.max if item.max is not None else 1e6,
        )
    if kind is InputType.BOOLEAN:  # mostly yes: guards often want a yes
        return st.sampled_from([True, True, True, "ja", False, "nej"])
    if kind is InputType.DATE:
        return st.dates(date(2026, 1, 1), date(2028, 12, 31)).map(date.isoformat)
    if kind in (InputType.DATETIME, InputType.MEETING):
        return meeting_times(definition, now)
    if kind in (InputType.CHOICE, InputType.MEETING_PLACE):
        return st.sampled_from(choices)
    if kind is InputType.MULTICHOICE:
        return _bounded_list(item, st.sampled_from(choices), unique=True)
    if kind is InputType.DEPARTMENT:
        return st.sampled_from(departments)
    if kind is InputType.DEPARTMENTS:
        return _bounded_list(item, st.sampled_from(departments), unique=True)
    if kind is InputType.THEME:
        return st.sampled_from(themes)
    if kind is InputType.THEMES:
        return _bounded_list(item, st.sampled_from(themes), unique=True)
    if kind is InputType.PROGRESSION and definition.progression is not None:
        return st.sampled_from([level.id for level in definition.progression.levels])
    if kind is InputType.TEAM:
        member = st.fixed_dictionaries(
            {"department": st.sampled_from(departments), "person": people},
            optional={"role": st.sampled_from(["team_member", "mentor", "kontakt"])},
        )
        return _bounded_list(
            item, member, unique_by=lambda m: (m["department"], m["person"].strip())
        )
    if kind is InputType.GOALS:
        goal = st.fixed_dictionaries(
            {"text": texts.map(lambda t: f"Jeg {t}")},
            optional={
                "department": st.sampled_from(departments),
                "theme": st.sampled_from(chosen),
                "owner": people,
                # Ahead of the machine's clock (a deadline that has passed is refused).
                "deadline": st.dates(date(2029, 1, 1), date(2030, 12, 31)).map(date.isoformat),
                "status": st.sampled_from(GOAL_STATUSES),
            },
        )
        return _bounded_list(item, goal)
    if kind is InputType.GOAL_REVIEWS:
        count = len(data.get("plan") or [])  # the goals of the plan under review
        review = st.fixed_dictionaries(
            {
                "goal": st.integers(1, max(count, 1) + 1),
                "status": st.sampled_from(REVIEW_STATUSES),
            }
        )
        return _bounded_list(item, review)
    if kind is InputType.NETWORKS:
        network = st.fixed_dictionaries({"name": texts, "kind": st.sampled_from(NETWORK_KINDS)})
        return _bounded_list(item, network)
    if kind is InputType.BOOKED_MEETING:  # one of the case's meetings, or one it never had
        return st.integers(1, len(data.get("meetings") or []) + 1)
    if kind is InputType.ATTENDANCE:
        invited = [
            p["id"] for m in data.get("meetings") or [] for p in m.get("participants") or []
        ] or ["nobody"]
        return st.fixed_dictionaries(
            {}, optional={"absent": st.lists(st.sampled_from(invited), max_size=1)}
        )
    raise AssertionError(kind)  # pragma: no cover


@st.composite
def inputs_for(
    draw: st.DrawFn,
    inputs: list[Input],
    definition: Definition,
    data: dict[str, Any],
    now: datetime,
    spoilt: bool,
) -> dict[str, Any]:
    """Inputs for a step: valid ones (optional ones sometimes left out), or spoilt ones."""
    given: dict[str, Any] = {}
    for item in inputs:
        if not item.required and draw(st.booleans()):
            continue
        given[item.name] = draw(value_for(item, definition, data, now))
    spoil = draw(st.integers(0, 5)) if spoilt else None
    if spoil == 0 and given:  # one value of the wrong kind
        name = draw(st.sampled_from(sorted(given)))
        given[name] = draw(json_values)
    elif spoil == 1 and given:  # a required value missing
        del given[draw(st.sampled_from(sorted(given)))]
    elif spoil == 2:  # a field the step does not have
        given[draw(st.sampled_from(["unexpected", "stage", "case"]))] = draw(json_values)
    elif spoil == 3:  # anything at all
        given = draw(st.dictionaries(st.text(max_size=10), json_values, max_size=4))
    elif spoil == 4:  # characters no text may hold, in every piece of text
        nasty = draw(st.sampled_from(NASTY))
        given = {k: _poison(v, nasty) for k, v in given.items()}
    return given


def _poison(value: Any, nasty: str) -> Any:
    """``value`` with ``nasty`` put into each piece of text in it."""
    if isinstance(value, str):
        return value[:1] + nasty + value[1:]
    if isinstance(value, list):
        return [_poison(v, nasty) for v in value]
    if isinstance(value, dict):
        return {k: _poison(v, nasty) for k, v in value.items()}
    return value


# --- what the store holds -----------------------------------------------------------------


def _step_actors(history: Sequence[HistoryEvent]) -> dict[str, frozenset[str]]:
    """Who took each step, as the history keeps it (what ``not_by`` is checked against);
    a timer's own entries (``timer:<id>``) are no step."""
    found: dict[str, set[str]] = {}
    for event in history:
        if event.actor_id is not None and not event.transition.startswith("timer:"):
            found.setdefault(event.transition, set()).add(event.actor_id)
    return {step: frozenset(actors) for step, actors in found.items()}


def stored(runtime: Runtime, reference: str) -> dict[str, Any]:
    """Everything the store holds about one case, in plain comparable values."""
    with runtime.sessions() as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        cid = case.id
        running = session.execute(
            select(CaseTimer.timer, CaseTimer.due_at, CaseTimer.firings).where(
                CaseTimer.case_id == cid, CaseTimer.state == "running"
            )
        ).all()
        history = session.scalars(
            select(HistoryEvent).where(HistoryEvent.case_id == cid).order_by(HistoryEvent.seq)
        ).all()
        seq_of = {h.id: h.seq for h in history}
        outbox = session.scalars(
            select(OutboxRow).where(OutboxRow.case_id == cid).order_by(OutboxRow.id)
        ).all()
        plans = session.scalars(
            select(Plan).where(Plan.case_id == cid).order_by(Plan.version)
        ).all()
        return {
            "state": CaseState(  # read independently of the step path's own loader
                reference=case.reference,
                stage=case.stage,
                opened_at=case.opened_at,
                previous_stage=case.previous_stage,
                data=dict(case.data),
                milestones=frozenset(case.milestones),
                timers={t.timer: t.due_at for t in running},
                timer_firings={t.timer: t.firings for t in running if t.firings},
                counts=dict(case.counts),
                born=session.scalar(
                    select(YoungPerson.birth_date).where(YoungPerson.id == case.young_person_id)
                ),
                timing=Timing.from_data(case.timing),
                step_actors=_step_actors(history),
            ),
            "row": {
                "version": case.version,
                "last_seq": case.last_seq,
                "closed_at": case.closed_at,
                "caseworker": case.caseworker,
            },
            "history": [
                {
                    "seq": h.seq,
                    "event": h.event,
                    "transition": h.transition,
                    "from": h.from_stage,
                    "to": h.to_stage,
                    "inputs": h.inputs,
                    "effects": _instants(h.effects),
                    "actor": (h.actor_role, h.actor_id),
                    "at": h.at,
                }
                for h in history
            ],
            "outbox": [
                (
                    seq_of[o.history_id] if o.history_id is not None else None,
                    o.template,
                    o.recipient,
                    o.payload.get("shared"),
                    o.payload.get("timer"),
                    o.dedupe_key,
                )
                for o in outbox
            ],
            "tasks": [
                (t.assignee_kind, t.assignee_id, t.person, t.title, t.due_at)
                for t in session.scalars(
                    select(CaseTask).where(CaseTask.case_id == cid).order_by(CaseTask.id)
                )
            ],
            "team": sorted(
                (m.department, m.person, m.role)
                for m in session.scalars(
                    select(TeamMembership).where(
                        TeamMembership.case_id == cid, TeamMembership.until.is_(None)
                    )
                )
            ),
            "coordinator": session.scalar(
                select(CoordinatorAssignment.person).where(
                    CoordinatorAssignment.case_id == cid, CoordinatorAssignment.until.is_(None)
                )
            ),
            "meetings": [
                (m.kind, m.starts_at, m.place)
                for m in session.scalars(
                    select(Meeting).where(Meeting.case_id == cid).order_by(Meeting.id)
                )
            ],
            "plans": [
                [
                    (g.number, g.text, g.department, g.theme, g.owner, g.deadline, g.status)
                    for g in session.scalars(
                        select(PlanGoal).where(PlanGoal.plan_id == p.id).order_by(PlanGoal.number)
                    )
                ]
                for p in plans
            ],
            "changes_audited": session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(
                    AuditEntry.object_id == reference,
                    AuditEntry.object_type == "case",
                    AuditEntry.action == "change",
                )
            ),
            "all_timers": [
                (t.timer, t.state, t.due_at, t.firings)
                for t in session.scalars(
                    select(CaseTimer).where(CaseTimer.case_id == cid).order_by(CaseTimer.id)
                )
            ],
        }


def store_totals(runtime: Runtime) -> tuple[int, ...]:
    """Row counts of the tables a referral writes to (a refused referral writes none)."""
    with runtime.sessions() as session:
        return tuple(
            int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (Case, YoungPerson, HistoryEvent, OutboxRow, AuditEntry)
        )


def outcome(call: Callable[[], StepResult]) -> StepResult | Rejection:
    """What a service call did: its result, or the engine's refusal it passed on."""
    try:
        return call()
    except RejectedError as refused:
        return refused.rejection


# --- the machine ----------------------------------------------------------------------------


#: The consent the store loads for a case that has none (this machine records none).
NO_CONSENT = {"given": False, "departments": [], "categories": [], "guardian": False}


class EngineAndStore(RuleBasedStateMachine):
    """One case, driven through the service layer and the pure engine side by side."""

    runtime: ClassVar[Runtime]
    clock: ClassVar[Clock]

    def __init__(self) -> None:
        super().__init__()
        self.definition: Definition | None = None
        self.reference: str | None = None
        self.model: CaseState | None = None
        self.start = START
        # What the engine's decisions say the store must hold.
        self.history: list[dict[str, Any]] = []
        self.outbox: list[tuple[Any, ...]] = []
        self.tasks: list[tuple[Any, ...]] = []
        # Each task's life beside it (the store's columns a stage change reads and writes).
        self.lives: list[dict[str, Any]] = []
        self.booked: dict[int, tuple[str, datetime]] = {}  # meeting key -> (state, start)
        self.meetings: list[tuple[Any, ...]] = []
        self.plans: list[list[tuple[Any, ...]]] = []
        self.closed_at: datetime | None = None
        self.effects: list[tuple[Effect, ...]] = []  # of each accepted decision, in order
        # The same story as a simulation script; None once a sweep ran late.
        self.script: list[ScriptStep] | None = []
        # The store as the invariant last read it, while nothing has changed it since.
        self.snapshot: dict[str, Any] | None = None

    # -- helpers --

    @property
    def d(self) -> Definition:
        assert self.definition is not None
        return self.definition

    def now(self) -> datetime:
        return self.clock.now

    def record(self, decision: Decision, inputs: dict[str, Any], actor: Actor) -> None:
        """Book an accepted decision the way the store must have written it."""
        assert self.reference is not None
        seq = len(self.history) + 1
        now = self.now()
        effects = [effect_record(e) for e in decision.effects]
        self.effects.append(decision.effects)
        self.history.append(
            {
                "seq": seq,
                "event": decision.event,
                "transition": decision.transition,
                "from": decision.from_stage,
                "to": decision.to_stage,
                "inputs": _json(storable_inputs(inputs)),
                "effects": _instants(_json(effects)),
                "actor": (actor.role, actor.id),
                "at": now,
            }
        )
        for index, effect in enumerate(decision.effects):
            if isinstance(effect, Notify):
                self.outbox.append(
                    (
                        seq,
                        effect.template,
                        _json(asdict(effect.recipient)),
                        _json(dict(effect.shared)),
                        effect.timer,
                        dedupe_key(self.reference, seq, index, effect.recipient),
                    )
                )
            elif isinstance(effect, CreateTask):
                who = effect.assignee
                self.tasks.append((who.kind, who.id, who.person, effect.title, effect.due_at))
                life = {"stage": effect.stage, "until": effect.until, "key": effect.key}
                self.lives.append(life | {"open": True, "held": None})
            elif isinstance(effect, CancelTasks | HoldTasks | ReleaseTasks):
                self._tasks_follow(effect, now)
        for effect in decision.effects:  # written after the step's other effects
            if isinstance(effect, MeetingChanged):
                self.booked[effect.meeting.key] = (effect.meeting.state, effect.meeting.starts_at)
        self._record_step_data(decision, inputs)
        stage = self.d.stages_by_id[decision.to_stage]
        if stage.kind is StageKind.FINAL and self.closed_at is None:
            self.closed_at = now
        self.model = decision.case

    def _tasks_follow(self, effect: CancelTasks | HoldTasks | ReleaseTasks, now: datetime) -> None:
        """Open tasks end with their stage, wait through a pause and go on after it (due
        later by the pause's length, on a business day, not after the next meeting of
        a task due at the latest when it begins)."""
        by_meeting = {
            e.create_task.id
            for t in self.d.transitions
            for e in t.effects
            if isinstance(e, CreateTaskEffect) and e.create_task.at_latest == "meeting"
        }
        for index, life in enumerate(self.lives):
            if not life["open"]:
                continue
            of_stage = life["until"] == "stage"
            match effect:
                case CancelTasks(keys=keys) if keys:
                    life["open"] = life["key"] not in keys
                case CancelTasks(everything=True):
                    life["open"] = False
                case CancelTasks(left=left, entered=entered):
                    ends = (of_stage and life["stage"] == left) or life["until"] == entered
                    life["open"] = not ends
                case HoldTasks(stage=stage):
                    if of_stage and life["stage"] == stage and life["held"] is None:
                        life["held"] = now
                case ReleaseTasks(stage=stage) if life["held"] is not None:
                    if not (of_stage and life["stage"] == stage):
                        life["open"], life["held"] = False, None
                        continue
                    row = self.tasks[index]
                    due = row[4]
                    if due is not None:
                        # Later by the pause on the wall clock, on a business day, not
                        # after the first meeting still booked (whatever its time).
                        zone = ZoneInfo(self.d.calendar.timezone)

                        def wall(moment: datetime, zone: ZoneInfo = zone) -> datetime:
                            return moment.astimezone(zone).replace(tzinfo=None)

                        later = wall(due) + (wall(now) - wall(life["held"]))
                        due = timing.align(self.d, later.replace(tzinfo=zone), "business_day")
                        booked = [
                            at for state, at in self.booked.values() if state in ("booked", "moved")
                        ]
                        if life["key"] in by_meeting and booked:
                            due = min(due, min(booked))
                    self.tasks[index] = (*row[:4], due)
                    life["held"] = None

    def _record_step_data(self, decision: Decision, inputs: dict[str, Any]) -> None:
        """Meetings and plans: first-class records of the step's inputs."""
        if decision.transition == REFER_EVENT:
            declared = list(self.d.referral.inputs)
        else:
            found = [t for t in self.d.transitions if t.id == decision.transition]
            declared = list(found[0].inputs) if found else []
        data = decision.case.data
        places = self.d.input_names_by_type.get(InputType.MEETING_PLACE, [])
        place = next((str(data[k]) for k in places if data.get(k)), None)
        del place  # a meeting's place is the one its record carries
        for effect in decision.effects:  # booked: a new row; moved, cancelled, held: the same
            if isinstance(effect, MeetingChanged):
                met = effect.meeting
                row = (met.kind, met.starts_at, met.place)
                if effect.action == "book":
                    self.meetings.append(row)
                else:
                    self.meetings[met.key - 1] = row
        for item in declared:
            if item.type is InputType.GOAL_REVIEWS and item.name in inputs and self.plans:
                statuses = {r["goal"]: r["status"] for r in data.get(item.name) or []}
                self.plans[-1] = [
                    (*goal[:6], statuses.get(goal[0], goal[6])) for goal in self.plans[-1]
                ]
        for item in declared:
            if item.type is InputType.GOALS and item.name in inputs:
                self.plans.append(
                    [
                        (
                            g["id"],
                            g["text"],
                            g.get("department"),
                            g.get("theme"),
                            g.get("owner"),
                            date.fromisoformat(g["deadline"]) if g.get("deadline") else None,
                            g.get("status") or "open",
                        )
                        for g in data.get(item.name) or []
                    ]
                )

    def sweep(self, moment: datetime) -> None:
        """The sweep fires the due timers at ``moment``; the engine fires the same."""
        self.clock.now = moment
        self.runtime.service.fire_due_timers(moment)
        assert self.model is not None
        for timer, _due in due_timers(self.model, moment):
            fired = fire_timer(self.d, self.model, timer, moment)
            if isinstance(fired, Decision):
                self.record(fired, {}, Actor("system", f"timer:{timer}"))

    # -- rules --

    @initialize(
        name=st.sampled_from(DEFINITIONS),
        minutes=st.integers(0, 60 * 24 * 300),
    )
    def choose_definition(self, name: str, minutes: int) -> None:
        self.definition = self.runtime.catalog.by_id(name)
        self.start = START + timedelta(minutes=minutes)
        self.clock.now = self.start

    @precondition(lambda self: self.reference is None)
    @rule(
        age=st.one_of(st.integers(14, 24), st.integers(0, 40)),
        days=st.integers(0, 364),
        source=st.sampled_from(["school", "uu", "young_person", "no_such_source"]),
        role=st.sampled_from(["caseworker", "caseworker", "young_person", "coordinator"]),
    )
    def refer(self, age: int, days: int, source: str, role: str) -> None:
        today = _local(self.now(), self.d).date()
        born = date(today.year - age, 1, 1) - timedelta(days=days)
        if born > today:
            born = today
        serial = "4321" if born.year >= 2000 else "1234"  # the 7th digit gives the century
        person = YoungPersonDetails("Fuzz Testesen", f"{born:%d%m%y}{serial}", born)
        inputs = {"source": source, "caseworker": STAFF}
        actor = Actor(role, STAFF)
        given = inputs | {"age": age_on(born, today)}
        expected = open_case(self.d, "(new)", actor, given, self.now(), born=born)
        before = store_totals(self.runtime)
        result = outcome(lambda: self.runtime.service.refer(self.d.id, person, actor, inputs))
        if isinstance(result, Rejection):
            assert result == expected, "the store and the engine refuse differently"
            assert store_totals(self.runtime) == before, "a refused referral wrote something"
            return
        assert isinstance(expected, Decision), f"the store accepted, the engine refused: {expected}"
        self.reference = result.reference
        self.start = self.now()
        opened = open_case(self.d, self.reference, actor, given, self.now(), born=born)
        assert isinstance(opened, Decision)
        assert replace(expected, case=replace(expected.case, reference=self.reference)) == opened
        self.record(opened, given, actor)
        assert self.script is not None
        self.script.append(
            ScriptStep(at=self.now(), event=REFER_EVENT, actor=f"{role}:{STAFF}", inputs=given)
        )

    @precondition(lambda self: self.reference is not None)
    @rule(data=st.data())
    def make_progress(self, data: st.DataObject) -> None:
        """A step the stage allows, by a role that may take it, with valid inputs."""
        assert self.model is not None
        enabled = next_steps(self.d, self.model.stage, [r.id for r in self.d.roles])
        if not enabled:
            return
        forward = [t for t in enabled if t.from_ != "*"]  # the main line, mostly
        main_line = data.draw(st.integers(0, 9), label="main line") != 4
        pool = forward if forward and main_line else enabled
        transition = data.draw(st.sampled_from(pool), label="transition")
        role = data.draw(st.sampled_from(transition.roles), label="role")
        given = data.draw(
            inputs_for(list(transition.inputs), self.d, dict(self.model.data), self.now(), False),
            label="inputs",
        )
        self.trigger(transition.event_name, role, given)

    @precondition(lambda self: self.reference is not None)
    @rule(data=st.data())
    def take_any_step(self, data: st.DataObject) -> None:
        """Any event, by any role, with inputs that may be spoilt."""
        assert self.model is not None
        roles = [r.id for r in self.d.roles]
        events = sorted(self.d.transitions_by_event) + ["no_such_event"]
        event = data.draw(st.sampled_from(events), label="event")
        found = self.d.transitions_by_event.get(event) or []
        role = data.draw(st.sampled_from([*roles, "system", "stranger"]), label="role")
        inputs = list(found[0].inputs) if found else []
        given = data.draw(
            inputs_for(inputs, self.d, dict(self.model.data), self.now(), True), label="inputs"
        )
        self.trigger(event, role, given)

    def holder(self, role: str) -> str | None:
        """Who holds ``role`` on the case now, as the store's standing sees it (None: no
        one here; this machine records no consent, so no team member stands on it)."""
        assert self.model is not None
        assert self.reference is not None
        if role in ("caseworker", "coordinator"):
            return self.model.holder(role)
        if role == "young_person":
            return young_person_actor(self.reference)
        return None

    def trigger(self, event: str, role: str, given: dict[str, Any]) -> None:
        """The step through the service layer, and through the engine.

        The service first checks that the actor holds the role on the case: a role no one
        holds is refused before the engine is asked, and nothing is written.
        """
        assert self.model is not None
        assert self.reference is not None
        reference = self.reference
        holder = self.holder(role)
        if holder is None:
            before = self.snapshot or stored(self.runtime, reference)
            actor = Actor(role, STAFF)
            with pytest.raises((NotAllowedError, CaseNotFoundError)):
                self.runtime.service.trigger(reference, event, given, actor)
            after = stored(self.runtime, reference)
            assert after == before, "a step refused for its role changed the store"
            self.snapshot = after
            return
        actor = Actor(role, holder)
        # The consent as the store loads it for the steps that read it (a plan's goals
        # name only departments it covers): this machine records none.
        model = self.model
        if event in self.d.events_reading_consent:
            model = replace(model, consent=NO_CONSENT)
        expected = decide(self.d, model, Event(event, actor, given), self.now())
        if isinstance(expected, Decision):
            expected = replace(expected, case=replace(expected.case, consent=self.model.consent))
        before = self.snapshot or stored(self.runtime, self.reference)
        self.snapshot = None
        result = outcome(lambda: self.runtime.service.trigger(reference, event, given, actor))
        if isinstance(result, Rejection):
            assert result == expected, "the store and the engine refuse differently"
            after = stored(self.runtime, reference)
            assert after == before, "a refused step changed the store"
            self.snapshot = after
        else:
            assert isinstance(expected, Decision), f"store accepted, engine refused: {expected}"
            assert (result.event, result.from_stage, result.to_stage) == (
                expected.event,
                expected.from_stage,
                expected.to_stage,
            )
            self.record(expected, given, actor)
        if self.script is not None:
            self.script.append(
                ScriptStep(at=self.now(), event=event, actor=f"{role}:{holder}", inputs=given)
            )

    @precondition(lambda self: self.reference is not None)
    @rule(
        minutes=st.one_of(  # mostly hours or days, sometimes months
            st.integers(1, 3 * 24 * 60),
            st.integers(1, 3 * 24 * 60),
            st.integers(1, 120).map(lambda days: days * 24 * 60),
        ),
        late=st.integers(0, 9).map(lambda n: n == 4),
    )
    def time_passes(self, minutes: int, late: bool) -> None:
        """Time passes; the sweep runs whenever a timer of the case falls due.

        ``late``: the sweep was down meanwhile, and fires everything due at once when it
        is back (the simulator, which fires timers on time, no longer applies then).
        """
        self.snapshot = None
        assert self.model is not None
        target = self.now() + timedelta(minutes=minutes)
        if late:
            if due_timers(self.model, target):
                self.script = None
            elif self.script is not None:
                self.script.append(ScriptStep(at=target, wait="0 minutes"))
            self.sweep(target)
            return
        last = self.now()
        while True:
            with self.runtime.sessions() as session:
                due = session.scalar(
                    select(func.min(CaseTimer.due_at))
                    .join(Case, Case.id == CaseTimer.case_id)
                    .where(Case.reference == self.reference, CaseTimer.state == "running")
                )
            if due is None or due > target:
                break
            assert due >= last, "the sweep left a due timer running"
            last = due + timedelta(microseconds=1)
            self.sweep(max(due, self.now()))
        self.sweep(target)
        if self.script is not None:
            self.script.append(ScriptStep(at=target, wait="0 minutes"))

    # -- the invariant --

    @invariant()
    def store_equals_engine(self) -> None:
        if self.reference is None:
            return
        assert self.model is not None
        held = self.snapshot or stored(self.runtime, self.reference)
        self.snapshot = held
        # The engine's view read back from the store is the engine's own state; the store
        # reads back only running timers' firings, and keeps the count of a timer that ended
        # by firing in its row (so a restart goes on counting), as the engine does.
        assert held["state"] == replace(
            self.model,
            data=_json(dict(self.model.data)),
            timer_firings={
                t: n for t, n in self.model.timer_firings.items() if t in self.model.timers
            },
        )
        counted = {timer: n for timer, state, _, n in held["all_timers"] if state != "cancelled"}
        assert {t: n for t, n in counted.items() if n} == dict(self.model.timer_firings)
        assert held["history"] == self.history
        assert held["row"] == {
            "version": len(self.history),
            "last_seq": len(self.history),
            "closed_at": self.closed_at,
            "caseworker": self.model.data.get("caseworker"),
        }
        assert held["outbox"] == self.outbox
        assert held["tasks"] == self.tasks
        team = self.model.data.get("team") or []
        assert held["team"] == sorted((m["department"], m["person"], m["role"]) for m in team)
        assert held["coordinator"] == self.model.data.get("coordinator")
        assert held["meetings"] == self.meetings
        assert held["plans"] == self.plans
        assert held["changes_audited"] == len(self.history)
        if self.script is not None:
            self.check_simulation()

    def check_simulation(self) -> None:
        """The simulator, given the same script, tells the same story."""
        assert self.script is not None
        assert self.reference is not None
        script = Script(
            definition=self.d.id,
            case=self.reference,
            start=self.start,
            young_person=ScriptYoungPerson(born=self.model.born),
            steps=self.script,
        )
        timeline = simulate(self.d, script)
        assert timeline.case == self.model
        accepted = [e for e in timeline.entries if e.kind != "rejected"]
        assert [(e.at, e.from_stage, e.to_stage, e.effects) for e in accepted] == [
            (h["at"], h["from"], h["to"], effects)
            for h, effects in zip(self.history, self.effects, strict=True)
        ]

    def teardown(self) -> None:
        """Leave the case's timers out of later examples' sweeps."""
        if self.reference is not None:
            with self.runtime.sessions() as session, session.begin():
                case_id = select(Case.id).where(Case.reference == self.reference)
                session.execute(
                    update(CaseTimer)
                    .where(CaseTimer.case_id.in_(case_id.scalar_subquery()))
                    .values(state="cancelled")
                )


def test_store_equals_engine_after_any_event_sequence(
    store_url: str, clock: Clock, tmp_path: Path
) -> None:
    sqlite = store_url.startswith("sqlite")
    runtime = build_runtime(
        Settings(database_url=store_url, home=tmp_path / "var", base_url="https://kui.example"),
        clock=clock,
    )
    try:
        machine = type("Machine", (EngineAndStore,), {"runtime": runtime, "clock": clock})
        examples = (30 if sqlite else 15) * (20 if FUZZING else 1)
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=examples,
                stateful_step_count=40,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        runtime.engine.dispose()


def test_text_no_store_can_hold_is_refused_and_nothing_is_written(
    store_url: str, clock: Clock, tmp_path: Path
) -> None:
    """Found by the machine above: PostgreSQL cannot store NUL in text, so the step failed
    with a DataError (a traceback) after the engine had accepted it."""
    runtime = build_runtime(
        Settings(database_url=store_url, home=tmp_path / "var", base_url="https://kui.example"),
        clock=clock,
    )
    try:
        service, actor = runtime.service, Actor("caseworker", STAFF)
        person = YoungPersonDetails("Fuzz Testesen", "0101104321", date(2010, 1, 1))
        case = service.refer("soroe", person, actor, {"source": "school", "caseworker": STAFF})
        service.trigger(
            case.reference, "accept_referral", {"young_person_agrees": True, "consent": True}, actor
        )
        before = stored(runtime, case.reference)
        inputs = {
            "team": [{"department": "skole", "person": "laerer\x00anna"}],
            "coordinator": "tovholder-lise",
            "agenda": ["uddannelse"],
            "first_meeting_at": "2026-03-17T09:00",
            "meeting_room": "raadhuset_storskaerm",
        }
        with pytest.raises(RejectedError) as refused:
            service.trigger(case.reference, "hold_pre_meeting", inputs, actor)
        errors = refused.value.rejection.field_errors
        assert [(e.name, e.code) for e in errors] == [("team", "bad_character")]
        assert errors[0].text("en") == (
            "row 1: contains an invisible character that cannot be used (perhaps from copied "
            "text: U+0000); type the text again without copying it"
        )
        assert stored(runtime, case.reference) == before
    finally:
        runtime.engine.dispose()


def _tuesday_after(moment: datetime) -> str:
    day = moment.astimezone(ZoneInfo("Europe/Copenhagen")).date() + timedelta(days=1)
    while day.weekday() != 1:
        day += timedelta(days=1)
    return f"{day.isoformat()}T09:00"


def test_timer_firings_after_restarts_are_counted_as_the_engine_counts_them(
    store_url: str, clock: Clock, tmp_path: Path
) -> None:
    """Found by the machine above: the engine and the store counted a timer's firings
    differently once the timer was restarted. Re-entering a stage cancels and restarts
    its timers (the store started the count afresh, the engine went on counting), and a
    timer that ended by firing goes on counting when started again (the store kept the
    count, the engine had dropped it)."""
    runtime = build_runtime(
        Settings(database_url=store_url, home=tmp_path / "var", base_url="https://kui.example"),
        clock=clock,
    )
    try:
        machine = type("Machine", (EngineAndStore,), {"runtime": runtime, "clock": clock})()
        machine.choose_definition(name="soroe", minutes=60)
        machine.refer(age=16, days=0, source="school", role="caseworker")
        machine.trigger(
            "accept_referral", "caseworker", {"young_person_agrees": True, "consent": True}
        )
        machine.store_equals_engine()
        machine.time_passes(minutes=15 * 24 * 60, late=False)  # pre_meeting_due fires, and ends
        machine.store_equals_engine()
        assert machine.model is not None
        assert machine.model.timer_firings == {"pre_meeting_due": 1}
        pre_meeting = {
            "team": [{"department": "skole", "person": "laerer-anna"}],
            "coordinator": "tovholder-lise",
            "agenda": ["uddannelse"],
            "meeting_room": "raadhuset_storskaerm",
        }
        machine.trigger(
            "hold_pre_meeting",
            "caseworker",
            pre_meeting | {"first_meeting_at": _tuesday_after(clock.now)},
        )
        machine.store_equals_engine()
        # The first meeting (within a week) not held: missed two working days after it.
        machine.time_passes(minutes=12 * 24 * 60, late=False)
        machine.store_equals_engine()
        assert machine.model.stage == "pre_meeting"
        machine.store_equals_engine()  # pre_meeting_due runs again, counting on from 1
        assert machine.model.timer_firings == {"pre_meeting_due": 1, "first_meeting_missed": 1}
        first_meeting = _tuesday_after(clock.now)
        machine.trigger(
            "hold_pre_meeting", "caseworker", pre_meeting | {"first_meeting_at": first_meeting}
        )
        machine.store_equals_engine()
        # The meeting is held once it has begun (never before).
        begun = datetime.fromisoformat(first_meeting).replace(tzinfo=ZoneInfo("Europe/Copenhagen"))
        machine.time_passes(minutes=int((begun - clock.now).total_seconds() // 60) + 60, late=False)
        machine.store_equals_engine()
        # No department: no consent is recorded here (a goal may name only one it covers).
        plan = [{"text": "Jeg skal møde op i skole", "theme": "uddannelse"}]
        machine.trigger(
            "hold_first_meeting",
            "coordinator",
            {"plan": plan, "next_meeting_at": _tuesday_after(clock.now)},
        )
        machine.store_equals_engine()
        machine.time_passes(minutes=8 * 7 * 24 * 60, late=False)  # follow_up_due fires
        machine.store_equals_engine()
        assert machine.model.timer_firings["follow_up_due"] == 1
        machine.trigger(
            "hold_follow_up",
            "coordinator",
            {
                "reviews": [{"goal": 1, "status": "met"}],
                "plan": plan,
                "next_meeting_at": _tuesday_after(clock.now),
            },
        )
        machine.store_equals_engine()
        assert machine.model.stage == "follow_up"
        assert "follow_up_due" not in machine.model.timer_firings  # restarted afresh
        assert machine.script is not None  # the simulator was compared all along
    finally:
        runtime.engine.dispose()
