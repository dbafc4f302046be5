"""The Prefect flows of a case: a short run per case step, and the sweep.

Bulk intake has its own module (``workflow.orchestration.intake``).

The only place that imports Prefect. Parameters, run names, tags, logs and artifacts
carry case references, codes and counts — never names, CPR numbers or notes.
Flows are async (no heartbeat thread to join at exit, see architecture.md); the work
itself is done by the service layer and the outbox, as tasks.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, tags, task
from prefect.artifacts import acreate_table_artifact
from prefect.client.schemas.objects import State
from prefect.runtime import task_run
from prefect.states import Completed, Failed
from sqlalchemy import func, select

from workflow.cases.model import StepResult
from workflow.delivery.channels import TransientDeliveryError
from workflow.delivery.outbox import DeliveryStatus
from workflow.orchestration.alerts import announce_dead
from workflow.runtime import get_runtime
from workflow.store.states import OutboxState, TimerState
from workflow.store.tables import Case, CaseTimer, HistoryEvent, OutboxRow

DELIVERY_RETRY_DELAYS: list[float] = [1.0, 5.0, 15.0]
DELIVERY_CHUNK = 200
#: The caseload artifact lists at most this many failed deliveries by reference.
FAILED_LISTED = 50


def _moment(now_iso: str | None) -> datetime | None:
    """An ISO time given to a flow; without an offset it is Danish local time."""
    if not now_iso:
        return None
    moment = datetime.fromisoformat(now_iso)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("Europe/Copenhagen"))


def step_tags(result: StepResult) -> list[str]:
    """Tags of a step's flow run: case reference, municipality code, stage and event."""
    return [
        f"case:{result.reference}",
        f"municipality:{result.municipality}",
        f"stage:{result.to_stage}",
        f"event:{result.event}",
    ]


def _transient_only(task: Any, task_run: Any, state: State[Any]) -> bool:
    """Retry a delivery only after an infrastructure failure it raised; a state the task
    returned (a dead or withheld row) is its outcome, not retried."""
    return isinstance(state.data, TransientDeliveryError)


#: How each outcome of a delivery task is told by its state's name.
_NAMED = {"Withheld": DeliveryStatus.WITHHELD, "Skipped": DeliveryStatus.SKIPPED}
_NAMED["Deferred"] = DeliveryStatus.RETRY


@task(
    retries=len(DELIVERY_RETRY_DELAYS),
    retry_delay_seconds=DELIVERY_RETRY_DELAYS,
    retry_condition_fn=_transient_only,
    task_run_name="deliver-{row_id}",
)
def deliver_effect(row_id: int) -> State[Any] | str:
    """Deliver one outbox row (named by its codes where the step flow calls it).

    Sent: Completed. Given up: Failed, its message the error's type and the row (never
    the error's text: an SMTP reply can quote an address). Withheld (no consent):
    Completed named "Withheld". An infrastructure failure is retried by Prefect; after
    the last retry the row is left to the sweep (Completed named "Deferred").
    """
    run_count = task_run.run_count or 1
    outcome = get_runtime().deliverer.deliver(row_id, ignore_backoff=run_count > 1)
    if outcome.status is DeliveryStatus.RETRY:
        if run_count <= len(DELIVERY_RETRY_DELAYS):
            raise TransientDeliveryError(f"outbox row {row_id}: delivery will be retried")
        return Completed(
            name="Deferred",
            message=f"not delivered yet ({outcome.error_type}); the sweep tries again: "
            f"outbox {row_id}",
            data=outcome.status.value,
        )
    if outcome.status is DeliveryStatus.DEAD:
        return Failed(
            message=f"given up ({outcome.error_type}): outbox {row_id}", data=outcome.status.value
        )
    if outcome.status is DeliveryStatus.WITHHELD:
        return Completed(
            name="Withheld",
            message=f"withheld: no consent covers the recipient; outbox {row_id}",
            data=outcome.status.value,
        )
    if outcome.status is DeliveryStatus.SKIPPED:
        return Completed(
            name="Skipped",
            message=f"held by another worker or no longer due: outbox {row_id}",
            data=outcome.status.value,
        )
    return outcome.status.value


def _status(state: State[Any]) -> str:
    """The outcome a delivery task's final state stands for."""
    if state.is_failed() or state.is_crashed():
        given_up = (state.message or "").startswith("given up")
        return DeliveryStatus.DEAD if given_up else "failed"
    return _NAMED.get(state.name or "", DeliveryStatus.SENT)


@task(task_run_name="deliver-batch-{first}")
def deliver_batch(row_ids: list[int], first: int) -> dict[str, int]:
    """Deliver a batch of outbox rows (the sweep's bulk path: one task per batch)."""
    deliverer = get_runtime().deliverer
    return dict(Counter(outcome.status for outcome in deliverer.deliver_many(row_ids)))


#: A step's timer effects by their type in the history event, and the task's verb.
_TIMER_ACTIONS = {"StartTimer": "start", "CancelTimer": "cancel"}


def _timer_effects(reference: str, seq: int) -> list[tuple[str, str]]:
    """The timers a step started or cancelled: (action, timer code), as committed."""
    with get_runtime().sessions() as session:
        effects = session.scalar(
            select(HistoryEvent.effects)
            .join(Case, Case.id == HistoryEvent.case_id)
            .where(Case.reference == reference, HistoryEvent.seq == seq)
        )
    return [
        (_TIMER_ACTIONS[e["type"]], str(e["timer"]))
        for e in effects or []
        if isinstance(e, dict) and e.get("type") in _TIMER_ACTIONS
    ]


@task(task_run_name="timer-{action}-{timer}")
def timer_effect(reference: str, timer: str, action: str) -> State[Any]:
    """A timer the step started or cancelled, as the store holds it now: its state and
    due time (the timer itself is kept by the store; the sweep fires it)."""
    with get_runtime().sessions() as session:
        found = session.execute(
            select(CaseTimer.state, CaseTimer.due_at)
            .join(Case, Case.id == CaseTimer.case_id)
            .where(Case.reference == reference, CaseTimer.timer == timer)
            .order_by(CaseTimer.id.desc())
            .limit(1)
        ).first()
    if found is None:
        return Completed(message=f"timer {timer}: not in the store", data="absent")
    state, due = found
    return Completed(message=f"timer {timer}: {state}, due {due.isoformat()}", data=str(state))


@flow(name="case-step", flow_run_name="{reference}-step-{seq}")
async def case_step(reference: str, seq: int) -> State[Any]:
    """Carry out the effects of one step of a case: one task per effect, named by what
    it does (``notify-<department>-<template>``, ``invite-<department>-<meeting kind>``),
    and a task per timer it started or cancelled (``timer-start-<timer>``, as committed).

    Every effect is tried even if one is given up; the run ends Failed if any was (each
    dead row also emits a ``kui.delivery.dead`` event), Completed named "Withheld" if any
    was withheld, else Completed. Returns the counts by outcome in either case.
    """
    deliverer = get_runtime().deliverer
    effects = deliverer.effects_of_step(reference, seq)
    outcomes = [
        (
            effect,
            _status(
                deliver_effect.with_options(task_run_name=effect.name)(
                    effect.row_id, return_state=True
                )
            ),
        )
        for effect in effects
    ]
    timers = [
        (f"timer-{action}-{timer}", timer_effect(reference, timer, action, return_state=True))
        for action, timer in _timer_effects(reference, seq)
    ]
    announce_dead(deliverer, [e.row_id for e, status in outcomes if status == DeliveryStatus.DEAD])
    await acreate_table_artifact(
        key=f"step-{reference.lower()}",
        table=[
            {"effect": effect.name, "outcome": str(status), "outbox": effect.row_id}
            for effect, status in outcomes
        ]
        + [
            {"effect": name, "outcome": str(state.message).split(": ", 1)[-1], "outbox": None}
            for name, state in timers
        ],
        description=f"Effects of step {seq} of {reference}: one row per effect",
    )
    counts = dict(Counter(str(status) for _, status in outcomes))
    failed = [(e, s) for e, s in outcomes if s in (DeliveryStatus.DEAD, "failed")]
    if failed:
        which = ", ".join(f"{e.recipient}/{e.template} (outbox {e.row_id})" for e, _ in failed)
        verb = "given up" if all(s == DeliveryStatus.DEAD for _, s in failed) else "not delivered"
        return Failed(
            message=f"{len(failed)} of {len(outcomes)} effects {verb}: {which}", data=counts
        )
    withheld = [e for e, s in outcomes if s == DeliveryStatus.WITHHELD]
    if withheld:
        which = ", ".join(f"{e.recipient}/{e.template}" for e in withheld)
        return Completed(
            name="Withheld",
            message=f"{len(withheld)} of {len(outcomes)} effects withheld (no consent): {which}",
            data=counts,
        )
    return Completed(data=counts)


async def run_step(result: StepResult) -> dict[str, int]:
    """Run the step flow for a step just committed, tagged with its codes; returns the
    counts by outcome (a run that ended Failed included: the outbox keeps its rows)."""
    with tags(*step_tags(result)):
        state = await case_step(result.reference, result.seq, return_state=True)
    counts = await state.aresult(raise_on_failure=False)
    if not isinstance(counts, dict):  # the run itself failed: its effects wait in the outbox
        raise RuntimeError(f"the flow run of {result.reference} step {result.seq} failed")
    return counts


@task(task_run_name="fire-due-timers")
def fire_due_timers(now_iso: str | None = None) -> list[dict[str, Any]]:
    """Fire every due timer through the service layer (one transaction per timer)."""
    results = get_runtime().service.fire_due_timers(_moment(now_iso))
    return [{"case": r.reference, "event": r.event, "stage": r.to_stage} for r in results]


@task(task_run_name="queue-task-reminders")
def queue_task_reminders(now_iso: str | None = None) -> int:
    """Put the due reminders of open tasks in the outbox (counts only)."""
    return get_runtime().tasks.send_due_reminders(_moment(now_iso))


@flow(name="sweep", flow_run_name="sweep")
async def sweep(now_iso: str | None = None) -> dict[str, Any]:
    """Fire due timers, queue task reminders, deliver what is left in the outbox, refresh
    the caseload artifacts."""
    fired = fire_due_timers(now_iso)
    reminders = queue_task_reminders(now_iso)
    moment = _moment(now_iso)
    deliverer = get_runtime().deliverer
    delivered = deliverer.drain(
        moment, DELIVERY_CHUNK, lambda chunk: deliver_batch(chunk, chunk[0])
    )
    # Rows given up here, and any a run without Prefect (or a failed one) left untold.
    announced = announce_dead(deliverer)
    await publish_caseload(moment)
    return {
        "timers_fired": len(fired),
        "reminders": reminders,
        "delivered": dict(delivered),
        "announced": len(announced),
    }


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
                select(Case.municipality_code, func.count())
                .join(CaseTimer)
                .where(CaseTimer.state == TimerState.RUNNING, CaseTimer.due_at < moment)
                .group_by(Case.municipality_code)
            ).all()
        )
        dead: dict[str, list[str]] = {}
        for code, reference, row_id in session.execute(
            select(Case.municipality_code, Case.reference, OutboxRow.id)
            .join(OutboxRow)
            .where(OutboxRow.state == OutboxState.DEAD)
            .order_by(OutboxRow.id)
        ):
            dead.setdefault(code, []).append(f"{reference} (outbox {row_id})")
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
        rows.append({"stage": "(failed deliveries)", "cases": len(failed), "references": listed})
        await acreate_table_artifact(
            key=f"caseload-{code}",
            table=rows,
            description=f"Caseload of municipality {code}: cases per stage",
        )
