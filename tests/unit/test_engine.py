"""The pure engine: what each event does to a case, and every kind of refusal."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.unit.conftest import at
from workflow.definitions.models import Definition
from workflow.definitions.parts import Input
from workflow.definitions.vocabulary import InputType
from workflow.engine import timing
from workflow.engine.decide import decide, open_case
from workflow.engine.firing import fire_timer
from workflow.engine.model import (
    Actor,
    CancelTimer,
    CaseState,
    CreateTask,
    Decision,
    Event,
    MeetingChanged,
    Notify,
    Recipient,
    RecordMilestone,
    Rejection,
    RejectionReason,
    StartTimer,
    TimerFired,
)

CW = Actor("caseworker", "cw-mette")
COORD = Actor("coordinator", "tovholder-lise")
TEAM = [
    {"department": "skole", "person": "laerer-anna"},
    {"department": "uu", "person": "vejleder-sara"},
]
PLAN = [
    {
        "text": "Jeg skal møde op i skole 3 dage om ugen",
        "department": "skole",
        "theme": "uddannelse",
    }
]


def accepted(result: Decision | Rejection) -> Decision:
    assert isinstance(result, Decision), str(result)
    return result


def refused(result: Decision | Rejection) -> Rejection:
    assert isinstance(result, Rejection), f"expected a refusal, got {result}"
    return result


def step(
    d: Definition, case: CaseState, event: str, actor: Actor, now: datetime, **inputs: Any
) -> Decision | Rejection:
    return decide(d, case, Event(event, actor, inputs), now)


def opened(d: Definition, age: int = 16, now: str = "2026-03-02 09:00") -> CaseState:
    moment = at(now)
    born = date(moment.year - age - 1, 9, 1)  # turned ``age`` last September
    return accepted(
        open_case(
            d,
            "SOR-2026-0042",
            CW,
            {"source": "school", "age": age, "caseworker": "cw-mette"},
            moment,
            born=born,
        )
    ).case


def in_pre_meeting(d: Definition) -> CaseState:
    case = opened(d)
    return accepted(
        step(
            d,
            case,
            "accept_referral",
            CW,
            at("2026-03-03 10:00"),
            young_person_agrees=True,
            consent=True,
        )
    ).case


def pre_meeting(d: Definition, case: CaseState, **changed: Any) -> Decision | Rejection:
    """Hold the pre-meeting of a case waiting for it (5 March), with these inputs changed."""
    inputs: dict[str, Any] = {
        "team": TEAM,
        "coordinator": "tovholder-lise",
        "agenda": ["uddannelse"],
        "first_meeting_at": "2026-03-17T09:00",
        "meeting_room": "raadhuset_storskaerm",
    }
    return step(d, case, "hold_pre_meeting", CW, at("2026-03-05 10:00"), **inputs | changed)


def awaiting_meeting(d: Definition, age: int = 16) -> CaseState:
    case = in_pre_meeting(d) if age == 16 else None
    if case is None:
        case = accepted(
            step(
                d,
                opened(d, age),
                "accept_referral",
                CW,
                at("2026-03-03 10:00"),
                young_person_agrees=True,
                consent=True,
            )
        ).case
    return accepted(pre_meeting(d, case)).case


def in_follow_up(d: Definition) -> CaseState:
    return accepted(
        step(
            d,
            awaiting_meeting(d),
            "hold_first_meeting",
            COORD,
            at("2026-03-17 11:00"),
            plan=PLAN,
            next_meeting_at="2026-04-28T09:00",
        )
    ).case


# Opening a case -------------------------------------------------------------------


def test_referral_opens_case_in_start_stage_with_its_timer(soroe: Definition) -> None:
    decision = accepted(
        open_case(
            soroe,
            "SOR-2026-0042",
            CW,
            {"source": "school", "age": 16, "caseworker": "cw-mette"},
            at("2026-03-02 09:00"),
        )
    )
    assert (decision.from_stage, decision.to_stage) == (None, "referred")
    assert decision.effects == (
        Notify(
            Recipient("role", "caseworker", "cw-mette"), "referral_received", {"source": "school"}
        ),
        StartTimer("referral_decision_due", at("2026-03-09 09:00")),  # 5 business days
    )
    assert decision.case.data == {
        "source": "school",
        "age": 16,
        "caseworker": "cw-mette",
        "minor": True,
    }


def test_referral_outside_target_ages_is_refused_in_danish_and_english(
    soroe: Definition,
) -> None:
    rejection = refused(
        open_case(
            soroe,
            "SOR-1",
            CW,
            {"source": "school", "age": 30, "caseworker": "x"},
            at("2026-03-02 09:00"),
        )
    )
    assert rejection.reason is RejectionReason.GUARD_FALSE
    # The base's message names the ages; Sorø's own range (14-29) is written in, not 15-24:
    assert rejection.text() == (
        "Den unge er uden for målgruppen: forløbet er for unge mellem 14 og 29 år."
    )
    assert rejection.text("en") == (
        "The young person is outside the target group: the process is for young people "
        "aged 14 to 29."
    )
    # Sorø's own age range (14-29) applies, not the base's (15-24):
    accepted(
        open_case(
            soroe,
            "SOR-2",
            CW,
            {"source": "school", "age": 14, "caseworker": "x"},
            at("2026-03-02 09:00"),
        )
    )


def test_every_invalid_field_is_reported_at_once(soroe: Definition) -> None:
    rejection = refused(
        open_case(
            soroe,
            "SOR-1",
            CW,
            {"source": "bus", "age": "sixteen", "shoe_size": 42},
            at("2026-03-02 09:00"),
        )
    )
    assert rejection.reason is RejectionReason.INVALID_INPUT
    errors = {e.name: e.text("en") for e in rejection.field_errors}
    assert errors == {
        "shoe_size": "is not an input of this step",
        "source": "'bus' is not one of: young_person, school, uu, ssp, jobcenter, caseworker, "
        "health, other",
        "age": "must be a whole number",
        "caseworker": "is required",
    }
    assert {e.name: e.text() for e in rejection.field_errors}["caseworker"] == "skal udfyldes"


def test_role_not_allowed_to_refer(soroe: Definition) -> None:
    rejection = refused(open_case(soroe, "SOR-1", Actor("leader"), {}, at("2026-03-02 09:00")))
    assert rejection.reason is RejectionReason.ROLE_NOT_ALLOWED


# Refusals -------------------------------------------------------------------------


def test_unknown_event_wrong_stage_and_wrong_role(soroe: Definition) -> None:
    case = opened(soroe)
    now = at("2026-03-03 10:00")
    assert refused(step(soroe, case, "fly", CW, now)).reason is RejectionReason.UNKNOWN_EVENT
    wrong = refused(step(soroe, case, "hold_first_meeting", COORD, now))
    assert wrong.reason is RejectionReason.WRONG_STAGE
    assert wrong.text("en") == (
        "'hold_first_meeting' cannot happen in stage 'referred'; it can in: awaiting_first_meeting."
    )
    role = refused(
        step(
            soroe,
            case,
            "accept_referral",
            Actor("young_person"),
            now,
            young_person_agrees=True,
            consent=True,
        )
    )
    assert role.reason is RejectionReason.ROLE_NOT_ALLOWED
    assert role.params["allowed"] == "caseworker"


def test_guard_false_needs_the_young_persons_agreement(soroe: Definition) -> None:
    rejection = refused(
        step(
            soroe,
            opened(soroe),
            "accept_referral",
            CW,
            at("2026-03-03 10:00"),
            young_person_agrees=False,
            consent=True,
        )
    )
    assert rejection.reason is RejectionReason.GUARD_FALSE
    assert "den unge vil" in rejection.text()


def test_a_rejected_event_changes_nothing(soroe: Definition) -> None:
    case = opened(soroe)
    before = copy.deepcopy(case)
    refused(
        step(
            soroe,
            case,
            "accept_referral",
            CW,
            at("2026-03-03 10:00"),
            young_person_agrees=False,
            consent=True,
        )
    )
    assert case == before


def test_the_first_meeting_is_not_called_missed_before_it_has_begun(soroe: Definition) -> None:
    """Taken a week early it sent the case back to the pre-meeting with the meeting still
    booked ahead, in everyone's calendar, and no step there could move or cancel it."""
    case = awaiting_meeting(soroe)  # the first meeting is on 17 March at 09:00
    early = refused(step(soroe, case, "first_meeting_missed", COORD, at("2026-03-10 10:00")))
    assert early.reason is RejectionReason.GUARD_FALSE
    assert "Det første møde er ikke begyndt endnu" in early.text("da")
    missed = step(soroe, case, "first_meeting_missed", COORD, at("2026-03-17 09:00"))
    assert accepted(missed).to_stage == "pre_meeting"


def test_a_final_stage_accepts_no_event(soroe: Definition) -> None:
    closed = accepted(
        step(soroe, opened(soroe), "withdraw", Actor("young_person"), at("2026-03-03 10:00"))
    ).case
    assert closed.stage == "withdrawn"
    assert closed.timers == {}
    for event in ("withdraw", "accept_referral", "resume", "nonsense"):
        assert refused(step(soroe, closed, event, CW, at("2026-03-04 10:00"))).reason is (
            RejectionReason.CASE_CLOSED
        )


def first_meeting(d: Definition, actor: Actor, plan: list[dict[str, Any]]) -> Decision | Rejection:
    """Hold the first meeting of a case that is waiting for it, with a given plan."""
    return step(
        d,
        awaiting_meeting(d),
        "hold_first_meeting",
        actor,
        at("2026-03-17 11:00"),
        plan=plan,
        next_meeting_at="2026-04-28T09:00",
    )


# Sorø's rules ----------------------------------------------------------------------


def test_soroe_meetings_only_on_fixed_meeting_days(soroe: Definition) -> None:
    rejection = refused(
        pre_meeting(
            soroe, in_pre_meeting(soroe), coordinator="t", first_meeting_at="2026-03-16T09:00"
        )
    )  # a Monday
    assert rejection.reason is RejectionReason.INVALID_INPUT
    assert [(e.name, e.code) for e in rejection.field_errors] == [
        ("first_meeting_at", "meeting_weekday")
    ]
    assert rejection.field_errors[0].params == {"days": "tuesday, thursday"}
    # Said in words by the CLI and the simulator too (the API keeps the ids).
    assert rejection.field_errors[0].text("da") == (
        "mødet skal ligge på en af de faste mødedage (tirsdag, torsdag)"
    )
    assert rejection.field_errors[0].text("en").endswith("(Tuesday, Thursday)")


def test_soroe_rules_hold_at_every_meeting_not_only_the_first(soroe: Definition) -> None:
    case = in_follow_up(soroe)
    review = [{"goal": 1, "status": "met"}]
    wednesday = step(
        soroe,
        case,
        "hold_follow_up",
        COORD,
        at("2026-04-28 11:00"),
        reviews=review,
        plan=PLAN,
        next_meeting_at="2026-06-10T09:00",  # a Wednesday
    )
    assert [(e.name, e.code) for e in refused(wednesday).field_errors] == [
        ("next_meeting_at", "meeting_weekday")
    ]
    not_chosen = step(
        soroe,
        case,
        "hold_follow_up",
        COORD,
        at("2026-04-28 11:00"),
        reviews=review,
        plan=[{"text": "Jeg skal finde en bolig", "theme": "bolig"}],  # not the young person's
        next_meeting_at="2026-06-11T09:00",
    )
    assert [(e.name, e.code) for e in refused(not_chosen).field_errors] == [
        ("plan", "theme_not_own")
    ]
    moved = step(
        soroe, case, "move_meeting", COORD, at("2026-04-20 11:00"), moved_to="2026-04-29T09:00"
    )
    assert [(e.name, e.code) for e in refused(moved).field_errors] == [
        ("moved_to", "meeting_weekday")
    ]


def test_a_meeting_is_never_moved_to_a_time_gone_by(soroe: Definition) -> None:
    """Moved to a Thursday at 09:00 (Sorø's rules allow it) that has passed: refused
    beside the field, saying what time it is; to one ahead: moved. (A booking may be
    registered after the meeting, so a pre-meeting registered late can book a first
    meeting that has been held; a move is always to a time ahead.)"""
    case = in_follow_up(soroe)
    moved = step(
        soroe, case, "move_meeting", COORD, at("2026-04-20 11:00"), moved_to="2026-04-16T09:00"
    )
    errors = refused(moved).field_errors
    assert [(e.name, e.code) for e in errors] == [("moved_to", "meeting_moved_to_past")]
    assert errors[0].params == {"now": "2026-04-20 11:00"}
    ahead = step(
        soroe, case, "move_meeting", COORD, at("2026-04-20 11:00"), moved_to="2026-04-30T09:00"
    )
    assert isinstance(ahead, Decision)
    # Moved to the time it has (the same place): nothing moves, and nobody is told again.
    (booked,) = [m for m in case.meetings() if m.state in ("booked", "moved")]
    same = booked.starts_at.isoformat(timespec="minutes")[:16]
    unmoved = step(soroe, case, "move_meeting", COORD, at("2026-04-20 11:00"), moved_to=same)
    assert [e.code for e in refused(unmoved).field_errors] == ["meeting_not_moved"]


def test_the_next_meeting_booked_at_a_meeting_held_is_after_it(soroe: Definition) -> None:
    """Meeting mode took a next meeting on a Thursday before the first meeting it
    followed (the plan then said it was written at the first meeting, dated after)."""
    before = step(
        soroe,
        awaiting_meeting(soroe),
        "hold_first_meeting",
        COORD,
        at("2026-03-17 11:00"),
        plan=PLAN,
        next_meeting_at="2026-03-12T09:00",  # the Thursday before the meeting held
    )
    errors = refused(before).field_errors
    assert [(e.name, e.code) for e in errors] == [("next_meeting_at", "meeting_before_held")]
    assert errors[0].text("da") == (
        "det næste møde skal ligge efter mødet, der holdes nu (2026-03-17 09:00)"
    )
    assert isinstance(first_meeting(soroe, COORD, PLAN), Decision)  # 28 April: after it


def test_booking_a_kind_still_booked_moves_that_meeting_not_a_second_beside_it(
    soroe: Definition,
) -> None:
    """A follow-up meeting is booked (28 April) and another follow-up is booked for 30
    April: the same meeting at the new time (its key, so its calendar UID, and its
    invitation's SEQUENCE raised), not a new one beside a cancelled one whose
    cancellation no calendar would get (a step's notifications carry one meeting)."""
    case = in_follow_up(soroe)
    (before,) = [m for m in case.meetings() if m.kind == "follow_up"]
    rebooked = accepted(
        step(
            soroe,
            case,
            "book_follow_up",
            COORD,
            at("2026-04-20 11:00"),
            next_meeting_at="2026-04-30T09:00",
        )
    )
    changes = [e for e in rebooked.effects if isinstance(e, MeetingChanged)]
    assert [(c.action, c.meeting.key) for c in changes] == [("move", before.key)]
    follow_ups = [m for m in rebooked.case.meetings() if m.kind == "follow_up"]
    assert [(m.key, m.state, m.sequence) for m in follow_ups] == [(before.key, "moved", 1)]
    assert follow_ups[0].starts_at == at("2026-04-30 09:00")
    assert follow_ups[0].ends_at - follow_ups[0].starts_at == before.ends_at - before.starts_at


def test_soroe_plan_may_only_cover_the_young_persons_themes(soroe: Definition) -> None:
    plan = [{"text": "Jeg skal finde en bolig", "theme": "bolig"}]  # not on the agenda
    rejection = refused(first_meeting(soroe, COORD, plan))
    assert rejection.reason is RejectionReason.INVALID_INPUT
    assert rejection.field_errors[0].code == "theme_not_own"
    # Each goal off the young person's themes is told, not only the first.
    rejection = refused(first_meeting(soroe, COORD, [*plan, *PLAN, *plan]))
    found = [(e.code, e.params["item"]) for e in rejection.field_errors]
    assert found == [("theme_not_own", 1), ("theme_not_own", 3)]


def test_only_the_tovholder_writes_the_plan(soroe: Definition) -> None:
    rejection = refused(first_meeting(soroe, CW, PLAN))
    assert rejection.reason is RejectionReason.ROLE_NOT_ALLOWED


def test_goals_must_be_in_first_person(soroe: Definition) -> None:
    plan = [{"text": "Hun skal møde op i skolen"}]
    rejection = refused(first_meeting(soroe, COORD, plan))
    assert rejection.reason is RejectionReason.INVALID_INPUT
    assert rejection.field_errors[0].code == "goal_not_first_person"
    assert "jeg-form" in rejection.field_errors[0].text()


def test_a_goals_deadline_may_not_have_passed(soroe: Definition) -> None:
    goal = {"text": "Jeg skal møde op i skolen", "theme": "uddannelse"}
    past = [goal, goal | {"deadline": "2026-03-16"}]  # the meeting is on 17 March
    error = refused(first_meeting(soroe, COORD, past)).field_errors[0]
    assert (error.name, error.code, error.params) == (
        "plan",
        "goal_deadline_passed",
        {"item": 2, "day": "17.03.2026"},
    )
    assert error.text("da") == (
        "mål 2: fristen er passeret; et mål i planen har en frist fra i dag (17.03.2026) og frem"
    )
    today = [goal | {"deadline": "2026-03-17"}]
    assert isinstance(first_meeting(soroe, COORD, today), Decision)
    # Each goal whose deadline has passed is told, not only the first.
    errors = refused(first_meeting(soroe, COORD, [*past, *past])).field_errors
    assert [e.params["item"] for e in errors] == [2, 4]


def test_a_list_items_missing_part_is_named_in_words(soroe: Definition) -> None:
    plan = [{"text": " ", "theme": "uddannelse"}]
    rejection = refused(first_meeting(soroe, COORD, plan))
    error = rejection.field_errors[0]
    assert (error.code, error.params) == (
        "item_field_required",
        {"item": 1, "goal": True, "field": "text"},
    )
    assert error.text("da") == "mål 1: teksten skal udfyldes"  # not 'text', the code
    assert error.text("en") == "goal 1: the text is required"  # as its form says: "Mål 1"


def test_every_wrong_entry_of_a_list_is_told_at_once_each_naming_its_entry(
    soroe: Definition,
) -> None:
    """A plan with three wrong goals gets three errors, not one at each try (the young
    person and the coordinator fix them in one go)."""
    ok = {"text": "Jeg skal møde op i skolen", "theme": "uddannelse"}
    plan = [ok, {"text": "Hun skal møde op"}, ok | {"theme": "fodbold"}, {"theme": "uddannelse"}]
    errors = refused(first_meeting(soroe, COORD, plan)).field_errors
    assert [(e.name, e.code, e.params.get("item")) for e in errors] == [
        ("plan", "goal_not_first_person", 2),
        ("plan", "not_a_choice", 3),
        ("plan", "item_field_required", 4),
    ]
    assert [e.text("da") for e in errors] == [
        "mål 2 er ikke skrevet i jeg-form; skriv det, som den unge siger det: 'Jeg skal ...'",
        f"mål 3: 'fodbold' er ikke et af valgene: {errors[1].params['choices']}",
        "mål 4: teksten skal udfyldes",
    ]
    assert errors[1].text("en").startswith("goal 3: 'fodbold' is not one of: ")


def test_a_team_with_several_wrong_members_is_told_of_each(soroe: Definition) -> None:
    team = [
        {"department": "skole", "person": "laerer-anna"},
        {"department": "fritid", "person": "a b"},  # no such department, nor such an id
        {"department": "skole", "person": "laerer-anna"},
        {"department": "uu"},
    ]
    rejection = refused(pre_meeting(soroe, in_pre_meeting(soroe), team=team))
    errors = [e for e in rejection.field_errors if e.name == "team"]
    found = [(e.code, e.params.get("item")) for e in errors]
    assert found == [("not_a_choice", 2), ("duplicate", 3), ("item_field_required", 4)]
    assert errors[1].text("da") == "række 3: 'laerer-anna' står der to gange"


# Effects ---------------------------------------------------------------------------


def test_one_notification_per_chosen_team_member_and_guardian_only_for_minors(
    soroe: Definition,
) -> None:
    pre = in_pre_meeting(soroe)
    decision = accepted(pre_meeting(soroe, pre))
    notified = [(e.recipient, e.template) for e in decision.effects if isinstance(e, Notify)]
    assert notified == [
        (Recipient("team_member", "skole", "laerer-anna"), "first_meeting_invitation"),
        (Recipient("team_member", "uu", "vejleder-sara"), "first_meeting_invitation"),
        (Recipient("role", "coordinator", "tovholder-lise"), "coordinator_chosen"),
        (Recipient("role", "young_person"), "my_first_meeting"),
        (Recipient("role", "guardian"), "my_first_meeting"),
    ]
    shared = next(e for e in decision.effects if isinstance(e, Notify)).shared
    assert shared == {
        "first_meeting_at": "2026-03-17T09:00+01:00",
        "meeting_room": "raadhuset_storskaerm",
    }
    adult = awaiting_meeting(soroe, age=19)
    assert adult.data["minor"] is False


def test_a_confirmation_for_a_meeting_sooner_than_its_due_time_is_due_when_it_begins(
    soroe: Definition,
) -> None:
    """The departments confirm their mandate within 3 business days, but at the latest when
    the first meeting begins (at_latest: meeting); a reminder after that is not given."""

    def confirmations(first_meeting_at: str) -> list[CreateTask]:
        decision = accepted(
            # held on 5 March, a Thursday
            pre_meeting(soroe, in_pre_meeting(soroe), first_meeting_at=first_meeting_at)
        )
        return [e for e in decision.effects if isinstance(e, CreateTask)]

    later = confirmations("2026-03-17T09:00")  # twelve days away: 3 business days apply
    assert {t.due_at for t in later} == {at("2026-03-10 10:00")}
    assert all([r.at for r in t.reminders] == [at("2026-03-10 10:00")] for t in later)
    soon = confirmations("2026-03-10T09:00")  # the Tuesday: before the 3 business days end
    assert {t.due_at for t in soon} == {at("2026-03-10 09:00")}
    assert all(t.reminders == () for t in soon)  # at the meeting's start: too late to act


def test_no_guardian_notification_for_an_adult(soroe: Definition) -> None:
    case = accepted(
        step(
            soroe,
            opened(soroe, age=19),
            "accept_referral",
            CW,
            at("2026-03-03 10:00"),
            young_person_agrees=True,
            consent=True,
        )
    ).case
    decision = accepted(pre_meeting(soroe, case, coordinator="t"))
    roles = [
        e.recipient.id
        for e in decision.effects
        if isinstance(e, Notify) and e.recipient.kind == "role"
    ]
    assert roles == ["coordinator", "young_person"]  # the young person is invited too


def test_first_meeting_records_milestone_tasks_and_stage_timers(soroe: Definition) -> None:
    decision = accepted(
        step(
            soroe,
            awaiting_meeting(soroe),
            "hold_first_meeting",
            COORD,
            at("2026-03-17 11:00"),
            plan=PLAN,
            next_meeting_at="2026-04-28T09:00",
        )
    )
    # The first meeting is held, the next one booked, before the stage is left.
    held, booked = decision.effects[0], decision.effects[1]
    assert isinstance(held, MeetingChanged)
    assert isinstance(booked, MeetingChanged)
    assert (held.action, held.meeting.kind, held.meeting.state) == ("hold", "first_meeting", "held")
    assert (booked.action, booked.meeting.kind, booked.meeting.key) == ("book", "follow_up", 2)
    assert decision.effects[2] == CancelTimer("first_meeting_missed")
    assert RecordMilestone("plan_agreed") in decision.effects
    tasks = [e for e in decision.effects if isinstance(e, CreateTask)]
    assert [t.assignee.person for t in tasks] == ["laerer-anna", "vejleder-sara"]
    assert {t.due_at for t in tasks} == {at("2026-04-07 09:00")}  # 2 weeks -> meeting day
    # 6 weeks later is Tuesday 28 April 11:00, after the 09:00 meeting: Thursday 30 April.
    started = {e.timer: e for e in decision.effects if isinstance(e, StartTimer)}
    assert started["follow_up_due"] == StartTimer("follow_up_due", at("2026-04-30 09:00"))
    # The next meeting not recorded two working days after it begins is chased.
    assert started["meeting_not_recorded"].due_at == at("2026-04-30 09:00")  # Tue 28th
    assert decision.case.milestones >= {"plan_agreed", "team_chosen", "consent_given"}
    assert decision.case.data["plan"][0]["id"] == 1


# Timers ------------------------------------------------------------------------------


def test_deferred_choice_timer_first_sends_the_case_back(soroe: Definition) -> None:
    case = awaiting_meeting(soroe)
    due = case.timers["first_meeting_missed"]
    # Two working days after the first meeting booked (Tuesday 17 March, 09:00).
    assert due == at("2026-03-19 09:00")
    assert (
        refused(fire_timer(soroe, case, "first_meeting_missed", due - timedelta(minutes=1))).reason
        is RejectionReason.TIMER_NOT_DUE
    )
    decision = accepted(fire_timer(soroe, case, "first_meeting_missed", due))
    assert decision.effects[0] == TimerFired("first_meeting_missed", due, "first_meeting_missed")
    assert decision.to_stage == "pre_meeting"
    assert "first_meeting_missed" not in decision.case.timers
    assert "pre_meeting_due" in decision.case.timers


def test_deferred_choice_event_first_cancels_the_timer(soroe: Definition) -> None:
    case = in_follow_up(soroe)
    assert "first_meeting_missed" not in case.timers
    assert (
        refused(fire_timer(soroe, case, "first_meeting_missed", at("2026-05-01 09:00"))).reason
        is RejectionReason.TIMER_NOT_RUNNING
    )


def test_recurring_timer_reschedules_itself(soroe: Definition) -> None:
    case = in_follow_up(soroe)
    first = case.timers["follow_up_due"]
    decision = accepted(fire_timer(soroe, case, "follow_up_due", first))
    assert decision.to_stage == "follow_up"
    assert decision.effects[:2] == (
        TimerFired("follow_up_due", first),
        Notify(
            Recipient("role", "coordinator", "tovholder-lise"), "follow_up_due", {}, "follow_up_due"
        ),
    )
    assert decision.case.timers["follow_up_due"] == at("2026-06-11 09:00")  # +6 weeks, Thu
    assert decision.case.timer_firings == {"follow_up_due": 1}


def test_times_per_year_spreads_firings(base: Definition) -> None:
    from workflow.engine.timing import repeat_interval

    timer = base.timers_by_id["follow_up_due"]
    assert timer.repeat is not None
    assert str(repeat_interval(timer.repeat)) == "121 days"


def test_follow_up_loop_reenters_and_restarts_stage_timer(soroe: Definition) -> None:
    case = in_follow_up(soroe)
    decision = accepted(
        step(
            soroe,
            case,
            "hold_follow_up",
            COORD,
            at("2026-04-30 11:00"),
            reviews=[{"goal": 1, "status": "met"}],
            plan=PLAN,
            next_meeting_at="2026-06-11T09:00",
        )
    )
    held, booked = decision.effects[0], decision.effects[1]
    assert isinstance(held, MeetingChanged)
    assert isinstance(booked, MeetingChanged)
    assert (held.action, held.meeting.key) == ("hold", 2)
    assert (booked.action, booked.meeting.key, booked.meeting.state) == ("book", 3, "booked")
    assert decision.effects[2] == CancelTimer("follow_up_due")
    # 6 weeks after Thursday 11:00 is past that day's 09:00 meeting: Tuesday 16 June.
    started = {e.timer: e for e in decision.effects if isinstance(e, StartTimer)}
    assert started["follow_up_due"] == StartTimer("follow_up_due", at("2026-06-16 09:00"))
    # The meeting booked (Thursday 11 June) is chased two working days after it.
    assert started["meeting_not_recorded"].due_at == at("2026-06-15 09:00")
    assert decision.case.counts["hold_follow_up"] == 1


def test_handover_needs_a_follow_up_meeting_first(soroe: Definition) -> None:
    networks = [{"name": "Klubben", "kind": "leisure"}]
    case = in_follow_up(soroe)
    assert (
        refused(
            step(soroe, case, "start_handover", COORD, at("2026-04-01 10:00"), networks=networks)
        ).reason
        is RejectionReason.GUARD_FALSE
    )
    case = accepted(
        step(
            soroe,
            case,
            "hold_follow_up",
            COORD,
            at("2026-04-30 11:00"),
            reviews=[{"goal": 1, "status": "partly"}],
            plan=PLAN,
            next_meeting_at="2026-06-11T09:00",
        )
    ).case
    assert (
        accepted(
            step(soroe, case, "start_handover", COORD, at("2026-05-01 10:00"), networks=networks)
        ).to_stage
        == "handover"
    )


def test_a_pauses_expected_resumption_is_a_day_still_to_come(soroe: Definition) -> None:
    """``min: 0`` on a date: the day of the step (in Denmark) or later; a day gone is
    refused with the first day allowed."""
    case = in_follow_up(soroe)
    now = at("2026-04-01 00:30")  # 1 April in Denmark, still 31 March in UTC

    def pause(day: str) -> Decision | Rejection:
        return step(soroe, case, "pause", COORD, now, pause_reason="treatment", expected_resume=day)

    error = refused(pause("2026-03-31")).field_errors[0]
    assert (error.name, error.code, error.params) == (
        "expected_resume",
        "date_too_early",
        {"day": "01.04.2026"},
    )
    assert error.text("da") == "må tidligst være 01.04.2026"
    assert isinstance(pause("2026-04-01"), Decision)
    assert isinstance(pause("2026-06-01"), Decision)
    # A bound past a century either way is refused where it is written (a day that far
    # off could not even be counted: it broke the form and the step).
    with pytest.raises(ValueError, match="at most 36,500 either way"):
        Input(name="back_by", type=InputType.DATE, label="Tilbage", max=1e7)


def test_pause_and_resume_return_to_the_stage_before(soroe: Definition) -> None:
    case = in_follow_up(soroe)
    paused = accepted(
        step(soroe, case, "pause", COORD, at("2026-04-01 10:00"), pause_reason="treatment")
    )
    assert paused.case.stage == "paused"
    assert CancelTimer("follow_up_due") in paused.effects
    case_wide = {"eighteenth_birthday", "upper_age_reached"}  # run whatever the stage
    assert set(paused.case.timers) == {"pause_review"} | case_wide
    left = case.timers["follow_up_due"] - at("2026-04-01 10:00")
    assert (
        refused(
            step(soroe, paused.case, "pause", COORD, at("2026-04-02 10:00"), pause_reason="other")
        ).reason
        is RejectionReason.WRONG_STAGE
    )
    resumed = accepted(
        step(soroe, paused.case, "resume", Actor("young_person"), at("2026-05-01 10:00"))
    )
    assert resumed.to_stage == "follow_up"
    assert set(resumed.case.timers) == {"follow_up_due"} | case_wide
    # The pause suspended the deadline: it goes on with the time it had left, not anew
    # (on the day its alignment gives: Sorø's fixed meeting days).
    aligned = soroe.timers_by_id["follow_up_due"].align
    expected = timing.align(soroe, at("2026-05-01 10:00") + left, aligned)
    assert resumed.case.timers["follow_up_due"] == expected
    assert expected < at("2026-05-01 10:00") + timedelta(days=80)  # not a new 3 months


def test_a_timer_whose_event_is_refused_is_still_consumed(soroe: Definition) -> None:
    case = awaiting_meeting(soroe)
    due = case.timers["first_meeting_missed"]
    # Move the case to a stage where the event is not possible, keeping the timer running.
    odd = CaseState(**{**case.__dict__, "stage": "follow_up"})
    decision = accepted(fire_timer(soroe, odd, "first_meeting_missed", due))
    assert decision.effects[0] == TimerFired(
        "first_meeting_missed", due, "first_meeting_missed", rejected="wrong_stage"
    )
    assert "first_meeting_missed" not in decision.case.timers
    assert decision.case.stage == "follow_up"


def test_inputs_are_normalised(soroe: Definition) -> None:
    decision = accepted(
        step(
            soroe,
            opened(soroe),
            "accept_referral",
            CW,
            at("2026-03-03 10:00"),
            young_person_agrees="ja",
            consent="true",
        )
    )
    assert decision.case.data["young_person_agrees"] is True


@pytest.mark.parametrize(
    ("value", "code"),
    [("2026-13-01T09:00", "not_datetime"), (5, "not_datetime"), ("", "required")],
)
def test_datetime_input_errors(soroe: Definition, value: object, code: str) -> None:
    rejection = refused(
        pre_meeting(soroe, in_pre_meeting(soroe), coordinator="t", first_meeting_at=value)
    )
    assert [(e.name, e.code) for e in rejection.field_errors] == [("first_meeting_at", code)]


def test_a_group_of_choices_left_empty_is_told_to_choose(soroe: Definition) -> None:
    """The agenda's themes are ticked boxes: "vælg mindst én", not "skal udfyldes" (which
    does not say what to do with boxes); the code stays 'required' for the API."""
    errors = refused(pre_meeting(soroe, in_pre_meeting(soroe), agenda=[])).field_errors
    agenda = next(e for e in errors if e.name == "agenda")
    assert (agenda.code, agenda.params) == ("required", {"choose": 1})
    assert agenda.text("da") == "vælg mindst én"
    assert agenda.text("en") == "choose at least one"
    other = refused(pre_meeting(soroe, in_pre_meeting(soroe), coordinator="")).field_errors
    assert [e.text("da") for e in other if e.name == "coordinator"] == ["skal udfyldes"]


def test_the_new_municipality_is_a_kommunekode_not_free_text(soroe: Definition) -> None:
    """The code was a text box that took 'Ringsted kommune, flyttet 1. december / ny
    adresse: Nørregade 4' and closed the case on it (a helper's report)."""
    case = in_follow_up(soroe)
    told = step(
        soroe, case, "move_municipality", CW, at("2026-04-20 11:00"),
        new_municipality_code="Ringsted kommune, ny adresse: Nørregade 4",
    )  # fmt: skip
    assert [(e.name, e.code) for e in refused(told).field_errors] == [
        ("new_municipality_code", "not_integer")
    ]
    moved = step(
        soroe, case, "move_municipality", CW, at("2026-04-20 11:00"), new_municipality_code=329
    )
    assert accepted(moved).to_stage == "moved"


def test_a_goal_names_only_a_department_of_the_team_or_one_the_consent_covers(
    soroe: Definition,
) -> None:
    """The plan goes to the whole team: a goal given to a department neither on the team
    nor covered by the consent (psychiatry) told them of its part, and one whose consent
    was taken back is no longer part of the course. A team department still waiting for
    the consent may be named (the team already says it is on it); without the consent
    loaded (a caller that does not read it) nothing is checked."""
    waiting = awaiting_meeting(soroe)  # team: school and youth guidance

    def first_meeting(case: CaseState, department: str) -> Decision | Rejection:
        goal = {"text": "Jeg vil have hjælp", "theme": "uddannelse", "department": department}
        plan = [{"text": "Jeg skal i skole", "theme": "uddannelse"}, goal]
        return step(
            soroe,
            case,
            "hold_first_meeting",
            COORD,
            at("2026-03-17 11:00"),
            plan=plan,
            next_meeting_at="2026-04-28T09:00",
        )

    consent = {"given": True, "departments": ["skole"], "withdrawn": ["uu"]}
    with_consent = replace(waiting, consent=consent)
    refusal = refused(first_meeting(with_consent, "psykiatri"))
    assert [(e.name, e.code, e.params) for e in refusal.field_errors] == [
        ("plan", "goal_department_not_consented", {"item": 2, "goal": True})
    ]
    assert refused(first_meeting(with_consent, "uu")).field_errors[0].code == (
        "goal_department_not_consented"
    )  # taken back
    accepted(first_meeting(with_consent, "skole"))  # covered
    pending = replace(waiting, consent={"given": False, "departments": [], "withdrawn": []})
    accepted(first_meeting(pending, "uu"))  # on the team, its consent still to come
    accepted(first_meeting(waiting, "psykiatri"))  # consent not loaded: not checked
