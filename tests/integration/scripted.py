"""Playing a definition's sample script through the real service layer (the demo's player)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from workflow.cases.model import StepResult, YoungPersonDetails
from workflow.engine.simulation import Script
from workflow.orchestration.demo import play_script
from workflow.runtime import Runtime

#: The seeded young person: their name and CPR number must never reach Prefect or mail.
PERSON = YoungPersonDetails("Freja Testesen", "0101104321", date(2010, 1, 1))


def play(
    runtime: Runtime,
    clock: Any,
    script: Script,
    person: YoungPersonDetails = PERSON,
    after_step: Callable[[StepResult], None] | None = None,
    fire_timers: Callable[[datetime], list[StepResult]] | None = None,
) -> list[StepResult]:
    """Run a script's steps against the store; returns every step, timer firings included."""
    results: list[StepResult] = []

    def carry_out(result: StepResult) -> None:
        results.append(result)
        if after_step is not None:
            after_step(result)

    def time_passes(moment: datetime) -> None:
        results.extend((fire_timers or runtime.service.fire_due_timers)(moment))

    play_script(runtime, clock, script, person, carry_out=carry_out, time_passes=time_passes)
    return results
