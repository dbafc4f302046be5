"""The Danish working calendar: Easter, public holidays, business days, meeting days."""

from __future__ import annotations

from datetime import date

import pytest

from workflow.definitions.calendar import WorkingCalendar, danish_public_holidays, easter_sunday


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2000, date(2000, 4, 23)),
        (2023, date(2023, 4, 9)),
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2038, date(2038, 4, 25)),
    ],
)
def test_easter_sunday(year: int, expected: date) -> None:
    assert easter_sunday(year) == expected


def test_public_holidays_2026() -> None:
    assert sorted(danish_public_holidays(2026)) == [
        date(2026, 1, 1),
        date(2026, 4, 2),
        date(2026, 4, 3),
        date(2026, 4, 5),
        date(2026, 4, 6),
        date(2026, 5, 14),
        date(2026, 5, 24),
        date(2026, 5, 25),
        date(2026, 12, 25),
        date(2026, 12, 26),
    ]
    assert danish_public_holidays(2026)[date(2026, 5, 14)] == "Kristi himmelfartsdag"


def test_store_bededag_was_abolished_from_2024() -> None:
    assert danish_public_holidays(2023)[date(2023, 5, 5)] == "Store bededag"
    assert date(2024, 4, 26) not in danish_public_holidays(2024)


def test_business_days_skip_weekends_and_easter() -> None:
    cal = WorkingCalendar()
    # Wednesday before Easter 2026: Thursday to Monday are holidays or weekend.
    assert cal.add_business_days(date(2026, 4, 1), 1) == date(2026, 4, 7)
    assert cal.add_business_days(date(2026, 3, 2), 5) == date(2026, 3, 9)
    assert cal.next_business_day(date(2026, 3, 7)) == date(2026, 3, 9)


def test_business_days_count_back_too() -> None:
    """A reminder "2 business_days" before a due date counts back (it came on the due
    date: a negative count went nowhere)."""
    cal = WorkingCalendar()
    assert cal.add_business_days(date(2026, 3, 11), -2) == date(2026, 3, 9)
    # Tuesday after Easter 2026: back over Easter Monday, the weekend, Good Friday and
    # Maundy Thursday to the Wednesday before.
    assert cal.add_business_days(date(2026, 4, 7), -1) == date(2026, 4, 1)
    assert cal.add_business_days(date(2026, 3, 9), 0) == date(2026, 3, 9)


def test_closed_days_are_not_business_days() -> None:
    cal = WorkingCalendar(
        closed_days=frozenset({"christmas_eve", "constitution_day"}),
        closed_dates=frozenset({date(2026, 3, 10)}),
    )
    assert not cal.is_business_day(date(2026, 12, 24))
    assert not cal.is_business_day(date(2026, 6, 5))
    assert not cal.is_business_day(date(2026, 3, 10))
    assert WorkingCalendar().is_business_day(date(2026, 12, 24))


def test_meeting_days_are_fixed_weekdays_that_are_business_days() -> None:
    cal = WorkingCalendar(meeting_weekdays=frozenset({1, 3}))  # Tuesday, Thursday
    assert cal.next_meeting_day(date(2026, 3, 4)) == date(2026, 3, 5)
    # Thursday 2 April 2026 is Maundy Thursday: the next meeting day is Tuesday 7 April.
    assert cal.next_meeting_day(date(2026, 4, 1)) == date(2026, 4, 7)
    assert WorkingCalendar().next_meeting_day(date(2026, 3, 7)) == date(2026, 3, 9)
