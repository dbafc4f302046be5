"""Playing a definition's sample script through the real service layer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from workflow.engine import Actor
from workflow.engine.timing import add_duration
from workflow.runtime import Runtime
from workflow.services import StepResult, YoungPersonDetails
from workflow.simulation import Script

#: The seeded young person: their name and CPR number must never reach Prefect or mail.
PERSON = YoungPersonDetails("Freja Testesen", "0101101234", date(2010, 1, 1))


def play(
    runtime: Runtime,
    clock: object,
    script: Script,
    person: YoungPersonDetails = PERSON,
    after_step: Callable[[StepResult], None] | None = None,
    fire_timers: Callable[[datetime], list[StepResult]] | None = None,
) -> list[StepResult]:
    """Run every step of a script against the store, moving the clock and firing timers."""
    definition = runtime.catalog.by_id(script.definition)
    zone = ZoneInfo(definition.calendar.timezone)
    results: list[StepResult] = []
    reference = ""
    moment = script.start if script.start.tzinfo else script.start.replace(tzinfo=zone)
    for step in script.steps:
        if step.at is not None:
            moment = step.at if step.at.tzinfo else step.at.replace(tzinfo=zone)
        elif step.after is not None or step.wait is not None:
            amount = step.after or step.wait
            assert amount is not None
            moment = add_duration(definition, moment, amount)
        clock.now = moment  # type: ignore[attr-defined]
        fired = (fire_timers or runtime.service.fire_due_timers)(moment)
        results += fired
        if step.event is None or step.expect_rejection is not None:
            continue
        role, _, ident = step.actor.partition(":")
        actor = Actor(role, ident or None)
        if step.event == "refer":
            result = runtime.service.refer(script.definition, person, actor, dict(step.inputs))
            reference = result.reference
        else:
            result = runtime.service.trigger(reference, step.event, dict(step.inputs), actor)
        results.append(result)
        if after_step is not None:
            after_step(result)
    return results
