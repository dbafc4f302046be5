"""The outcome figures, counted from a store with known cases (SQLite and PostgreSQL).

Seven young people in a municipality ("Testby", extends the base), each case played
step by step through the service layer at known times; one more municipality with two.
Every figure is compared with the value worked out by hand below; the figures kept by
the steps equal those rebuilt from the history (what the migration does); hidden cells
are the ones the small-cell rule hides; and only a leader of the municipality sees its
page, any leader or analyst the national comparison, every read and refusal audited.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.integration.conftest import Clock, runtime_of
from tests.support.services import SmtpSink
from workflow.cases.model import YoungPersonDetails
from workflow.cases.outcomes import OutcomeService
from workflow.engine.model import Actor
from workflow.errors import NotAllowedError
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime
from workflow.store.audit import AuditObject
from workflow.store.figure_reading import Window, count_figures
from workflow.store.figures import rebuild_figures
from workflow.store.tables import AuditEntry, CaseFigures, DeadlineFigures, MeetingFigures

ZONE = ZoneInfo("Europe/Copenhagen")
CW = Actor("caseworker", "cw-mette")
CLOSER = Actor("coordinator", "tovholder-lise")
TEAM = [
    {"department": "skole", "person": "laerer-anna"},
    {"department": "uu", "person": "vejleder-sara"},
]


ROLES = ("coordinator", "caseworker", "leader")
DEPARTMENTS = ("jobcenter", "born_familie", "skole", "sundhed", "social", "uu", "ssp", "psykiatri")


def definition(ident: str, name: str, code: str, prefix: str) -> str:
    """A municipality that extends the base with nothing but its own addresses."""
    lines = [
        f"id: {ident}",
        "extends: base",
        "version: 1",
        f"title: {name}",
        f'municipality: {{name: {name}, code: "{code}", case_prefix: {prefix}}}',
        "roles:",
        *(
            f"  - {{id: {role}, name: {role}, channels: "
            f"[{{kind: email, address: {role}@{ident}.example}}]}}"
            for role in ROLES
        ),
        "departments:",
        *(
            f"  - {{id: {dept}, name: {dept}, channels: "
            f"[{{kind: email, address: {dept}@{ident}.example}}]}}"
            for dept in DEPARTMENTS
        ),
    ]
    return "\n".join(lines) + "\n"


FILES = {
    "testby.yaml": definition("testby", "Testby Kommune", "990", "TBY"),
    "smaaby.yaml": definition("smaaby", "Småby Kommune", "991", "SMB"),
}
PASSWORD = "hemmeligt-kodeord-1"


def create_accounts(runtime: Runtime) -> None:
    """Leaders of both, a national analyst, Testby's staff and Småby's caseworker."""
    for username, roles, code, department in (
        ("leder-testby", ["leader"], "990", None),
        ("leder-smaaby", ["leader"], "991", None),
        ("analytiker-kl", ["analyst"], None, None),
        ("cw-mette", ["caseworker"], "990", None),
        ("cw-smaaby", ["caseworker"], "991", None),
        ("tovholder-lise", ["coordinator"], "990", None),
        ("laerer-anna", ["team_member"], "990", "skole"),
        ("vejleder-sara", ["team_member"], "990", "uu"),
    ):
        runtime.accounts.create(
            username,
            PASSWORD,
            display_name=username,
            person_id=username,
            roles=roles,
            municipality_code=code,
            department=department,
        )


@pytest.fixture
def rt(store_url: str, smtp: SmtpSink, clock: Clock, tmp_path: Path) -> Iterator[Runtime]:
    with runtime_of(store_url, smtp, clock, tmp_path, FILES) as runtime:
        create_accounts(runtime)
        yield runtime


def local(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZONE)


class Player:
    """Plays one case's steps at given moments."""

    def __init__(
        self, rt: Runtime, clock: Clock, ident: str, number: int, caseworker: str = "cw-mette"
    ) -> None:
        self.rt, self.clock = rt, clock
        self.cw = Actor("caseworker", caseworker)
        person = YoungPersonDetails(
            f"Ung Resultat{number}", f"010110{4100 + number:04d}", date(2010, 1, 1)
        )
        self.ident, self.person = ident, person
        self.reference = ""

    def at(self, moment: datetime) -> Player:
        self.clock.now = moment
        return self

    def refer(self) -> Player:
        inputs = {"source": "school", "age": 16, "caseworker": self.cw.id}
        self.reference = self.rt.service.refer(self.ident, self.person, self.cw, inputs).reference
        return self

    def step(self, event: str, actor: Actor | None = None, **inputs: Any) -> Player:
        self.rt.service.trigger(self.reference, event, inputs, actor or self.cw)
        return self

    def accept(self) -> Player:
        self.step("accept_referral", young_person_agrees=True, consent=True)
        consent = ConsentRequest(["skole", "uu"], guardian=True)
        self.rt.consents.give(self.reference, self.cw, consent)
        return self


def play_testby(rt: Runtime, clock: Clock, extra: int = 0) -> None:
    """The seven young people of Testby (times worked out by hand in the test); ``extra``
    more with varied times, levels and ends (for the pages' screenshots)."""
    first_monday = date(2026, 3, 2)
    for i in [*range(5), *range(7, 7 + extra)]:
        # 0-4: through a follow-up, 0-2 closed; the extras: varied.
        t0 = first_monday + timedelta(weeks=i)
        varied = i >= 7
        case = Player(rt, clock, "testby", i).at(local(t0)).refer()
        case.at(local(t0 + timedelta(days=1))).accept()
        first_at = local(t0 + timedelta(days=8 if i % 2 == 0 or not varied else 15))
        case.at(local(t0 + timedelta(days=2 + i % 4 if varied else 3))).step(
            "hold_pre_meeting",
            team=TEAM,
            coordinator="tovholder-lise",
            agenda=["uddannelse"],
            first_meeting_at=first_at.isoformat(),
            progression="contact_ready",
        )
        follow_up_at = first_at + timedelta(weeks=7)
        case.at(first_at + timedelta(hours=2)).step(
            "hold_first_meeting",
            CLOSER,
            plan=[
                {"text": "Jeg vil møde op i skole", "department": "skole"},
                {"text": "Jeg vil besøge to uddannelser", "department": "uu"},
            ],
            next_meeting_at=follow_up_at.isoformat(),
            progression="guidance_ready",
        )
        second_met = i < 2 or (varied and i % 2 == 0)
        level = "activity_ready" if i < 3 else "contact_ready"
        if varied:
            level = ("education_job_ready", "activity_ready", "guidance_ready")[i % 3]
        case.at(follow_up_at + timedelta(hours=2)).step(
            "hold_follow_up",
            CLOSER,
            reviews=[
                {"goal": 1, "status": "met"},
                {"goal": 2, "status": "met" if second_met else "not_met"},
            ],
            plan=[{"text": "Jeg vil fortsætte i skolen", "department": "skole"}],
            next_meeting_at=(follow_up_at + timedelta(weeks=6)).isoformat(),
            progression=level,
        )
        if i < 3 or (varied and i % 3 != 2):
            outcome = "employment" if i == 2 or (varied and i % 2) else "education"
            case.at(follow_up_at + timedelta(days=1)).step(
                "start_handover", CLOSER, networks=[{"name": "Klubben", "kind": "leisure"}]
            )
            case.at(follow_up_at + timedelta(days=2)).step("close_case", CLOSER, outcome=outcome)
    # Case 5: referred on 6 April, its decision deadline falls due on the way, withdrawn.
    t0 = date(2026, 4, 6)
    late = Player(rt, clock, "testby", 5).at(local(t0)).refer()
    clock.now = local(t0 + timedelta(days=9))
    rt.service.fire_due_timers(clock.now)
    late.accept()
    first_at = local(t0 + timedelta(days=17))
    late.at(local(t0 + timedelta(days=10))).step(
        "hold_pre_meeting",
        team=TEAM,
        coordinator="tovholder-lise",
        agenda=["uddannelse"],
        first_meeting_at=first_at.isoformat(),
        progression="contact_ready",
    )
    late.at(first_at + timedelta(hours=2)).step(
        "hold_first_meeting",
        CLOSER,
        plan=[{"text": "Jeg vil møde op", "department": "skole"}],
        next_meeting_at=local(t0 + timedelta(weeks=7, days=1)).isoformat(),
        progression="guidance_ready",
    )
    late.at(local(t0 + timedelta(days=20))).step("withdraw")
    # Case 6: referred on 13 April and left waiting; its deadline falls due on 20 April.
    Player(rt, clock, "testby", 6).at(local(date(2026, 4, 13))).refer()
    clock.now = local(date(2026, 4, 21), 10)
    rt.service.fire_due_timers(clock.now)


def play_smaaby(rt: Runtime, clock: Clock) -> None:
    for i in range(2):
        t0 = date(2026, 5, 4) + timedelta(weeks=i)
        Player(rt, clock, "smaaby", 10 + i, "cw-smaaby").at(local(t0)).refer().at(
            local(t0 + timedelta(days=1))
        ).accept()


def figure_rows(rt: Runtime) -> tuple[list[tuple[Any, ...]], ...]:
    with rt.sessions() as session:
        cases = session.scalars(select(CaseFigures).order_by(CaseFigures.case_id)).all()
        meetings = session.scalars(select(MeetingFigures).order_by(MeetingFigures.id)).all()
        deadlines = session.scalars(select(DeadlineFigures).order_by(DeadlineFigures.id)).all()
        skip = {"id"}
        return tuple(
            [
                tuple(getattr(row, c.key) for c in type(row).__table__.columns if c.key not in skip)
                for row in rows
            ]
            for rows in (cases, meetings, deadlines)
        )


def test_every_figure_equals_the_hand_computed_value(rt: Runtime, clock: Clock) -> None:
    play_testby(rt, clock)
    play_smaaby(rt, clock)
    clock.now = local(date(2026, 12, 1))
    with rt.sessions() as session:
        counted = count_figures(session, Window.of_year(2026), None)
    testby = counted["990"]
    assert testby.open_by_stage == {"follow_up": 2, "referred": 1}
    assert testby.referred_by_month == [0, 0, 5, 2, 0, 0, 0, 0, 0, 0, 0, 0]
    # Case 0 closed 30 April, case 5 withdrawn 26 April; cases 1-2 closed 7 and 14 May.
    assert testby.ended_by_month == [0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0]
    assert testby.open_at_start == 0
    assert testby.days_to_pre_meeting == {3: 5, 10: 1}
    assert (testby.late_to_pre_meeting, testby.people_to_pre_meeting) == (1, 6)
    assert testby.days_to_first_meeting == {8: 5, 17: 1}
    assert (testby.late_to_first_meeting, testby.people_to_first_meeting) == (1, 6)
    assert (testby.waiting_for_pre_meeting, testby.waiting_for_first_meeting) == (1, 1)
    # Meeting 2 (the follow-up) reviewed the 2 goals of 5 young people: 2+2+1+1+1 met.
    assert testby.goals_by_meeting == {2: (10, 7, 5)}
    assert testby.movement == {(1, 3): 3, (1, 1): 2, (1, 2): 1}
    assert testby.endings == {
        ("closed", "education"): 2,
        ("closed", "employment"): 1,
        ("withdrawn", None): 1,
    }
    assert testby.deadlines == {"referral_decision_due": (2, 2)}
    assert testby.overdue_now == {"referral_decision_due": 1}
    smaaby = counted["991"]
    assert smaaby.open_by_stage == {"pre_meeting": 2}
    assert smaaby.referred_by_month[4] == 2

    # As the leader sees them: hidden where fewer than five young people make a cell.
    report = OutcomeService(rt.uow).municipality(Actor("leader", "leder-testby"), "990", 2026)
    assert report.years == [2026]
    assert {k: (c.shown, c.hidden) for k, c in report.open_by_stage.items()} == {
        "follow_up": (None, True),
        "referred": (None, True),
    }
    assert report.open_total.hidden
    assert (report.pre_meeting.median.shown, report.pre_meeting.p90.shown) == (3.0, 10.0)
    assert report.pre_meeting.within_deadlines.shown == pytest.approx(5 / 6)
    assert report.pre_meeting.waiting.hidden  # one young person
    assert (report.first_meeting.median.shown, report.first_meeting.p90.shown) == (8.0, 17.0)
    assert report.goals_met[2].shown == pytest.approx(0.7)
    progression = report.progression
    assert (progression.up.hidden, progression.same.hidden) == (True, True)  # 4 and 2
    assert (progression.down.shown, progression.total.shown) == (0, 6)
    assert all(c.hidden for c in report.endings.values())
    assert report.endings_total.hidden  # 4 young people
    # March: 5 referred (shown); April: 2 (hidden) — and with one month hidden the
    # smallest other month that counts anyone is hidden too (else: total minus the rest).
    march, april = report.months[2], report.months[3]
    assert (march[1].hidden, april[1].hidden) == (True, True)
    assert report.referred_total.shown == 7
    assert [m[3].value for m in report.months] == [0, 0, 5, 5, 3, 3, 3, 3, 3, 3, 3, 3]

    # The figures the steps kept are the figures the history gives (the migration's way).
    kept = figure_rows(rt)
    with rt.engine.begin() as connection:
        assert rebuild_figures(connection) == 9
    assert figure_rows(rt) == kept


def test_only_leaders_see_a_municipality_and_every_read_is_audited(
    rt: Runtime, clock: Clock
) -> None:
    play_smaaby(rt, clock)
    service = OutcomeService(rt.uow)
    with pytest.raises(NotAllowedError, match="leaders"):
        service.municipality(Actor("leader", "leder-smaaby"), "990", 2026)
    with pytest.raises(NotAllowedError, match="leaders"):
        service.municipality(Actor("caseworker", "cw-mette"), "990", 2026)
    with pytest.raises(NotAllowedError, match="analysts"):
        service.national(Actor("caseworker", "cw-mette"), 2026)
    with pytest.raises(NotAllowedError):  # a national analyst has no municipality's page
        service.municipality(Actor("analyst", "analytiker-kl"), "991", 2026)
    national = service.national(Actor("analyst", "analytiker-kl"), 2026)
    assert national.rows["991"]["referred"].hidden  # two young people
    assert national.total["referred"].hidden  # the country's two, too
    service.municipality(Actor("leader", "leder-smaaby"), "991", 2026)
    with rt.sessions() as session:
        entries = session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.object_id)
            .where(AuditEntry.object_type == AuditObject.OUTCOMES)
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(e) for e in entries] == [
        ("leader:leder-smaaby", "refused", "990"),
        ("caseworker:cw-mette", "refused", "990"),
        ("caseworker:cw-mette", "refused", "*"),
        ("analyst:analytiker-kl", "refused", "991"),
        ("analyst:analytiker-kl", "read", "*"),
        ("leader:leder-smaaby", "read", "991"),
    ]


def test_workflow_report_gives_the_same_figures_as_csv_and_json(rt: Runtime, clock: Clock) -> None:
    from typer.testing import CliRunner

    from workflow.cli.main import app

    play_testby(rt, clock)
    clock.now = local(date(2026, 12, 1))
    runner = CliRunner()
    leader = ["--actor", "leader:leder-testby"]
    done = runner.invoke(app, ["report", "--municipality", "990", "--format", "json", *leader])
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    tables = {t["code"]: t for t in document["tables"]}
    assert tables["pre_meeting"]["figures"] == {
        "median_days": 3,
        "p90_days": 10,
        "within_deadlines": pytest.approx(5 / 6),
        "waiting": "hidden",
    }
    assert tables["goals"]["figures"] == {"2": pytest.approx(0.7)}
    assert tables["progression"]["figures"]["total"] == 6
    done = runner.invoke(app, ["report", "--municipality", "990", *leader])
    assert done.exit_code == 0, done.output
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["section", "code", "label", "value", "hidden"]
    assert ["first_meeting", "median_days", "Median (dage)", "8", "False"] in rows
    assert ["endings", "total", "I alt", "", "True"] in rows
    # A caseworker is refused in one line, and nothing is printed of the figures.
    done = runner.invoke(app, ["report", "--municipality", "990", "--actor", "caseworker:cw-mette"])
    assert done.exit_code == 1
    assert done.stdout == ""
    assert "for its leaders" in done.stderr


def test_the_national_counts_are_kept_a_while_and_every_read_is_still_checked(
    rt: Runtime, clock: Clock
) -> None:
    play_smaaby(rt, clock)
    service = OutcomeService(rt.uow, national_ttl=300)
    analyst = Actor("analyst", "analytiker-kl")
    first = service.national(analyst, 2026)
    assert first.total["referred"].people == 2
    Player(rt, clock, "smaaby", 20, "cw-smaaby").at(local(date(2026, 6, 1))).refer()
    kept = service.national(analyst, 2026)  # within the five minutes: the same counts
    assert (kept.total["referred"].people, kept.counted_at) == (2, first.counted_at)
    assert OutcomeService(rt.uow).national(analyst, 2026).total["referred"].people == 3
    with pytest.raises(NotAllowedError):  # who may see them is checked on every read
        service.national(Actor("caseworker", "cw-mette"), 2026)
