"""When timers and tasks fall due: durations on the municipality's working calendar.

A timer falls due a duration after it starts, or — anchored with ``at`` — on a date or
time the case gives, moved by ``before``/``after``; then ``align`` moves it to a
business day or a meeting day. A repeating timer's n-th due time is counted from its
first (unaligned) due time, its *anchor*: monthly from 31 January gives 28 February,
31 March, 30 April, and a firing moved off a closing day does not move the next ones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from workflow.definitions.dates import add_months_to, as_datetime, as_moment
from workflow.definitions.effects import Alignment
from workflow.definitions.models import Definition
from workflow.definitions.parts import Repeat, Timer
from workflow.definitions.types import Duration


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def add_duration(definition: Definition, start: datetime, duration: Duration) -> datetime:
    """``start`` plus a duration; days, weeks and months keep the local time of day."""
    zone = ZoneInfo(definition.calendar.timezone)
    local = start.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    amount = duration.amount
    match duration.unit:
        case "minutes":  # elapsed time, so a DST change does not shorten it
            return (start.astimezone(UTC) + timedelta(minutes=amount)).astimezone(zone)
        case "hours":
            return (start.astimezone(UTC) + timedelta(hours=amount)).astimezone(zone)
        case "days":
            return _at(local.date() + timedelta(days=amount), clock, zone)
        case "weeks":
            return _at(local.date() + timedelta(weeks=amount), clock, zone)
        case "months":
            return _at(add_months_to(local.date(), amount), clock, zone)
        case "business_days":
            cal = definition.working_calendar
            return _at(cal.add_business_days(local.date(), amount), clock, zone)
    raise ValueError(f"unknown unit {duration.unit}")  # pragma: no cover - Literal exhausts


def align(definition: Definition, moment: datetime, alignment: Alignment) -> datetime:
    """Move a moment to the next business day (office opening) or fixed meeting day."""
    zone = ZoneInfo(definition.calendar.timezone)
    local = moment.astimezone(zone)
    cal = definition.working_calendar
    if alignment == "business_day":
        day = cal.next_business_day(local.date())
        return local if day == local.date() else _at(day, definition.calendar.office_opens, zone)
    if alignment == "meeting_day":
        meeting = definition.calendar.meeting_time
        first = local.date() + timedelta(days=1 if local.time() > meeting else 0)
        return _at(cal.next_meeting_day(first), meeting, zone)
    return local


def due_at(
    definition: Definition, start: datetime, after: Duration | None, alignment: Alignment
) -> datetime:
    """When something started at ``start`` falls due."""
    moment = add_duration(definition, start, after) if after else start
    return align(definition, moment, alignment)


def timer_due(definition: Definition, timer: Timer, start: datetime) -> datetime:
    """When a timer (not anchored) started at ``start`` first falls due."""
    return due_at(definition, start, timer.after, timer.align)


def timer_anchor(definition: Definition, timer: Timer, start: datetime) -> datetime:
    """The unaligned first due time of a timer (not anchored) started at ``start``."""
    return add_duration(definition, start, timer.after) if timer.after else start


def anchored_due(
    definition: Definition, timer: Timer, value: Any
) -> tuple[datetime, datetime] | None:
    """An anchored timer's (due time, unaligned anchor), from the value its ``at`` gave
    (a date, a time or ISO text; None: not set, so the timer does not run)."""
    zone = ZoneInfo(definition.calendar.timezone)
    moment = as_moment(value, zone)
    if moment is None:
        return None
    anchor = as_datetime(moment, zone, definition.calendar.office_opens)
    if timer.before is not None:
        anchor = subtract_duration(definition, anchor, timer.before)
    elif timer.after is not None:
        anchor = add_duration(definition, anchor, timer.after)
    return align(definition, anchor, timer.align), anchor


def subtract_duration(definition: Definition, end: datetime, duration: Duration) -> datetime:
    """``end`` minus a duration (as :func:`add_duration`, backwards)."""
    zone = ZoneInfo(definition.calendar.timezone)
    local = end.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    amount = duration.amount
    match duration.unit:
        case "minutes":
            return (end.astimezone(UTC) - timedelta(minutes=amount)).astimezone(zone)
        case "hours":
            return (end.astimezone(UTC) - timedelta(hours=amount)).astimezone(zone)
        case "days":
            return _at(local.date() - timedelta(days=amount), clock, zone)
        case "weeks":
            return _at(local.date() - timedelta(weeks=amount), clock, zone)
        case "months":
            return _at(add_months_to(local.date(), -amount), clock, zone)
        case "business_days":
            day = local.date()
            remaining = amount
            cal = definition.working_calendar
            while remaining:
                day -= timedelta(days=1)
                if cal.is_business_day(day):
                    remaining -= 1
            return _at(day, clock, zone)
    raise ValueError(f"unknown unit {duration.unit}")  # pragma: no cover - Literal exhausts


def _nth(definition: Definition, anchor: datetime, interval: Duration, n: int) -> datetime:
    """The anchor plus ``n`` intervals (months from the anchor's own day, never drifting)."""
    return add_duration(definition, anchor, Duration(interval.amount * n, interval.unit))


def repeat_interval(repeat: Repeat) -> Duration:
    """The interval of a recurring timer (``times_per_year`` spread evenly over 365 days)."""
    if repeat.every is not None:
        return repeat.every
    assert repeat.times_per_year is not None
    return Duration(365 // repeat.times_per_year, "days")


def next_due(
    definition: Definition,
    timer: Timer,
    previous_due: datetime,
    now: datetime,
    anchor: datetime | None = None,
    fired: int = 1,
) -> tuple[datetime, datetime | None] | None:
    """The next due time of a recurring timer after its ``fired``-th firing, and its anchor.

    None when it is done. Counted from the ``anchor`` (its first unaligned due time); a
    timer started before anchors were kept counts from the due time it just had, and an
    anchor of None comes back when a long downtime made it count from now."""
    if timer.repeat is None:
        return None
    interval = repeat_interval(timer.repeat)
    if anchor is None:
        anchor, fired = previous_due, 1
    for n in range(fired, fired + 1_000):  # catch up after downtime without a storm
        due = align(definition, _nth(definition, anchor, interval, n), timer.align)
        if due > now and due > previous_due:
            return due, anchor
    # Long downtime: count from now instead of from the missed ones.
    return align(definition, add_duration(definition, now, interval), timer.align), None
