"""Serving the flows as deployments (used by `workflow up` and by flows/ entrypoints)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.types.entrypoint import EntrypointType

from workflow.orchestration.alerts import ensure_dead_delivery_automation
from workflow.orchestration.flows import case_step
from workflow.orchestration.intake import intake
from workflow.orchestration.outcome_report import SCHEDULE, monthly_outcomes
from workflow.orchestration.stalled import end_orphaned_runs
from workflow.orchestration.sweep import sweep
from workflow.settings import get_settings

#: One sweep at a time: a sweep started while one still runs is cancelled (not queued, so
#: an overrunning sweep does not pile sweeps up); rows and timers are claimed anyway.
SWEEP_LIMIT = ConcurrencyLimitConfig(
    limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
)


def _deployment(flow: Any, **options: Any) -> RunnerDeployment:
    # By module path (workflow.orchestration.sweep.sweep), not by file: a run started
    # from a file path loads the file as a module of its own ("sweep"), and whatever the
    # run hands to a task worker (a step left over, with the run's context) names that
    # module, which the worker cannot import: Prefect deleted such hand-offs.
    # to_deployment is dual sync/async; called from sync code it returns the deployment.
    return cast(
        RunnerDeployment,
        flow.to_deployment(tags=["kui"], entrypoint_type=EntrypointType.MODULE_PATH, **options),
    )


def served(sweep_every: int = 60) -> list[RunnerDeployment]:
    """The deployments :func:`serve_all` serves."""
    return [
        _deployment(case_step, name="case-step"),
        _deployment(sweep, name="sweep", interval=sweep_every, concurrency_limit=SWEEP_LIMIT),
        _deployment(intake, name="intake"),
        _deployment(monthly_outcomes, name="monthly-outcomes", cron=SCHEDULE),
    ]


def serve_all(sweep_every: int = 60, report: Callable[[str], object] = print) -> None:
    """Serve case-step, sweep (on an interval, one at a time), intake and the monthly
    outcome counts (on the 1st) until
    interrupted, after creating the automation that tells the operators of a failed
    delivery (``report`` is told in one line whether there is one).

    Deployments stay active when the process stops (pause_on_shutdown=False), so a
    restart does not leave the schedule paused.
    """
    report(ensure_dead_delivery_automation(get_settings()))
    ended = asyncio.run(end_orphaned_runs(datetime.now(UTC)))
    if ended:
        report(
            f"Marked Crashed {len(ended)} run(s) a stopped workflow up left unfinished "
            f"({', '.join(sorted(set(ended)))}): the next sweep takes their work up."
        )
    serve(*served(sweep_every), pause_on_shutdown=False)
