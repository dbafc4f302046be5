"""Every shipped definition: valid, and simulated through its whole lifecycle and a cancel path.

The whole-lifecycle run uses the definition's own script in ``definitions/examples/``;
its full timeline (every stage change, notification, task, milestone and timer) is
compared with ``tests/golden/timelines/<id>.txt`` (``UPDATE_GOLDEN=1`` rewrites them).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.unit.conftest import at
from workflow.definitions.checks import PLACEHOLDER_DOMAIN
from workflow.definitions.loader import load_definition
from workflow.definitions.models import Definition
from workflow.engine.decide import decide, open_case
from workflow.engine.model import (
    Actor,
    CancelTasks,
    CancelTimer,
    Decision,
    Event,
    HoldTasks,
    Notify,
    Rejection,
    RejectionReason,
    ReleaseTasks,
    StartTimer,
    TimerFired,
)
from workflow.engine.simulation import Script, Timeline, format_timeline, load_script, simulate

MUNICIPALITIES = [
    "silkeborg",
    "soroe",
    "skanderborg",
    "horsens",
    "koebenhavn",
    "ballerup",
    "roskilde",
]
MAIN_LINE = ["referred", "pre_meeting", "awaiting_first_meeting", "follow_up", "handover", "closed"]


def _load(name: str) -> tuple[Definition, Script]:
    return (
        load_definition(f"definitions/{name}.yaml"),
        load_script(f"definitions/examples/{name}.yaml"),
    )


def test_every_municipality_ships_a_definition_and_a_script() -> None:
    shipped = {p.stem for p in Path("definitions").glob("*.yaml")} - {"base"}
    scripts = {p.stem for p in Path("definitions/examples").glob("*.yaml")}
    assert shipped == set(MUNICIPALITIES)
    assert scripts == set(MUNICIPALITIES)


@pytest.mark.parametrize("name", MUNICIPALITIES)
def test_definition_extends_base_and_names_its_municipality(name: str) -> None:
    definition = load_definition(f"definitions/{name}.yaml")
    assert definition.extends == "base"
    assert definition.municipality is not None
    assert definition.locale == "da"
    assert not definition.abstract


@pytest.mark.parametrize("name", MUNICIPALITIES)
def test_every_channel_is_the_municipalitys_own(name: str) -> None:
    """No role or department, written or inherited, keeps the base's placeholder address."""
    definition = load_definition(f"definitions/{name}.yaml")
    addresses = [
        channel.address
        for item in [*definition.roles, *definition.departments]
        for channel in item.channels
        if channel.kind in ("email", "sms")
    ]
    assert addresses
    assert not [a for a in addresses if a.lower().endswith(PLACEHOLDER_DOMAIN)]
    domain = f"@{'kk' if name == 'koebenhavn' else name}.example"
    assert all(a.endswith(domain) for a in addresses), addresses


def test_silkeborg_works_with_exactly_its_five_departments() -> None:
    silkeborg = load_definition("definitions/silkeborg.yaml")
    assert [d.id for d in silkeborg.departments] == [
        "jobcenter",
        "born_familie",
        "skole",
        "sundhed",
        "social",
    ]


def test_silkeborg_refuses_a_team_member_of_a_removed_department() -> None:
    silkeborg = load_definition("definitions/silkeborg.yaml")
    caseworker = Actor("caseworker", "cw-jonas")
    opened = open_case(
        silkeborg,
        "SIL-2026-0001",
        caseworker,
        {"source": "school", "age": 19, "caseworker": "cw-jonas"},
        at("2026-03-02 09:00"),
    )
    assert isinstance(opened, Decision), str(opened)
    started = decide(
        silkeborg,
        opened.case,
        Event("accept_referral", caseworker, {"young_person_agrees": True, "consent": True}),
        at("2026-03-03 09:00"),
    )
    assert isinstance(started, Decision), str(started)
    inputs = {
        "team": [
            {"department": "skole", "person": "laerer-mads"},
            {"department": "uu", "person": "vejleder-karen"},
        ],
        "coordinator": "koordinator-peter",
        "coordinator_chosen_with_young_person": True,
        "agenda": ["uddannelse"],
        "first_meeting_at": "2026-03-18T09:00",
    }
    refused = decide(
        silkeborg,
        started.case,
        Event("hold_pre_meeting", caseworker, inputs),
        at("2026-03-05 10:00"),
    )
    assert isinstance(refused, Rejection), f"expected a refusal, got {refused}"
    assert refused.reason is RejectionReason.INVALID_INPUT
    assert [(e.name, e.code) for e in refused.field_errors] == [("team", "not_a_choice")]
    assert "'uu'" in refused.field_errors[0].text("en")
    # The same team without the UU member is accepted.
    inputs["team"] = inputs["team"][:1]
    accepted = decide(
        silkeborg,
        started.case,
        Event("hold_pre_meeting", caseworker, inputs),
        at("2026-03-05 10:00"),
    )
    assert isinstance(accepted, Decision), str(accepted)


@pytest.mark.parametrize("name", MUNICIPALITIES)
def test_whole_lifecycle_from_referral_to_closed_via_handover(name: str) -> None:
    definition, script = _load(name)
    timeline = simulate(definition, script)
    assert timeline.problems == []
    stages = timeline.stages()
    assert stages[0] == "referred"
    assert stages[-1] == "closed"
    positions = [stages.index(stage) for stage in MAIN_LINE]
    assert positions == sorted(positions), f"stages out of order: {stages}"
    effects = [e for entry in timeline.entries for e in entry.effects]
    assert any(isinstance(e, Notify) and e.recipient.kind == "team_member" for e in effects)
    assert any(isinstance(e, StartTimer) for e in effects)
    assert any(isinstance(e, TimerFired) for e in effects), "no timer fired in the script"
    assert timeline.case is not None
    assert timeline.case.timers == {}
    _golden(name, timeline)


def _golden(name: str, timeline: Timeline) -> None:
    expected = Path(f"tests/golden/timelines/{name}.txt")
    actual = format_timeline(timeline, "da")
    if os.environ.get("UPDATE_GOLDEN"):
        expected.write_text(actual, encoding="utf-8")
    assert expected.exists(), f"no golden timeline; run with UPDATE_GOLDEN=1 and review {expected}"
    assert actual == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", MUNICIPALITIES)
def test_cancel_path_pause_resume_then_withdrawn(name: str) -> None:
    definition, script = _load(name)
    upto = next(i for i, s in enumerate(script.steps) if s.expect_stage == "follow_up")
    steps = [
        *script.steps[: upto + 1],
        *Script.model_validate(
            {
                "definition": name,
                "case": "X",
                "start": script.start,
                "steps": [
                    {
                        "after": "1 day",
                        "event": "pause",
                        "actor": "coordinator",
                        "inputs": {"pause_reason": "treatment"},
                        "expect_stage": "paused",
                    },
                    {
                        "after": "3 weeks",
                        "event": "resume",
                        "actor": "young_person",
                        "expect_stage": "follow_up",
                    },
                    {
                        "after": "1 day",
                        "event": "withdraw",
                        "actor": "young_person",
                        "expect_stage": "withdrawn",
                    },
                ],
            }
        ).steps,
    ]
    timeline = simulate(definition, script.model_copy(update={"steps": steps}))
    assert timeline.problems == []
    assert timeline.stages()[-4:] == ["follow_up", "paused", "follow_up", "withdrawn"]
    withdraw = timeline.entries[-1]
    running = {e.timer for e in timeline.entries[-2].effects if isinstance(e, StartTimer)}
    assert running, "resuming restarts the stage's timers"
    assert {e.timer for e in withdraw.effects if isinstance(e, CancelTimer)} >= running
    assert timeline.case is not None
    # Everyone the course's meetings were with is told it ended (their calendars held the
    # meetings it cancels): its staff, the team, the young person (the guardian of a minor).
    told = {e.recipient.id for e in withdraw.effects if isinstance(e, Notify)}
    team = {m["department"] for m in timeline.case.data.get("team") or []}
    assert team
    assert {"coordinator", "caseworker", "young_person"} | team <= told
    assert timeline.case.timers == {}


@pytest.mark.parametrize("name", MUNICIPALITIES)
def test_a_pause_tells_everyone_but_who_paused_and_its_meeting_can_be_moved_meanwhile(
    name: str,
) -> None:
    """A pause told the team only: the coordinator, the caseworker and the young person
    learnt nothing of one another's pause. And its booked meeting, which a pause does
    not hold, could be neither moved nor cancelled until the course was resumed (the
    calendars kept a meeting no one would come to)."""
    definition, script = _load(name)
    upto = next(i for i, s in enumerate(script.steps) if s.expect_stage == "awaiting_first_meeting")
    booked = script.steps[upto].inputs["first_meeting_at"]
    moved = (datetime.fromisoformat(str(booked)) + timedelta(days=7)).isoformat()
    extra = Script.model_validate(
        {
            "definition": name,
            "case": "X",
            "start": script.start,
            "steps": [
                {
                    "after": "1 hour",
                    "event": "pause",
                    "actor": "caseworker",
                    "inputs": {"pause_reason": "treatment"},
                    "expect_stage": "paused",
                },
                {
                    "after": "1 hour",
                    "event": "move_meeting",
                    "actor": "coordinator",
                    "inputs": {"moved_to": moved},
                    "expect_stage": "paused",
                },
                {
                    "after": "1 day",
                    "event": "resume",
                    "actor": "young_person",
                    "expect_stage": "awaiting_first_meeting",
                },
            ],
        }
    ).steps
    steps = [*script.steps[: upto + 1], *extra]
    timeline = simulate(definition, script.model_copy(update={"steps": steps}))
    assert timeline.problems == []
    pause, move, resume = timeline.entries[-3:]

    def told(entry: Any) -> dict[str, str]:
        return {e.recipient.id: e.template for e in entry.effects if isinstance(e, Notify)}

    paused = told(pause)
    assert paused["coordinator"] == "case_paused"
    assert paused["young_person"] == "my_course_paused"
    minor = int(script.steps[0].inputs.get("age", 18)) < 18
    assert paused.get("guardian") == ("my_course_paused" if minor else None)
    assert "caseworker" not in paused  # the one who paused it
    assert timeline.case is not None
    assert {m["department"] for m in timeline.case.data["team"]} <= set(paused)
    # The stage's tasks wait through the pause and go on after it (they were closed).
    assert HoldTasks("awaiting_first_meeting") in pause.effects
    assert not any(isinstance(e, CancelTasks) and e.left for e in pause.effects)
    assert ReleaseTasks("awaiting_first_meeting") in resume.effects
    assert told(move)["young_person"] == "meeting_moved"
    resumed = told(resume)
    assert resumed["coordinator"] == resumed["caseworker"] == "case_resumed"
    assert "young_person" not in resumed
    assert resumed.get("guardian") == ("my_course_resumed" if minor else None)
    # Back in its stage, the first meeting is the one moved to, and the timer that pulls
    # back a meeting not held counts from it.
    assert timeline.case.data["first_meeting_at"] is not None
    meetings = timeline.case.data.get("meetings", [])
    starts = [str(m["starts_at"]) for m in meetings if m["state"] != "cancelled"]
    assert any(s.startswith(moved[:16]) for s in starts), starts
    missed = timeline.case.timers.get("first_meeting_missed")
    assert missed is not None
    assert missed.date() > datetime.fromisoformat(moved).date()
