"""A pause of a course and the tasks of the stage it paused, on both stores.

The tasks wait through the pause (no reminders, not overdue), go on after it with their
due dates moved on by its length, end with the course, and the last confirmation given
in a pause is told at once. Before, a pause closed them and the resumption did not bring
them back; on PostgreSQL the resumption's read ran inside the step's pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tests.integration.conftest import Clock
from tests.support.pages import log_in, page_client
from workflow.cases.model import YoungPersonDetails
from workflow.cli.main import app as cli
from workflow.engine.model import Actor
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime
from workflow.store.tables import Case, CaseTask, HistoryEvent, Meeting, OutboxRow
from workflow.web.app import create_app

PASSWORD = "correct horse battery"
CASEWORKER = Actor("caseworker", "cw-mette")


@pytest.fixture
def staffed(runtime: Runtime) -> Runtime:
    """The store (SQLite and PostgreSQL) with Sorø's caseworker, coordinator and a teacher."""
    for username, name, person, role in (
        ("mette", "Mette Sagsbehandler", "cw-mette", "caseworker"),
        ("lise", "Lise Tovholder", "tovholder-lise", "coordinator"),
        ("anna", "Anna Lærer", "laerer-anna", "team_member"),
    ):
        runtime.accounts.create(
            username,
            PASSWORD,
            display_name=name,
            person_id=person,
            roles=[role],
            municipality_code="340",
        )
    return runtime


@pytest.fixture
def client(staffed: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(staffed), base_url="https://testserver") as test_client:
        yield test_client


@pytest.fixture
def reference(staffed: Runtime) -> str:
    """A Sorø case with Anna (school) on the team, its first meeting on 17 March."""
    ref = staffed.service.refer(
        "soroe",
        YoungPersonDetails("Freja Testesen", "0101104321", date(2010, 1, 1)),
        CASEWORKER,
        {"source": "school", "caseworker": "cw-mette"},
    ).reference
    staffed.service.trigger(
        ref, "accept_referral", {"young_person_agrees": True, "consent": True}, CASEWORKER
    )
    staffed.consents.give(ref, CASEWORKER, ConsentRequest(["skole"], ["education"], guardian=True))
    staffed.service.trigger(
        ref,
        "hold_pre_meeting",
        {
            "team": [{"department": "skole", "person": "laerer-anna"}],
            "coordinator": "tovholder-lise",
            "agenda": ["uddannelse"],
            "first_meeting_at": "2026-03-17T09:00",
            "meeting_room": "raadhuset_storskaerm",
        },
        CASEWORKER,
    )
    return ref


def login(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _confirmation(staffed: Runtime) -> CaseTask:
    with staffed.sessions() as session:
        task = session.scalars(
            select(CaseTask).where(CaseTask.key == "confirm_participation")
        ).one()
        session.expunge(task)
        return task


def test_a_pause_holds_the_stages_tasks_and_they_go_on_when_it_ends(
    client: TestClient, staffed: Runtime, reference: str, clock: Clock
) -> None:
    """A pause closed the open tasks of the stage it left ("Bekræft deltagelse"), and the
    resumption did not bring them back: the department was never asked again. A pause
    holds them now, as it holds the stage's deadlines: no reminder and not overdue while
    it lasts, then due later by the pause's length."""
    given = _confirmation(staffed)
    assert given.due_at is not None
    assert given.due_at.astimezone(UTC) == datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
    clock.now = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    staffed.service.trigger(reference, "pause", {"pause_reason": "treatment"}, CASEWORKER)
    held = _confirmation(staffed)
    assert (held.state, held.next_reminder_at) == ("open", None)
    assert held.held_since is not None

    clock.now = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # past its due day, still paused
    anna = login(client, "anna")
    [listed] = client.get("/api/v1/tasks", headers=anna).json()["tasks"]
    assert (listed["held"], listed["overdue"]) == (True, False)
    said = CliRunner().invoke(cli, ["task", "list", "--actor", "team_member:laerer-anna"])
    assert "WAITING (course paused) due 2026-03-05 09:00" in said.output  # Danish time
    assert "OVERDUE" not in said.output
    with page_client(staffed) as pages:
        log_in(pages, "mette", PASSWORD)
        page = pages.get(f"/cases/{reference}").text
    assert 'data-testid="task-held"' in page
    assert "Overskredet" not in page.split('data-testid="case-tasks"', 1)[1]

    clock.now = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)  # a week's pause
    staffed.service.trigger(reference, "resume", {}, CASEWORKER)
    going = _confirmation(staffed)
    assert going.state == "open"
    assert going.held_since is None
    assert going.due_at is not None
    assert going.due_at.astimezone(UTC) == datetime(2026, 3, 12, 8, 0, tzinfo=UTC)
    assert going.next_reminder_at is not None
    assert going.next_reminder_at.astimezone(UTC) == datetime(2026, 3, 12, 8, 0, tzinfo=UTC)
    assert [r["at"] for r in going.reminders] == ["2026-03-12T09:00:00+01:00"]
    [listed] = client.get("/api/v1/tasks", headers=anna).json()["tasks"]
    assert (listed["held"], listed["overdue"]) == (False, False)


def test_a_task_held_by_a_pause_is_not_due_after_the_meeting_and_ends_with_the_course(
    staffed: Runtime, reference: str, clock: Clock
) -> None:
    """Due at the latest when the meeting begins: a long pause does not carry a
    confirmation past the meeting still booked. A course ended in its pause ends it."""
    clock.now = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    staffed.service.trigger(reference, "pause", {"pause_reason": "treatment"}, CASEWORKER)
    clock.now = datetime(2026, 3, 13, 8, 0, tzinfo=UTC)  # ten days: due 15 March, a Sunday
    staffed.service.trigger(reference, "resume", {}, CASEWORKER)
    going = _confirmation(staffed)
    assert going.due_at is not None
    # On Monday 16 March as the office opens (08:00), before the meeting (17 March 09:00).
    assert going.due_at.astimezone(UTC) == datetime(2026, 3, 16, 7, 0, tzinfo=UTC)
    clock.now = datetime(2026, 3, 14, 8, 0, tzinfo=UTC)
    staffed.service.trigger(reference, "pause", {"pause_reason": "treatment"}, CASEWORKER)
    clock.now = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)  # two days: due 18 March
    staffed.service.trigger(reference, "resume", {}, CASEWORKER)
    going = _confirmation(staffed)
    assert going.due_at is not None
    assert going.due_at.astimezone(UTC) == datetime(2026, 3, 17, 8, 0, tzinfo=UTC)  # the meeting
    # Its reminder (at the due time) would be at the meeting's start: too late to act on,
    # dropped as when a task is given.
    assert going.next_reminder_at is None
    staffed.service.trigger(
        reference, "pause", {"pause_reason": "other", "pause_other": "Flytning"}, CASEWORKER
    )
    staffed.service.trigger(reference, "withdraw", {}, CASEWORKER)
    ended = _confirmation(staffed)
    assert (ended.state, ended.closed_by, ended.held_since) == ("cancelled", "system", None)


def test_the_last_confirmation_given_in_a_pause_is_told_at_once(
    staffed: Runtime, reference: str
) -> None:
    """The confirmations wait through a pause, so a department may give its own in it:
    the event the last one raises ("every department has confirmed") was refused in the
    pause and lost, and the coordinator never heard."""
    staffed.service.trigger(reference, "pause", {"pause_reason": "treatment"}, CASEWORKER)
    staffed.tasks.complete(_confirmation(staffed).id, Actor("team_member", "laerer-anna"))
    with staffed.sessions() as session:
        stored = session.scalars(select(Case).where(Case.reference == reference)).one()
        events = session.scalars(
            select(HistoryEvent.event).where(HistoryEvent.case_id == stored.id)
        ).all()
        told = session.scalars(
            select(OutboxRow.template).where(OutboxRow.case_id == stored.id)
        ).all()
    assert stored.stage == "paused"
    assert events[-1] == "team_confirmed"
    assert "team_confirmed" in told


def test_a_long_pause_keeps_the_wall_clock_and_the_meeting_it_was_for(
    staffed: Runtime, reference: str, clock: Clock
) -> None:
    """Across the change to summer time a due 09:00 stayed 09:00 in UTC (10:00 on the
    wall); and a meeting whose time went by in the pause, not moved, did not hold the
    confirmation for it (it became due a week after the meeting)."""
    coordinator = Actor("coordinator", "tovholder-lise")
    clock.now = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # 09:00 in winter
    staffed.service.trigger(reference, "pause", {"pause_reason": "treatment"}, CASEWORKER)
    staffed.service.trigger(
        reference, "move_meeting", {"moved_to": "2026-04-28T09:00"}, coordinator
    )
    clock.now = datetime(2026, 4, 7, 7, 0, tzinfo=UTC)  # 09:00 in summer: 35 days on the wall
    staffed.service.trigger(reference, "resume", {}, CASEWORKER)
    going = _confirmation(staffed)
    assert going.due_at is not None
    assert going.due_at.astimezone(UTC) == datetime(2026, 4, 9, 7, 0, tzinfo=UTC)  # 09:00 CEST
    # A meeting whose time fell in a pause was not held (none is): the resumption cancels
    # it, tells everyone invited (the calendar's cancellation with its mails), and ends
    # the confirmations asked for it; the case waits for a new booking. After the pause
    # it was offered as one to record as held, its confirmations overdue at once.
    clock.now = datetime(2026, 4, 8, 7, 0, tzinfo=UTC)
    staffed.service.trigger(reference, "pause", {"pause_reason": "treatment"}, CASEWORKER)
    clock.now = datetime(2026, 5, 4, 7, 0, tzinfo=UTC)
    resumed = staffed.service.trigger(reference, "resume", {}, CASEWORKER)
    assert resumed.to_stage == "awaiting_first_meeting"
    late = _confirmation(staffed)
    assert (late.state, late.closed_by) == ("cancelled", "system:step")
    with staffed.sessions() as session:
        stored = session.scalars(select(Case).where(Case.reference == reference)).one()
        meeting = session.scalars(select(Meeting).where(Meeting.case_id == stored.id)).one()
        told = session.scalars(
            select(OutboxRow).where(
                OutboxRow.case_id == stored.id, OutboxRow.template == "my_course_resumed"
            )
        ).all()
    assert (meeting.state, meeting.sequence) == ("cancelled", 2)
    carried = [row.payload["meeting"] for row in told if row.payload.get("meeting")]
    assert carried  # the last resumption's mail to her carries the cancellation
    assert {m["state"] for m in carried} == {"cancelled"}
    assert (
        "book_first_meeting"
        in [s.id for s in staffed.service.read(reference, CASEWORKER).next_steps]
        if hasattr(staffed.service, "read")
        else True
    )


def test_the_tasks_of_an_18th_birthday_in_a_pause_outlive_it(
    staffed: Runtime, clock: Clock
) -> None:
    """Given in the pause they were tasks of the pause's stage, and its end cancelled
    them: "Forbered støtten efter 18 år" was lost for a birthday that fell in a pause
    (and with any later stage change). They are the course's now."""
    ref = staffed.service.refer(
        "soroe",
        YoungPersonDetails("Freja Testesen", "1003084321", date(2008, 3, 10)),
        CASEWORKER,
        {"source": "school", "caseworker": "cw-mette"},
    ).reference
    # Adult services covered: the preparation is theirs (else the caseworker asks first).
    consent = ConsentRequest(["social"], ["education"], guardian=True)
    staffed.consents.give(ref, CASEWORKER, consent)
    staffed.service.trigger(ref, "pause", {"pause_reason": "treatment"}, CASEWORKER)
    clock.now = datetime(2026, 3, 11, 8, 0, tzinfo=UTC)  # the 18th birthday was yesterday
    staffed.service.fire_due_timers(clock.now)
    staffed.service.trigger(ref, "resume", {}, CASEWORKER)
    with staffed.sessions() as session:
        stored = session.scalars(select(Case).where(Case.reference == ref)).one()
        tasks = session.execute(
            select(CaseTask.title, CaseTask.state).where(CaseTask.case_id == stored.id)
        ).all()
    assert ("Forbered støtten efter 18 år sammen med den unge", "open") in tasks
    assert ("Hold overgangsmøde med den unge og voksenområdet", "open") in tasks


def test_a_withdrawn_departments_tasks_end_and_none_are_given_to_it(
    staffed: Runtime, reference: str, clock: Clock
) -> None:
    """The school's consent withdrawn, its confirmation stayed open (Anna could not see
    it), went overdue and was escalated to the coordinator; the first meeting held then
    gave her a task of the plan. Both end now, said why."""
    staffed.consents.withdraw(reference, CASEWORKER, ["skole"])
    closed = _confirmation(staffed)
    assert (closed.state, closed.closed_by, closed.next_reminder_at) == (
        "cancelled",
        "system:consent",
        None,
    )
    clock.now = datetime(2026, 3, 17, 10, 0, tzinfo=UTC)  # the meeting has begun
    staffed.service.trigger(
        reference,
        "hold_first_meeting",
        {
            "plan": [
                # No goal given to the school: no consent covers it now (refused).
                {"text": "Jeg vil møde op i skolen hver dag", "theme": "uddannelse"}
            ],
            "next_meeting_at": "2026-04-14T09:00",
        },
        Actor("coordinator", "tovholder-lise"),
    )
    with staffed.sessions() as session:
        given = session.execute(
            select(CaseTask.assignee_id, CaseTask.state, CaseTask.closed_by).where(
                CaseTask.key != "confirm_participation"
            )
        ).all()
    assert any(row[0] == "skole" for row in given)  # the plan's task for the school
    assert {row for row in given if row[0] == "skole"} <= {("skole", "cancelled", "system:consent")}
