"""Runs a killed worker left Running: the sweep marks them Crashed.

A ``workflow worker`` killed while it carried out a step (SIGKILL, a lost machine) never
tells Prefect how its ``carry-out-step`` task run and the step's ``case-step`` flow run
ended: the UI would show them Running for ever. Nothing of the step is lost — its
notifications are in the outbox, claimed with a lease that runs out, and the sweep
delivers them — but the operator must see that the run died. A run Running for longer
than ``handoff_stalled_after`` is set Crashed, with a message saying what happened and
where the step's work went. Only run names and codes are read and written.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
    TaskRunFilter,
    TaskRunFilterName,
    TaskRunFilterStartTime,
    TaskRunFilterState,
    TaskRunFilterStateType,
)
from prefect.client.schemas.objects import State, StateType
from prefect.states import Crashed, Failed
from sqlalchemy import func, select

from workflow.runtime import get_runtime
from workflow.store.states import OutboxState
from workflow.store.tables import Case, HistoryEvent, OutboxRow

#: The runs a worker carries a step out in (workflow.orchestration.handoff, flows).
HANDOFF_TASK_PREFIX = "carry-out-"
STEP_FLOW = "case-step"
#: Runs ended per sweep (the rest in the next).
MOST_PER_SWEEP = 200

STALLED_MESSAGE = (
    "No end was reported: the worker carrying it out stopped (killed or lost). Nothing is "
    "lost: the step's notifications stay in the outbox and the sweep delivers them "
    "(workflow outbox list --case <reference>)."
)


#: The flows `workflow up` serves and runs itself (case-step runs are the workers').
SERVED_FLOWS = ("sweep", "intake", "monthly-outcomes")
ORPHANED_MESSAGE = (
    "No end was reported: the process that ran it stopped (killed, or its Prefect server "
    "lost), and workflow up was started again. Its work is taken up by the next sweep."
)


async def end_orphaned_runs(started_before: datetime) -> list[str]:
    """Mark Crashed the runs of the flows `workflow up` serves that a stopped `up` left
    Running (or Pending, Cancelling): called as `up` starts, when no run of them can be
    alive. A sweep left Running held the sweep's one concurrency slot, so no sweep ran
    again (every one was cancelled as a second sweep) — no timers, no retries."""
    unfinished = [StateType.RUNNING, StateType.PENDING, StateType.CANCELLING]
    ended: list[str] = []
    async with get_client() as client:
        flows = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=list(SERVED_FLOWS))),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=unfinished)),
                start_time=FlowRunFilterStartTime(before_=started_before),
            ),
            limit=MOST_PER_SWEEP,
        )
        for flow_run in flows:
            await client.set_flow_run_state(
                flow_run.id, Crashed(message=ORPHANED_MESSAGE), force=True
            )
            ended.append(flow_run.name)
    return ended


async def end_stalled_runs(started_before: datetime) -> list[str]:
    """Mark Crashed the step runs (hand-off task runs and ``case-step`` flow runs) that
    started before ``started_before`` and are still Running; their names."""
    running = [StateType.RUNNING]
    ended: list[str] = []
    async with get_client() as client:
        tasks = await client.read_task_runs(
            task_run_filter=TaskRunFilter(
                name=TaskRunFilterName(like_=HANDOFF_TASK_PREFIX),
                state=TaskRunFilterState(type=TaskRunFilterStateType(any_=running)),
                start_time=TaskRunFilterStartTime(before_=started_before),
            ),
            limit=MOST_PER_SWEEP,
        )
        flows = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[STEP_FLOW])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=running)),
                start_time=FlowRunFilterStartTime(before_=started_before),
            ),
            limit=MOST_PER_SWEEP,
        )
        for task_run in tasks:
            if task_run.name.startswith(HANDOFF_TASK_PREFIX):  # like_ matches anywhere
                await client.set_task_run_state(
                    task_run.id, Crashed(message=STALLED_MESSAGE), force=True
                )
                ended.append(task_run.name)
        for flow_run in flows:
            given_up = _given_up(flow_run.name)
            state: State[Any] = (
                Failed(message=GIVEN_UP_MESSAGE.format(count=given_up, case=_case(flow_run.name)))
                if given_up
                else Crashed(message=STALLED_MESSAGE)
            )
            await client.set_flow_run_state(flow_run.id, state, force=True)
            ended.append(flow_run.name)
    return ended


GIVEN_UP_MESSAGE = (
    "No end was reported: the worker carrying it out stopped (killed or lost), and {count} "
    "of the step's notifications were given up meanwhile (workflow outbox list --case "
    "{case} --state dead; put them back in line: workflow outbox retry --case {case})."
)
_STEP_RUN = re.compile(r"(?P<case>[A-Z]{2,5}-\d{4}-\d{4,})-step-(?P<seq>\d+)")


def _case(run_name: str) -> str:
    found = _STEP_RUN.match(run_name)
    return found["case"] if found else "<reference>"


def _given_up(run_name: str) -> int:
    """How many of a step run's notifications are given up (dead) in the outbox: its
    run is then red, not "nothing is lost" (a run ended while Prefect was down said so
    of five notifications all given up)."""
    found = _STEP_RUN.match(run_name)
    if found is None:
        return 0
    with get_runtime().sessions() as session:
        count = session.scalar(
            select(func.count(OutboxRow.id))
            .join(HistoryEvent, HistoryEvent.id == OutboxRow.history_id)
            .join(Case, Case.id == OutboxRow.case_id)
            .where(
                Case.reference == found["case"],
                HistoryEvent.seq == int(found["seq"]),
                OutboxRow.state == OutboxState.DEAD,
            )
        )
    return int(count or 0)
