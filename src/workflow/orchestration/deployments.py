"""Serving the flows as deployments (used by `workflow up` and by flows/ entrypoints)."""

from __future__ import annotations

from typing import Any, cast

from prefect import serve
from prefect.deployments.runner import RunnerDeployment

from workflow.orchestration.flows import case_step, intake, sweep


def _deployment(flow: Any, **options: Any) -> RunnerDeployment:
    # to_deployment is dual sync/async; called from sync code it returns the deployment.
    return cast(RunnerDeployment, flow.to_deployment(tags=["kui"], **options))


def serve_all(sweep_every: int = 60) -> None:
    """Serve case-step, sweep (on an interval) and intake until interrupted.

    Deployments stay active when the process stops (pause_on_shutdown=False), so a
    restart does not leave the schedule paused.
    """
    serve(
        _deployment(case_step, name="case-step"),
        _deployment(sweep, name="sweep", interval=sweep_every),
        _deployment(intake, name="intake"),
        pause_on_shutdown=False,
    )
