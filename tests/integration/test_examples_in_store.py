"""Every shipped definition's example, played through the real store (SQLite and PostgreSQL).

Not only the simulator: each step goes through the case service, a step the script
expects refused is refused by the store with the reason the script names (and changes
nothing), timers fire through the sweep, and a case that ends has no open task left.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.integration.conftest import Clock
from tests.integration.scripted import PERSON
from workflow.cases.model import RejectedError
from workflow.definitions.vocabulary import StageKind
from workflow.engine.simulation import load_script
from workflow.orchestration.demo import (
    aged_for,
    pay_into_pool,
    record_consent,
    record_grants,
    script_actor,
    step_moments,
)
from workflow.runtime import Runtime
from workflow.store.states import TaskState
from workflow.store.tables import Case, CaseTask, HistoryEvent

EXAMPLES = sorted(Path("definitions/examples").glob("*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_example_plays_through_the_store(runtime: Runtime, clock: Clock, example: Path) -> None:
    script = load_script(example)
    definition = runtime.catalog.by_id(script.definition)
    record_grants(runtime, script)  # the legal bases the script's leaders act through
    pay_into_pool(runtime, script)  # the departments' payments into a pool
    reference = ""
    refused = 0
    for step, moment in zip(
        script.steps, step_moments(definition, script.start, script.steps), strict=True
    ):
        clock.now = moment
        runtime.service.fire_due_timers(moment)
        if step.event is None:
            record_consent(runtime, reference, step)
            continue
        actor = script_actor(step, reference)
        if step.event == "refer":
            person = aged_for(PERSON, script)  # as old as the script says
            reference = runtime.service.refer(
                script.definition, person, actor, dict(step.inputs)
            ).reference
        elif step.expect_rejection is not None:
            before = _history_length(runtime, reference)
            with pytest.raises(RejectedError) as refusal:
                runtime.service.trigger(reference, step.event, dict(step.inputs), actor)
            assert refusal.value.rejection.reason.value == step.expect_rejection, step.event
            assert _history_length(runtime, reference) == before  # nothing changed
            refused += 1
        else:
            result = runtime.service.trigger(reference, step.event, dict(step.inputs), actor)
            if step.expect_stage is not None:
                assert result.to_stage == step.expect_stage, step.event
        record_consent(runtime, reference, step)  # as the simulator: right after the step
    assert refused == sum(1 for s in script.steps if s.expect_rejection is not None)
    with runtime.sessions() as session:
        stored = session.scalar(select(Case).where(Case.reference == reference))
        assert stored is not None
        open_tasks = session.scalar(
            select(func.count())
            .select_from(CaseTask)
            .where(CaseTask.case_id == stored.id, CaseTask.state == TaskState.OPEN)
        )
    if definition.stages_by_id[stored.stage].kind is StageKind.FINAL:
        assert open_tasks == 0, f"{reference} is {stored.stage} with {open_tasks} open tasks"


def _history_length(runtime: Runtime, reference: str) -> int:
    with runtime.sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(HistoryEvent)
                .join(Case, Case.id == HistoryEvent.case_id)
                .where(Case.reference == reference)
            )
            or 0
        )
