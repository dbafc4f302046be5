"""Dates as values in expressions: reading them, and arithmetic on the definition's calendar.

Expressions see dates (``today``, a ``date`` input, ``person.turns_18_on``) as
:class:`datetime.date` and times (``now``, a ``datetime`` or ``meeting`` input) as
:class:`datetime.datetime` in the definition's time zone, so they compare with ``<`` and
``==``. The functions here accept either, or ISO text, and give back the kind they were
given (a date for a date, a time for a time, keeping its time of day):

* ``days_between(a, b)`` / ``business_days_between(a, b)`` — whole days from ``a`` to
  ``b`` (negative when ``b`` is earlier); business days skip weekends, Danish public
  holidays and the municipality's closing days;
* ``add_days(d, n)`` / ``add_business_days(d, n)`` / ``add_months(d, n)`` — ``n`` may be
  negative; a month from 31 January is the last day of February;
* ``next_meeting_day(d)`` — ``d`` or the first day after it that is a fixed meeting
  weekday (``calendar.meeting_weekdays``) and a business day;
* ``date(x)`` — the date of a time (or of ISO text).

All are pure functions of their arguments and the calendar; none reads a clock.
"""

from __future__ import annotations

import calendar as _stdcal
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from workflow.definitions.calendar import WorkingCalendar

#: Text that is a date or a date-time, exactly as the engine stores them (ISO 8601).
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def is_iso(value: object) -> bool:
    """Whether a value is text holding an ISO date or date-time."""
    return isinstance(value, str) and len(value) <= 40 and bool(_ISO.match(value))


def as_moment(value: object, zone: ZoneInfo | None = None) -> date | datetime | None:
    """A date or (zone-aware) date-time from a value: a date, a date-time or ISO text.

    None stays None; anything else is a TypeError that names what was given.
    """
    if value is None or isinstance(value, date):
        if isinstance(value, datetime) and value.tzinfo is None and zone is not None:
            return value.replace(tzinfo=zone)
        return value
    if is_iso(value):
        assert isinstance(value, str)
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None and zone is not None:
            return moment.replace(tzinfo=zone)
        return moment.astimezone(zone) if zone is not None else moment
    raise TypeError(f"expected a date or a time, got {type(value).__name__} {value!r:.40}")


def _required(value: object, zone: ZoneInfo) -> date | datetime:
    moment = as_moment(value, zone)
    if moment is None:
        raise TypeError("expected a date or a time, got none (the value is not set)")
    return moment


def _day(moment: date | datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date() if isinstance(moment, datetime) else moment


def _same_kind(original: date | datetime, day: date) -> date | datetime:
    if isinstance(original, datetime):
        return datetime.combine(day, original.timetz().replace(tzinfo=None), original.tzinfo)
    return day


def add_months_to(day: date, months: int) -> date:
    """``day`` plus whole months; a day the month lacks becomes its last day."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, _stdcal.monthrange(year, month)[1]))


_MAX_DAYS = 40_000
_MAX_MONTHS = 1_200


def _whole(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"expected a whole number, got {type(n).__name__} {n!r:.40}")
    if abs(n) > _MAX_DAYS:
        raise ValueError("at most 40000 days (about a century) at a time")
    return n


def days_between(zone: ZoneInfo, a: object, b: object) -> int:
    """Whole days from ``a`` to ``b`` (negative when ``b`` is earlier)."""
    return (_day(_required(b, zone), zone) - _day(_required(a, zone), zone)).days


def business_days_between(cal: WorkingCalendar, zone: ZoneInfo, a: object, b: object) -> int:
    """Business days after ``a`` up to and including ``b`` (negative when ``b`` is earlier)."""
    start, end = _day(_required(a, zone), zone), _day(_required(b, zone), zone)
    sign = 1
    if end < start:
        start, end, sign = end, start, -1
    if (end - start).days > _MAX_DAYS:
        raise ValueError("at most 40000 days (about a century) apart")
    days = (end - start).days
    return sign * sum(1 for i in range(1, days + 1) if cal.is_business_day(start + timedelta(i)))


def add_days(zone: ZoneInfo, d: object, n: object) -> date | datetime:
    """``d`` plus ``n`` days (a time keeps its time of day)."""
    moment = _required(d, zone)
    return _same_kind(moment, _day(moment, zone) + timedelta(days=_whole(n)))


def add_business_days(
    cal: WorkingCalendar, zone: ZoneInfo, d: object, n: object
) -> date | datetime:
    """``d`` plus ``n`` business days (``d`` itself does not count)."""
    moment, count = _required(d, zone), _whole(n)
    day = _day(moment, zone)
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    while remaining:
        day += timedelta(days=step)
        if cal.is_business_day(day):
            remaining -= 1
    return _same_kind(moment, day)


def add_months(zone: ZoneInfo, d: object, n: object) -> date | datetime:
    """``d`` plus ``n`` months (a day the month lacks becomes its last day)."""
    moment, months = _required(d, zone), _whole(n)
    if abs(months) > _MAX_MONTHS:
        raise ValueError("at most 1200 months at a time")
    return _same_kind(moment, add_months_to(_day(moment, zone), months))


def next_meeting_day(cal: WorkingCalendar, zone: ZoneInfo, d: object) -> date | datetime:
    """``d`` or the first day after it that is a fixed meeting weekday and a business day."""
    moment = _required(d, zone)
    return _same_kind(moment, cal.next_meeting_day(_day(moment, zone)))


def date_of(zone: ZoneInfo, x: object) -> date | None:
    """The date of a time, of ISO text, or a date itself (none stays none)."""
    moment = as_moment(x, zone)
    return None if moment is None else _day(moment, zone)


def date_functions(cal: WorkingCalendar, zone: ZoneInfo) -> dict[str, Callable[..., Any]]:
    """The date functions of a definition: bound to its working calendar and time zone."""
    return {
        "days_between": partial(days_between, zone),
        "business_days_between": partial(business_days_between, cal, zone),
        "add_days": partial(add_days, zone),
        "add_business_days": partial(add_business_days, cal, zone),
        "add_months": partial(add_months, zone),
        "next_meeting_day": partial(next_meeting_day, cal, zone),
        "date": partial(date_of, zone),
    }


#: The names of the date functions (for the load-time name check and the docs).
DATE_FUNCTIONS = frozenset(date_functions(WorkingCalendar(), ZoneInfo("UTC")))


def as_datetime(value: date | datetime, zone: ZoneInfo, clock: Any) -> datetime:
    """A moment from an anchor: a date becomes that day at ``clock`` (a time of day)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    return datetime.combine(value, clock, tzinfo=zone)
