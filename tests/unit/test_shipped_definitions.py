"""Every shipped definition: valid, and simulated through its whole lifecycle and a cancel path.

The whole-lifecycle run uses the definition's own script in ``definitions/examples/``;
its full timeline (every stage change, notification, task, milestone and timer) is
compared with ``tests/golden/timelines/<id>.txt`` (``UPDATE_GOLDEN=1`` rewrites them).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workflow.definitions.loader import load_definition
from workflow.definitions.models import Definition
from workflow.engine.model import CancelTimer, Notify, StartTimer, TimerFired
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
    assert {e.recipient.id for e in withdraw.effects if isinstance(e, Notify)} == {
        "coordinator",
        "caseworker",
    }
    assert timeline.case is not None
    assert timeline.case.timers == {}
