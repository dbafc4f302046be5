"""Benchmark-only helpers around a Prefect process work pool: submitting steps and sweeps,
reading their runs' states and times, and starting workers (bench/national_prefect.py).

The product deploys to a pool with ``workflow deploy`` (workflow.orchestration.workpool);
what is here measures it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from workflow.cases.model import StepResult
from workflow.orchestration.flows import result_labels
from workflow.orchestration.workpool import POOL_TYPE

#: Flow run states after which nothing more happens.
FINAL_STATES = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})


@contextmanager
def using_api(url: str) -> Iterator[None]:
    """Talk to this Prefect API inside the block (Prefect reads its settings at import)."""
    with temporary_settings({PREFECT_API_URL: url}):
        yield


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
            tags=result_labels(result),
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
    with get_client(sync_client=True) as client:
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
    with get_client(sync_client=True) as client:
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
