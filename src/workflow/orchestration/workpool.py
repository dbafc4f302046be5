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

from typing import Any, cast
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.types.entrypoint import EntrypointType
from prefect.workers.process import ProcessWorker

from workflow.orchestration.deployments import SWEEP_LIMIT
from workflow.orchestration.flows import case_step
from workflow.orchestration.intake import intake
from workflow.orchestration.outcome_report import SCHEDULE, monthly_outcomes
from workflow.orchestration.sweep import sweep

POOL_TYPE = "process"
#: The flows a pool serves, by deployment name.
FLOWS: dict[str, Any] = {
    "case-step": case_step,
    "sweep": sweep,
    "intake": intake,
    "monthly-outcomes": monthly_outcomes,  # on the 1st (it was served by `up` only)
}


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
    """Deploy case-step, sweep, intake and the monthly outcome counts to the pool; returns
    the deployment ids by name.

    With ``sweep_every`` (seconds) the sweep runs on that schedule on the pool's workers.
    """
    ensure_pool(pool)
    ids = {}
    for name, flow in FLOWS.items():
        schedule: dict[str, Any] = {}
        if name == "sweep":  # one sweep at a time (see deployments.SWEEP_LIMIT)
            schedule = {"concurrency_limit": SWEEP_LIMIT}
            schedule |= {"interval": sweep_every} if sweep_every else {}
        elif name == "monthly-outcomes":
            schedule = {"cron": SCHEDULE}
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
