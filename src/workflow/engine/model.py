"""The engine's data: a case's state, an event, and what deciding produces.

All plain, immutable data. Case data holds JSON-compatible values only, so a store
can persist it as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from workflow.definitions.calendar import WEEKDAYS
from workflow.engine.vocabulary import RecipientKind
from workflow.texts import TEXTS, field_text, text

_Data = TypeVar("_Data")
#: The field names of each of the engine's dataclasses (for :func:`changed`).
_FIELD_NAMES: dict[type, frozenset[str]] = {}


def changed(value: _Data, **changes: Any) -> _Data:
    """A copy of a frozen dataclass with some fields changed: ``dataclasses.replace`` for
    the engine's own data, which has no ``__post_init__``, no ``init=False`` fields and no
    slots. ``dataclasses.replace`` looks at the fields and calls ``__init__`` each time:
    eight times in a step, a fifth of the decision's time."""
    kind = type(value)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = frozenset(value.__dataclass_fields__)  # type: ignore[attr-defined]
    if not names.issuperset(changes):
        raise TypeError(f"{kind.__name__} has no field {sorted(set(changes) - names)}")
    new = object.__new__(kind)
    new.__dict__.update(value.__dict__)
    new.__dict__.update(changes)
    return new


@dataclass(frozen=True)
class Actor:
    """Who triggers an event: their role on the case, and an identifier (staff id, 'timer:x')."""

    role: str
    id: str | None = None


@dataclass(frozen=True)
class CaseState:
    """Everything the engine needs to know about a case."""

    reference: str
    stage: str
    opened_at: datetime
    previous_stage: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    milestones: frozenset[str] = frozenset()
    timers: Mapping[str, datetime] = field(default_factory=dict)
    #: How often each timer has fired since it was last cancelled (for ``repeat.max_count``);
    #: a timer that ended by firing keeps its count, and goes on counting if started again.
    timer_firings: Mapping[str, int] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)
    #: Who took each step (transition id, or 'refer'): the actor ids, for ``not_by``.
    #: The store fills it only for definitions that use ``not_by``.
    step_actors: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: The young person's birth date: the engine derives ``person.age``, ``person.minor``
    #: and the birthdays from it; it never reaches expressions, templates or effects.
    born: date | None = None
    #: The consent as it stands (given, departments, categories, guardian, the departments
    #: taken back: withdrawn); None when the
    #: caller did not load it (the definition's expressions do not read ``consent``).
    consent: Mapping[str, Any] | None = None
    #: The timing the engine keeps between steps (see :class:`Timing`).
    timing: Timing = field(default_factory=lambda: Timing())

    def holder(self, role: str) -> str | None:
        """The staff id holding a role on the case, if the case names one.

        The engine's convention: a role's holder is the case data under the role's id
        (``caseworker``, ``coordinator``), given by an input of that name.
        """
        value = self.data.get(role)
        return str(value) if value else None

    def meetings(self) -> list[MeetingRecord]:
        """The case's meetings (booked, moved, cancelled, held), oldest first."""
        found = self.data.get("meetings")
        if not isinstance(found, list):
            return []
        return [MeetingRecord.from_data(m) for m in found if isinstance(m, Mapping)]

    def team_members(self) -> list[dict[str, Any]]:
        """The young person's team as the case holds it (the ``team`` input's items)."""
        team = self.data.get("team")
        return [m for m in team if isinstance(m, dict)] if isinstance(team, list) else []


@dataclass(frozen=True)
class Suspended:
    """A timer set aside while the case is paused: how long it had left, and since when."""

    remaining_seconds: float
    since: datetime


@dataclass(frozen=True)
class Timing:
    """What the engine remembers about time between steps, besides the running timers.

    ``anchors``: a repeating timer's first due time before alignment (its n-th firing is
    the anchor plus n intervals, so it never drifts); ``suspended``: timers set aside by a
    pause; ``reached``: when each milestone was last reached (for ``expires_after``);
    ``ended``: anchored or case-wide timers that fired or were cancelled.
    Kept by the store as JSON (:meth:`as_data`, :meth:`from_data`).
    """

    anchors: Mapping[str, datetime] = field(default_factory=dict)
    suspended: Mapping[str, Suspended] = field(default_factory=dict)
    reached: Mapping[str, datetime] = field(default_factory=dict)
    #: Anchored and case-wide timers that have run their course (fired or cancelled):
    #: their anchor does not start them again (a stage's own start again with the stage).
    ended: frozenset[str] = frozenset()
    #: When the pause the case is in began (None: not paused): a meeting whose time falls
    #: in it is not held, and is cancelled when the pause ends.
    paused_at: datetime | None = None

    def as_data(self) -> dict[str, Any]:
        """As JSON values."""
        return {
            "anchors": {k: v.isoformat() for k, v in self.anchors.items()},
            "suspended": {
                k: {"remaining": v.remaining_seconds, "since": v.since.isoformat()}
                for k, v in self.suspended.items()
            },
            "reached": {k: v.isoformat() for k, v in self.reached.items()},
            "ended": sorted(self.ended),
            **({"paused_at": self.paused_at.isoformat()} if self.paused_at else {}),
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> Timing:
        """From JSON values (none: nothing remembered)."""
        if not data:
            return cls()
        return cls(
            anchors={k: datetime.fromisoformat(v) for k, v in (data.get("anchors") or {}).items()},
            suspended={
                k: Suspended(float(v["remaining"]), datetime.fromisoformat(v["since"]))
                for k, v in (data.get("suspended") or {}).items()
            },
            reached={k: datetime.fromisoformat(v) for k, v in (data.get("reached") or {}).items()},
            ended=frozenset(data.get("ended") or ()),
            paused_at=datetime.fromisoformat(data["paused_at"]) if data.get("paused_at") else None,
        )


@dataclass(frozen=True)
class Event:
    """Something that happened to a case: a caseworker's step, or a timer."""

    name: str
    actor: Actor
    inputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recipient:
    """Who an effect is for: a department, a role on the case, or one team member."""

    kind: RecipientKind
    id: str  # department id or role id
    person: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}" + (f"/{self.person}" if self.person else "")


@dataclass(frozen=True)
class MeetingRecord:
    """A meeting of the case as a step leaves it (``key`` numbers a case's meetings 1, 2...).

    ``sequence`` rises with every move and the cancellation, so calendar clients apply
    the invitations in order; ``state``: booked, moved, cancelled or held.
    """

    key: int
    kind: str
    starts_at: datetime
    ends_at: datetime
    place: str | None
    state: str
    sequence: int
    participants: tuple[Mapping[str, Any], ...] = ()
    attendance: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def as_data(self) -> dict[str, Any]:
        """The meeting as case data holds it (JSON values)."""
        return {
            "key": self.key,
            "kind": self.kind,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "place": self.place,
            "state": self.state,
            "sequence": self.sequence,
            "participants": [dict(p) for p in self.participants],
            "attendance": {k: list(v) for k, v in self.attendance.items()},
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> MeetingRecord:
        """A meeting from case data."""
        return cls(
            key=int(data["key"]),
            kind=str(data["kind"]),
            starts_at=datetime.fromisoformat(str(data["starts_at"])),
            ends_at=datetime.fromisoformat(str(data["ends_at"])),
            place=data.get("place"),
            state=str(data["state"]),
            sequence=int(data.get("sequence") or 0),
            participants=tuple(data.get("participants") or ()),
            attendance={k: tuple(v) for k, v in (data.get("attendance") or {}).items()},
        )


@dataclass(frozen=True)
class Notify:
    """Tell a recipient something with a template (and the meeting the step changed)."""

    recipient: Recipient
    template: str
    shared: Mapping[str, Any] = field(default_factory=dict)
    timer: str | None = None
    meeting: MeetingRecord | None = None


@dataclass(frozen=True)
class MeetingChanged:
    """A meeting of the case was booked, moved, cancelled or held."""

    action: str  # book | move | cancel | hold
    meeting: MeetingRecord


@dataclass(frozen=True)
class StartTimer:
    """A timer starts (or restarts) and falls due at ``due_at``; a repeating timer's
    ``anchor`` is its first due time before alignment (its later due times count from it)."""

    timer: str
    due_at: datetime
    #: Not part of its identity: two starts are the same when the timer and due time are.
    anchor: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CancelTimer:
    """A running timer is cancelled."""

    timer: str


@dataclass(frozen=True)
class TaskReminderDue:
    """A reminder of a task: when, with which template, to whom (none: the assignee)."""

    at: datetime
    template: str
    to: tuple[Recipient, ...] = ()


@dataclass(frozen=True)
class CreateTask:
    """A person (or a department on the team) gets a task."""

    assignee: Recipient
    title: str
    due_at: datetime | None
    #: The effect's id (tasks given together are counted together for ``when_done``).
    key: str | None = None
    details: str | None = None
    #: 'stage' (lives until the stage ``stage`` is left), 'case', or a stage id.
    until: str = "stage"
    stage: str = ""
    reminders: tuple[TaskReminderDue, ...] = ()
    #: all | any | a number; and the event raised when it is met.
    need: str | int | None = None
    raises: str | None = None
    #: ``at_latest: meeting``: the key of the meeting it is due by at the latest.
    meeting: int | None = None


@dataclass(frozen=True)
class CancelTasks:
    """Open tasks end with their stage or their case: those of the stage left (``until:
    stage``), those waiting for the stage entered (``until: <stage>``), or all of them;
    or a step names them (``cancel_tasks:``, the ``create_task`` ids in ``keys``)."""

    left: str | None = None
    entered: str | None = None
    everything: bool = False
    keys: tuple[str, ...] = ()
    #: With ``keys``: only those due by these meetings (their keys on the case).
    meetings: tuple[int, ...] = ()


@dataclass(frozen=True)
class HoldTasks:
    """A pause holds the open tasks of the stage it left (``until: stage``) instead of
    ending them: no reminder is sent and none is overdue while it lasts."""

    stage: str


@dataclass(frozen=True)
class ReleaseTasks:
    """Leaving a pause for ``stage``: the tasks it held of that stage go on with the time
    they had left (due and reminders later by the pause's length); the others end, their
    stage left for good."""

    stage: str


@dataclass(frozen=True)
class RecordMilestone:
    """A milestone is reached."""

    milestone: str


@dataclass(frozen=True)
class RevokeMilestone:
    """A milestone no longer holds: revoked by a step, or lapsed (``expired``)."""

    milestone: str
    expired: bool = False


@dataclass(frozen=True)
class TimerFired:
    """A timer fell due; what it raised, and whether that was accepted."""

    timer: str
    due_at: datetime
    event: str | None = None
    rejected: str | None = None


Effect = (
    Notify
    | StartTimer
    | CancelTimer
    | CreateTask
    | CancelTasks
    | HoldTasks
    | ReleaseTasks
    | MeetingChanged
    | RecordMilestone
    | RevokeMilestone
    | TimerFired
)


@dataclass(frozen=True)
class Decision:
    """An accepted event: the case's new state and the effects adapters must carry out."""

    case: CaseState
    event: str
    transition: str
    from_stage: str | None
    to_stage: str
    effects: tuple[Effect, ...]
    #: Events the system raises on the case right after this step (e.g. a no-show).
    raises: tuple[str, ...] = ()


class RejectionReason(StrEnum):
    """Why the engine refused an event."""

    CASE_CLOSED = "case_closed"
    UNKNOWN_EVENT = "unknown_event"
    WRONG_STAGE = "wrong_stage"
    ROLE_NOT_ALLOWED = "role_not_allowed"
    INVALID_INPUT = "invalid_input"
    GUARD_FALSE = "guard_false"
    GUARD_ERROR = "guard_error"
    TIMER_NOT_RUNNING = "timer_not_running"
    TIMER_NOT_DUE = "timer_not_due"
    SEPARATION_OF_DUTIES = "separation_of_duties"
    NO_MEETING = "no_meeting"
    MEETING_NOT_YET = "meeting_not_yet"
    TOO_MANY_RECIPIENTS = "too_many_recipients"


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one input field (``name`` is the input's name)."""

    name: str
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    #: The definition's own words (a guard rule's message), by language.
    custom_message: Mapping[str, str] | None = None

    def text(self, locale: str = "da") -> str:
        """The error in the user's language."""
        if self.custom_message:
            return self.custom_message.get(locale) or self.custom_message["da"]
        return field_text(self.code, locale, **in_words(self.params, locale))


def in_words(params: Mapping[str, Any], locale: str) -> Mapping[str, Any]:
    """A refusal's parameters that are names in the engine's vocabulary, in the reader's
    words: a list item's part (``department``: "afdelingen") and the meeting weekdays
    (``tuesday, thursday``: "tirsdag, torsdag"). The pages word more (times, kinds)."""
    part = params.get("field")
    days = params.get("days")
    found = dict(params)
    for name, value in params.items():  # a name given in each language: the reader's
        if isinstance(value, Mapping) and "da" in value:
            found[name] = value.get(locale) or value["da"]
    if not (isinstance(part, str) and f"item_field_{part}" in TEXTS) and not isinstance(days, str):
        return found
    if isinstance(part, str) and f"item_field_{part}" in TEXTS:
        found["field"] = text(f"item_field_{part}", locale)
    if isinstance(days, str):
        found["days"] = ", ".join(
            text(f"weekday_{WEEKDAYS.index(d)}", locale) if d in WEEKDAYS else d
            for d in days.split(", ")
        )
    return found


@dataclass(frozen=True)
class Rejection:
    """A refused event: nothing changes. Says why, in words and per field."""

    reason: RejectionReason
    params: Mapping[str, Any] = field(default_factory=dict)
    field_errors: tuple[FieldError, ...] = ()
    custom_message: Mapping[str, str] | None = None

    def text(self, locale: str = "da") -> str:
        """The reason in the user's language."""
        if self.custom_message:
            return self.custom_message.get(locale) or self.custom_message["da"]
        return text(self.reason.value, locale, **in_words(self.params, locale))

    def __str__(self) -> str:
        details = "; ".join(f"{e.name}: {e.text('en')}" for e in self.field_errors)
        return f"{self.reason.value}: {self.text('en')}" + (f" [{details}]" if details else "")
