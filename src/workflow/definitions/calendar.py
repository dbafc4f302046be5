"""Danish working-day calendar: public holidays, business days and meeting days.

Pure functions of dates; the engine uses them to compute when timers fall due.
Public holidays follow Danish law (helligdagsloven); Store Bededag was abolished
from 2024. Municipalities may close on further days (e.g. Christmas Eve), which a
definition lists in its ``calendar`` section.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

#: Named extra closing days a definition may list, as (month, day); the one list of
#: these names (the definition models' ``ClosedDay`` is built from it).
NAMED_CLOSED_DAYS: dict[str, tuple[int, int]] = {
    "christmas_eve": (12, 24),
    "new_years_eve": (12, 31),
    "constitution_day": (6, 5),
}


def easter_sunday(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=256)
def danish_public_holidays(year: int) -> dict[date, str]:
    """Danish public holidays of a year, with their Danish names."""
    easter = easter_sunday(year)
    days = {
        date(year, 1, 1): "Nytårsdag",
        easter - timedelta(days=3): "Skærtorsdag",
        easter - timedelta(days=2): "Langfredag",
        easter: "Påskedag",
        easter + timedelta(days=1): "2. påskedag",
        easter + timedelta(days=39): "Kristi himmelfartsdag",
        easter + timedelta(days=49): "Pinsedag",
        easter + timedelta(days=50): "2. pinsedag",
        date(year, 12, 25): "Juledag",
        date(year, 12, 26): "2. juledag",
    }
    if year < 2024:
        days[easter + timedelta(days=26)] = "Store bededag"
    return days


class WorkingCalendar:
    """Which days are working days, and which are fixed meeting days."""

    def __init__(
        self,
        *,
        public_holidays: bool = True,
        closed_days: frozenset[str] = frozenset(),
        closed_dates: frozenset[date] = frozenset(),
        meeting_weekdays: frozenset[int] = frozenset(),
    ) -> None:
        self._public_holidays = public_holidays
        self._closed_named = frozenset(NAMED_CLOSED_DAYS[n] for n in closed_days)
        self._closed_dates = closed_dates
        self.meeting_weekdays = meeting_weekdays

    def is_business_day(self, day: date) -> bool:
        """A weekday that is neither a public holiday nor a closing day of the municipality."""
        if day.weekday() >= 5 or day in self._closed_dates:
            return False
        if (day.month, day.day) in self._closed_named:
            return False
        return not (self._public_holidays and day in danish_public_holidays(day.year))

    def add_business_days(self, day: date, count: int) -> date:
        """The date ``count`` business days after ``day`` (``day`` itself does not count);
        before it when ``count`` is negative (a reminder "2 business_days" before a due
        date: it was sent on the due date itself)."""
        current = day
        step = timedelta(days=1 if count >= 0 else -1)
        remaining = abs(count)
        while remaining > 0:
            current += step
            if self.is_business_day(current):
                remaining -= 1
        return current

    def next_business_day(self, day: date) -> date:
        """``day`` itself if it is a business day, else the next one."""
        current = day
        while not self.is_business_day(current):
            current += timedelta(days=1)
        return current

    def next_meeting_day(self, day: date) -> date:
        """``day`` or the first day after it that is a fixed meeting weekday and a business day.

        With no fixed meeting weekdays, any business day is a meeting day.
        """
        current = day
        for _ in range(800):
            if self.is_business_day(current) and (
                not self.meeting_weekdays or current.weekday() in self.meeting_weekdays
            ):
                return current
            current += timedelta(days=1)
        raise ValueError("no meeting day within two years; check the calendar's meeting weekdays")


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on a day."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
