"""When timers and tasks fall due: durations on the municipality's working calendar."""

from __future__ import annotations

import calendar as _stdcal
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from workflow.definitions.effects import Alignment
from workflow.definitions.models import Definition
from workflow.definitions.parts import Repeat, Timer
from workflow.definitions.types import Duration


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, _stdcal.monthrange(year, month)[1]))


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
            return _at(_add_months(local.date(), amount), clock, zone)
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
    """When a timer started at ``start`` first falls due."""
    return due_at(definition, start, timer.after, timer.align)


def repeat_interval(repeat: Repeat) -> Duration:
    """The interval of a recurring timer (``times_per_year`` spread evenly over 365 days)."""
    if repeat.every is not None:
        return repeat.every
    assert repeat.times_per_year is not None
    return Duration(365 // repeat.times_per_year, "days")


def next_due(
    definition: Definition, timer: Timer, previous_due: datetime, now: datetime
) -> datetime | None:
    """The next due time of a recurring timer after it fired, or None when it is done."""
    if timer.repeat is None:
        return None
    interval = repeat_interval(timer.repeat)
    due = previous_due
    for _ in range(1_000):  # catch up after downtime without firing a storm
        due = due_at(definition, due, interval, timer.align)
        if due > now:
            return due
    # Long downtime: count the next interval from now instead of from the missed ones.
    return due_at(definition, now, interval, timer.align)
