"""Deploying the flows to a Prefect *process* work pool, so that several workers share them.

``serve()`` (see deployments.py) runs every flow run inside one process. A work pool lets
any number of ``prefect worker start --pool <pool> --type process`` processes, here or on
other machines, take the pool's flow runs, each in a fresh Python process. Deployments
name the flows by module path (the installed package) and carry no storage and no
environment: the store's URL and keys reach a flow run through its worker's own
environment, never through Prefect. A step is submitted with its run name, tags and
idempotency key (case reference and step number; never personal data).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.types.entrypoint import EntrypointType
from prefect.workers.process import ProcessWorker

from workflow.cases.model import StepResult
from workflow.orchestration.flows import case_step, intake, step_tags, sweep

POOL_TYPE = "process"
#: The flows a pool serves, by deployment name.
FLOWS: dict[str, Any] = {"case-step": case_step, "sweep": sweep, "intake": intake}
#: Flow run states after which nothing more happens.
FINAL_STATES = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})


@contextmanager
def using_api(url: str) -> Iterator[None]:
    """Talk to this Prefect API inside the block (Prefect reads its settings at import)."""
    with temporary_settings({PREFECT_API_URL: url}):
        yield


def _client() -> SyncPrefectClient:
    return get_client(sync_client=True)


def ensure_pool(name: str, concurrency_limit: int | None = None) -> None:
    """Create the process work pool if it does not exist yet."""
    with _client() as client:
        try:
            client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(
                WorkPoolCreate(
                    name=name,
                    type=POOL_TYPE,
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                    concurrency_limit=concurrency_limit,
                )
            )


def deploy_to_pool(pool: str, sweep_every: int | None = None) -> dict[str, UUID]:
    """Deploy case-step, sweep and intake to the pool; returns the deployment ids by name.

    With ``sweep_every`` (seconds) the sweep runs on that schedule on the pool's workers.
    """
    ensure_pool(pool)
    ids = {}
    for name, flow in FLOWS.items():
        schedule = {"interval": sweep_every} if name == "sweep" and sweep_every else {}
        # to_deployment and apply are dual sync/async; called from sync code they return.
        deployment = cast(
            RunnerDeployment,
            flow.to_deployment(
                name=name,
                tags=["kui"],
                work_pool_name=pool,
                entrypoint_type=EntrypointType.MODULE_PATH,
                **schedule,
            ),
        )
        ids[name] = cast(UUID, deployment.apply(work_pool_name=pool))
    return ids


def submit_step(result: StepResult, *, attempt: int = 0) -> UUID:
    """Schedule the `case-step` flow run of a committed step on the pool; returns its id.

    ``attempt`` > 0 submits the same step again under a new idempotency key (a retried
    submission): delivery must still happen once per notification.
    """
    key = f"{result.reference}-step-{result.seq}" + (f"-{attempt}" if attempt else "")
    run = cast(
        FlowRun,
        run_deployment(
            name="case-step/case-step",
            parameters={"reference": result.reference, "seq": result.seq},
            timeout=0,
            flow_run_name=f"{result.reference}-step-{result.seq}",
            idempotency_key=key,
            tags=step_tags(result),
            as_subflow=False,
        ),
    )
    return run.id


def submit_sweep(now_iso: str | None = None) -> UUID:
    """Schedule a `sweep` flow run on the pool; returns its id."""
    run = cast(
        FlowRun,
        run_deployment(
            name="sweep/sweep",
            parameters={"now_iso": now_iso},
            timeout=0,
            flow_run_name="sweep",
            tags=["kui"],
            as_subflow=False,
        ),
    )
    return run.id


@dataclass(frozen=True)
class RunSummary:
    """A flow run's state type (SCHEDULED, RUNNING, COMPLETED, ...) and its times."""

    state: str
    created: datetime | None
    started: datetime | None
    ended: datetime | None


def run_summaries(ids: Iterable[UUID]) -> dict[UUID, RunSummary]:
    """The state and times of each of these flow runs."""
    wanted = list(ids)
    found: dict[UUID, RunSummary] = {}
    with _client() as client:
        for start in range(0, len(wanted), 200):
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=wanted[start : start + 200])),
                limit=200,
            )
            for run in runs:
                found[run.id] = RunSummary(
                    run.state.type.value if run.state else "UNKNOWN",
                    run.created,
                    run.start_time,
                    run.end_time,
                )
    return found


def workers_online(pool: str) -> set[str]:
    """The names of the pool's workers that are online (sending heartbeats)."""
    with _client() as client:
        workers = client.read_workers_for_work_pool(pool)
    return {w.name for w in workers if w.status.value == "ONLINE"}


def worker_command(pool: str, limit: int | None = None, name: str | None = None) -> list[str]:
    """The command that starts one process worker on the pool (from this interpreter)."""
    command = [
        str(Path(sys.executable).with_name("prefect")),
        "worker",
        "start",
        "--pool",
        pool,
        "--type",
        POOL_TYPE,
    ]
    if limit:
        command += ["--limit", str(limit)]
    if name:
        command += ["--name", name]
    return command
