"""The simulator plays a script as production would: the young person's birth date, the
consents given and withdrawn (notifications withheld, the parent's consent required, the
consent events raised), timers fired as the sweep fires them (a refused timer event is
the timer's own record), and a definition whose timers never let time pass is stopped."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from workflow.definitions.loader import load_definition
from workflow.definitions.models import Definition
from workflow.engine.access import young_person_actor
from workflow.engine.consent import (
    GivenConsent,
    consent_in_force,
    withdraw_from,
    withheld_reason,
)
from workflow.engine.model import CreateTask, Notify, RevokeMilestone, StartTimer
from workflow.engine.simulation import (
    MAX_FIRINGS_AT_ONE_INSTANT,
    Script,
    derived_birth_date,
    format_timeline,
    load_script,
    script_birth_date,
    simulate,
)

TEAM = [
    {"department": "skole", "person": "laerer-anna"},
    {"department": "uu", "person": "vejleder-sara"},
]


def _script(definition: str, steps: list[dict[str, Any]], **top: Any) -> Script:
    return Script.model_validate(
        {"definition": definition, "case": "TST-2026-0001", "start": "2026-03-02T09:00:00"}
        | top
        | {"steps": steps}
    )


def _soroe_steps(age: int, consent: dict[str, Any]) -> list[dict[str, Any]]:
    """Sorø from referral to the pre-meeting, the consent recorded at the acceptance."""
    return [
        {
            "event": "refer",
            "actor": "caseworker:cw-mette",
            "inputs": {"source": "school", "age": age, "caseworker": "cw-mette"},
        },
        {
            "after": "1 day",
            "event": "accept_referral",
            "actor": "caseworker:cw-mette",
            "inputs": {"young_person_agrees": True, "consent": True},
            "consent": consent,
        },
        {
            "after": "2 days",
            "event": "hold_pre_meeting",
            "actor": "caseworker:cw-mette",
            "inputs": {
                "team": TEAM,
                "coordinator": "tovholder-lise",
                "agenda": ["uddannelse"],
                "first_meeting_at": "2026-03-17T09:00:00",
                "meeting_room": "raadhuset_storskaerm",
            },
            "expect_stage": "awaiting_first_meeting",
        },
    ]


# --- the young person's birth date -------------------------------------------------------


def test_the_birth_date_is_derived_from_the_referrals_age() -> None:
    """Half a year past the birthday on the start day: the age holds for months either way."""
    assert derived_birth_date(16, date(2026, 3, 2)) == date(2009, 9, 2)
    assert derived_birth_date(17, date(2026, 8, 31)) == date(2009, 2, 28)  # no 31 February


def test_a_derived_birth_date_reaches_the_case(soroe: Definition) -> None:
    consent = {"departments": ["skole", "uu"], "guardian": True}
    script = _script("soroe", _soroe_steps(16, consent))
    assert script_birth_date(script) == date(2009, 9, 2)
    timeline = simulate(soroe, script)
    assert timeline.problems == []
    assert timeline.case is not None
    assert timeline.case.born == date(2009, 9, 2)


def test_a_given_birth_date_sets_the_age_and_a_different_age_is_reported(
    soroe: Definition,
) -> None:
    consent = {"departments": ["skole", "uu"], "guardian": True}
    steps = _soroe_steps(16, consent)
    timeline = simulate(soroe, _script("soroe", steps, young_person={"born": "2010-05-01"}))
    assert timeline.case is not None
    assert timeline.case.born == date(2010, 5, 1)
    assert timeline.case.data["age"] == 15  # as production: the age follows from the birth date
    assert timeline.problems == [
        "refer: the referral's age 16 is not the age young_person.born gives (15); "
        "production uses the birth date"
    ]
    del steps[0]["inputs"]["age"]
    timeline = simulate(soroe, _script("soroe", steps, young_person={"born": "2010-05-01"}))
    assert timeline.problems == []


# --- consent -------------------------------------------------------------------------------


def test_a_consent_is_applied_and_notifications_it_does_not_cover_are_withheld(
    soroe: Definition,
) -> None:
    consent = {"departments": ["skole"], "categories": ["education"], "guardian": True}
    timeline = simulate(soroe, _script("soroe", _soroe_steps(16, consent)))
    assert timeline.problems == []
    assert timeline.case is not None
    assert timeline.case.consent == {
        "given": True,
        "departments": ["skole"],
        "categories": ["education"],
        "guardian": True,
        "withdrawn": [],
    }
    withheld = {(n.recipient.kind, n.recipient.id, why) for _, n, why in timeline.withheld()}
    assert ("team_member", "uu", "no consent covers department uu") in withheld
    assert not [n for _, n, _ in timeline.withheld() if n.recipient.id == "skole"]
    text = format_timeline(timeline)
    assert "consent by caseworker:cw-mette: given for skole (categories education; with a " in text
    assert (
        "    notify team_member:uu/vejleder-sara [first_meeting_invitation] WITHHELD: no consent "
        "covers department uu\n" in text
    )


def test_a_15_year_olds_consent_without_the_parent_is_refused_as_in_production(
    soroe: Definition,
) -> None:
    """base: guardian_consent_under 18 (privacy.consents.check_request refuses it)."""
    consent = {"departments": ["skole", "uu"]}
    timeline = simulate(soroe, _script("soroe", _soroe_steps(15, consent)))
    assert timeline.problems == [
        "consent: refused: guardian: the young person is 15: under 18 a custodial parent must "
        "consent too (record the parent's consent, or wait until it is given)"
    ]
    assert timeline.case is not None
    assert timeline.case.consent is None  # nothing recorded: all to departments withheld
    assert {n.recipient.id for _, n, _ in timeline.withheld()} >= {"skole", "uu"}
    assert "consent by caseworker:cw-mette: REFUSED guardian: the young person is 15" in (
        format_timeline(timeline)
    )
    # With the parent's consent it is recorded; an 18-year-old needs none.
    consent["guardian"] = True
    assert simulate(soroe, _script("soroe", _soroe_steps(15, consent))).problems == []
    del consent["guardian"]
    assert simulate(soroe, _script("soroe", _soroe_steps(18, consent))).problems == []


def test_a_consent_of_unknown_age_without_the_parent_is_reported() -> None:
    d = _consent_events(guardian_consent_under=18)
    steps = [
        {"event": "refer", "actor": "caseworker:cw"},
        {"after": "1 day", "actor": "caseworker:cw", "consent": {"departments": ["skole"]}},
    ]
    problems = simulate(d, _script("samtykke", steps)).problems
    assert problems == [
        "consent: refused: the young person's age is not known (give young_person: {born: "
        "...} or the referral's age): a consent under 18 needs guardian: true"
    ]
    born = {"born": "2008-01-01"}
    assert simulate(d, _script("samtykke", steps, young_person=born)).problems == []


def test_unknown_departments_and_a_role_that_records_no_consent_are_refused(
    soroe: Definition,
) -> None:
    steps = _soroe_steps(18, {"departments": ["skolen"]})
    assert simulate(soroe, _script("soroe", steps)).problems == [
        "consent: refused: departments: unknown department 'skolen' (did you mean 'skole'?)"
    ]
    steps = _soroe_steps(18, {"departments": ["skole"]})
    steps.append({"actor": "team_member:laerer-anna", "consent": {"departments": ["uu"]}})
    assert simulate(soroe, _script("soroe", steps)).problems == [
        "consent: refused: a team_member never records a consent: caseworker, coordinator, "
        "guardian do"
    ]


def _consent_events(**privacy: Any) -> Definition:
    """A small definition (no load-time checks) that reacts to consent given and withdrawn."""
    return Definition.model_validate(
        {
            "privacy": privacy,
            "id": "samtykke",
            "version": 1,
            "title": "Samtykke",
            "target_ages": {"min": 15, "max": 24},
            "roles": [{"id": "caseworker", "name": "Sagsbehandler"}],
            "departments": [{"id": "skole", "name": "Skole"}, {"id": "uu", "name": "UU"}],
            "milestones": [{"id": "shared", "name": "Deles"}],
            "stages": [
                {"id": "open", "name": "Åben", "kind": "start"},
                {"id": "closed", "name": "Lukket", "kind": "final"},
            ],
            "templates": [{"id": "news", "subject": "Nyt", "body": "Nyt"}],
            "referral": {"roles": ["caseworker"]},
            "transitions": [
                {
                    "id": "consent_given",
                    "name": "Samtykke givet",
                    "from": "open",
                    "roles": ["caseworker"],
                    "guard": "consent.given",
                    "effects": [
                        {"milestone": "shared"},
                        {"notify": {"to": {"departments": ["skole", "uu"]}, "template": "news"}},
                    ],
                },
                {
                    "id": "consent_withdrawn",
                    "name": "Samtykke trukket tilbage",
                    "from": "open",
                    "roles": ["caseworker"],
                    "effects": [{"revoke_milestone": "shared", "when": "not consent.given"}],
                },
                {
                    "id": "close",
                    "name": "Luk",
                    "from": "open",
                    "to": "closed",
                    "roles": ["caseworker"],
                },
            ],
        }
    )


def test_consent_events_are_raised_as_the_system_after_the_consent_changes() -> None:
    d = _consent_events()
    steps = [
        {"event": "refer", "actor": "caseworker:cw"},
        {"after": "1 day", "actor": "caseworker:cw", "consent": {"departments": ["skole"]}},
        {"after": "1 day", "actor": "young_person", "withdraw_consent": ["skole"]},
        {"after": "1 day", "actor": "caseworker:cw", "consent": {"departments": ["skole", "uu"]}},
        {"after": "1 day", "actor": "young_person", "withdraw_consent": ["uu"]},
        {"after": "1 day", "actor": "caseworker:cw", "withdraw_consent": "all"},
    ]
    timeline = simulate(d, _script("samtykke", steps))
    assert timeline.problems == []
    raised = [(e.kind, e.event, e.actor) for e in timeline.entries if e.actor.startswith("system")]
    assert raised == [
        ("event", "consent_given", "system:consent"),
        ("event", "consent_withdrawn", "system:consent"),
        ("event", "consent_given", "system:consent"),
        ("event", "consent_withdrawn", "system:consent"),
        ("event", "consent_withdrawn", "system:consent"),
    ]
    given = [e for e in timeline.entries if e.event == "consent_given"]
    # The first consent covers only skole: the raised step's mail to uu is withheld.
    assert [(n.recipient.id, why) for e, n, why in timeline.withheld() if e is given[0]] == [
        ("uu", "no consent covers department uu")
    ]
    assert [n for e, n, _ in timeline.withheld() if e is given[1]] == []
    withdrawn = [e for e in timeline.entries if e.event == "consent_withdrawn"]
    # Withdrawing uu leaves skole: the milestone holds; withdrawing the rest revokes it.
    assert [any(isinstance(x, RevokeMilestone) for x in e.effects) for e in withdrawn] == [
        True,
        False,
        True,
    ]
    assert timeline.case is not None
    assert timeline.case.milestones == frozenset()
    assert timeline.case.consent == {
        "given": False,
        "departments": [],
        "categories": [],
        "guardian": False,
        "withdrawn": ["skole", "uu"],  # taken back: no longer part of the course
    }


def test_withdrawing_a_department_no_consent_covers_is_refused() -> None:
    steps = [
        {"event": "refer", "actor": "caseworker:cw"},
        {"after": "1 day", "actor": "caseworker:cw", "consent": {"departments": ["skole"]}},
        {"after": "1 day", "actor": "caseworker:cw", "withdraw_consent": ["uu"]},
        {"after": "1 day", "actor": "team_member:x", "withdraw_consent": "all"},
    ]
    problems = simulate(_consent_events(), _script("samtykke", steps)).problems
    assert problems == [
        "withdraw_consent: refused: departments: unknown consented department 'uu' (known: skole)",
        "withdraw_consent: refused: a team_member never withdraws a consent: caseworker, "
        "coordinator, guardian, young_person do",
    ]


def test_the_consent_rules_are_those_of_the_store() -> None:
    """A withdrawn department ends in every consent; a consent with none left goes whole."""
    consents = (
        GivenConsent(frozenset({"skole", "uu"}), frozenset({"education"}), guardian=True),
        GivenConsent(frozenset({"uu"}), frozenset({"family"})),
    )
    left, withdrawn, problems = withdraw_from(consents, ["uu"])
    assert (withdrawn, problems) == (["uu"], [])
    assert consent_in_force(left) == {
        "given": True,
        "departments": ["skole"],
        "categories": ["education"],
        "guardian": True,
    }
    assert withheld_reason("team_member", "uu", {"skole"}) == "no consent covers department uu"
    assert withheld_reason("department", "skole", {"skole"}) is None
    assert withheld_reason("role", "coordinator", set()) is None


def test_a_step_with_neither_event_wait_nor_consent_is_refused() -> None:
    with pytest.raises(ValueError, match="a step has either 'event' or 'wait'"):
        _script("soroe", [{"after": "1 day"}])


# --- timers --------------------------------------------------------------------------------


def _timer_definition(after: str, guard: str | None = None) -> Definition:
    """A stage whose timer raises an event that re-enters the stage (validate refuses an
    instant loop; model_validate does not check)."""
    again: dict[str, Any] = {
        "id": "again",
        "name": "Igen",
        "from": "waiting",
        "to": "waiting",
        "roles": ["caseworker"],
    }
    if guard is not None:
        again["guard"] = guard
    return Definition.model_validate(
        {
            "id": "loop",
            "version": 1,
            "title": "Løkke",
            "target_ages": {"min": 15, "max": 24},
            "roles": [{"id": "caseworker", "name": "Sagsbehandler"}],
            "stages": [
                {"id": "waiting", "name": "Venter", "kind": "start", "timers": ["tick"]},
                {"id": "closed", "name": "Lukket", "kind": "final"},
            ],
            "timers": [{"id": "tick", "name": "Tik", "after": after, "fires": {"event": "again"}}],
            "referral": {"roles": ["caseworker"]},
            "transitions": [
                again,
                {
                    "id": "close",
                    "name": "Luk",
                    "from": "waiting",
                    "to": "closed",
                    "roles": ["caseworker"],
                },
            ],
        }
    )


def test_timers_that_fire_for_ever_at_one_instant_stop_the_simulation() -> None:
    d = _timer_definition("0 minutes")
    steps = [
        {"event": "refer", "actor": "caseworker:cw"},
        {"wait": "1 day"},
        {"event": "close", "actor": "caseworker:cw"},
    ]
    timeline = simulate(d, _script("loop", steps))
    assert len(timeline.entries) == 1 + MAX_FIRINGS_AT_ONE_INSTANT + 1
    stopped = timeline.entries[-1]
    assert stopped.kind == "stopped"
    assert timeline.problems == [
        f"timer tick: timers fired {MAX_FIRINGS_AT_ONE_INSTANT} times at 2026-03-02 09:00 "
        "without time passing (a timer that re-enters its own stage with no delay?): the "
        "simulation stops here"
    ]
    assert format_timeline(timeline).splitlines()[-1].startswith("2026-03-02 09:00  STOPPED: ")


def test_timers_that_let_time_pass_are_not_stopped() -> None:
    d = _timer_definition("1 hour")
    steps = [
        {"event": "refer", "actor": "caseworker:cw"},
        {"wait": "2 days"},
        {"event": "close", "actor": "caseworker:cw", "expect_stage": "closed"},
    ]
    timeline = simulate(d, _script("loop", steps))
    assert timeline.problems == []
    assert sum(e.kind == "timer" for e in timeline.entries) == 48


def test_a_refused_timer_event_is_shown_refused_not_as_a_step() -> None:
    """As the sweep records it: the timer's own record (timer:<id>) holding the refusal."""
    d = _timer_definition("1 day", guard="case.counts.again > 5")
    steps = [
        {"event": "refer", "actor": "caseworker:cw"},
        {"wait": "2 days"},
    ]
    timeline = simulate(d, _script("loop", steps))
    assert timeline.problems == []  # a refused timer event is no fault of the script
    timers = [e for e in timeline.entries if e.kind == "timer"]
    assert [(e.event, e.refused, e.from_stage, e.to_stage) for e in timers] == [
        ("tick", "guard_false", "waiting", "waiting"),  # consumed: it does not repeat
    ]
    assert timeline.case is not None
    assert timeline.case.counts.get("again") is None  # no step happened
    assert timeline.records() == timeline.entries  # the store keeps both refusals too
    lines = format_timeline(timeline).splitlines()
    assert lines[2] == (
        "2026-03-03 09:00  tick timer: event again REFUSED (guard_false); stays in waiting"
    )
    assert "fired" not in "\n".join(lines)
    assert not [e for e in timers[0].effects if isinstance(e, StartTimer)]
    assert not [e for e in timers[0].effects if isinstance(e, Notify)]


def test_a_no_show_is_raised_as_the_system_right_after_the_meeting_is_held() -> None:
    """As the case service raises a step's events: actor id '<event>:<raised>'."""
    horsens = load_definition("definitions/horsens.yaml")
    script = load_script("definitions/examples/horsens.yaml")
    held = next(i for i, s in enumerate(script.steps) if s.event == "hold_first_meeting")
    step = script.steps[held]
    absent = {"absent": [], "no_show": [young_person_actor(script.case)]}
    steps = [
        *script.steps[:held],
        step.model_copy(update={"inputs": {**step.inputs, "attendance": absent}}),
    ]
    timeline = simulate(horsens, script.model_copy(update={"steps": steps}))
    assert timeline.problems == []
    held_entry, raised = timeline.entries[-2:]
    assert held_entry.event == "hold_first_meeting"
    assert (raised.kind, raised.event, raised.actor) == (
        "event",
        "young_person_no_show",
        "system:hold_first_meeting:young_person_no_show",
    )
    assert [t.title for t in raised.effects if isinstance(t, CreateTask)] == [
        "Ring til den unge – udeblev fra mødet"
    ]
