"""Steps carried out by Prefect task workers (`workflow worker`), and by the sweep when
no worker is there: every step a run of its own, found by its case reference; every
notification delivered once.

A real Prefect server, a real `workflow worker` process, a real SMTP sink.
"""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect import Flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterName,
    FlowRunFilterStartTime,
    FlowRunFilterTags,
    TaskRunFilter,
    TaskRunFilterName,
    TaskRunFilterStartTime,
)
from prefect.client.schemas.sorting import ArtifactSort
from prefect.states import Running
from sqlalchemy import func, select

from tests.integration.conftest import Clock
from tests.support.services import SmtpSink, run_async
from workflow.cases.model import StepResult, YoungPersonDetails
from workflow.engine.model import Actor
from workflow.orchestration import sweep as sweep_module
from workflow.orchestration.flows import case_step, run_step
from workflow.orchestration.handoff import StepHandoff, workers_listening
from workflow.orchestration.stalled import end_orphaned_runs
from workflow.orchestration.sweep import run_sweep
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime, use_runtime
from workflow.store.tables import Case, HistoryEvent, OutboxRow

CASEWORKER = Actor("caseworker", "cw")
PERSON = YoungPersonDetails("Ida Handoff", "0101104123", date(2010, 1, 1))


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds:.0f} s for {what}")
        time.sleep(0.3)


def _states(runtime: Runtime, result: StepResult) -> list[str]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(OutboxRow.state)
                .join(HistoryEvent, HistoryEvent.id == OutboxRow.history_id)
                .join(Case, Case.id == OutboxRow.case_id)
                .where(Case.reference == result.reference, HistoryEvent.seq == result.seq)
            )
        )


async def _runs_of(reference: str, since: datetime) -> dict[str, list[str]]:
    """The case's runs since the test began (other tests' stores reuse references)."""
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=[f"case:{reference}"]),
                expected_start_time=FlowRunFilterExpectedStartTime(after_=since),
            )
        )
    return {run.name: sorted(run.tags) for run in runs}


async def _task_runs(name: str, since: datetime | None = None) -> list[str]:
    """The states of the task runs of this name (started since ``since``: other tests'
    stores reuse references)."""
    async with get_client() as client:
        runs = await client.read_task_runs(
            task_run_filter=TaskRunFilter(
                name=TaskRunFilterName(any_=[name]),
                start_time=TaskRunFilterStartTime(after_=since) if since else None,
            )
        )
    return [str(run.state_name) for run in runs]


def _refer(runtime: Runtime) -> StepResult:
    return runtime.service.refer(
        "soroe", PERSON, CASEWORKER, {"source": "school", "caseworker": "cw"}
    )


def test_a_committed_step_is_carried_out_by_a_worker_not_by_the_web_process(
    sqlite_runtime: Runtime, smtp: SmtpSink, task_worker: subprocess.Popen[bytes]
) -> None:
    runtime, started = sqlite_runtime, datetime.now(UTC)
    handoff = StepHandoff()
    opened = _refer(runtime)
    handoff.submit(opened)  # what the web app does after committing
    assert handoff.wait_idle(60)
    assert (handoff.handed_off, handoff.left_to_sweep) == (1, 0)
    _wait(lambda: set(_states(runtime, opened)) == {"sent"}, 60, "the worker to deliver")
    assert len(smtp.received) == len(_states(runtime, opened)) > 0

    name = f"{opened.reference}-step-{opened.seq}"
    _wait(lambda: name in asyncio.run(_runs_of(opened.reference, started)), 30, "the step's run")
    tags = asyncio.run(_runs_of(opened.reference, started))[name]
    assert {f"case:{opened.reference}", f"step:{opened.seq}", "trigger:caseworker"} <= set(tags)
    # The background task that ran it, in the worker (the server records a task run's
    # states from the worker's events, a moment after the worker sent them).
    carried = f"carry-out-{opened.reference}-step-{opened.seq}"
    _wait(lambda: asyncio.run(_task_runs(carried)) == ["Completed"], 30, f"{carried} Completed")
    handoff.close()


def test_without_a_worker_the_sweep_carries_the_step_out_once_as_its_own_run(
    sqlite_runtime: Runtime, smtp: SmtpSink, clock: Clock, prefect_api: Path
) -> None:
    runtime, started = sqlite_runtime, datetime.now(UTC)
    _wait(lambda: not workers_listening(), 30, "no worker to listen")  # the other test's
    handoff = StepHandoff()
    opened = _refer(runtime)
    handoff.submit(opened)
    assert handoff.wait_idle(30)
    assert (handoff.handed_off, handoff.left_to_sweep) == (0, 1)
    assert set(_states(runtime, opened)) == {"pending"}  # nothing lost: in the outbox

    first = run_async(run_sweep(clock.now.isoformat()))
    assert first["step_runs"] == 1
    assert set(_states(runtime, opened)) == {"sent"}
    sent = len(smtp.received)
    run_async(run_sweep(clock.now.isoformat()))  # nothing twice
    assert len(smtp.received) == sent

    # A deadline passes: the step its timer fires is a run of its own, found by reference.
    clock.advance(days=10)
    swept = run_async(run_sweep(clock.now.isoformat()))
    assert swept["timers_fired"] == 1
    # Once: the step it fired has its rows due now, and is not a step left over too (it
    # ran twice, as `-step-<n>` and `-step-<n>-sweep`, the second finding nothing).
    assert swept["step_runs"] == 1
    with runtime.sessions() as session:
        last = session.scalar(
            select(HistoryEvent.seq)
            .join(Case)
            .where(Case.reference == opened.reference)
            .order_by(HistoryEvent.seq.desc())
            .limit(1)
        )
    runs = asyncio.run(_runs_of(opened.reference, started))
    assert f"{opened.reference}-step-{opened.seq}-sweep" in runs  # left over, then swept
    timer_run = runs[f"{opened.reference}-step-{last}"]
    assert {"trigger:timer", f"step:{last}", "municipality:340"} <= set(timer_run)
    assert f"{opened.reference}-step-{last}-sweep" not in runs
    handoff.close()


async def _flow_run_states(name: str, since: datetime) -> list[str]:
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(any_=[name]),
                start_time=FlowRunFilterStartTime(after_=since),
            )
        )
    return [str(run.state_name) for run in runs]


def test_a_step_run_whose_worker_was_killed_is_marked_crashed_by_the_sweep(
    sqlite_runtime: Runtime,
    smtp: SmtpSink,
    clock: Clock,
    task_worker: subprocess.Popen[bytes],
) -> None:
    runtime, started = sqlite_runtime, datetime.now(UTC)
    smtp.hold(1, accepted=False)  # the worker's first mail: it waits for the answer
    handoff = StepHandoff()
    opened = _refer(runtime)
    handoff.submit(opened)
    assert handoff.wait_idle(60)
    smtp.wait_held(1, alive=lambda: task_worker.poll() is None)
    carried = f"carry-out-{opened.reference}-step-{opened.seq}"
    step_run = f"{opened.reference}-step-{opened.seq}"
    running = ["Running"]
    _wait(lambda: asyncio.run(_task_runs(carried, started)) == running, 30, f"{carried} Running")
    _wait(lambda: asyncio.run(_flow_run_states(step_run, started)) == running, 30, "its flow run")
    task_worker.kill()  # SIGKILL, mid-send: it tells Prefect nothing more
    task_worker.wait(30)
    smtp.release(1)

    # A sweep before the runs count as stalled leaves them alone ...
    run_async(run_sweep(clock.now.isoformat()))
    assert asyncio.run(_task_runs(carried, started)) == ["Running"]
    # ... one after it marks both Crashed, and nothing of the step is lost.
    stalled_now = runtime.settings.model_copy(update={"handoff_stalled_after": 0})
    use_runtime(dataclasses.replace(runtime, settings=stalled_now))
    try:
        swept = run_async(run_sweep(clock.now.isoformat()))
    finally:
        use_runtime(runtime)
    # Both of this step's runs (others' left by earlier tests' killed workers may be too).
    assert swept["stalled_runs_ended"] >= 2
    assert asyncio.run(_task_runs(carried, started)) == ["Crashed"]
    assert asyncio.run(_flow_run_states(step_run, started)) == ["Crashed"]
    assert "dead" not in _states(runtime, opened)  # in the outbox: delivered after the lease
    handoff.close()


def test_a_sweep_leaves_a_fresh_steps_rows_to_the_workers_when_it_has_no_step_to_hand(
    sqlite_runtime: Runtime, smtp: SmtpSink, prefect_api: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator saw a case's step run green, its tasks "held by another worker", while
    its mails failed in the sweep's batch: with workers listening and no left-over step to
    hand them, the sweep took a step's rows that were minutes old (the grace the workers
    have, handoff_grace, applied only when it had handed steps itself)."""
    monkeypatch.setattr(sweep_module, "workers_listening", lambda: True)
    opened = _refer(sqlite_runtime)  # committed now; a worker is about to carry it out
    summary = run_async(run_sweep())
    assert summary["step_runs"] == 0
    assert summary["delivered"] == {}
    assert set(_states(sqlite_runtime, opened)) == {"pending"}  # the worker's to deliver
    assert smtp.received == []


def test_a_sweep_leaves_the_rows_of_the_steps_it_hands_to_the_workers(
    sqlite_runtime: Runtime,
    smtp: SmtpSink,
    clock: Clock,
    prefect_api: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An operator found a step's `-sweep` run empty and green: the sweep handed the step
    left over to a worker, then sent its rows at once in its own batch."""
    handed: list[tuple[str, int]] = []

    def carry_out(steps: list[Any], presence: Any = None) -> bool:
        handed.extend((step.reference, step.seq) for step in steps)
        return True  # taken by a worker (none runs here: the rows stay as they are)

    monkeypatch.setattr(sweep_module, "workers_listening", lambda: True)
    monkeypatch.setattr(sweep_module, "carry_out", carry_out)
    opened = _refer(sqlite_runtime)  # no worker took it
    clock.advance(seconds=sqlite_runtime.settings.handoff_grace + 60)  # left over
    summary = run_async(run_sweep())
    assert handed == [(opened.reference, opened.seq)]
    assert summary["step_runs"] == 1
    assert summary["delivered"] == {}
    assert set(_states(sqlite_runtime, opened)) == {"pending"}  # its run's to send
    assert smtp.received == []
    # No worker took them within a grace more (it died before it claimed them): the
    # sweep sends them itself rather than leave them waiting for ever.
    clock.advance(seconds=2 * sqlite_runtime.settings.handoff_grace)
    later = run_async(run_sweep())
    assert later["delivered"].get("sent", 0) == len(_states(sqlite_runtime, opened))
    assert set(_states(sqlite_runtime, opened)) == {"sent"}
    assert smtp.received


def test_a_step_with_nothing_to_carry_out_leaves_the_cases_step_artifact_be(
    sqlite_runtime: Runtime, smtp: SmtpSink, prefect_api: Path
) -> None:
    """An operator found the case's `step-<reference>` table empty: a consent's step (no
    notification, no timer) replaced the table of the step before it."""
    opened = _refer(sqlite_runtime)
    run_async(run_step(opened))
    request = ConsentRequest(["skole"], ["education"], guardian=True)
    sqlite_runtime.consents.give(opened.reference, CASEWORKER, request)
    with sqlite_runtime.sessions() as session:
        last = session.scalar(
            select(func.max(HistoryEvent.seq)).join(Case).where(Case.reference == opened.reference)
        )
    assert last is not None
    assert last > opened.seq
    assert run_async(case_step(opened.reference, last, "system")) == {}
    found = asyncio.run(_artifact(f"step-{opened.reference.lower()}"))
    assert found
    assert found[0].description.startswith(f"Effects of step {opened.seq} of ")


async def _artifact(key: str) -> Any:
    async with get_client() as client:
        return await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )


def _nothing() -> None:
    """A flow's body (the runs below are made, never run)."""


async def _left_running(flow_name: str) -> UUID:
    """A run of ``flow_name`` left Running, as a process killed mid-run leaves it."""
    async with get_client() as client:
        created = await client.create_flow_run(Flow(_nothing, name=flow_name))
        await client.set_flow_run_state(created.id, Running(), force=True)
        return created.id


async def _state_of(run_id: UUID) -> str:
    async with get_client() as client:
        return str((await client.read_flow_run(run_id)).state_name)


def test_a_sweep_a_stopped_up_left_running_is_crashed_when_up_starts_again(
    prefect_api: Path,
) -> None:
    """An operator killed the Prefect server mid-sweep: the sweep's run stayed Running,
    held the deployment's one concurrency slot, and every sweep after it was cancelled as
    a second one — for good (no timers, no retries) until the run was ended by hand."""
    left = asyncio.run(_left_running("sweep"))
    theirs = asyncio.run(_left_running("someone-elses-flow"))
    ended = asyncio.run(end_orphaned_runs(datetime.now(UTC) + timedelta(seconds=1)))
    assert ended  # by name (a served run is named "sweep"; this one by Prefect)
    assert asyncio.run(_state_of(left)) == "Crashed"
    assert asyncio.run(_state_of(theirs)) == "Running"  # not a flow `up` serves


def test_a_stalled_step_run_whose_mails_were_given_up_is_not_said_to_have_lost_nothing(
    sqlite_runtime: Runtime,
) -> None:
    """A step run ended as stalled said "Nothing is lost ..." of five notifications all
    given up while Prefect was down (an operator's report): it is red and says so."""
    from sqlalchemy import update

    from workflow.orchestration.stalled import GIVEN_UP_MESSAGE, _given_up

    opened = _refer(sqlite_runtime)
    run_name = f"{opened.reference}-step-{opened.seq}"
    assert _given_up(run_name) == 0
    with sqlite_runtime.sessions() as session, session.begin():
        session.execute(update(OutboxRow).values(state="dead"))
    assert _given_up(run_name) == len(_states(sqlite_runtime, opened)) > 0
    assert _given_up("sweep") == 0
    assert "given up meanwhile" in GIVEN_UP_MESSAGE


def test_a_worker_started_with_sigint_ignored_stops_on_sigterm(
    sqlite_runtime: Runtime, prefect_api: Path, tmp_path: Path
) -> None:
    """A worker started in the background by a script (SIGINT ignored, as a shell does
    for a background job) went on for good after SIGTERM, passed on as SIGINT."""
    import signal
    import sys

    from tests.integration.conftest import process_env

    def ignore_interrupts() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    with (tmp_path / "worker.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "workflow.cli.main", "worker", "--limit", "1"],
            env=process_env(sqlite_runtime, prefect_api),
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=ignore_interrupts,
        )
        try:
            _wait(workers_listening, 90, "the worker to subscribe")
            process.terminate()
            assert process.wait(timeout=30) is not None
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_the_caseloads_failed_deliveries_count_cases_not_mails(
    sqlite_runtime: Runtime, prefect_api: Path
) -> None:
    """The caseload artifact's "(failed deliveries)" row put the number of given-up
    mails in its "cases" column (three mails of one case: 3) — an operator's report."""
    from sqlalchemy import update

    from tests.integration.test_faults import _failed_deliveries
    from workflow.orchestration.sweep import publish_caseload

    opened = _refer(sqlite_runtime)
    from tests.support.case_api import ACCEPT, PRE_MEETING

    sqlite_runtime.service.trigger(opened.reference, "accept_referral", ACCEPT, CASEWORKER)
    sqlite_runtime.service.trigger(opened.reference, "hold_pre_meeting", PRE_MEETING, CASEWORKER)
    with sqlite_runtime.sessions() as session, session.begin():
        given_up = session.execute(update(OutboxRow).values(state="dead")).rowcount
    assert given_up >= 2  # several mails of one case
    run_async(publish_caseload())
    assert _failed_deliveries("340") == 1
