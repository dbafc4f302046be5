"""What expressions see: the case, the step's inputs, the person and the time, as values.

One place builds it for every expression the engine evaluates — guards and rules,
computed values, effect conditions and timer anchors — so they all see the same names
(see :mod:`workflow.definitions.expressions`). Dates and times arrive as values (a
``date`` input as a :class:`~datetime.date`, ``now`` as a zone-aware time) with the date
functions bound to the definition's calendar. The young person's birth date is turned
into facts here (``person.age``, ``person.turns_18_on``...) and goes no further.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from workflow.definitions.calendar import age_on
from workflow.definitions.dates import as_moment, is_iso
from workflow.definitions.expressions import LazyContext
from workflow.definitions.models import Definition
from workflow.engine.model import Actor, CaseState

#: The age a person is a minor below.
MAJORITY = 18


class Counts(dict[str, int]):
    """Event counts where an event that never happened counts 0."""

    def __missing__(self, key: str) -> int:
        return 0


class Data(dict[str, Any]):
    """Case data where a known field that was never given reads as none."""

    def __missing__(self, key: str) -> None:
        return None


def birthday(born: date, age: int) -> date:
    """The day a person born on ``born`` turns ``age`` (29 February: 1 March, as in Danish
    practice for a leap-day birthday in a common year)."""
    try:
        return born.replace(year=born.year + age)
    except ValueError:  # 29 February in a common year
        return date(born.year + age, 3, 1)


def person_facts(born: date | None, today: date, data: Mapping[str, Any]) -> dict[str, Any]:
    """The young person's facts on ``today``. Without a birth date (a case stored before
    the engine had it, or one whose person was erased) the age and minority recorded at
    referral stand, and the birthdays are none."""
    if born is None:
        recorded = data.get("age")
        return {
            "age": recorded if isinstance(recorded, int) else None,
            "minor": bool(data["minor"]) if data.get("minor") is not None else None,
            "turns_16_on": None,
            "turns_18_on": None,
            "turns_25_on": None,
            "turns_on": lambda age: None,
            "age_on": lambda day: None,
        }

    def turns_on(age: object) -> date:
        if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 120:
            raise TypeError(f"turns_on needs an age in whole years, got {age!r:.20}")
        return birthday(born, age)

    def age_at(day: object) -> int | None:
        moment = as_moment(day)
        if moment is None:
            return None
        return age_on(born, moment.date() if isinstance(moment, datetime) else moment)

    age = age_on(born, today)
    return {
        "age": age,
        "minor": age < MAJORITY,
        "turns_16_on": birthday(born, 16),
        "turns_18_on": birthday(born, MAJORITY),
        "turns_25_on": birthday(born, 25),
        "turns_on": turns_on,
        "age_on": age_at,
    }


def is_minor(born: date | None, today: date, data: Mapping[str, Any]) -> bool:
    """Whether the young person is a minor on ``today`` (a case without a known birth date
    keeps what its referral recorded)."""
    if born is not None:
        return age_on(born, today) < MAJORITY
    return bool(data.get("minor"))


def consent_facts(consent: Mapping[str, Any] | None) -> dict[str, Any]:
    """The consent as expressions see it (none recorded: not given)."""
    consent = consent or {}
    return {
        "given": bool(consent.get("given")),
        "departments": sorted(consent.get("departments") or []),
        "categories": sorted(consent.get("categories") or []),
        "guardian": bool(consent.get("guardian")),
        "withdrawn": sorted(consent.get("withdrawn") or []),
    }


def _moments(values: Mapping[str, Any], names: frozenset[str], zone: ZoneInfo) -> dict[str, Any]:
    """The values with ISO text of the named fields read as dates and times."""
    return {k: as_moment(v, zone) if k in names and is_iso(v) else v for k, v in values.items()}


def _meetings(data: Mapping[str, Any], zone: ZoneInfo) -> list[dict[str, Any]]:
    """The case's meetings as expressions see them, oldest first (times as values)."""
    found = data.get("meetings")
    meetings = []
    for meeting in found if isinstance(found, list) else []:
        if isinstance(meeting, Mapping) and is_iso(meeting.get("starts_at")):
            meetings.append(
                {
                    "kind": meeting.get("kind"),
                    "state": meeting.get("state"),
                    "starts_at": as_moment(meeting["starts_at"], zone),
                    "place": meeting.get("place"),
                }
            )
    return sorted(meetings, key=lambda m: m["starts_at"])


def case_view(definition: Definition, case: CaseState, data: Mapping[str, Any]) -> dict[str, Any]:
    """``case`` as expressions see it, with ``data`` as the case data (the team and the
    meetings from it)."""
    zone = ZoneInfo(definition.calendar.timezone)
    team = data.get("team")
    # Read into values only for a definition whose expressions look at them (a step
    # builds this view several times; most definitions never ask).
    meetings = _meetings(data, zone) if definition.reads_meetings else []
    still = [m["starts_at"] for m in meetings if m["state"] in ("booked", "moved")]
    return {
        "reference": case.reference,
        "stage": case.stage,
        "previous_stage": case.previous_stage,
        "data": Data(_moments(data, definition.moment_fields, zone)),
        "milestones": sorted(case.milestones),
        "counts": Counts(case.counts),
        "team": list(team) if isinstance(team, list) else [],
        "opened_at": case.opened_at.astimezone(zone),
        "meetings": meetings,
        "next_meeting_at": still[0] if still else None,
    }


def expression_parts(
    definition: Definition,
    case: CaseState,
    inputs: Mapping[str, Any],
    actor: Actor,
    now: datetime,
) -> dict[str, Callable[[], Any]]:
    """How to build each name guards, rules, computed values, conditions and anchors see,
    one at a time: a condition reading ``actor.role`` does not build the case's view."""
    zone = ZoneInfo(definition.calendar.timezone)
    local = now.astimezone(zone)
    return {
        "case": lambda: case_view(definition, case, case.data),
        "inputs": lambda: _moments(inputs, definition.moment_fields, zone),
        "actor": lambda: {"role": actor.role, "id": actor.id},
        "person": lambda: person_facts(case.born, local.date(), case.data),
        "consent": lambda: consent_facts(case.consent),
        "params": lambda: dict(definition.parameters),
        "target_ages": lambda: {
            "min": definition.target_ages.min,
            "max": definition.target_ages.max,
        },
        "meeting_weekdays": lambda: list(definition.calendar.meeting_weekdays),
        "now": lambda: local,
        "today": local.date,
    }


def expression_context(
    definition: Definition,
    case: CaseState,
    inputs: Mapping[str, Any],
    actor: Actor,
    now: datetime,
) -> dict[str, Any]:
    """What guards, rules, computed values, conditions and anchors see."""
    parts = expression_parts(definition, case, inputs, actor, now)
    return {**definition.date_functions, **{name: part() for name, part in parts.items()}}


def lazy_expression_context(
    definition: Definition,
    case: CaseState,
    inputs: Mapping[str, Any],
    actor: Actor,
    now: datetime,
) -> LazyContext:
    """:func:`expression_context`, each name built when an expression first reads it."""
    return LazyContext(
        expression_parts(definition, case, inputs, actor, now), definition.date_functions
    )


def with_data(
    definition: Definition, context: Mapping[str, Any], case: CaseState, data: Mapping[str, Any]
) -> LazyContext:
    """The context with the case data as it is now — and everything derived from it, such
    as ``case.team`` — the rest as before the step (built when first read)."""
    lazy = context if isinstance(context, LazyContext) else LazyContext({}, context)
    return lazy.replacing("case", lambda: case_view(definition, case, data))
