"""Counting the outcome figures: aggregate queries over the figures tables.

Every query counts rows of ``case_figures``, ``meeting_figures`` or ``deadline_figures``
(indexed by municipality and date) and returns numbers only, grouped by municipality
code: one municipality's page asks for its own code, the national comparison for all.
"Young people" are distinct ``young_person_id`` s. Periods are :class:`Window` s (a
calendar year in the municipality's time zone, with its months).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, select
from sqlalchemy.orm import Session

from workflow.store.tables import CaseFigures, DeadlineFigures, MeetingFigures

_F, _M, _D = CaseFigures, MeetingFigures, DeadlineFigures
#: The time zone periods are counted in (the municipalities' own).
ZONE = ZoneInfo("Europe/Copenhagen")


@dataclass(frozen=True)
class Window:
    """A calendar year [start, end), and the start of each of its months."""

    year: int
    months: tuple[datetime, ...]  # the 12 month starts
    end: datetime

    @property
    def start(self) -> datetime:
        """The year's first moment."""
        return self.months[0]

    @classmethod
    def of_year(cls, year: int) -> Window:
        """The calendar year ``year`` in the municipalities' time zone."""
        months = tuple(datetime(year, month, 1, tzinfo=ZONE) for month in range(1, 13))
        return cls(year, months, datetime(year + 1, 1, 1, tzinfo=ZONE))

    def during(self, column: Any) -> ColumnElement[bool]:
        """``column`` falls within the year."""
        return and_(column >= self.start, column < self.end)

    def month_of(self, column: Any) -> Any:
        """The month (0-11) ``column`` falls in, as an SQL expression (every database)."""
        whens = [(column < start, index) for index, start in enumerate(self.months[1:])]
        return case(*whens, else_=11)


@dataclass
class Figures:
    """One municipality's raw counts (hidden cells are decided later, from ``people``)."""

    #: Open cases by stage: stage -> young people.
    open_by_stage: dict[str, int] = field(default_factory=dict)
    #: Young people referred / whose case ended, by month of the year.
    referred_by_month: list[int] = field(default_factory=lambda: [0] * 12)
    ended_by_month: list[int] = field(default_factory=lambda: [0] * 12)
    open_at_start: int = 0
    #: Days from referral to the pre-meeting / first meeting (cases referred in the
    #: year): days -> cases; how many of them had a deadline fall due on the way; people.
    days_to_pre_meeting: dict[int, int] = field(default_factory=dict)
    late_to_pre_meeting: int = 0
    people_to_pre_meeting: int = 0
    days_to_first_meeting: dict[int, int] = field(default_factory=dict)
    late_to_first_meeting: int = 0
    people_to_first_meeting: int = 0
    #: Referred in the year and still waiting for the pre-meeting / first meeting.
    waiting_for_pre_meeting: int = 0
    waiting_for_first_meeting: int = 0
    #: Meetings held in the year by number: (goals reviewed, goals met, young people).
    goals_by_meeting: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    #: Cases referred in the year with two or more levels: (first, latest) -> people.
    movement: dict[tuple[int, int], int] = field(default_factory=dict)
    #: Cases ended in the year: (final stage, status at closing) -> young people.
    endings: dict[tuple[str, str | None], int] = field(default_factory=dict)
    #: Deadlines that fell due in the year: timer -> (times, young people).
    deadlines: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: Open cases whose stage's deadline has fallen due: timer -> young people.
    overdue_now: dict[str, int] = field(default_factory=dict)


def _people(column: Any = _F.young_person_id) -> Any:
    return func.count(distinct(column))


def _where(
    statement: Select[*tuple[Any, ...]], code_column: Any, municipality: str | None
) -> Select[*tuple[Any, ...]]:
    return statement if municipality is None else statement.where(code_column == municipality)


def count_figures(  # noqa: C901 - one query per figure, each read the same way
    session: Session, window: Window, municipality: str | None
) -> dict[str, Figures]:
    """Every municipality's counts for the year (``municipality``: only that one)."""
    found: dict[str, Figures] = defaultdict(Figures)
    code = _F.municipality_code
    run = session.execute

    def grouped(*columns: Any) -> Select[*tuple[Any, ...]]:
        return select(code, *columns)

    stmt = grouped(_F.stage, _people()).where(_F.ended_at.is_(None)).group_by(code, _F.stage)
    for municipality_code, stage, people in run(_where(stmt, code, municipality)):
        found[municipality_code].open_by_stage[stage] = people

    month = window.month_of(_F.referred_at)
    stmt = grouped(month, _people()).where(window.during(_F.referred_at)).group_by(code, month)
    for municipality_code, index, people in run(_where(stmt, code, municipality)):
        found[municipality_code].referred_by_month[index] = people
    month = window.month_of(_F.ended_at)
    stmt = grouped(month, _people()).where(window.during(_F.ended_at)).group_by(code, month)
    for municipality_code, index, people in run(_where(stmt, code, municipality)):
        found[municipality_code].ended_by_month[index] = people
    stmt = (
        grouped(_people())
        .where(_F.referred_at < window.start)
        .where((_F.ended_at.is_(None)) | (_F.ended_at >= window.start))
        .group_by(code)
    )
    for municipality_code, people in run(_where(stmt, code, municipality)):
        found[municipality_code].open_at_start = people

    referred = window.during(_F.referred_at)
    for days, late, target in (
        (_F.days_to_pre_meeting, _F.late_to_pre_meeting, "pre_meeting"),
        (_F.days_to_first_meeting, _F.late_to_first_meeting, "first_meeting"),
    ):
        stmt = (
            grouped(days, func.count(), func.sum(case((late, 1), else_=0)))
            .where(referred, days.is_not(None))
            .group_by(code, days)
        )
        for municipality_code, day, cases, lates in run(_where(stmt, code, municipality)):
            figures = found[municipality_code]
            getattr(figures, f"days_to_{target}")[int(day)] = cases
            setattr(figures, f"late_to_{target}", getattr(figures, f"late_to_{target}") + lates)
        stmt = grouped(_people()).where(referred, days.is_not(None)).group_by(code)
        for municipality_code, people in run(_where(stmt, code, municipality)):
            setattr(found[municipality_code], f"people_to_{target}", people)
        stmt = (
            grouped(_people()).where(referred, days.is_(None), _F.ended_at.is_(None)).group_by(code)
        )
        for municipality_code, people in run(_where(stmt, code, municipality)):
            setattr(found[municipality_code], f"waiting_for_{target}", people)

    stmt = (
        select(
            _M.municipality_code,
            _M.number,
            func.sum(_M.goals_reviewed),
            func.sum(_M.goals_met),
            _people(_F.young_person_id),
        )
        .join(_F, _F.case_id == _M.case_id)
        .where(window.during(_M.held_at), _M.goals_reviewed > 0)
        .group_by(_M.municipality_code, _M.number)
    )
    for municipality_code, number, reviewed, met, people in run(
        _where(stmt, _M.municipality_code, municipality)
    ):
        found[municipality_code].goals_by_meeting[number] = (int(reviewed), int(met), people)

    stmt = (
        grouped(_F.first_level, _F.latest_level, _people())
        .where(referred, _F.levels_recorded >= 2)
        .group_by(code, _F.first_level, _F.latest_level)
    )
    for municipality_code, first, latest, people in run(_where(stmt, code, municipality)):
        found[municipality_code].movement[(first, latest)] = people

    stmt = (
        grouped(_F.end_stage, _F.outcome, _people())
        .where(window.during(_F.ended_at))
        .group_by(code, _F.end_stage, _F.outcome)
    )
    for municipality_code, stage, outcome, people in run(_where(stmt, code, municipality)):
        found[municipality_code].endings[(stage, outcome)] = people

    stmt = (
        select(_D.municipality_code, _D.timer, func.count(), _people(_F.young_person_id))
        .join(_F, _F.case_id == _D.case_id)
        .where(window.during(_D.fired_at))
        .group_by(_D.municipality_code, _D.timer)
    )
    for municipality_code, timer, times, people in run(
        _where(stmt, _D.municipality_code, municipality)
    ):
        found[municipality_code].deadlines[timer] = (times, people)

    stmt = (
        grouped(_F.overdue_timer, _people())
        .where(_F.ended_at.is_(None), _F.overdue_timer.is_not(None))
        .group_by(code, _F.overdue_timer)
    )
    for municipality_code, timer, people in run(_where(stmt, code, municipality)):
        found[municipality_code].overdue_now[timer] = people
    return dict(found)


def figure_years(session: Session, municipality: str | None) -> list[int]:
    """The calendar years with referrals (newest first)."""
    stmt: Select[*tuple[Any, ...]] = select(func.min(_F.referred_at), func.max(_F.referred_at))
    first, last = session.execute(_where(stmt, _F.municipality_code, municipality)).one()
    if first is None or last is None:
        return []
    return list(range(last.astimezone(ZONE).year, first.astimezone(ZONE).year - 1, -1))


def median_and_p90(histogram: dict[int, int]) -> tuple[float | None, float | None]:
    """The median and the 90th percentile of a histogram of whole days (nearest rank)."""
    total = sum(histogram.values())
    if total == 0:
        return None, None
    return _rank(histogram, total, 0.5), _rank(histogram, total, 0.9)


def _rank(histogram: dict[int, int], total: int, share: float) -> float:
    """The value at ``share`` (nearest-rank; the median of an even count averages the
    two middle values)."""
    ordered: Sequence[tuple[int, int]] = sorted(histogram.items())
    if share == 0.5 and total % 2 == 0:
        return (_nth(ordered, total // 2) + _nth(ordered, total // 2 + 1)) / 2
    position = max(1, math.ceil(round(share * total, 9)))
    return float(_nth(ordered, position))


def _nth(ordered: Sequence[tuple[int, int]], position: int) -> int:
    seen = 0
    for value, times in ordered:
        seen += times
        if seen >= position:
            return value
    return ordered[-1][0]
