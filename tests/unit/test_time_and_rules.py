"""The definition language's time and rules (issue 15): each wrong result and gap, pinned.

Dates as values with the calendar's arithmetic, facts about the young person from the
birth date, timers anchored to data, recurrence without drift, pauses that keep the time
left, rule lists with their own messages, milestones that are revoked or lapse, and the
wrong results that were fixed (``case.team`` inside the step that sets it, a refused
timer event recorded as the timer's own, an instant timer loop refused at load, a guard
failing on an unset value located with the name that was unset).
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.unit.conftest import at
from workflow.definitions.loader import load_definition
from workflow.definitions.models import Definition
from workflow.definitions.types import Duration
from workflow.engine import timing
from workflow.engine.context import expression_context
from workflow.engine.decide import decide, open_case
from workflow.engine.firing import fire_timer
from workflow.engine.model import (
    Actor,
    CaseState,
    Decision,
    Event,
    Notify,
    Rejection,
    RejectionReason,
    RevokeMilestone,
    TimerFired,
)
from workflow.errors import DefinitionError

CW = Actor("caseworker", "cw-mette")
COORD = Actor("coordinator", "tovholder-lise")
HEADER = """
id: {id}
extends: base
version: 1
title: Test
municipality: {{name: Testkøbing Kommune, code: "999", case_prefix: TST}}
remove: {{departments: [jobcenter, born_familie, sundhed, ssp, psykiatri]}}
roles:
  - {{id: coordinator, name: Koordinator, channels: [{{kind: email, address: k@tst.example}}]}}
  - {{id: caseworker, name: Sagsbehandler, channels: [{{kind: email, address: s@tst.example}}]}}
  - {{id: leader, name: Leder, channels: [{{kind: email, address: l@tst.example}}]}}
departments:
  - {{id: skole, name: Skole, channels: [{{kind: email, address: skole@tst.example}}]}}
  - {{id: uu, name: UU, channels: [{{kind: email, address: uu@tst.example}}]}}
  - {{id: social, name: Voksen, channels: [{{kind: email, address: voksen@tst.example}}]}}
"""


def write(tmp_path: Path, name: str, body: str) -> Path:
    """A definition extending the shipped base, in a folder of its own."""
    shutil.copy("definitions/base.yaml", tmp_path / "base.yaml")
    path = tmp_path / f"{name}.yaml"
    path.write_text(HEADER.format(id=name) + body, encoding="utf-8")
    return path


def made(tmp_path: Path, name: str, body: str) -> Definition:
    return load_definition(write(tmp_path, name, body))


def accepted(result: Decision | Rejection) -> Decision:
    assert isinstance(result, Decision), str(result)
    return result


def refused(result: Decision | Rejection) -> Rejection:
    assert isinstance(result, Rejection), f"expected a refusal, got {result}"
    return result


def opened(d: Definition, born: date, now: datetime) -> CaseState:
    age = now.year - born.year - ((now.month, now.day) < (born.month, born.day))
    inputs = {"source": "school", "age": age, "caseworker": "cw-mette"}
    return accepted(open_case(d, "TST-2026-0001", CW, inputs, now, born=born)).case


def step(d: Definition, case: CaseState, event: str, now: datetime, **inputs: Any) -> Any:
    return decide(d, case, Event(event, CW, inputs), now)


def evaluate(d: Definition, source: str, case: CaseState, now: datetime, **inputs: Any) -> Any:
    from workflow.definitions.expressions import evaluate_raw

    return evaluate_raw(source, expression_context(d, case, inputs, CW, now))


# Dates as values -------------------------------------------------------------------


def test_date_functions_count_on_the_definitions_calendar(base: Definition) -> None:
    case = CaseState("TST-1", "referred", at("2026-12-01 09:00"), born=date(2010, 9, 10))
    now = at("2026-12-01 09:00")

    def value(source: str) -> Any:
        return evaluate(base, source, case, now)

    # Christmas Eve and New Year's Eve are closing days of the base; 25/26 Dec holidays.
    assert value("add_business_days('2026-12-23', 1)") == date(2026, 12, 28)
    assert value("add_business_days('2026-12-23', 2)") == date(2026, 12, 29)
    assert value("business_days_between('2026-12-23', '2027-01-04')") == 4
    assert value("business_days_between('2027-01-04', '2026-12-23')") == -4
    assert value("days_between('2026-12-23', '2027-01-04')") == 12
    assert value("add_months('2027-01-31', 1)") == date(2027, 2, 28)
    assert value("add_days(today, 14)") == date(2026, 12, 15)
    assert value("add_days(now, 1)") == at("2026-12-02 09:00")  # a time stays a time
    assert value("next_meeting_day('2026-12-24')") == date(2026, 12, 28)
    assert value("date(now) == today") is True
    assert value("weekday(today)") == "tuesday"
    # A date input arrives as a date and compares with today.
    assert evaluate(base, "inputs.expected_resume > today", case, now, expected_resume="2027-01-05")


def test_a_computed_date_is_kept_as_iso_text_and_read_back_as_a_date(tmp_path: Path) -> None:
    d = made(
        tmp_path,
        "computed",
        """
transitions:
  - id: plan_review
    name: Planlæg
    from: referred
    roles: [caseworker]
    set:
      review_by: add_business_days(today, 10)
  - id: check_review
    name: Tjek
    from: referred
    roles: [caseworker]
    guard: case.data.review_by > today
""",
    )
    case = opened(d, date(2010, 9, 10), at("2026-03-02 09:00"))
    planned = accepted(step(d, case, "plan_review", at("2026-03-02 10:00"))).case
    assert planned.data["review_by"] == "2026-03-16"
    accepted(step(d, planned, "check_review", at("2026-03-10 10:00")))
    assert refused(step(d, planned, "check_review", at("2026-03-17 10:00"))).reason is (
        RejectionReason.GUARD_FALSE
    )


# The young person's facts ------------------------------------------------------------


def test_person_facts_follow_the_birthday_without_any_event(base: Definition) -> None:
    case = CaseState("TST-1", "follow_up", at("2026-03-02 09:00"), born=date(2010, 9, 10))
    before = expression_context(base, case, {}, CW, at("2028-09-09 23:00"))["person"]
    after = expression_context(base, case, {}, CW, at("2028-09-10 00:30"))["person"]
    assert (before["age"], before["minor"]) == (17, True)
    assert (after["age"], after["minor"]) == (18, False)
    assert after["turns_18_on"] == date(2028, 9, 10)
    assert after["turns_on"](25) == date(2035, 9, 10)
    assert after["age_on"]("2026-09-09") == 15
    context = expression_context(base, case, {}, CW, at("2028-09-10 00:30"))
    assert "born" not in context["person"]
    assert date(2010, 9, 10) not in context["person"].values()


def test_the_guardian_is_told_only_while_the_young_person_is_a_minor(base: Definition) -> None:
    case = opened(base, date(2010, 9, 10), at("2028-08-01 09:00"))
    pre = accepted(
        step(
            base,
            case,
            "accept_referral",
            at("2028-08-02 09:00"),
            young_person_agrees=True,
            consent=True,
        )
    ).case

    def guardian_told(moment: str) -> bool:
        result = accepted(
            step(
                base,
                pre,
                "hold_pre_meeting",
                at(moment),
                team=[{"department": "skole", "person": "laerer-anna"}],
                coordinator="tovholder-lise",
                agenda=["uddannelse"],
                first_meeting_at="2028-09-26T09:00",
            )
        )
        meeting = next(e for e in result.effects if type(e).__name__ == "MeetingChanged")
        invited = {p["role"] for p in meeting.meeting.participants}
        told = any(isinstance(e, Notify) and e.recipient.id == "guardian" for e in result.effects)
        assert told == ("guardian" in invited)
        return told

    assert guardian_told("2028-09-09 10:00")  # 17
    assert not guardian_told("2028-09-11 10:00")  # 18


# Timers anchored to data and recurring without drift ---------------------------------


def test_the_birthday_timer_runs_from_the_referral_and_fires_once(base: Definition) -> None:
    case = opened(base, date(2010, 9, 10), at("2026-03-02 09:00"))
    assert case.timers["eighteenth_birthday"] == at("2028-09-10 08:00")
    assert case.timers["upper_age_reached"] == at("2035-09-10 08:00")  # the day past 24
    fired = accepted(fire_timer(base, case, "eighteenth_birthday", at("2028-09-10 08:00")))
    assert fired.event == "turned_18"
    assert "eighteenth_birthday" not in fired.case.timers
    # Later steps do not start it again (it has run its course).
    later = accepted(
        step(
            base,
            fired.case,
            "accept_referral",
            at("2028-09-11 09:00"),
            young_person_agrees=True,
            consent=True,
        )
    )
    assert "eighteenth_birthday" not in later.case.timers


def test_an_anchored_timer_follows_the_data_it_reads(tmp_path: Path) -> None:
    d = made(
        tmp_path,
        "anchored",
        """
timers:
  - id: before_review
    name: Før gennemgang
    at: case.data.review_on
    before: 2 business_days
    while_open: true
    fires: {notify: {to: {roles: [caseworker]}, template: pause_review}}
transitions:
  - id: set_review
    name: Gennemgang
    from: referred
    roles: [caseworker]
    inputs:
      - {name: review_on, type: date, required: false, label: Dato}
""",
    )
    case = opened(d, date(2010, 9, 10), at("2026-03-02 09:00"))
    assert "before_review" not in case.timers  # nothing to anchor to yet
    first = accepted(step(d, case, "set_review", at("2026-03-02 10:00"), review_on="2026-03-20"))
    assert first.case.timers["before_review"] == at("2026-03-18 08:00")
    moved = accepted(
        step(d, first.case, "set_review", at("2026-03-03 10:00"), review_on="2026-04-10")
    )
    assert moved.case.timers["before_review"] == at("2026-04-08 08:00")


def _firings(d: Definition, case: CaseState, timer: str, count: int) -> list[datetime]:
    dues = []
    for _ in range(count):
        due = case.timers[timer]
        dues.append(due)
        case = accepted(fire_timer(d, case, timer, due)).case
    return dues


def test_monthly_from_31_january_keeps_to_the_month_end(tmp_path: Path) -> None:
    d = made(
        tmp_path,
        "monthly",
        """
timers:
  - id: monthly
    name: Månedlig
    after: 0 days
    repeat: {every: 1 month}
    fires: {notify: {to: {roles: [caseworker]}, template: pause_review}}
stages:
  - {id: referred, name: Henvist, kind: start, phase: referral, timers: [monthly]}
""",
    )
    case = opened(d, date(2010, 9, 10), at("2027-01-31 09:00"))
    assert _firings(d, case, "monthly", 4) == [
        at("2027-01-31 09:00"),
        at("2027-02-28 09:00"),
        at("2027-03-31 09:00"),  # not 28 March: counted from the first, not the last
        at("2027-04-30 09:00"),
    ]


def test_a_weekly_reminder_moved_off_christmas_eve_stays_on_wednesdays(tmp_path: Path) -> None:
    d = made(
        tmp_path,
        "weekly",
        """
timers:
  - id: weekly
    name: Ugentlig
    after: 0 days
    align: business_day
    repeat: {every: 1 week}
    fires: {notify: {to: {roles: [caseworker]}, template: pause_review}}
stages:
  - {id: referred, name: Henvist, kind: start, phase: referral, timers: [weekly]}
""",
    )
    case = opened(d, date(2008, 9, 10), at("2025-12-17 09:00"))  # a Wednesday
    assert _firings(d, case, "weekly", 5) == [
        at("2025-12-17 09:00"),
        at("2025-12-29 08:00"),  # 24 Dec closed, 25-26 holidays, then the weekend
        at("2026-01-02 08:00"),  # 31 Dec closed, 1 Jan a holiday
        at("2026-01-07 09:00"),  # back on Wednesday, not drifted to Friday
        at("2026-01-14 09:00"),
    ]


# Rules with their own messages -------------------------------------------------------


def test_a_refusal_names_every_failed_rule_beside_its_field(tmp_path: Path) -> None:
    d = made(
        tmp_path,
        "rules",
        """
transitions:
  - id: plan
    name: Plan
    from: referred
    roles: [caseworker]
    inputs:
      - {name: themes_ok, type: boolean, label: Temaer}
      - {name: meeting_on, type: date, label: Møde}
    guard:
      - rule: inputs.themes_ok
        field: themes_ok
        message: {da: Planen må kun dække den unges temaer., en: Only the young person's themes.}
      - rule: weekday(inputs.meeting_on) in ['tuesday', 'thursday']
        field: meeting_on
        message: {da: Mødet skal ligge på en fast mødedag., en: The meeting must be on a fixed day.}
      - rule: case.counts.plan < 3
        message: Højst tre planer.
""",
    )
    case = opened(d, date(2010, 9, 10), at("2026-03-02 09:00"))
    both = refused(
        step(d, case, "plan", at("2026-03-02 10:00"), themes_ok=False, meeting_on="2026-03-09")
    )
    assert both.reason is RejectionReason.GUARD_FALSE
    assert {e.name: e.text("en") for e in both.field_errors} == {
        "themes_ok": "Only the young person's themes.",
        "meeting_on": "The meeting must be on a fixed day.",
    }
    assert (
        both.text("da")
        == "Planen må kun dække den unges temaer. Mødet skal ligge på en fast mødedag."
    )
    one = refused(
        step(d, case, "plan", at("2026-03-02 10:00"), themes_ok=True, meeting_on="2026-03-09")
    )
    assert [e.name for e in one.field_errors] == ["meeting_on"]
    accepted(step(d, case, "plan", at("2026-03-02 10:00"), themes_ok=True, meeting_on="2026-03-10"))


def test_a_rule_field_must_be_an_input_of_its_step(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as error:
        made(
            tmp_path,
            "badfield",
            """
transitions:
  - id: plan
    name: Plan
    from: referred
    roles: [caseworker]
    inputs:
      - {name: meeting_on, type: date, label: Møde}
    guard:
      - {rule: "true", field: meeting_at, message: Nej}
""",
        )
    assert "unknown input of this step 'meeting_at'" in str(error.value)
    assert "meeting_on" in str(error.value)


# Milestones that are withdrawn or lapse ------------------------------------------------


def test_milestones_are_revoked_and_lapse(tmp_path: Path) -> None:
    d = made(
        tmp_path,
        "lapsing",
        """
milestones:
  - {id: plan_agreed, name: Plan aftalt, expires_after: 6 months}
transitions:
  - id: agree
    name: Aftal
    from: referred
    roles: [caseworker]
    effects: [{milestone: plan_agreed}]
  - id: withdraw_plan
    name: Træk tilbage
    from: referred
    roles: [caseworker]
    effects: [{revoke_milestone: plan_agreed}]
  - id: check
    name: Tjek
    from: referred
    roles: [caseworker]
    guard: "'plan_agreed' in case.milestones"
""",
    )
    case = opened(d, date(2010, 9, 10), at("2026-03-02 09:00"))
    agreed = accepted(step(d, case, "agree", at("2026-03-02 10:00"))).case
    accepted(step(d, agreed, "check", at("2026-09-01 10:00")))
    lapsed = refused(step(d, agreed, "check", at("2026-09-03 10:00")))
    assert lapsed.reason is RejectionReason.GUARD_FALSE
    later = accepted(step(d, agreed, "agree", at("2026-09-03 10:00")))  # reached anew
    assert RevokeMilestone("plan_agreed", expired=True) in later.effects
    assert "plan_agreed" in later.case.milestones
    withdrawn = accepted(step(d, later.case, "withdraw_plan", at("2026-09-04 10:00"))).case
    assert "plan_agreed" not in withdrawn.milestones
    refused(step(d, withdrawn, "check", at("2026-09-04 11:00")))


# The wrong results ---------------------------------------------------------------------


def test_case_team_inside_the_step_that_sets_it_is_the_new_team(tmp_path: Path) -> None:
    d = made(
        tmp_path,
        "teamwhen",
        """
transitions:
  - id: choose_team
    name: Team
    from: referred
    roles: [caseworker]
    inputs:
      - {name: team, type: team, min: 1, label: Team}
    effects:
      - notify: {to: {roles: [caseworker]}, template: case_resumed}
        when: count(case.team) > 0
""",
    )
    case = opened(d, date(2010, 9, 10), at("2026-03-02 09:00"))
    result = accepted(
        step(
            d,
            case,
            "choose_team",
            at("2026-03-02 10:00"),
            team=[{"department": "skole", "person": "laerer-anna"}],
        )
    )
    assert any(isinstance(e, Notify) for e in result.effects)  # before the fix: nothing sent


def test_a_refused_timer_event_is_the_timers_own_record(soroe: Definition) -> None:
    case = opened(soroe, date(2010, 9, 10), at("2026-03-02 09:00"))
    due = at("2026-04-01 08:00")
    odd = CaseState(**{**case.__dict__, "timers": {**case.timers, "first_meeting_missed": due}})
    decision = accepted(fire_timer(soroe, odd, "first_meeting_missed", due))
    assert decision.event == "timer:first_meeting_missed"  # not the refused event's name
    assert decision.effects[0] == TimerFired(
        "first_meeting_missed", due, "first_meeting_missed", rejected="wrong_stage"
    )
    assert decision.case.counts == case.counts


def test_an_instant_timer_loop_is_refused_at_load_naming_the_cycle(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as error:
        made(
            tmp_path,
            "instant",
            """
timers:
  - id: again
    name: Igen
    after: 0 minutes
    fires: {event: again}
stages:
  - {id: referred, name: Henvist, kind: start, phase: referral, timers: [again]}
transitions:
  - id: again
    name: Igen
    from: referred
    to: referred
    roles: [caseworker]
""",
        )
    message = str(error.value)
    assert "instant.yaml:" in message
    assert "referred -> referred" in message
    assert "after: 1 day" in message


def test_a_guard_failing_on_an_unset_value_says_where_and_what(tmp_path: Path) -> None:
    d = made(
        tmp_path,
        "unset",
        """
transitions:
  - id: set_date
    name: Dato
    from: referred
    roles: [caseworker]
    inputs:
      - {name: review_on, type: date, required: false, label: Dato}
  - id: check
    name: Tjek
    from: referred
    roles: [caseworker]
    guard: case.data.review_on > today
""",
    )
    case = opened(d, date(2010, 9, 10), at("2026-03-02 09:00"))
    error = refused(step(d, case, "check", at("2026-03-02 10:00")))
    assert error.reason is RejectionReason.GUARD_ERROR
    detail = str(error.params["detail"])
    assert "unset.yaml:" in detail  # file:line:column of the guard
    assert "guard:" in detail
    assert "not set: case.data.review_on" in detail


def test_a_reminder_anchored_to_the_next_meeting_follows_a_move(tmp_path: Path) -> None:
    d = made(
        tmp_path,
        "meetingbound",
        """
timers:
  - id: meeting_soon
    name: Snart møde
    at: case.next_meeting_at
    before: 2 business_days
    while_open: true
    fires: {notify: {to: {roles: [coordinator]}, template: pause_review}}
""",
    )
    case = opened(d, date(2010, 9, 10), at("2026-03-02 09:00"))
    pre = accepted(
        step(
            d,
            case,
            "accept_referral",
            at("2026-03-02 10:00"),
            young_person_agrees=True,
            consent=True,
        )
    ).case
    booked = accepted(
        step(
            d,
            pre,
            "hold_pre_meeting",
            at("2026-03-05 10:00"),
            team=[{"department": "skole", "person": "laerer-anna"}],
            coordinator="tovholder-lise",
            agenda=["uddannelse"],
            first_meeting_at="2026-03-17T09:00",
        )
    ).case
    assert booked.timers["meeting_soon"] == at("2026-03-13 09:00")  # Friday before Tuesday
    moved = accepted(
        step(d, booked, "move_meeting", at("2026-03-06 10:00"), moved_to="2026-03-24T10:00")
    )
    assert moved.case.timers["meeting_soon"] == at("2026-03-20 10:00")
    cancelled = accepted(step(d, moved.case, "cancel_meeting", at("2026-03-07 10:00")))
    assert "meeting_soon" not in cancelled.case.timers  # nothing booked: nothing to remind of


def test_past_the_upper_age_the_case_ages_out_by_itself(base: Definition) -> None:
    case = opened(base, date(2002, 5, 20), at("2026-03-02 09:00"))  # 23
    assert "eighteenth_birthday" not in case.timers  # long past: nothing to wait for
    due = case.timers["upper_age_reached"]
    assert due == at("2027-05-20 08:00")  # the 25th birthday: past the base's 15-24
    aged = accepted(fire_timer(base, case, "upper_age_reached", due))
    assert (aged.event, aged.to_stage) == ("age_out", "aged_out")
    assert aged.case.timers == {}


def test_the_caseworker_may_age_a_case_out_only_past_the_upper_age(base: Definition) -> None:
    case = opened(base, date(2010, 5, 20), at("2026-03-02 09:00"))  # 15: inside 15-24
    refusal = refused(step(base, case, "age_out", at("2026-03-03 09:00")))
    assert refusal.reason is RejectionReason.GUARD_FALSE
    assert refusal.text("da") == (
        "Den unge er ikke over aldersgrænsen: forløbet er for unge mellem 15 og 24 år."
    )
    # Past it (the timer not yet fired, or a case moved on by hand): the caseworker may.
    older = opened(base, date(2001, 5, 20), at("2026-03-02 09:00"))  # 24
    aged = accepted(step(base, older, "age_out", at("2026-05-21 09:00")))  # 25 the day before
    assert aged.to_stage == "aged_out"


def test_a_step_its_guard_refuses_on_the_case_as_it_is_is_not_offered(base: Definition) -> None:
    """The case page leaves out "Over aldersgrænsen" for a 15-year-old (its guard reads
    only the young person's age), and offers it once the young person is past the range;
    a guard that reads the step's inputs is left to the submitted step."""
    from workflow.engine.steps import next_steps, refused_now

    roles = ["caseworker", "coordinator"]
    young = opened(base, date(2010, 5, 20), at("2026-03-02 09:00"))  # 15
    refused_young = refused_now(base, young, roles, "cw-mette", at("2026-03-03 09:00"))
    assert "age_out" in refused_young
    offered = {t.id for t in next_steps(base, young.stage, roles, None, refused_young)}
    assert "age_out" not in offered
    assert offered == {t.id for t in next_steps(base, young.stage, roles)} - refused_young
    # Each step left out would be refused by its guard if it were taken anyway.
    for step_id in refused_young:
        event = base.transitions_by_id[step_id].event_name
        refusal = refused(step(base, young, event, at("2026-03-03 09:00")))
        assert refusal.reason is RejectionReason.GUARD_FALSE, step_id
    older = opened(base, date(2001, 5, 20), at("2026-03-02 09:00"))  # 24, 25 on 20 May
    assert "age_out" not in refused_now(base, older, roles, "cw-mette", at("2026-05-21 09:00"))
    # A guard that reads the inputs (accept_referral: a minor's parent) is not judged here.
    assert not refused_now(base, young, roles, "cw-mette", at("2026-03-03 09:00")) & {
        "accept_referral"
    }


def test_a_pause_keeps_a_weekly_reminders_time_left_and_its_rhythm(tmp_path: Path) -> None:
    d = made(
        tmp_path,
        "weeklypause",
        """
timers:
  - id: weekly
    name: Ugentlig
    after: 7 days
    repeat: {every: 1 week}
    fires: {notify: {to: {roles: [caseworker]}, template: pause_review}}
stages:
  - {id: referred, name: Henvist, kind: start, phase: referral, timers: [weekly]}
""",
    )
    case = opened(d, date(2008, 9, 10), at("2026-01-07 09:00"))  # a Wednesday
    assert _firings(d, case, "weekly", 2) == [at("2026-01-14 09:00"), at("2026-01-21 09:00")]
    case = accepted(fire_timer(d, case, "weekly", at("2026-01-14 09:00"))).case
    paused = accepted(
        decide(d, case, Event("pause", CW, {"pause_reason": "treatment"}), at("2026-01-19 09:00"))
    ).case
    assert "weekly" not in paused.timers  # set aside, two days left
    resumed = accepted(decide(d, paused, Event("resume", CW), at("2026-02-02 09:00"))).case
    assert _firings(d, resumed, "weekly", 3) == [
        at("2026-02-04 09:00"),  # the two days it had left, not a new week
        at("2026-02-11 09:00"),
        at("2026-02-18 09:00"),
    ]


def test_the_15_year_olds_course_simulated_from_15_to_past_18() -> None:
    """The issue's check, in the simulator (the store plays the same course in
    tests/integration/test_coming_of_age.py): parental consent only before 16, the
    transition meeting within 30 days of the 18th birthday, no guardian after 18, no
    polling and no refusal in the history."""
    from workflow.engine.simulation import load_script, simulate

    d = load_definition("tests/definitions/coming_of_age.yaml", definitions_dir="definitions")
    timeline = simulate(d, load_script("tests/definitions/examples/coming_of_age.yaml"))
    assert timeline.problems == []
    birthday = at("2028-09-10 08:00")
    fired = [e for e in timeline.entries if e.kind == "timer"]
    assert [(e.at, e.event) for e in fired if e.event == "eighteenth_birthday"] == [
        (birthday, "eighteenth_birthday")
    ]
    refused_timers = [
        e for e in fired for x in e.effects if isinstance(x, TimerFired) and x.rejected
    ]
    assert refused_timers == []
    assert len(fired) < 15  # the follow-up reminder 3 a year, the birthday, the reminder

    def guardian_told(entries: list[Any]) -> int:
        return sum(
            1
            for e in entries
            for x in e.effects
            if isinstance(x, Notify) and x.recipient.id == "guardian"
        )

    assert guardian_told([e for e in timeline.entries if e.at < birthday]) > 0
    assert guardian_told([e for e in timeline.entries if e.at >= birthday]) == 0
    refusals = [e for e in timeline.entries if e.kind == "rejected"]
    assert [(e.event, e.rejection.reason.value if e.rejection else None) for e in refusals] == [
        ("accept_referral", "guard_false"),  # 15 and no parent: refused beside the field
        ("book_transition_meeting", "guard_false"),  # 45 days after the birthday
    ]


def test_the_systems_own_steps_are_no_ones_button(base: Definition) -> None:
    """turned_18 and the consent events are taken by the system only: a caseworker can
    neither see nor take them (a 15-year-old cannot be made 18 by a click)."""
    from workflow.engine.steps import next_steps

    case = opened(base, date(2010, 9, 10), at("2026-03-02 09:00"))
    for event in ("turned_18", "consent_given", "consent_withdrawn"):
        assert refused(step(base, case, event, at("2026-03-02 10:00"))).reason is (
            RejectionReason.ROLE_NOT_ALLOWED
        )
    offered = {t.id for t in next_steps(base, case.stage, ["caseworker", "coordinator"])}
    assert not offered & {"turned_18", "consent_given", "consent_withdrawn"}
    system = Actor("system", "timer:eighteenth_birthday")
    taken = decide(base, case, Event("turned_18", system), at("2028-09-10 08:00"))
    assert accepted(taken).event == "turned_18"


def test_a_task_reminder_before_its_due_time_counts_business_days_back(base: Definition) -> None:
    """Horsens' conference task is reminded "2 business_days" before it is due: on the
    Monday for a Wednesday (it was sent at the due time itself), on the Tuesday before
    Easter for the Tuesday after it; a time of day is kept."""
    back = Duration(-2, "business_days")
    assert timing.add_duration(base, at("2026-03-11 13:51"), back) == at("2026-03-09 13:51")
    assert timing.add_duration(base, at("2026-04-07 09:00"), back) == at("2026-03-31 09:00")
