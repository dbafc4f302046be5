"""Property tests of the engine: invariants that hold for any sequence of events.

Events are drawn from everything the definition knows (plus nonsense), by any role,
with plausible or garbage inputs, at random times; due timers fire as time passes.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.conftest import at
from workflow.definitions.graph import edges
from workflow.definitions.loader import load_definition
from workflow.definitions.models import Definition
from workflow.definitions.template_checks import sample_value
from workflow.definitions.vocabulary import PREVIOUS_STAGE, StageKind
from workflow.engine.decide import decide, open_case
from workflow.engine.firing import due_timers, fire_timer
from workflow.engine.model import Actor, CaseState, Decision, Event, Rejection, RejectionReason
from workflow.engine.simulation import Script, ScriptStep, simulate

DEFINITIONS = {name: load_definition(f"definitions/{name}.yaml") for name in ("soroe", "base")}
START = at("2026-03-02 09:00")

step_strategy = st.tuples(
    st.integers(min_value=0, max_value=200),  # which event
    st.integers(min_value=0, max_value=10),  # which role
    st.integers(min_value=0, max_value=60 * 24 * 20),  # minutes later (up to 20 days)
    st.integers(min_value=0, max_value=9),  # 0: any event, 1: garbage inputs, else plausible
)
scenario = st.tuples(st.sampled_from(sorted(DEFINITIONS)), st.lists(step_strategy, max_size=30))


def _events(d: Definition) -> list[str]:
    return sorted(d.transitions_by_event) + ["bogus"]


def _roles(d: Definition) -> list[str]:
    return [r.id for r in d.roles] + ["system", "stranger"]


def _pick(
    d: Definition, stage: str, event_index: int, role_index: int, mode: int
) -> tuple[str, str]:
    """An event and a role: mostly a transition enabled in the stage, by one of its roles."""
    enabled = (
        [t for t in d.transitions if stage in d.source_stages(t) and t.from_ != "*"]
        if mode > 1
        else []
    )
    if not enabled:
        events, roles = _events(d), _roles(d)
        return events[event_index % len(events)], roles[role_index % len(roles)]
    transition = enabled[event_index % len(enabled)]
    return transition.event_name, transition.roles[role_index % len(transition.roles)]


def _inputs(d: Definition, event: str, plausible: bool) -> dict[str, Any]:
    transitions = d.transitions_by_event.get(event, [])
    if not transitions:
        return {}
    if not plausible:
        return {i.name: 12345 for i in transitions[0].inputs} | {"unexpected": "x"}
    return {i.name: sample_value(i, d) for i in transitions[0].inputs}


def _run(d: Definition, steps: list[tuple[int, int, int, bool]]) -> list[Any]:
    """Run a scenario; check the invariants as it goes; return its trace."""
    allowed = {(e.source, e.target) for e in edges(d)}
    opened = open_case(
        d,
        "TST-2026-0001",
        Actor("caseworker", "cw"),
        {"source": "school", "age": 16, "caseworker": "cw"},
        START,
    )
    assert isinstance(opened, Decision)
    case, now, trace = opened.case, START, [opened]
    for event_index, role_index, minutes, mode in steps:
        target = now + timedelta(minutes=minutes)
        for timer_id, due in due_timers(case, target):
            if timer_id not in case.timers:
                continue  # cancelled by an earlier firing
            fired = fire_timer(d, case, timer_id, max(due, now))
            assert isinstance(fired, Decision)
            _check_decision(d, case, fired, allowed)
            case = fired.case
            trace.append(fired)
        now = target
        event, role = _pick(d, case.stage, event_index, role_index, mode)
        before = copy.deepcopy(case)
        inputs = _inputs(d, event, plausible=mode != 1)
        result = decide(d, case, Event(event, Actor(role, "someone"), inputs), now)
        trace.append(result)
        if isinstance(result, Rejection):
            assert case == before, "a rejected event changed the case"
            if d.stages_by_id[case.stage].kind is StageKind.FINAL:
                assert result.reason is RejectionReason.CASE_CLOSED
            continue
        _check_decision(d, case, result, allowed)
        case = result.case
    return trace


def _check_decision(
    d: Definition, case: CaseState, decision: Decision, allowed: set[tuple[str, str]]
) -> None:
    assert d.stages_by_id[case.stage].kind is not StageKind.FINAL, "a final stage accepted"
    assert decision.to_stage in d.stages_by_id
    if decision.to_stage != case.stage:
        assert (case.stage, decision.to_stage) in allowed, (
            f"{case.stage} -> {decision.to_stage} is not in the definition"
        )
        transition = next((t for t in d.transitions if t.id == decision.transition), None)
        if transition is not None and transition.to == PREVIOUS_STAGE:
            assert decision.to_stage == case.previous_stage
    new = decision.case
    if d.stages_by_id[new.stage].kind is StageKind.FINAL:
        assert new.timers == {}, "a closed case keeps running timers"
    assert set(new.timers) <= set(d.timers_by_id)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario)
def test_no_event_sequence_breaks_the_definition(data: tuple[str, list[Any]]) -> None:
    name, steps = data
    _run(DEFINITIONS[name], steps)


@settings(max_examples=40, deadline=None)
@given(scenario)
def test_deciding_is_deterministic(data: tuple[str, list[Any]]) -> None:
    name, steps = data
    assert _run(DEFINITIONS[name], steps) == _run(DEFINITIONS[name], steps)


@settings(max_examples=40, deadline=None)
@given(st.lists(step_strategy, max_size=15))
def test_simulating_a_script_twice_gives_the_same_timeline(steps: list[Any]) -> None:
    d = DEFINITIONS["soroe"]
    script_steps = [
        ScriptStep(
            event="refer",
            actor="caseworker:cw",
            inputs={"source": "school", "age": 16, "caseworker": "cw"},
        )
    ]
    stages = [s.id for s in d.stages]
    for event_index, role_index, minutes, mode in steps:
        event, role = _pick(d, stages[event_index % len(stages)], event_index, role_index, mode)
        script_steps.append(
            ScriptStep.model_validate(
                {
                    "after": f"{minutes} minutes",
                    "event": event,
                    "actor": role,
                    "inputs": _inputs(d, event, plausible=mode != 1),
                    "expect_rejection": None,
                }
            )
        )
    script = Script(
        definition="soroe", case="SOR-2026-0001", start=datetime(2026, 3, 2, 9), steps=script_steps
    )
    first, second = simulate(d, script), simulate(d, script)
    assert first.entries == second.entries
    assert first.case == second.case
