"""The workflow patterns of the work in a case, through the real store (SQLite, PostgreSQL).

- multiple instances with a join: one task per chosen team member, and the case waits
  until all are done (``when_done: {need: all}`` raises the event that moves it on);
- parallel split and synchronisation: every department on the team confirms, reminders
  go only to those that have not, and the coordinator hears when all have;
- cancelling: when the young person withdraws, every open task and its reminders end.
"""

from __future__ import annotations

import email
import email.policy
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import select

from tests.integration.conftest import Clock, settings_for
from tests.integration.scripted import PERSON
from tests.support.case_api import ACCEPT, CASEWORKER, COORDINATOR, PRE_MEETING, REFERRAL_INPUTS
from tests.support.services import SmtpSink
from workflow.cases.model import RejectedError, YoungPersonDetails
from workflow.engine.model import Actor
from workflow.engine.steps import next_steps, open_meeting_kinds
from workflow.errors import InvalidRequestError, NotAllowedError
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime, build_runtime, use_runtime
from workflow.store.states import OutboxState, TaskState
from workflow.store.tables import Case, CaseTask, HistoryEvent, Meeting, OutboxRow

ANNA = Actor("team_member", "laerer-anna")
SARA = Actor("team_member", "vejleder-sara")

#: A definition that gives each chosen team member a task when the plan is agreed, and
#: moves to the handover only when every one of them is done.
PATTERNS = """
id: patterns
extends: base
version: 1
title: Mønstre
municipality: {name: Testkøbing Kommune, code: "999", case_prefix: TST}
remove: {departments: [jobcenter, born_familie, sundhed, ssp, psykiatri]}
roles:
  - {id: coordinator, name: Koordinator, channels: [{kind: email, address: k@tst.example}]}
  - {id: caseworker, name: Sagsbehandler, channels: [{kind: email, address: s@tst.example}]}
  - {id: leader, name: Leder, channels: [{kind: email, address: l@tst.example}]}
departments:
  - {id: skole, name: Skole, channels: [{kind: email, address: skole@testkobing.example}]}
  - {id: uu, name: UU, channels: [{kind: email, address: uu@testkobing.example}]}
  - {id: social, name: Voksen, channels: [{kind: email, address: voksen@testkobing.example}]}
transitions:
  - id: share_the_work
    name: Fordel opgaverne
    from: follow_up
    roles: [coordinator]
    effects:
      - create_task:
          id: member_task
          for_each: team
          title: Gør din del af planen
          due: 5 business_days
          when_done: {need: all, raises: all_members_done}
  - id: all_members_done
    name: Alle er færdige
    from: follow_up
    to: handover
    roles: [coordinator]
  # A transition meeting booked beside the next follow-up meeting, its preparation due
  # at the latest when it begins.
  - id: book_transition_meeting
    name: Book overgangsmøde
    from: follow_up
    roles: [coordinator]
    inputs:
      - {name: transition_meeting_at, type: meeting, kind: transition_meeting, label: Tidspunkt}
    effects:
      - create_task:
          id: prepare_transition
          for: {roles: [caseworker]}
          title: Forbered overgangsmødet
          due: 30 business_days
          at_latest: meeting
  - id: hold_transition_meeting
    name: Overgangsmøde holdt
    from: follow_up
    roles: [coordinator]
    meeting: {action: hold, kind: transition_meeting}
"""


@pytest.fixture
def patterns(store_url: str, smtp: SmtpSink, clock: Clock, tmp_path: Path) -> Iterator[Runtime]:
    definitions = tmp_path / "definitions"
    definitions.mkdir()
    shutil.copy("definitions/base.yaml", definitions / "base.yaml")
    (definitions / "patterns.yaml").write_text(PATTERNS, encoding="utf-8")
    settings = settings_for(store_url, smtp, tmp_path / "var").model_copy(
        update={"definitions_dir": definitions}
    )
    rt = build_runtime(settings, clock=clock)
    use_runtime(rt)
    yield rt
    use_runtime(None)
    rt.engine.dispose()


#: The base's pre-meeting (no meeting room: the base has none).
BASE_PRE_MEETING = {k: v for k, v in PRE_MEETING.items() if k != "meeting_room"} | {
    "first_meeting_at": "2026-03-17T09:00:00"  # still to come (the tests' clock: 2 March)
}


def _at_pre_meeting(runtime: Runtime, definition: str, person: YoungPersonDetails = PERSON) -> str:
    inputs = REFERRAL_INPUTS | {"age": 16}
    reference = runtime.service.refer(definition, person, CASEWORKER, inputs).reference
    runtime.service.trigger(reference, "accept_referral", ACCEPT, CASEWORKER)
    runtime.consents.give(
        reference, CASEWORKER, ConsentRequest(["skole", "uu"], ["education"], guardian=True)
    )
    return reference


def _in_follow_up(runtime: Runtime, clock: Clock, next_meeting_at: str) -> str:
    """A case of ``patterns`` whose first meeting (17 March) was held, the next booked."""
    reference = _at_pre_meeting(runtime, "patterns")
    runtime.service.trigger(reference, "hold_pre_meeting", BASE_PRE_MEETING, CASEWORKER)
    clock.now = clock.now.replace(month=3, day=17, hour=8) + timedelta(hours=1)
    first = {
        "plan": [{"text": "Jeg skal i skole", "theme": "uddannelse"}],
        "next_meeting_at": next_meeting_at,
    }
    runtime.service.trigger(reference, "hold_first_meeting", first, COORDINATOR)
    return reference


def _tasks(runtime: Runtime, reference: str, key: str) -> list[CaseTask]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(CaseTask)
                .join(Case, Case.id == CaseTask.case_id)
                .where(Case.reference == reference, CaseTask.key == key)
                .order_by(CaseTask.id)
            )
        )


def _events(runtime: Runtime, reference: str) -> list[str]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(HistoryEvent.event)
                .join(Case, Case.id == HistoryEvent.case_id)
                .where(Case.reference == reference)
                .order_by(HistoryEvent.seq)
            )
        )


def test_one_task_per_team_member_and_the_case_waits_for_all(
    patterns: Runtime, clock: Clock
) -> None:
    runtime = patterns
    reference = _in_follow_up(runtime, clock, "2026-04-28T09:00:00")
    runtime.service.trigger(reference, "share_the_work", {}, COORDINATOR)
    tasks = _tasks(runtime, reference, "member_task")
    assert sorted(t.person or "" for t in tasks) == ["laerer-anna", "vejleder-sara"]

    by_person = {t.person: t.id for t in tasks}
    runtime.tasks.complete(by_person["laerer-anna"], ANNA, "Talt med skolen")
    with runtime.sessions() as session:
        assert session.scalar(select(Case.stage).where(Case.reference == reference)) == (
            "follow_up"  # one of two done: the case still waits
        )
    runtime.tasks.complete(by_person["vejleder-sara"], SARA)
    with runtime.sessions() as session:
        assert session.scalar(select(Case.stage).where(Case.reference == reference)) == "handover"
    assert _events(runtime, reference)[-1] == "all_members_done"
    done = _tasks(runtime, reference, "member_task")
    assert {(t.state, t.closed_by) for t in done} == {
        (TaskState.DONE, "laerer-anna"),
        (TaskState.DONE, "vejleder-sara"),
    }


def test_every_department_confirms_and_only_those_that_have_not_are_reminded(
    patterns: Runtime, clock: Clock
) -> None:
    runtime = patterns
    reference = _at_pre_meeting(runtime, "patterns")
    runtime.service.trigger(reference, "hold_pre_meeting", BASE_PRE_MEETING, CASEWORKER)
    confirmations = _tasks(runtime, reference, "confirm_participation")
    assert sorted(t.assignee_id for t in confirmations) == ["skole", "uu"]
    skole = next(t for t in confirmations if t.assignee_id == "skole")
    uu = next(t for t in confirmations if t.assignee_id == "uu")

    runtime.tasks.complete(skole.id, ANNA)  # a team member for the department confirms
    with pytest.raises(NotAllowedError):  # the school's teacher cannot confirm for UU
        runtime.tasks.complete(uu.id, ANNA)
    with pytest.raises(InvalidRequestError) as twice:
        runtime.tasks.complete(skole.id, ANNA)
    assert "already done" in str(twice.value)

    clock.advance(days=5)  # past the due time (3 business days)
    assert runtime.tasks.send_due_reminders(clock.now) == 1
    with runtime.sessions() as session:
        reminders = session.scalars(
            select(OutboxRow).where(OutboxRow.template == "task_reminder")
        ).all()
    assert [r.recipient["id"] for r in reminders] == ["uu"]  # not the school: it confirmed
    assert runtime.tasks.send_due_reminders(clock.now) == 0  # sent once

    runtime.tasks.complete(uu.id, SARA)
    assert "team_confirmed" in _events(runtime, reference)
    with runtime.sessions() as session:
        told = session.scalars(
            select(OutboxRow.recipient).where(OutboxRow.template == "team_confirmed")
        ).all()
    assert [r["id"] for r in told] == ["coordinator"]


def test_withdrawing_cancels_every_open_task_and_its_reminders(
    patterns: Runtime, clock: Clock
) -> None:
    runtime = patterns
    reference = _at_pre_meeting(runtime, "patterns")
    runtime.service.trigger(reference, "hold_pre_meeting", BASE_PRE_MEETING, CASEWORKER)
    clock.now = clock.now.replace(month=3, day=17, hour=9)
    first = {
        "plan": [{"text": "Jeg skal i skole", "theme": "uddannelse"}],
        "next_meeting_at": "2026-04-28T09:00:00",
    }
    runtime.service.trigger(reference, "hold_first_meeting", first, COORDINATOR)
    with runtime.sessions() as session:
        stored = session.scalar(select(Case).where(Case.reference == reference))
        assert stored is not None
        before = session.scalars(
            select(CaseTask).where(CaseTask.case_id == stored.id, CaseTask.state == "open")
        ).all()
    assert before
    assert any(t.next_reminder_at is not None for t in before)

    runtime.service.trigger(reference, "withdraw", {}, CASEWORKER)
    with runtime.sessions() as session:
        after = session.scalars(select(CaseTask).where(CaseTask.case_id == stored.id)).all()
    assert {t.state for t in after} == {TaskState.CANCELLED}
    assert all(t.next_reminder_at is None and t.closed_by == "system" for t in after)
    clock.advance(days=60)
    assert runtime.tasks.send_due_reminders(clock.now) == 0
    with runtime.sessions() as session:
        pending = session.scalars(
            select(OutboxRow).where(
                OutboxRow.template.in_(("task_reminder", "task_overdue")),
                OutboxRow.state == OutboxState.PENDING,
            )
        ).all()
    assert pending == []


def test_a_meeting_booked_moved_twice_and_cancelled_gives_four_mails_in_order(
    patterns: Runtime, clock: Clock, smtp: SmtpSink
) -> None:
    runtime = patterns
    reference = _at_pre_meeting(runtime, "patterns")
    runtime.service.trigger(reference, "hold_pre_meeting", BASE_PRE_MEETING, CASEWORKER)
    for moved_to in ("2026-03-19T10:00:00", "2026-03-24T13:30:00"):
        runtime.service.trigger(reference, "move_meeting", {"moved_to": moved_to}, COORDINATOR)
    runtime.service.trigger(reference, "cancel_meeting", {}, COORDINATOR)
    runtime.deliverer.drain(clock.now)

    to_school = [
        email.message_from_bytes(raw, policy=email.policy.default)
        for rcpt, raw in smtp.received
        if rcpt == ["skole@testkobing.example"]
    ]
    calendars = [_calendar_of(mail) for mail in to_school]
    assert [c is not None for c in calendars] == [True] * 4
    parsed = [Calendar.from_ical(c[1]) for c in calendars if c]
    events = [next(iter(cal.walk("VEVENT"))) for cal in parsed]
    assert [str(cal["METHOD"]) for cal in parsed] == ["REQUEST", "REQUEST", "REQUEST", "CANCEL"]
    assert [int(e["SEQUENCE"]) for e in events] == [0, 1, 2, 3]
    assert {str(e["UID"]) for e in events} == {f"{reference}-m1@kui.workflow"}
    assert [e.decoded("DTSTART").strftime("%m-%d %H:%M") for e in events] == [
        "03-17 09:00",
        "03-19 10:00",
        "03-24 13:30",
        "03-24 13:30",
    ]
    for event in events:
        assert event["DTSTART"].params["TZID"] == "Europe/Copenhagen"
        assert str(event["ORGANIZER"]) == "mailto:k@tst.example"  # the coordinators' address
        attendees = {str(a) for a in event["ATTENDEE"]}
        assert {"mailto:skole@testkobing.example", "mailto:uu@testkobing.example"} <= attendees
        assert "Første samarbejdsmøde" in str(event["SUMMARY"])
        minutes = (event.decoded("DTEND") - event.decoded("DTSTART")).total_seconds() / 60
        assert minutes == 90  # the kind's length
    assert str(events[-1]["STATUS"]) == "CANCELLED"
    methods = [c[0] for c in calendars if c]
    assert methods == ["REQUEST", "REQUEST", "REQUEST", "CANCEL"]
    # The coordinator organises the meeting: told of the booking, each move and the cancel.
    to_coordinator = [
        _calendar_of(_parsed(raw)) for rcpt, raw in smtp.received if rcpt == ["k@tst.example"]
    ]
    assert [c[0] for c in to_coordinator if c] == ["REQUEST", "REQUEST", "REQUEST", "CANCEL"]
    for mail in to_school:
        text = mail.get_body(("plain",))
        assert text is not None
        assert text.get_content_charset() == "utf-8"


def test_a_cancelled_first_meeting_is_booked_again_and_everyone_invited(
    patterns: Runtime, clock: Clock, smtp: SmtpSink
) -> None:
    runtime = patterns
    reference = _at_pre_meeting(runtime, "patterns")
    runtime.service.trigger(reference, "hold_pre_meeting", BASE_PRE_MEETING, CASEWORKER)

    def confirmations() -> list[tuple[str, str]]:
        return [
            (t.assignee_id, t.state) for t in _tasks(runtime, reference, "confirm_participation")
        ]

    assert confirmations() == [("skole", "open"), ("uu", "open")]
    runtime.service.trigger(reference, "cancel_meeting", {}, COORDINATOR)
    # The confirmations were for the meeting cancelled: they end with it (closed by the
    # step, which the case page says: not "as the case moved on").
    assert confirmations() == [("skole", "cancelled"), ("uu", "cancelled")]
    ended = _tasks(runtime, reference, "confirm_participation")
    assert {t.closed_by for t in ended} == {"system:step"}
    definition = runtime.catalog.by_id("patterns")
    view = runtime.service.view(reference, COORDINATOR)
    offered = {
        t.id
        for t in next_steps(
            definition, view.stage, ["coordinator"], open_meeting_kinds(view.meetings)
        )
    }
    assert "book_first_meeting" in offered  # what is left to do: a new time
    assert not offered & {"move_meeting", "cancel_meeting"}
    again = {"first_meeting_at": "2026-03-19T10:00:00"}
    runtime.service.trigger(reference, "book_first_meeting", again, COORDINATOR)
    view = runtime.service.view(reference, COORDINATOR)
    assert [(m["key"], m["state"]) for m in view.meetings] == [(1, "cancelled"), (2, "booked")]
    # Booked again, every department is asked anew to confirm it comes with a mandate.
    assert confirmations() == [
        ("skole", "cancelled"),
        ("uu", "cancelled"),
        ("skole", "open"),
        ("uu", "open"),
    ]
    runtime.deliverer.drain(clock.now)
    for address in ("skole@testkobing.example", "k@tst.example"):
        mails = [_parsed(raw) for rcpt, raw in smtp.received if rcpt == [address]]
        assert str(mails[-1]["Subject"]) == f"Nyt møde: Første samarbejdsmøde, sag {reference}"
        calendar = _calendar_of(mails[-1])
        assert calendar is not None
        assert calendar[0] == "REQUEST"
        event = next(iter(Calendar.from_ical(calendar[1]).walk("VEVENT")))
        assert str(event["UID"]) == f"{reference}-m2@kui.workflow"  # a meeting of its own


def test_a_first_meeting_booked_again_while_booked_updates_the_calendar_entry(
    patterns: Runtime, clock: Clock, smtp: SmtpSink
) -> None:
    """Booked again by the API while still booked (the web app does not offer it then):
    the same meeting at the new time, every calendar's one entry updated (same UID, a
    higher SEQUENCE), not a second entry beside an old one that nobody cancels; the
    departments are asked to confirm the new time, their open confirmations ended."""
    runtime = patterns
    reference = _at_pre_meeting(runtime, "patterns")
    runtime.service.trigger(reference, "hold_pre_meeting", BASE_PRE_MEETING, CASEWORKER)
    again = {"first_meeting_at": "2026-03-19T10:00:00"}
    runtime.service.trigger(reference, "book_first_meeting", again, COORDINATOR)
    view = runtime.service.view(reference, COORDINATOR)
    assert [(m["key"], m["state"]) for m in view.meetings] == [(1, "moved")]
    # The departments confirm the new time: the confirmations of the old one end.
    assert [
        (t.assignee_id, t.state) for t in _tasks(runtime, reference, "confirm_participation")
    ] == [
        ("skole", "cancelled"),
        ("uu", "cancelled"),
        ("skole", "open"),
        ("uu", "open"),
    ]
    runtime.deliverer.drain(clock.now)
    to_school = [
        _parsed(raw) for rcpt, raw in smtp.received if rcpt == ["skole@testkobing.example"]
    ]
    calendars = [_calendar_of(mail) for mail in to_school]
    events = [next(iter(Calendar.from_ical(c[1]).walk("VEVENT"))) for c in calendars if c]
    assert [c[0] for c in calendars if c] == ["REQUEST", "REQUEST"]
    assert [str(e["UID"]) for e in events] == [f"{reference}-m1@kui.workflow"] * 2
    assert [int(e["SEQUENCE"]) for e in events] == [0, 1]
    assert events[-1].decoded("DTSTART").strftime("%m-%d %H:%M") == "03-19 10:00"


def test_a_meeting_registered_after_it_was_held_is_told_without_a_calendar_invitation(
    patterns: Runtime, clock: Clock, smtp: SmtpSink
) -> None:
    runtime = patterns
    # Two young people with their own mail addresses (their letters come by mail).
    oliver = YoungPersonDetails(
        "Oliver Ung", "0303104321", date(2010, 3, 3), email="oliver@example.org"
    )
    emma = YoungPersonDetails("Emma Ung", "0404104321", date(2010, 4, 4), email="emma@example.org")
    late = _at_pre_meeting(runtime, "patterns", oliver)
    # Last Tuesday's pre-meeting entered today: its first meeting was the day before.
    held = BASE_PRE_MEETING | {"first_meeting_at": "2026-02-26T09:00:00"}
    runtime.service.trigger(late, "hold_pre_meeting", held, CASEWORKER)
    runtime.service.trigger(late, "cancel_meeting", {}, COORDINATOR)
    coming = _at_pre_meeting(runtime, "patterns", emma)
    runtime.service.trigger(coming, "hold_pre_meeting", BASE_PRE_MEETING, CASEWORKER)
    runtime.deliverer.drain(clock.now)

    def to_school(reference: str) -> list[email.message.EmailMessage]:
        return [
            mail
            for rcpt, raw in smtp.received
            if rcpt == ["skole@testkobing.example"]
            and reference in str((mail := _parsed(raw))["Subject"])
        ]

    told = to_school(late)
    assert len(told) == 2  # booked and cancelled: the school is told both
    assert [_calendar_of(mail) for mail in told] == [None, None]  # no calendar entries
    assert [_calendar_of(mail) is not None for mail in to_school(coming)] == [True]
    # The young person's letter says a calendar invitation is attached only when one is.
    letters: dict[str, list[str]] = {"oliver@example.org": [], "emma@example.org": []}
    for to, raw in smtp.received:
        body = _parsed(raw).get_body(("plain",))
        if to[0] in letters and body is not None:
            letters[to[0]].append(body.get_content())
    invited, cancelled = letters["oliver@example.org"]
    assert "Dit første samarbejdsmøde" in invited
    assert "er aflyst" in cancelled
    assert "vedhæftet" not in invited + cancelled
    (emma_invited,) = letters["emma@example.org"]
    assert "Kalenderinvitationen er vedhæftet." in emma_invited


def _parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def _calendar_of(mail: email.message.EmailMessage) -> tuple[str, bytes] | None:
    """The calendar part's method (from its content type) and its bytes."""
    for part in mail.walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            assert part.get_content_charset() == "utf-8"
            return str(part.get_param("method")), payload
    return None


def test_the_meeting_rules_refuse_beside_the_field_and_change_nothing(
    patterns: Runtime, clock: Clock
) -> None:
    runtime = patterns
    reference = _at_pre_meeting(runtime, "patterns")
    early = BASE_PRE_MEETING | {"first_meeting_at": "2026-03-17T07:00:00"}
    with pytest.raises(RejectedError) as refused:
        runtime.service.trigger(reference, "hold_pre_meeting", early, CASEWORKER)
    assert [(e.name, e.code) for e in refused.value.rejection.field_errors] == [
        ("first_meeting_at", "meeting_too_early")
    ]
    sunday = BASE_PRE_MEETING | {"first_meeting_at": "2026-03-22T10:00:00"}
    with pytest.raises(RejectedError) as refused:
        runtime.service.trigger(reference, "hold_pre_meeting", sunday, CASEWORKER)
    assert refused.value.rejection.field_errors[0].code == "meeting_closed_day"
    assert _events(runtime, reference) == ["refer", "accept_referral", "consent_given"]  # same

    runtime.service.trigger(reference, "hold_pre_meeting", BASE_PRE_MEETING, CASEWORKER)
    first = {
        "plan": [{"text": "Jeg skal i skole", "theme": "uddannelse"}],
        "next_meeting_at": "2026-04-28T09:00:00",
    }
    with pytest.raises(RejectedError) as too_soon:  # twelve days before it takes place
        runtime.service.trigger(reference, "hold_first_meeting", first, COORDINATOR)
    assert too_soon.value.rejection.reason.value == "meeting_not_yet"
    clock.now = clock.now.replace(month=3, day=17, hour=9)
    runtime.service.trigger(reference, "hold_first_meeting", first, COORDINATOR)
    with pytest.raises(RejectedError) as held:  # the first meeting is held: it cannot move
        runtime.service.trigger(
            reference, "move_meeting", {"meeting": 1, "moved_to": "2026-04-30T09:00"}, COORDINATOR
        )
    assert [(e.name, e.code) for e in held.value.rejection.field_errors] == [
        ("meeting", "meeting_not_open")
    ]


def test_a_no_show_of_the_young_person_gives_horsens_caseworker_a_call_within_two_days(
    runtime: Runtime, clock: Clock
) -> None:
    inputs = {"source": "school", "caseworker": "cw-mette", "age": 17}
    reference = runtime.service.refer("horsens", PERSON, CASEWORKER, inputs).reference
    runtime.service.trigger(reference, "accept_referral", ACCEPT, CASEWORKER)
    runtime.consents.give(
        reference, CASEWORKER, ConsentRequest(["skole", "uu"], ["education"], guardian=True)
    )
    runtime.service.trigger(reference, "hold_pre_meeting", BASE_PRE_MEETING, CASEWORKER)
    held = {
        "plan": [{"text": "Jeg skal i skole", "theme": "uddannelse"}],
        "next_meeting_at": "2026-03-25T09:00:00",
        "attendance": {"no_show": [f"young-person/{reference}"], "absent": ["vejleder-sara"]},
    }
    clock.now = clock.now.replace(day=17, hour=9)  # the first meeting has begun
    result = runtime.service.trigger(reference, "hold_first_meeting", held, COORDINATOR)
    assert result.raises == ["young_person_no_show"]
    assert _events(runtime, reference)[-2:] == ["hold_first_meeting", "young_person_no_show"]
    calls = _tasks(runtime, reference, "call_after_no_show")
    assert [(t.assignee_id, t.person, t.state) for t in calls] == [
        ("caseworker", "cw-mette", TaskState.OPEN)
    ]
    assert calls[0].due_at is not None
    assert (calls[0].due_at - clock.now).days <= 4  # two working days (a weekend between)
    with runtime.sessions() as session:
        first = session.scalars(
            select(Meeting).join(Case).where(Case.reference == reference, Meeting.key == 1)
        ).one()
    assert first.state == "held"
    assert first.attendance == {
        "no_show": [f"young-person/{reference}"],
        "absent": ["vejleder-sara"],
    }
    clock.now = clock.now.replace(day=25, hour=10)  # the follow-up meeting has begun
    stranger = held | {
        "attendance": {"no_show": ["nobody-here"]},
        "next_meeting_at": "2026-04-08T09:00:00",  # after the follow-up held
    }
    with pytest.raises(RejectedError) as refused:  # only the meeting's participants
        runtime.service.trigger(
            reference,
            "hold_follow_up",
            stranger | {"reviews": [{"goal": 1, "status": "met"}]},
            COORDINATOR,
        )
    assert [(e.name, e.code) for e in refused.value.rejection.field_errors] == [
        ("attendance", "not_a_participant")
    ], str(refused.value.rejection)


def test_a_course_ended_with_a_meeting_booked_tells_everyone_it_was_with(
    patterns: Runtime, clock: Clock, smtp: SmtpSink
) -> None:
    """The course ends (here the young person's own "stop") while the first meeting is
    booked: the meeting is cancelled with it, and everyone whose calendar holds it — the
    team, the young person, the guardian of a minor — is told, with the cancellation."""
    from workflow.cases.model import GuardianDetails

    runtime = patterns
    person = YoungPersonDetails(
        "Freja Testesen",
        "0101104321",
        date(2010, 1, 1),
        email="freja@example.org",
        guardians=(GuardianDetails("Mette Mor", "0202801234", email="mor@example.org"),),
    )
    reference = _at_pre_meeting(runtime, "patterns", person)
    runtime.service.trigger(reference, "hold_pre_meeting", BASE_PRE_MEETING, CASEWORKER)
    runtime.deliverer.drain(clock.now)
    invited = {tuple(rcpt): _parsed(raw) for rcpt, raw in smtp.received}
    # Each told of the meeting as theirs or as the young person's.
    assert str(invited[("freja@example.org",)]["Subject"]) == "Dit første samarbejdsmøde"
    assert str(invited[("mor@example.org",)]["Subject"]) == "Den unges første samarbejdsmøde"
    # The coordinator called what the definition calls the role ("Koordinator" here).
    letter = invited[("freja@example.org",)].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "dit team og din koordinator" in letter
    before = len(smtp.received)
    runtime.service.trigger(reference, "withdraw", {}, CASEWORKER)
    runtime.deliverer.drain(clock.now)
    ended = {tuple(rcpt): _parsed(raw) for rcpt, raw in smtp.received[before:]}
    for address in ("freja@example.org", "mor@example.org", "skole@testkobing.example"):
        mail = ended[(address,)]
        calendar = _calendar_of(mail)
        assert calendar is not None, address
        assert calendar[0] == "CANCEL"
    assert str(ended[("freja@example.org",)]["Subject"]) == "Dit forløb er afsluttet"
    assert str(ended[("mor@example.org",)]["Subject"]) == "Den unges forløb er afsluttet"
    words = ended[("freja@example.org",)].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Hej Freja" in words
    assert "er afsluttet, og første samarbejdsmøde tirsdag den 17. marts 2026" in words
    assert "Aflysningen er vedhæftet, så mødet forsvinder fra din kalender." in words


def test_a_task_due_by_its_meeting_follows_that_meeting_not_another_one_open(
    patterns: Runtime, clock: Clock
) -> None:
    """With a follow-up meeting and a transition meeting booked side by side, the
    transition meeting's preparation is due when that meeting begins: moving the
    follow-up meeting to a time before it does not bring the preparation forward (it was
    made due at the follow-up's new time), and after a pause the preparation is capped by
    its own meeting, not by the earliest meeting of any kind."""
    runtime = patterns
    reference = _in_follow_up(runtime, clock, "2026-03-31T09:00:00")
    transition = {"transition_meeting_at": "2026-04-21T09:00:00"}
    runtime.service.trigger(reference, "book_transition_meeting", transition, COORDINATOR)
    (task,) = _tasks(runtime, reference, "prepare_transition")
    its_meeting = task.due_at
    assert its_meeting is not None
    assert (its_meeting.month, its_meeting.day) == (4, 21)  # capped by its meeting

    # The follow-up meeting (key 2) moves to a time still before the transition meeting.
    moved = {"meeting": 2, "moved_to": "2026-04-14T09:00"}
    runtime.service.trigger(reference, "move_meeting", moved, COORDINATOR)
    (task,) = _tasks(runtime, reference, "prepare_transition")
    assert task.due_at == its_meeting

    # A week's pause: on resumption the due time moves on by the pause, but not past its
    # own meeting (21 April), whatever the follow-up meeting's time (14 April).
    runtime.service.trigger(reference, "pause", {"pause_reason": "treatment"}, CASEWORKER)
    clock.advance(days=7)
    runtime.service.trigger(reference, "resume", {}, CASEWORKER)
    (task,) = _tasks(runtime, reference, "prepare_transition")
    assert task.due_at == its_meeting
    # Its own meeting moved later: the preparation, due when it began, follows it.
    later = {"meeting": 3, "moved_to": "2026-04-28T09:00"}
    runtime.service.trigger(reference, "move_meeting", later, COORDINATOR)
    (task,) = _tasks(runtime, reference, "prepare_transition")
    assert task.due_at is not None
    assert (task.due_at.month, task.due_at.day) == (4, 28)
    # A pause over the follow-up meeting's time (14 April): that meeting is cancelled on
    # resumption, the transition meeting's preparation stays (all were ended).
    runtime.service.trigger(reference, "pause", {"pause_reason": "treatment"}, CASEWORKER)
    clock.now = clock.now.replace(month=4, day=15)
    runtime.service.trigger(reference, "resume", {}, CASEWORKER)
    with runtime.sessions() as session:
        states = session.execute(
            select(Meeting.key, Meeting.state)
            .join(Case, Case.id == Meeting.case_id)
            .where(Case.reference == reference, Meeting.key > 1)
            .order_by(Meeting.key)
        ).all()
    assert [tuple(s) for s in states] == [(2, "cancelled"), (3, "moved")]
    (task,) = _tasks(runtime, reference, "prepare_transition")
    assert task.state == TaskState.OPEN
    assert task.due_at is not None
    assert (task.due_at.month, task.due_at.day) == (4, 28)
