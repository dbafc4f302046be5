"""The Prefect flow of a case step: a short run carrying out what one step set in motion.

The sweep (``workflow.orchestration.sweep``), the hand-off to workers
(``workflow.orchestration.handoff``) and bulk intake (``workflow.orchestration.intake``)
have modules of their own.

As everywhere in this package (the only one that imports Prefect): parameters, run
names, tags, logs and artifacts carry case references, codes and counts — never names,
CPR numbers or notes.
Flows are async (no heartbeat thread to join at exit, see architecture.md); the work
itself is done by the service layer and the outbox, as tasks.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from prefect import flow, tags, task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.context import TagsContext
from prefect.runtime import flow_run, task_run
from prefect.settings import get_current_settings
from prefect.states import Completed, Failed
from sqlalchemy import select

from workflow.cases.model import StepResult
from workflow.definitions.expressions import uses_name
from workflow.definitions.models import Definition
from workflow.delivery.channels import TransientDeliveryError
from workflow.delivery.outbox import DeliveryStatus
from workflow.orchestration.alerts import announce_dead
from workflow.runtime import get_runtime
from workflow.store.tables import Case, CaseTimer, HistoryEvent

DELIVERY_RETRY_DELAYS: list[float] = [1.0, 5.0, 15.0]


#: What set a step's effects in motion, as its run's ``trigger:`` tag. A run carrying out a
#: step again (an operator's retry, the sweep taking what was left) is named for it.
TRIGGERS = ("caseworker", "timer", "system", "sweep", "redelivery")
_FIRST_RUN = ("caseworker", "timer", "system")
#: Runs of the sweep's own: a delivery that fails for now is left to the next sweep rather
#: than retried in the run (the sweep carries out many steps one after another).
_SWEPT = ("timer", "sweep")


def step_labels(
    reference: str, seq: int, municipality: str, stage: str, event: str, trigger: str
) -> list[str]:
    """Tags of a step's flow run, codes only: case reference, step number, municipality
    code, stage, event and what triggered it."""
    return [
        f"case:{reference}",
        f"step:{seq}",
        f"municipality:{municipality}",
        f"stage:{stage}",
        f"event:{event}",
        f"trigger:{trigger}",
    ]


def result_labels(result: StepResult, trigger: str = "caseworker") -> list[str]:
    """The tags of a step just committed (see :func:`step_labels`)."""
    return step_labels(
        result.reference, result.seq, result.municipality, result.to_stage, result.event, trigger
    )


def _run_name() -> str:
    """``SOR-2026-0002-step-4``; a run carrying the step out again says why
    (``SOR-2026-0002-step-4-redelivery``)."""
    given = flow_run.parameters
    name = f"{given['reference']}-step-{given['seq']}"
    trigger = given.get("trigger", "caseworker")
    return name if trigger in _FIRST_RUN else f"{name}-{trigger}"


def _transient_only(task: Any, task_run: Any, state: State[Any]) -> bool:
    """Retry a delivery only after an infrastructure failure it raised; a state the task
    returned (a dead or withheld row) is its outcome, not retried."""
    return isinstance(state.data, TransientDeliveryError)


#: The step flow keeps no result either (its counts are in its final state). A storage
#: named here saves the ask for the server's default storage each run. It is the
#: settings' path when this module is imported, which may not be this process's home:
#: nothing of the step flow may ever be written there (its tasks inherit it) — no task
#: of the flow persists a result or caches (tests/unit/test_prefect_env.py checks).
_STEP_RESULTS = Path(get_current_settings().results.local_storage_path)


#: How each outcome of a delivery task is told by its state's name.
_NAMED = {"Withheld": DeliveryStatus.WITHHELD, "Skipped": DeliveryStatus.SKIPPED}
_NAMED["Deferred"] = DeliveryStatus.RETRY


@task(
    retries=len(DELIVERY_RETRY_DELAYS),
    retry_delay_seconds=DELIVERY_RETRY_DELAYS,
    retry_condition_fn=_transient_only,
    task_run_name="deliver-{row_id}",
    # Never cached (a cached delivery would be a notification not sent), no result kept:
    # the state says the outcome, the outbox holds the row. So for timer_effect.
    cache_policy=NO_CACHE,
    persist_result=False,
)
def deliver_effect(row_id: int, patient: bool = True) -> State[Any] | str:
    """Deliver one outbox row (named by its codes where the step flow calls it).

    Sent: Completed. Given up: Failed, its message the error's type and the row (never
    the error's text: an SMTP reply can quote an address). Withheld (no consent):
    Completed named "Withheld". An infrastructure failure is retried by Prefect; after
    the last retry the row is left to the sweep (Completed named "Deferred"); not
    ``patient`` (a run of the sweep's), it is left to the next sweep at once.
    """
    run_count = task_run.run_count or 1
    outcome = get_runtime().deliverer.deliver(row_id, ignore_backoff=run_count > 1)
    if outcome.status is DeliveryStatus.RETRY:
        if patient and run_count <= len(DELIVERY_RETRY_DELAYS):
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


@task(task_run_name="timer-{action}-{timer}", cache_policy=NO_CACHE, persist_result=False)
def timer_effect(reference: str, timer: str, action: str) -> State[Any]:
    """A timer the step started or cancelled, as the store holds it now: its state and
    due time (the timer itself is kept by the store; the sweep fires it).

    A timer anchored to the young person (``at: person.turns_18_on``, the upper age) falls
    due on a birthday: its due time is the birth date, the first six digits of the CPR
    number, and is not shown (:func:`_personal_anchor`)."""
    runtime = get_runtime()
    with runtime.sessions() as session:
        found = session.execute(
            select(CaseTimer.state, CaseTimer.due_at, Case.definition_version_id)
            .join(Case, Case.id == CaseTimer.case_id)
            .where(Case.reference == reference, CaseTimer.timer == timer)
            .order_by(CaseTimer.id.desc())
            .limit(1)
        ).first()
    if found is None:
        return Completed(message=f"timer {timer}: not in the store", data="absent")
    state, due, version = found
    if _personal_anchor(runtime.service.definition(version), timer):
        shown = "due on a date of the young person's (not shown)"
    else:
        shown = f"due {due.isoformat()}"
    return Completed(message=f"timer {timer}: {state}, {shown}", data=str(state))


def _personal_anchor(definition: Definition, timer: str) -> bool:
    """Whether a timer falls due on a date read off the young person (a birthday)."""
    spec = definition.timers_by_id.get(timer)
    return spec is not None and spec.at is not None and uses_name(spec.at, "person")


@flow(
    name="case-step",
    flow_run_name=_run_name,
    persist_result=False,
    result_storage=_STEP_RESULTS,
)
async def case_step(reference: str, seq: int, trigger: str = "caseworker") -> State[Any]:
    """Carry out the effects of one step of a case: one task per effect, named by what
    it does (``notify-<department>-<template>``, ``invite-<department>-<meeting kind>``),
    and a task per timer it started or cancelled (``timer-start-<timer>``, as committed).

    Every effect is tried even if one is given up; the run ends Failed if any was (each
    dead row also emits a ``kui.delivery.dead`` event), Completed named "Withheld" if any
    was withheld, else Completed. Returns the counts by outcome in either case.

    The run carries the step's tags (case reference, step number, ...); its task runs do
    not: a tagged task run asks the server for a concurrency slot per tag, several calls
    a task, and a search by reference finds the run with its tasks.
    """
    with TagsContext(current_tags=set()):
        return await _carry_out(reference, seq, trigger)


async def _carry_out(reference: str, seq: int, trigger: str) -> State[Any]:
    deliverer = get_runtime().deliverer
    effects = deliverer.effects_of_step(reference, seq)
    outcomes = [
        (
            effect,
            _status(
                deliver_effect.with_options(task_run_name=effect.name)(
                    effect.row_id, trigger not in _SWEPT, return_state=True
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
    # A step with nothing to carry out (a consent's) leaves the last step's table be:
    # an empty one replaced it.
    if outcomes or timers:
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


async def run_step(result: StepResult, trigger: str = "caseworker") -> dict[str, int]:
    """Run the step flow for a step just committed, here, tagged with its codes; returns
    the counts by outcome (a run that ended Failed included: the outbox keeps its rows).
    The web app hands its steps to workers instead (``workflow.orchestration.handoff``)."""
    with tags(*result_labels(result, trigger)):
        state = await case_step(result.reference, result.seq, trigger, return_state=True)
    counts = await state.aresult(raise_on_failure=False)
    if not isinstance(counts, dict):  # the run itself failed: its effects wait in the outbox
        raise RuntimeError(f"the flow run of {result.reference} step {result.seq} failed")
    return counts
