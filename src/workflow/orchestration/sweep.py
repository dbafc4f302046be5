"""The sweep: fire due timers, queue task reminders, carry out what is left.

Each step the sweep fires (a timer falling due) is carried out as a run of its own,
tagged with the case reference and step number like a caseworker's step, by a worker if
one listens, else here as a run of the sweep's; so are steps whose notifications were
left over (no worker took them, Prefect was down, a retry's back-off ran out), up to
``sweep_runs_max`` a sweep. The rest is delivered in batches (the bulk path: a task per
batch, never a run per case). A batch or a sweep that gave a notification up ends red.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, tags, task
from prefect.artifacts import acreate_table_artifact
from prefect.client.schemas.objects import State
from prefect.states import Completed, Failed
from sqlalchemy import distinct, func, select

from workflow.cases.model import StepResult
from workflow.delivery.outbox import DeliveryOutcome, DeliveryStatus
from workflow.orchestration.alerts import announce_dead
from workflow.orchestration.flows import case_step, step_labels
from workflow.orchestration.handoff import (
    StepToCarryOut,
    carry_out,
    prune_storage,
    trigger_of,
    workers_listening,
)
from workflow.orchestration.stalled import end_stalled_runs
from workflow.runtime import get_runtime
from workflow.store.states import OutboxState, TimerState
from workflow.store.tables import Case, CaseTimer, OutboxRow

DELIVERY_CHUNK = 200
#: The caseload artifact lists at most this many failed deliveries by reference.
FAILED_LISTED = 50


def _moment(now_iso: str | None) -> datetime | None:
    """An ISO time given to a flow; without an offset it is Danish local time."""
    if not now_iso:
        return None
    moment = datetime.fromisoformat(now_iso)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("Europe/Copenhagen"))


def _given_up(outcomes: list[DeliveryOutcome]) -> str:
    return ", ".join(
        f"outbox {o.row_id} ({o.error_type})" for o in outcomes if o.status is DeliveryStatus.DEAD
    )


@task(task_run_name="deliver-batch-{first}")
def deliver_batch(row_ids: list[int], first: int, as_of_sweep: bool = False) -> State[Any]:
    """Deliver a batch of outbox rows (the sweep's bulk path: one task per batch).

    ``as_of_sweep``: the rows are those due as of a sweep's given time (``--now``), taken
    even if that time is ahead of the clock (a timer it fired made them due then).
    Failed if any row was given up (its message the rows and error types); Completed
    otherwise. Either way its data is the counts by outcome.
    """
    outcomes = get_runtime().deliverer.deliver_many(row_ids, ignore_backoff=as_of_sweep)
    counts = dict(Counter(str(outcome.status) for outcome in outcomes))
    if dead := _given_up(outcomes):
        return Failed(message=f"given up: {dead}", data=counts)
    return Completed(data=counts)


def _batch(row_ids: list[int], as_of_sweep: bool = False) -> dict[str, int]:
    state = deliver_batch(row_ids, row_ids[0], as_of_sweep, return_state=True)
    # Called from the drain (sync) inside the async flow: the sync form, asked for.
    counts = state.result(raise_on_failure=False, _sync=True)  # type: ignore[call-overload]
    if not isinstance(counts, dict):  # the task itself broke: its rows wait for the next sweep
        return {"failed": len(row_ids)}
    return counts


@task(task_run_name="fire-due-timers")
def fire_due_timers(now_iso: str | None = None) -> list[StepToCarryOut]:
    """Fire every due timer through the service layer (one transaction per timer); the
    steps it took (and those they raised), by codes."""
    service = get_runtime().service
    raised: list[StepToCarryOut] = []

    def also(result: StepResult) -> None:  # the steps a fired one raises (a no-show...)
        raised.append(StepToCarryOut.of(result, "system"))

    service.system_steps.append(also)
    try:
        results = service.fire_due_timers(_moment(now_iso))
    finally:
        service.system_steps.remove(also)
    return [StepToCarryOut.of(result, "timer") for result in results] + raised


@task(task_run_name="queue-task-reminders")
def queue_task_reminders(now_iso: str | None = None) -> int:
    """Put the due reminders of open tasks in the outbox (counts only)."""
    return get_runtime().tasks.send_due_reminders(_moment(now_iso))


@task(task_run_name="prune-stored-hand-offs")
def prune_stored_hand_offs() -> int:
    """Remove the stored parameters and results of hand-offs older than a week (a count)."""
    return prune_storage()


@task(task_run_name="end-stalled-runs")
async def end_stalled(now: datetime) -> int:
    """Mark Crashed the step runs a killed worker left Running (a count; the runs are
    named by case reference and step number only)."""
    after = timedelta(seconds=get_runtime().settings.handoff_stalled_after)
    return len(await end_stalled_runs(now - after))


@task(task_run_name="steps-left-over")
def steps_left_over(before_iso: str, limit: int) -> list[tuple[StepToCarryOut, int]]:
    """Steps whose notifications, due since before ``before``, nobody has tried yet (no
    worker took the step, or an operator put them back in line), with their history ids."""
    if limit <= 0:
        return []
    due = get_runtime().deliverer.steps_due(datetime.fromisoformat(before_iso), limit)
    return [
        (StepToCarryOut(s[0], s[1], tuple(step_labels(*s[:5], trigger="sweep"))), s[5]) for s in due
    ]


async def _carry_out_here(steps: list[StepToCarryOut]) -> tuple[Counter[str], Counter[str]]:
    """The steps as runs of their own, one after another, in this process: how the runs
    ended, and what their deliveries came to."""
    ended: Counter[str] = Counter()
    delivered: Counter[str] = Counter()
    for step in steps:
        trigger = trigger_of(step.labels)
        with tags(*step.labels):
            state = await case_step(step.reference, step.seq, trigger, return_state=True)
        ended[str(state.name)] += 1
        counts = await state.aresult(raise_on_failure=False)
        if isinstance(counts, dict):
            delivered.update({str(k): int(v) for k, v in counts.items()})
    return ended, delivered


@flow(name="sweep", flow_run_name="sweep")
async def sweep(now_iso: str | None = None) -> State[Any]:
    """Fire due timers, queue task reminders, carry out the steps fired and the steps left
    over as runs of their own (a worker's, else here), deliver the rest in batches, tell
    the operators of rows given up, refresh the caseload artifacts."""
    runtime = get_runtime()
    settings = runtime.settings
    moment = _moment(now_iso)
    now = moment or runtime.uow.clock()
    fired = fire_due_timers(now_iso)
    reminders = queue_task_reminders(now_iso)
    room = settings.sweep_runs_max
    handed = False
    # With workers listening, a step's fresh rows are theirs for a while (handoff_grace).
    # A sweep at a given time (the demo's clock, catching up) does its steps itself:
    # workers live on the real clock.
    workers = now_iso is None and workers_listening()
    before = now - timedelta(seconds=settings.handoff_grace) if workers else now
    # A timer step fired just now has its rows due now too: not a step left over as well
    # (it ran twice, the second run finding nothing).
    just_fired = {(step.reference, step.seq) for step in fired}
    left = [
        (step, history_id)
        for step, history_id in steps_left_over(before.isoformat(), room - min(len(fired), room))
        if (step.reference, step.seq) not in just_fired
    ]
    steps = (fired[:room] + [step for step, _ in left])[:room]
    if workers:
        handed = carry_out(steps, presence=lambda: True)
    ran, delivered = (Counter[str](), Counter[str]()) if handed else await _carry_out_here(steps)
    deliverer = runtime.deliverer
    batch = _batch if moment is None else partial(_batch, as_of_sweep=True)
    # With workers listening, a step's fresh rows are theirs (their step's run goes red
    # if a delivery fails) whether or not this sweep had steps to hand them: taking them
    # here left the step's run green, its tasks "held by another worker". So are the
    # rows of the steps left over it has just handed them (its batches took them at
    # once, and each step's run found nothing to send).
    # Only for a grace more: rows a worker has not taken by then (it died, or its runs
    # fail before they claim) are sent here, and their step is not handed again.
    leaving = {history_id for _, history_id in left} if handed else set()
    left_since = before - timedelta(seconds=settings.handoff_grace)
    delivered.update(
        deliverer.drain(before if workers else moment, DELIVERY_CHUNK, batch, leaving, left_since)
    )
    # Rows given up here, and any a run without Prefect (or a failed one) left untold.
    announced = announce_dead(deliverer)
    pruned = prune_stored_hand_offs()
    # Prefect's times are the real clock's (a demo's sweep runs on a clock of its own).
    stalled = await end_stalled(datetime.now(UTC))
    await publish_caseload(moment)
    summary: dict[str, Any] = {
        "timers_fired": len(fired),
        "reminders": reminders,
        "step_runs": len(steps),
        "handed_to_workers": handed,
        "runs_ended": dict(ran),
        "delivered": dict(delivered),
        "announced": len(announced),
        "pruned_files": pruned,
        "stalled_runs_ended": stalled,
    }
    if delivered.get(DeliveryStatus.DEAD):
        return Failed(
            message=f"{delivered[DeliveryStatus.DEAD]} notifications given up (see the red "
            "runs and tasks; workflow outbox list --state dead)",
            data=summary,
        )
    return Completed(data=summary)


async def run_sweep(now_iso: str | None = None) -> dict[str, Any]:
    """Sweep once (a run of the ``sweep`` flow); its summary, red or not."""
    state = await sweep(now_iso, return_state=True)
    summary = await state.aresult(raise_on_failure=False)
    if not isinstance(summary, dict):  # the run itself broke; the next sweep takes over
        raise RuntimeError("the sweep's run failed")
    return summary


async def publish_caseload(now: datetime | None = None) -> None:
    """One table artifact per municipality: cases per stage and overdue timers."""
    moment = now or datetime.now(UTC)
    with get_runtime().sessions() as session:
        stages = session.execute(
            select(Case.municipality_code, Case.stage, func.count()).group_by(
                Case.municipality_code, Case.stage
            )
        ).all()
        overdue = dict(
            session.execute(
                select(Case.municipality_code, func.count(distinct(Case.id)))
                .join(CaseTimer)
                .where(CaseTimer.state == TimerState.RUNNING, CaseTimer.due_at < moment)
                .group_by(Case.municipality_code)
            ).all()
        )
        dead: dict[str, list[str]] = {}
        dead_cases: dict[str, set[str]] = {}
        for code, reference, row_id in session.execute(
            select(Case.municipality_code, Case.reference, OutboxRow.id)
            .join(OutboxRow)
            .where(OutboxRow.state == OutboxState.DEAD)
            .order_by(OutboxRow.id)
        ):
            dead.setdefault(code, []).append(f"{reference} (outbox {row_id})")
            dead_cases.setdefault(code, set()).add(reference)
    by_municipality: dict[str, list[dict[str, Any]]] = {}
    for code, stage, count in stages:
        # Every row has every column: the UI takes a table's columns from its first row.
        by_municipality.setdefault(code, []).append(
            {"stage": stage, "cases": count, "references": ""}
        )
    for code, rows in sorted(by_municipality.items()):
        rows.append({"stage": "(overdue timers)", "cases": overdue.get(code, 0), "references": ""})
        failed = dead.get(code, [])
        listed = ", ".join(failed[:FAILED_LISTED])
        if len(failed) > FAILED_LISTED:
            listed += f" and {len(failed) - FAILED_LISTED} more"
        # Cases, as the column says (it counted the rows: three mails of one case, 3).
        cases = len(dead_cases.get(code, ()))
        rows.append({"stage": "(failed deliveries)", "cases": cases, "references": listed})
        await acreate_table_artifact(
            key=f"caseload-{code}",
            table=rows,
            description=f"Caseload of municipality {code}: cases per stage",
        )
