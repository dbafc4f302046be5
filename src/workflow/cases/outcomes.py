"""What the model achieves: a municipality's outcome figures and the national comparison.

For leaders, counted over many young people, with nothing that identifies anyone: no
names, no references, and no cell computed from fewer than five young people
(:mod:`workflow.privacy.small_cells`). A municipality's page is for the leaders of that
municipality (a leader account of it); the national comparison for any leader and for
national analysts (an ``analyst`` account, e.g. at KL). Every read is in the audit log.

The figures (how each is computed is written in docs/outcomes.md):

* open cases by stage, now; referrals, ended cases and open cases by month of the year;
* days from referral to the pre-meeting and to the first meeting (median, 90th
  percentile) for the young people referred in the year, and the share who got there
  before any deadline of the definition fell due;
* the share of the previous plan's goals met, by meeting number (meetings held in the
  year);
* progression: the first and the latest level agreed, and how many moved up, stayed or
  moved down (young people referred in the year with two levels or more);
* how cases ended in the year: the status at closing and the other ends (withdrawn...);
* deadlines that fell due in the year, and the open cases overdue now.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.engine.model import Actor
from workflow.errors import NotAllowedError
from workflow.privacy.authorisation import audited_refusal
from workflow.privacy.small_cells import Cell, cell, count, protect_group
from workflow.store.audit import AuditAction, AuditObject, actor_label, write_audit
from workflow.store.figure_reading import (
    Figures,
    Window,
    count_figures,
    figure_years,
    median_and_p90,
)
from workflow.store.tables import Account
from workflow.store.unit_of_work import UnitOfWork

LEADER = "leader"
#: A national account (e.g. KL's analysts): the national comparison only.
ANALYST = "analyst"
#: The ends of a case other than closing with a status (the base's final stages).
OTHER_ENDS = ("withdrawn", "declined", "moved", "aged_out")
#: The closing statuses of the base (a definition's own are shown as they come).
STATUSES = ("education", "employment", "other_activity", "none")
PURPOSE = "outcome figures"


@dataclass(frozen=True)
class TimeFigure:
    """Days from referral to a meeting, for the young people referred in the year."""

    median: Cell
    p90: Cell
    #: Share (0-1) who got there before a deadline of the definition fell due.
    within_deadlines: Cell
    #: Referred in the year, case open, not there yet.
    waiting: Cell


@dataclass(frozen=True)
class Progression:
    """Movement on the progression scale between the first and the latest level."""

    up: Cell
    same: Cell
    down: Cell
    total: Cell
    #: Young people by level (rank -> cell): at their first level and at their latest.
    first: dict[int, Cell]
    latest: dict[int, Cell]


@dataclass(frozen=True)
class MunicipalityReport:
    """One municipality's figures for a calendar year (hidden cells already hidden)."""

    municipality: str
    year: int
    years: list[int]
    open_by_stage: dict[str, Cell]
    open_total: Cell
    #: By month (1-12): referred, ended, open at the month's end.
    months: list[tuple[date, Cell, Cell, Cell]]
    referred_total: Cell
    ended_total: Cell
    pre_meeting: TimeFigure
    first_meeting: TimeFigure
    #: Meeting number -> share of the previous plan's goals met (0-1).
    goals_met: dict[int, Cell]
    progression: Progression
    #: How cases ended in the year: a status at closing or another end -> young people.
    endings: dict[str, Cell]
    endings_total: Cell
    #: Deadline (timer id) -> young people it fell due for in the year.
    deadlines: dict[str, Cell]
    overdue_now: dict[str, Cell]
    overdue_total: Cell


#: The national comparison's columns, in order.
NATIONAL_COLUMNS = (
    "open",
    "referred",
    "days_to_pre_meeting",
    "days_to_first_meeting",
    "within_deadlines",
    "goals_met_meeting_2",
    "goals_met",
    "moved_up",
    "education_or_work",
    "withdrawn",
)


@dataclass(frozen=True)
class NationalReport:
    """Every municipality's key figures for a year, and the country's."""

    year: int
    years: list[int]
    #: Municipality code -> column -> cell.
    rows: dict[str, dict[str, Cell]]
    total: dict[str, Cell]
    #: When the counts were made (they are kept a few minutes; see OutcomeService).
    counted_at: datetime | None = None


@dataclass(frozen=True)
class _Counted:
    """The national counts of a year, as counted at ``at`` (monotonic seconds)."""

    at: float
    counted_at: datetime
    years: list[int]
    found: dict[str, Figures]


class OutcomeService:
    """Counts the figures for those who may see them, and logs every read.

    The national comparison's counts are kept ``national_ttl`` seconds per year (they
    take about a second to count on a national store, and a comparison across the
    country need not be live to the second); who may see them and the audit entry are
    checked and written on every read. A municipality's page is counted afresh.
    """

    def __init__(self, uow: UnitOfWork, *, national_ttl: float = 0.0) -> None:
        self.uow = uow
        self.national_ttl = national_ttl
        self._national: dict[int, _Counted] = {}
        self._lock = threading.Lock()

    def municipality(self, actor: Actor, code: str, year: int | None = None) -> MunicipalityReport:
        """A municipality's figures for a year (default: the newest with referrals)."""
        with (
            audited_refusal(self.uow, actor, AuditObject.OUTCOMES, code, PURPOSE),
            self.uow.transaction() as session,
        ):
            self._may_see(session, actor, code)
            years = figure_years(session, code)
            chosen = _year(year, years, self.uow.today().year)
            window = Window.of_year(chosen)
            figures = count_figures(session, window, code).get(code, Figures())
            self._log(session, actor, code, chosen)
        return municipality_report(code, window, figures, years)

    def national(self, actor: Actor, year: int | None = None) -> NationalReport:
        """Every municipality's key figures for a year, side by side."""
        with (
            audited_refusal(self.uow, actor, AuditObject.OUTCOMES, "*", PURPOSE),
            self.uow.transaction() as session,
        ):
            self._may_compare(session, actor)
            counted, chosen = self._national_counts(session, year)
            self._log(session, actor, "*", chosen)
        report = national_report(Window.of_year(chosen), counted.found, counted.years)
        return replace(report, counted_at=counted.counted_at)

    def _national_counts(self, session: Session, year: int | None) -> tuple[_Counted, int]:
        """Every municipality's counts for the year (and which year), kept
        ``national_ttl`` seconds."""
        years = figure_years(session, None)
        chosen = _year(year, years, self.uow.today().year)
        with self._lock:
            kept = self._national.get(chosen)
        if kept is not None and time.monotonic() - kept.at < self.national_ttl:
            return kept, chosen
        found = count_figures(session, Window.of_year(chosen), None)
        counted = _Counted(time.monotonic(), self.uow.clock(), years, found)
        with self._lock:
            self._national[chosen] = counted
        return counted, chosen

    @staticmethod
    def _account(session: Session, actor: Actor) -> Account | None:
        return session.scalar(select(Account).where(Account.person_id == (actor.id or "")))

    def _may_see(self, session: Session, actor: Actor, code: str) -> None:
        account = self._account(session, actor)
        if (
            account is None
            or not account.active
            or LEADER not in (account.roles or [])
            or account.municipality_code != code
        ):
            raise NotAllowedError(
                f"the outcome figures of municipality {code} are for its leaders "
                "(a leader account of the municipality)"
            )

    def _may_compare(self, session: Session, actor: Actor) -> None:
        account = self._account(session, actor)
        roles = set(account.roles or []) if account is not None and account.active else set()
        if not roles & {LEADER, ANALYST}:
            raise NotAllowedError(
                "the national comparison is for leaders and national analysts "
                "(a leader or analyst account)"
            )

    def _log(self, session: Session, actor: Actor, code: str, year: int) -> None:
        write_audit(
            session,
            at=self.uow.clock(),
            actor=actor_label(actor),
            action=AuditAction.READ,
            object_type=AuditObject.OUTCOMES,
            object_id=code,
            purpose=PURPOSE,
            details={"year": year},
        )


def _year(asked: int | None, years: list[int], this_year: int) -> int:
    if asked is not None:
        return asked
    return years[0] if years else this_year


def _share(part: int, whole: int, people: int) -> Cell:
    return cell(part / whole if whole else None, people)


def _time(histogram: Mapping[int, int], late: int, people: int, waiting: int) -> TimeFigure:
    median, p90 = median_and_p90(dict(histogram))
    reached = sum(histogram.values())
    return TimeFigure(
        median=cell(median, people),
        p90=cell(p90, people),
        within_deadlines=_share(reached - late, reached, people),
        waiting=count(waiting),
    )


def _group(cells: dict[Any, Cell], total: Cell) -> tuple[dict[Any, Cell], Cell]:
    keys = list(cells)
    protected, shown_total = protect_group([cells[k] for k in keys], total)
    assert shown_total is not None
    return dict(zip(keys, protected, strict=True)), shown_total


def _progression(movement: Mapping[tuple[int, int], int]) -> Progression:
    up = sum(n for (first, latest), n in movement.items() if latest > first)
    down = sum(n for (first, latest), n in movement.items() if latest < first)
    total = sum(movement.values())
    moved, total_cell = _group(
        {"up": count(up), "same": count(total - up - down), "down": count(down)}, count(total)
    )
    by_first: dict[int, int] = {}
    by_latest: dict[int, int] = {}
    for (first, latest), n in movement.items():
        by_first[first] = by_first.get(first, 0) + n
        by_latest[latest] = by_latest.get(latest, 0) + n
    at_first, _ = _group({k: count(v) for k, v in sorted(by_first.items())}, count(total))
    at_latest, _ = _group({k: count(v) for k, v in sorted(by_latest.items())}, count(total))
    return Progression(moved["up"], moved["same"], moved["down"], total_cell, at_first, at_latest)


def _endings(endings: Mapping[tuple[str, str | None], int]) -> dict[str, int]:
    """Ended cases by status at closing, or by their other end (a final stage)."""
    found: dict[str, int] = {}
    for (stage, outcome), n in endings.items():
        key = outcome if outcome else stage or "unknown"
        found[key] = found.get(key, 0) + n
    return found


def municipality_report(
    code: str, window: Window, figures: Figures, years: list[int]
) -> MunicipalityReport:
    """The figures as shown: computed from the counts, hidden where too few."""
    stages, open_total = _group(
        {k: count(v) for k, v in sorted(figures.open_by_stage.items())},
        count(sum(figures.open_by_stage.values())),
    )
    referred, referred_total = _group(
        dict(enumerate(count(n) for n in figures.referred_by_month)),
        count(sum(figures.referred_by_month)),
    )
    ended, ended_total = _group(
        dict(enumerate(count(n) for n in figures.ended_by_month)),
        count(sum(figures.ended_by_month)),
    )
    open_now, months = figures.open_at_start, []
    for index, start in enumerate(window.months):
        open_now += figures.referred_by_month[index] - figures.ended_by_month[index]
        months.append((start.date(), referred[index], ended[index], count(open_now)))
    goals = {
        number: _share(met, reviewed, people)
        for number, (reviewed, met, people) in sorted(figures.goals_by_meeting.items())
    }
    ends = _endings(figures.endings)
    endings, endings_total = _group(
        {k: count(v) for k, v in sorted(ends.items(), key=_ending_order)}, count(sum(ends.values()))
    )
    overdue, overdue_total = _group(
        {k: count(v) for k, v in sorted(figures.overdue_now.items())},
        count(sum(figures.overdue_now.values())),
    )
    return MunicipalityReport(
        municipality=code,
        year=window.year,
        years=years,
        open_by_stage=stages,
        open_total=open_total,
        months=months,
        referred_total=referred_total,
        ended_total=ended_total,
        pre_meeting=_time(
            figures.days_to_pre_meeting,
            figures.late_to_pre_meeting,
            figures.people_to_pre_meeting,
            figures.waiting_for_pre_meeting,
        ),
        first_meeting=_time(
            figures.days_to_first_meeting,
            figures.late_to_first_meeting,
            figures.people_to_first_meeting,
            figures.waiting_for_first_meeting,
        ),
        goals_met=goals,
        progression=_progression(figures.movement),
        endings=endings,
        endings_total=endings_total,
        deadlines={k: count(people) for k, (_, people) in sorted(figures.deadlines.items())},
        overdue_now=overdue,
        overdue_total=overdue_total,
    )


def _ending_order(item: tuple[str, int]) -> tuple[int, str]:
    order = (*STATUSES, *OTHER_ENDS)
    return (order.index(item[0]) if item[0] in order else len(order), item[0])


def _key_figures(figures: Figures) -> dict[str, Cell]:
    """One municipality's line of the national comparison."""
    pre = _time(
        figures.days_to_pre_meeting,
        figures.late_to_pre_meeting,
        figures.people_to_pre_meeting,
        0,
    )
    first = _time(
        figures.days_to_first_meeting,
        figures.late_to_first_meeting,
        figures.people_to_first_meeting,
        0,
    )
    second = figures.goals_by_meeting.get(2, (0, 0, 0))
    reviewed = sum(r for r, _, _ in figures.goals_by_meeting.values())
    met = sum(m for _, m, _ in figures.goals_by_meeting.values())
    # At least as many young people as at any one meeting number (a lower bound: hides
    # rather than shows when unsure).
    reviewed_people = max((p for _, _, p in figures.goals_by_meeting.values()), default=0)
    moved_total = sum(figures.movement.values())
    moved_up = sum(n for (a, b), n in figures.movement.items() if b > a)
    ends = _endings(figures.endings)
    closed = sum(ends.get(status, 0) for status in STATUSES)
    working = ends.get("education", 0) + ends.get("employment", 0)
    return {
        "open": count(sum(figures.open_by_stage.values())),
        "referred": count(sum(figures.referred_by_month)),
        "days_to_pre_meeting": pre.median,
        "days_to_first_meeting": first.median,
        "within_deadlines": first.within_deadlines,
        "goals_met_meeting_2": _share(second[1], second[0], second[2]),
        "goals_met": _share(met, reviewed, reviewed_people),
        "moved_up": _share(moved_up, moved_total, moved_total),
        "education_or_work": _share(working, closed, closed),
        "withdrawn": count(ends.get("withdrawn", 0)),
    }


def national_report(
    window: Window, found: Mapping[str, Figures], years: list[int]
) -> NationalReport:
    """The comparison: each municipality's key figures and the country's, hidden where
    too few (and, in every column, a second cell where one alone would be hidden)."""
    everyone = Figures()
    for figures in found.values():
        _add(everyone, figures)
    rows = {code: _key_figures(figures) for code, figures in sorted(found.items())}
    total = _key_figures(everyone)
    for column in NATIONAL_COLUMNS:
        cells, shown = protect_group([row[column] for row in rows.values()], total[column])
        for row, protected in zip(rows.values(), cells, strict=True):
            row[column] = protected
        assert shown is not None
        total[column] = shown
    return NationalReport(window.year, years, rows, total)


def _add(into: Figures, figures: Figures) -> None:
    """Add one municipality's counts to the country's."""
    merge = _merge_counts
    merge(into.open_by_stage, figures.open_by_stage)
    for index in range(12):
        into.referred_by_month[index] += figures.referred_by_month[index]
        into.ended_by_month[index] += figures.ended_by_month[index]
    merge(into.days_to_pre_meeting, figures.days_to_pre_meeting)
    merge(into.days_to_first_meeting, figures.days_to_first_meeting)
    into.late_to_pre_meeting += figures.late_to_pre_meeting
    into.late_to_first_meeting += figures.late_to_first_meeting
    into.people_to_pre_meeting += figures.people_to_pre_meeting
    into.people_to_first_meeting += figures.people_to_first_meeting
    for number, (reviewed, met, people) in figures.goals_by_meeting.items():
        old = into.goals_by_meeting.get(number, (0, 0, 0))
        into.goals_by_meeting[number] = (old[0] + reviewed, old[1] + met, old[2] + people)
    merge(into.movement, figures.movement)
    merge(into.endings, figures.endings)


def _merge_counts(into: dict[Any, int], counts: Mapping[Any, int]) -> None:
    for key, n in counts.items():
        into[key] = into.get(key, 0) + n
