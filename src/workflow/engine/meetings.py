"""The meetings of a case as a step changes them: book, move, cancel, hold — under the rules.

Pure. A step books a meeting with each ``type: meeting`` input it is given (unless the
step moves a meeting: then that input is the new time). A transition's ``meeting:``
moves, cancels or holds one booked meeting: the one its ``booked_meeting`` input names,
else the earliest still booked (of its ``kind``). The definition's meeting rules are
checked at every booking and move; own-themes-only at every plan written. What breaks a
rule is a field error beside the input, and nothing changes.

The case keeps its meetings in its data under ``meetings`` (a list, oldest first), so
the engine, the simulator and the store see the same; the store also keeps each meeting
as a row with its attendance (``workflow.store.repository``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from workflow.definitions.calendar import WEEKDAYS
from workflow.definitions.effects import CreateTaskEffect
from workflow.definitions.models import Definition
from workflow.definitions.parts import Input, MeetingStep, StepSpec
from workflow.definitions.vocabulary import InputType
from workflow.engine import timing
from workflow.engine.access import young_person_actor
from workflow.engine.context import is_minor
from workflow.engine.model import (
    CaseState,
    FieldError,
    MeetingChanged,
    MeetingRecord,
    Rejection,
    RejectionReason,
    changed,
)

#: The case data key the meetings are kept under (no input may have this name).
MEETINGS_KEY = "meetings"
OPEN_STATES = ("booked", "moved")
NO_SHOW_EVENT = "young_person_no_show"


@dataclass(frozen=True)
class MeetingOutcome:
    """What a step did to the case's meetings."""

    data: Mapping[str, Any]
    changes: tuple[MeetingChanged, ...] = ()
    raises: tuple[str, ...] = ()

    @property
    def changed(self) -> MeetingRecord | None:
        """The one meeting the step booked, moved, cancelled or held (the last, if several)."""
        return self.changes[-1].meeting if self.changes else None


def meeting_kind(item: Input) -> str:
    """The kind of meeting an input books: its ``kind``, else its name without ``_at``."""
    return item.kind or item.name.removesuffix("_at")


def apply_meetings(
    definition: Definition,
    case: CaseState,
    spec: StepSpec,
    values: Mapping[str, Any],
    data: Mapping[str, Any],
    now: datetime,
) -> MeetingOutcome | Rejection:
    """Book, move, cancel or hold meetings as the step says; the rules checked."""
    step = _Step(definition, case, spec, values, data, now)
    errors = _own_themes(step)
    meetings = case.meetings()
    changes: list[MeetingChanged] = []
    raises: tuple[str, ...] = ()
    times = [i for i in spec.inputs if i.type is InputType.MEETING and values.get(i.name)]
    action = getattr(spec, "meeting", None)
    if action is not None:
        moving_to = times.pop(0) if action.action == "move" and times else None
        acted = _act(step, action, meetings, moving_to)
        if isinstance(acted, Rejection):
            return acted
        change, problems, raises = acted
        errors.extend(problems)
        if change is not None:
            changes.append(change)
            meetings = [change.meeting if m.key == change.meeting.key else m for m in meetings]
    held = next((c.meeting for c in changes if c.action == "hold"), None)
    for item in times:
        booked, superseded, problems = _book(step, item, meetings)
        errors.extend(problems)
        if held is not None and booked.starts_at <= held.starts_at:
            # The next meeting, booked at the meeting held: after it, not before.
            when = _local(definition, held.starts_at)
            errors.insert(0, FieldError(item.name, "meeting_before_held", {"held": when}))
        changes.extend(MeetingChanged("cancel", m) for m in superseded)
        rebooked = any(m.key == booked.key for m in meetings)
        changes.append(MeetingChanged("move" if rebooked else "book", booked))
        done = {m.key for m in superseded} | {booked.key}
        meetings = [m for m in meetings if m.key not in done] + [*superseded, booked]
    if errors:
        return Rejection(
            RejectionReason.INVALID_INPUT,
            {"fields": ", ".join(dict.fromkeys(e.name for e in errors))},
            tuple(errors),
        )
    if not changes:
        return MeetingOutcome(data)
    stored = [m.as_data() for m in sorted(meetings, key=lambda m: m.key)]
    return MeetingOutcome({**data, MEETINGS_KEY: stored}, tuple(changes), raises)


@dataclass(frozen=True)
class _Step:
    """The step whose meetings are being decided."""

    definition: Definition
    case: CaseState
    spec: StepSpec
    values: Mapping[str, Any]
    data: Mapping[str, Any]
    now: datetime

    def start(self, item: Input) -> datetime:
        return datetime.fromisoformat(str(self.values[item.name]))

    def minor(self) -> bool:
        """Whether the young person is a minor today (a guardian is invited only then)."""
        today = self.now.astimezone(ZoneInfo(self.definition.calendar.timezone)).date()
        return is_minor(self.case.born, today, self.data)

    def rule_errors(self, item: Input) -> list[FieldError]:
        return [FieldError(item.name, c, p) for c, p in _rules(self.definition, self.start(item))]


_Acted = tuple[MeetingChanged | None, list[FieldError], tuple[str, ...]]


def _act(
    step: _Step, action: MeetingStep, meetings: Sequence[MeetingRecord], moving_to: Input | None
) -> _Acted | Rejection:
    """Move, cancel or hold the meeting the step acts on."""
    found = _target(step.spec, step.values, meetings, action.kind)
    if isinstance(found, Rejection):
        if action.action == "hold" and not found.field_errors and not meetings:
            # Held with none booked: a case from before meetings were kept. A case that
            # keeps its meetings holds only one booked (its only one cancelled, a hold
            # would write the plan on the meeting before it).
            return None, [], ()
        return found
    target, field = found
    if target.state not in OPEN_STATES:
        return None, [FieldError(field, "meeting_not_open", {"state": target.state})], ()
    if action.action == "cancel":
        cancelled = changed(target, state="cancelled", sequence=target.sequence + 1)
        return MeetingChanged("cancel", cancelled), [], ()
    if action.action == "move":
        if moving_to is None:
            return Rejection(RejectionReason.NO_MEETING, {"kind": target.kind})
        start = step.start(moving_to)
        moved = changed(
            target,
            starts_at=start,
            ends_at=start + (target.ends_at - target.starts_at),
            place=_place(step) or target.place,
            state="moved",
            sequence=target.sequence + 1,
        )
        errors = step.rule_errors(moving_to)
        if start == target.starts_at and moved.place == target.place:
            # Nothing moves: everyone would be told again of the time they have.
            when = _local(step.definition, start)
            errors.insert(0, FieldError(moving_to.name, "meeting_not_moved", {"starts": when}))
        elif start <= step.now:  # a booking may be registered late; a move goes ahead
            errors.insert(
                0,
                FieldError(
                    moving_to.name,
                    "meeting_moved_to_past",
                    {"now": _local(step.definition, step.now)},
                ),
            )
        return MeetingChanged("move", moved), errors, ()
    return _hold(step, target)


def _hold(step: _Step, target: MeetingRecord) -> _Acted | Rejection:
    """Record the meeting held, with who did not come; not before the rules allow."""
    definition = step.definition
    early = definition.meeting_rules.held_early
    opens = target.starts_at
    if early is not None:
        opens = timing.add_duration(definition, opens, changed(early, amount=-early.amount))
    if step.now < opens:
        return Rejection(
            RejectionReason.MEETING_NOT_YET,
            {"starts": _local(definition, target.starts_at), "from": _local(definition, opens)},
        )
    item = next((i for i in step.spec.inputs if i.type is InputType.ATTENDANCE), None)
    given = step.values.get(item.name) if item else None
    attendance = {k: tuple(v) for k, v in given.items() if v} if isinstance(given, Mapping) else {}
    known = {str(p.get("id")) for p in target.participants}
    errors = [
        FieldError(item.name if item else "attendance", "not_a_participant", {"value": who})
        for group in attendance.values()
        for who in group
        if who not in known
    ]
    held = changed(target, state="held", attendance=attendance)
    no_show = young_person_actor(step.case.reference) in attendance.get("no_show", ())
    raises = (NO_SHOW_EVENT,) if no_show and NO_SHOW_EVENT in definition.raised_events else ()
    return MeetingChanged("hold", held), errors, raises


def _book(
    step: _Step, item: Input, meetings: Sequence[MeetingRecord]
) -> tuple[MeetingRecord, list[MeetingRecord], list[FieldError]]:
    """A new meeting at the input's time, or the one still booked of its kind at the new
    time: the same meeting (its calendar entry, one UID, is updated, not left beside a new
    one), as a move keeps it. Any other still booked of the kind is cancelled."""
    start = step.start(item)
    kind = meeting_kind(item)
    still = [m for m in meetings if m.kind == kind and m.state in OPEN_STATES]
    superseded = [changed(m, state="cancelled", sequence=m.sequence + 1) for m in still[1:]]
    if still:
        kept = still[0]
        rebooked = changed(
            kept,
            starts_at=start,
            ends_at=start + timedelta(minutes=_minutes(step.definition, kind)),
            place=_place(step) or kept.place,
            state="moved",
            sequence=kept.sequence + 1,
        )
        return rebooked, superseded, step.rule_errors(item)
    booked = MeetingRecord(
        key=max((m.key for m in meetings), default=0) + 1,
        kind=kind,
        starts_at=start,
        ends_at=start + timedelta(minutes=_minutes(step.definition, kind)),
        place=_place(step),
        state="booked",
        sequence=0,
        participants=participants(step.case.reference, step.data, step.minor()),
    )
    return booked, superseded, step.rule_errors(item)


def cancel_open_meetings(data: Mapping[str, Any]) -> MeetingOutcome:
    """Every meeting still booked is cancelled (the case has ended)."""
    found = data.get(MEETINGS_KEY)
    meetings = [MeetingRecord.from_data(m) for m in found] if isinstance(found, list) else []
    changes = tuple(
        MeetingChanged("cancel", changed(m, state="cancelled", sequence=m.sequence + 1))
        for m in meetings
        if m.state in OPEN_STATES
    )
    if not changes:
        return MeetingOutcome(data)
    by_key = {m.key: m for m in meetings} | {c.meeting.key: c.meeting for c in changes}
    stored = [by_key[k].as_data() for k in sorted(by_key)]
    return MeetingOutcome({**data, MEETINGS_KEY: stored}, changes)


def cancel_meetings_in(data: Mapping[str, Any], since: datetime, until: datetime) -> MeetingOutcome:
    """The meetings still booked whose time fell between ``since`` and ``until`` (a pause:
    not held) are cancelled."""
    found = data.get(MEETINGS_KEY)
    meetings = [MeetingRecord.from_data(m) for m in found] if isinstance(found, list) else []
    changes = tuple(
        MeetingChanged("cancel", changed(m, state="cancelled", sequence=m.sequence + 1))
        for m in meetings
        if m.state in OPEN_STATES and since <= m.starts_at < until
    )
    if not changes:
        return MeetingOutcome(data)
    by_key = {m.key: m for m in meetings} | {c.meeting.key: c.meeting for c in changes}
    stored = [by_key[k].as_data() for k in sorted(by_key)]
    return MeetingOutcome({**data, MEETINGS_KEY: stored}, changes)


def meeting_task_keys(definition: Definition) -> tuple[str, ...]:
    """The ``create_task`` ids due at the latest when the meeting begins (asked for a
    meeting: they end with it)."""
    return tuple(
        sorted(
            {
                effect.create_task.id
                for transition in definition.transitions
                for effect in transition.effects
                if isinstance(effect, CreateTaskEffect)
                and effect.create_task.at_latest == "meeting"
                and effect.create_task.id
            }
        )
    )


def participants(
    reference: str, data: Mapping[str, Any], minor: bool
) -> tuple[Mapping[str, Any], ...]:
    """Who is invited: the young person, a guardian of a minor, the coordinator, the team."""
    found: list[Mapping[str, Any]] = [{"id": young_person_actor(reference), "role": "young_person"}]
    if minor:
        found.append({"id": "guardian", "role": "guardian"})
    coordinator = data.get("coordinator")
    if isinstance(coordinator, str) and coordinator:
        found.append({"id": coordinator, "role": "coordinator"})
    team = data.get("team")
    for member in team if isinstance(team, list) else []:
        if isinstance(member, Mapping) and member.get("person"):
            if any(p["id"] == member["person"] for p in found):
                continue
            found.append(
                {
                    "id": member["person"],
                    "role": "team_member",
                    "department": member.get("department"),
                }
            )
    return tuple(found)


def meeting_rule_errors(
    definition: Definition, spec: StepSpec, values: Mapping[str, Any]
) -> list[FieldError]:
    """The meeting rules the step's meeting times break (checked again when the meetings
    are booked): told beside the step's other wrong fields, not after them."""
    return [
        FieldError(item.name, code, params)
        for item in spec.inputs
        if item.type is InputType.MEETING and values.get(item.name)
        for code, params in _rules(definition, datetime.fromisoformat(str(values[item.name])))
    ]


def _rules(definition: Definition, start: datetime) -> list[tuple[str, dict[str, Any]]]:
    """What a meeting at ``start`` breaks of the definition's meeting rules."""
    rules = definition.meeting_rules
    local = start.astimezone(ZoneInfo(definition.calendar.timezone))
    problems: list[tuple[str, dict[str, Any]]] = []
    if rules.weekdays and WEEKDAYS[local.weekday()] not in rules.weekdays:
        problems.append(("meeting_weekday", {"days": ", ".join(rules.weekdays)}))
    elif rules.business_days_only and not definition.working_calendar.is_business_day(local.date()):
        problems.append(("meeting_closed_day", {"day": local.date().isoformat()}))
    clock = local.time().replace(tzinfo=None)
    if rules.earliest and clock < rules.earliest:
        problems.append(("meeting_too_early", {"time": f"{rules.earliest:%H:%M}"}))
    if rules.latest and clock > rules.latest:
        problems.append(("meeting_too_late", {"time": f"{rules.latest:%H:%M}"}))
    return problems


def own_themes(definition: Definition, data: Mapping[str, Any]) -> frozenset[str] | None:
    """The themes a plan's goals may have under own-themes-only: the young person's own
    (every themes input of the case data); None when the definition has no such rule."""
    if not definition.meeting_rules.own_themes_only:
        return None
    return frozenset(
        theme
        for name in definition.input_names_by_type.get(InputType.THEMES, [])
        for theme in (data.get(name) or [])
    )


def _own_themes(step: _Step) -> list[FieldError]:
    """Own-themes-only: every goal of a plan has one of the young person's own themes."""
    spec, values = step.spec, step.values
    own = own_themes(step.definition, step.data)
    if own is None:
        return []
    errors = []
    for item in spec.inputs:
        if item.type is not InputType.GOALS:
            continue
        for goal in values.get(item.name) or []:
            if goal.get("theme") not in own:
                errors.append(
                    FieldError(
                        item.name,
                        "theme_not_own",
                        {"item": goal.get("id"), "themes": ", ".join(sorted(own)) or "-"},
                    )
                )
    return errors


def _target(
    spec: StepSpec, values: Mapping[str, Any], meetings: Sequence[MeetingRecord], kind: str | None
) -> tuple[MeetingRecord, str] | Rejection:
    """The meeting a move, cancel or hold acts on, and the field that names it."""
    chooser = next((i for i in spec.inputs if i.type is InputType.BOOKED_MEETING), None)
    if chooser is not None and values.get(chooser.name) is not None:
        key = int(values[chooser.name])
        found = next((m for m in meetings if m.key == key), None)
        if found is None:
            return Rejection(
                RejectionReason.INVALID_INPUT,
                {"fields": chooser.name},
                (FieldError(chooser.name, "no_such_meeting", {"value": key}),),
            )
        return found, chooser.name
    open_ones = [m for m in meetings if m.state in OPEN_STATES and (kind is None or m.kind == kind)]
    if not open_ones:
        return Rejection(RejectionReason.NO_MEETING, {"kind": kind or "-"})
    return min(open_ones, key=lambda m: m.starts_at), chooser.name if chooser else "meeting"


def _place(step: _Step) -> str | None:
    """Where the step's meeting is held: a place given now, else the case's."""
    definition, spec, values, data = step.definition, step.spec, step.values, step.data
    names = definition.input_names_by_type.get(InputType.MEETING_PLACE, [])
    for item in spec.inputs:
        if item.type is InputType.MEETING_PLACE and values.get(item.name):
            return str(values[item.name])
    return next((str(data[n]) for n in names if data.get(n)), None)


def _minutes(definition: Definition, kind: str) -> int:
    found = definition.meeting_kinds_by_id.get(kind)
    return found.minutes if found else 60


def _local(definition: Definition, moment: datetime) -> str:
    """A time in a refusal, in the municipality's zone ('YYYY-MM-DD HH:MM': the pages
    write it as people do, :func:`workflow.web.page_support.localised`)."""
    return moment.astimezone(ZoneInfo(definition.calendar.timezone)).strftime("%Y-%m-%d %H:%M")


__all__ = [
    "MEETINGS_KEY",
    "MeetingOutcome",
    "apply_meetings",
    "cancel_open_meetings",
    "meeting_kind",
    "own_themes",
    "participants",
]
