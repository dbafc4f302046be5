"""A 15-year-old's course across the 16th and 18th birthdays, played through the store.

The definition (tests/definitions/coming_of_age.yaml) anchors time to the young person's
life: a custodial parent must consent too only before 16; on the 18th birthday adult
services join and the guardian is no longer invited or told; the transition meeting must
lie within 30 days of the birthday. No timer polls: each birthday fires once, and the
history holds no refused timer event.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.integration.conftest import Clock, runtime_of
from tests.support.services import SmtpSink
from workflow.cases.model import GuardianDetails, RejectedError, YoungPersonDetails
from workflow.engine.model import Actor
from workflow.errors import InvalidRequestError
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime
from workflow.store.tables import Case, CaseTask, HistoryEvent, Meeting, OutboxRow

ZONE = ZoneInfo("Europe/Copenhagen")
HERE = Path(__file__).resolve().parents[1] / "definitions"
BORN = date(2010, 9, 10)  # 15 at the referral; 16 on 2026-09-10, 18 on 2028-09-10
CW = Actor("caseworker", "cw-mette")
COORD = Actor("coordinator", "tovholder-lise")
TEAM = [
    {"department": "skole", "person": "laerer-anna"},
    {"department": "born_familie", "person": "raadgiver-bo"},
]
PLAN = [
    {"text": "Jeg vil møde op i skole hver dag", "department": "skole", "theme": "uddannelse"},
    {"text": "Jeg vil tale med min rådgiver hver uge", "department": "born_familie"},
]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


@pytest.fixture
def coming_of_age(
    store_url: str, smtp: SmtpSink, clock: Clock, tmp_path: Path
) -> Iterator[Runtime]:
    text = (HERE / "coming_of_age.yaml").read_text(encoding="utf-8")
    with runtime_of(store_url, smtp, clock, tmp_path, {"coming_of_age.yaml": text}) as rt:
        yield rt


def test_a_course_from_15_to_past_18(coming_of_age: Runtime, clock: Clock) -> None:
    rt = coming_of_age

    def now(text: str) -> None:
        clock.now = at(text)
        rt.service.fire_due_timers(clock.now)

    def trigger(event: str, actor: Actor = COORD, **inputs: object) -> None:
        rt.service.trigger(reference, event, dict(inputs), actor)

    now("2026-03-02 09:00")
    person = YoungPersonDetails(
        "Freja Testesen",
        "1009104321",
        BORN,
        guardians=(GuardianDetails("Mor Testesen", "0101801234", "mor@example.org"),),
    )
    reference = rt.service.refer(
        "coming_of_age", person, CW, {"source": "school", "caseworker": "cw-mette"}
    ).reference

    # Under 16: the young person's own consent is not enough — said beside the field.
    now("2026-03-04 10:00")
    with pytest.raises(RejectedError) as refused:
        trigger("accept_referral", CW, young_person_agrees=True, consent=True)
    fields = {e.name: e.text("da") for e in refused.value.rejection.field_errors}
    assert fields == {
        "guardian_consent": "Under 16 år skal forældremyndighedsindehaveren også give samtykke."
    }
    with pytest.raises(InvalidRequestError):  # the consent record says the same
        rt.consents.give(reference, CW, ConsentRequest(["skole", "born_familie"]))
    trigger("accept_referral", CW, young_person_agrees=True, consent=True, guardian_consent=True)
    rt.consents.give(reference, CW, ConsentRequest(["skole", "born_familie"], guardian=True))

    now("2026-03-06 10:00")
    trigger(
        "hold_pre_meeting",
        CW,
        team=TEAM,
        coordinator="tovholder-lise",
        agenda=["uddannelse"],
        first_meeting_at="2026-03-17T09:00",
    )
    now("2026-03-17 11:00")
    trigger("hold_first_meeting", plan=PLAN, next_meeting_at="2026-06-16T09:00")

    # 16 now: a new consent needs no parent.
    now("2026-09-14 10:00")
    rt.consents.give(reference, CW, ConsentRequest(["social"]))

    # The 18th birthday: the base's timer raises turned_18, once, on the day itself.
    now("2028-09-09 12:00")
    assert _events(rt, reference)[-1] != "turned_18"
    now("2028-09-10 12:00")
    history = _history(rt, reference)
    birthday = [h for h in history if h.event == "turned_18"]
    assert len(birthday) == 1
    assert birthday[0].actor_id == "timer:eighteenth_birthday"
    assert _due(birthday[0]) == at("2028-09-10 08:00")  # the day itself, office hours
    told = _outbox(rt, reference, since=at("2028-09-10 08:00"))
    assert ("department", "social", "adult_services_join") in told
    # Adult services are covered by the consent: told as invited, given the preparation.
    assert ("role", "caseworker", "turned_18") in told
    assert all(template != "turned_18_without_consent" for *_, template in told)
    assert _open_tasks(rt, reference, since=at("2028-09-10 08:00")) == [
        ("department", "social", "Forbered støtten efter 18 år sammen med den unge"),
        ("role", "coordinator", "Hold overgangsmøde med den unge og voksenområdet"),
    ]

    # The transition meeting: 45 days after the birthday is refused beside the field.
    now("2028-09-12 10:00")
    with pytest.raises(RejectedError) as refused:
        trigger("book_transition_meeting", transition_meeting_at="2028-10-25T10:00")
    [error] = refused.value.rejection.field_errors
    assert error.name == "transition_meeting_at"
    assert "30 dage" in error.text("da")
    trigger("book_transition_meeting", transition_meeting_at="2028-09-28T10:00")
    booked = _outbox(rt, reference, since=at("2028-09-12 10:00"))
    assert ("role", "guardian", "transition_meeting_booked") not in booked  # an adult now
    assert ("role", "young_person", "transition_meeting_booked") in booked

    # Two business days before the meeting, the reminder anchored to the booking fires.
    now("2028-09-26 11:00")
    reminders = [
        h for h in _history(rt, reference) if h.event == "timer:transition_meeting_reminder"
    ]
    assert [_due(h) for h in reminders] == [at("2028-09-26 10:00")]

    now("2028-09-28 11:00")
    trigger("hold_transition_meeting")
    now("2028-10-20 12:00")  # past birthday + 30 days: no escalation, it was held

    with rt.sessions() as session:
        case_id = session.scalar(select(Case.id).where(Case.reference == reference))
        meetings = session.scalars(
            select(Meeting).where(Meeting.case_id == case_id).order_by(Meeting.starts_at)
        ).all()
        invited = {m.kind: {p["role"] for p in m.participants} for m in meetings}
    assert "guardian" in invited["first_meeting"]  # a minor's meeting
    assert "guardian" not in invited["transition_meeting"]  # an adult's

    history = _history(rt, reference)
    assert not any(_refused(h) for h in history), "a timer event was refused"
    timer_entries = [h.event for h in history if (h.actor_id or "").startswith("timer:")]
    # Over 2 years and 7 months: the follow-up reminder (3 a year), the birthday and the
    # meeting reminder. Nothing polls daily.
    assert timer_entries.count("turned_18") == 1
    assert "timer:transition_meeting_deadline" not in timer_entries
    assert len(timer_entries) < 15, timer_entries
    assert not _outbox(rt, reference, since=at("2028-09-10 08:00"), role="guardian")


def _history(rt: Runtime, reference: str) -> list[HistoryEvent]:
    with rt.sessions() as session:
        return list(
            session.scalars(
                select(HistoryEvent)
                .join(Case, Case.id == HistoryEvent.case_id)
                .where(Case.reference == reference)
                .order_by(HistoryEvent.seq)
            )
        )


def _events(rt: Runtime, reference: str) -> list[str]:
    return [h.event for h in _history(rt, reference)]


def _due(entry: HistoryEvent) -> datetime:
    """When the timer behind a history entry fell due."""
    due = next(str(e["due_at"]) for e in entry.effects if e.get("type") == "TimerFired")
    return datetime.fromisoformat(due)


def _refused(entry: HistoryEvent) -> bool:
    return any(e.get("type") == "TimerFired" and e.get("rejected") for e in entry.effects or [])


def _open_tasks(rt: Runtime, reference: str, since: datetime) -> list[tuple[str, str, str]]:
    with rt.sessions() as session:
        rows = session.scalars(
            select(CaseTask)
            .join(Case, Case.id == CaseTask.case_id)
            .where(
                Case.reference == reference,
                CaseTask.created_at >= since,
                CaseTask.state == "open",
            )
            .order_by(CaseTask.id)
        ).all()
    return [(t.assignee_kind, t.assignee_id, t.title) for t in rows]


def test_at_18_without_consent_for_adult_services_the_caseworker_asks_for_it(
    coming_of_age: Runtime, clock: Clock
) -> None:
    """On the 18th birthday with no consent covering adult services, the coordinator and
    caseworker were told adult services "are invited" (their notice was withheld) and
    the department was given a task it could not open: they are told it is not invited
    until the young person consents, and the caseworker is asked to ask."""
    rt = coming_of_age
    clock.now = at("2026-03-02 09:00")
    person = YoungPersonDetails("Jonas Testesen", "2003084321", date(2008, 3, 20))
    reference = rt.service.refer(
        "coming_of_age", person, CW, {"source": "school", "caseworker": "cw-mette"}
    ).reference
    rt.service.trigger(
        reference, "accept_referral", {"young_person_agrees": True, "consent": True}, CW
    )
    rt.consents.give(reference, CW, ConsentRequest(["skole"]))
    clock.now = at("2026-03-20 12:00")  # his 18th birthday
    rt.service.fire_due_timers(clock.now)
    assert _events(rt, reference)[-1] == "turned_18"
    told = _outbox(rt, reference, since=at("2026-03-20 08:00"))
    assert ("role", "caseworker", "turned_18_without_consent") in told
    assert ("role", "caseworker", "turned_18") not in told
    tasks = _open_tasks(rt, reference, since=at("2026-03-20 08:00"))
    assert ("role", "caseworker", "Spørg den unge om samtykke til at dele med voksenområdet") in (
        tasks
    )
    assert all(kind != "department" for kind, _, _ in tasks)


def _outbox(
    rt: Runtime, reference: str, since: datetime, role: str | None = None
) -> list[tuple[str, str, str]]:
    with rt.sessions() as session:
        rows = session.scalars(
            select(OutboxRow)
            .join(Case, Case.id == OutboxRow.case_id)
            .where(Case.reference == reference, OutboxRow.created_at >= since)
        ).all()
    found = [(r.recipient["kind"], r.recipient["id"], r.template) for r in rows]
    return [f for f in found if role is None or f[1] == role]


def test_consent_given_and_withdrawn_are_events_the_definition_reacts_to(
    coming_of_age: Runtime, clock: Clock
) -> None:
    rt = coming_of_age
    clock.now = at("2027-03-02 09:00")  # 16: her own consent is enough
    person = YoungPersonDetails("Freja Testesen", "1009104321", BORN)
    inputs = {"source": "school", "caseworker": "cw-mette"}
    reference = rt.service.refer("coming_of_age", person, CW, inputs).reference
    rt.service.trigger(
        reference, "accept_referral", {"young_person_agrees": True, "consent": True}, CW
    )
    rt.consents.give(reference, CW, ConsentRequest(["skole", "born_familie"]))
    rt.consents.withdraw(reference, CW, ["skole"])  # still in force for born_familie
    with rt.sessions() as session:
        milestones = session.scalar(select(Case.milestones).where(Case.reference == reference))
    assert "consent_given" in milestones
    rt.consents.withdraw(reference, CW)  # all of it
    history = _history(rt, reference)
    assert [h.event for h in history][-3:] == [
        "consent_given",
        "consent_withdrawn",
        "consent_withdrawn",
    ]
    # The system's steps, each naming who set it off (the caseworker who recorded or
    # withdrew the consent): the case's timeline says whose act it followed.
    assert all(h.actor_id == f"consent:caseworker:{CW.id}" for h in history[-3:])
    with rt.sessions() as session:
        milestones = session.scalar(select(Case.milestones).where(Case.reference == reference))
    assert "consent_given" not in milestones  # withdrawn: it no longer reads as given
    told = _outbox(rt, reference, since=clock.now)
    assert ("role", "coordinator", "consent_withdrawn") in told or (
        "role",
        "caseworker",
        "consent_withdrawn",
    ) in told
