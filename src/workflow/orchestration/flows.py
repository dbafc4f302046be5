"""The Prefect flows: a short run per case step, the sweep, bulk intake.

The only place that imports Prefect. Parameters, run names, tags, logs and artifacts
carry case references, codes and counts — never names, CPR numbers or notes.
Flows are async (no heartbeat thread to join at exit, see architecture.md); the work
itself is done by the service layer and the outbox, as tasks.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, tags, task
from prefect.artifacts import acreate_table_artifact
from prefect.client.schemas.objects import State
from prefect.runtime import task_run
from prefect.states import Completed, Failed
from sqlalchemy import func, select

from workflow.cases.model import Referral, RejectedError, StepResult, YoungPersonDetails
from workflow.delivery.channels import TransientDeliveryError
from workflow.delivery.outbox import DeliveryStatus
from workflow.engine.model import Actor
from workflow.errors import IdempotencyKeyReusedError, WorkflowError
from workflow.orchestration.alerts import announce_dead
from workflow.runtime import get_runtime
from workflow.store.catalog import UnknownDefinitionError
from workflow.store.states import OutboxState, TimerState
from workflow.store.tables import Case, CaseTimer, HistoryEvent, OutboxRow

DELIVERY_RETRY_DELAYS: list[float] = [1.0, 5.0, 15.0]
INTAKE_CHUNK = 1000
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


#: Callbacks told how many rows each intake chunk handled (the CLI's progress bar).
PROGRESS: list[Callable[[int], object]] = []
#: Callbacks given the refused rows of an intake (the CLI lists them, row by row).
REFUSED: list[Callable[[list[dict[str, Any]]], object]] = []
#: The columns a referral file must have (the others are optional: email, source, key...).
INTAKE_COLUMNS = ("definition", "name", "cpr", "birth_date")
#: How a refusal's field is named in an intake report: the file's column.
_COLUMNS = {"young_person.name": "name", "young_person.cpr": "cpr"}
_COLUMNS["young_person.birth_date"] = "birth_date"


@task(task_run_name="intake-check-{first}")
def check_chunk(rows: list[dict[str, str]], first: int, source: str) -> list[dict[str, Any]]:
    """Check a chunk of CSV rows without opening a case (a task per chunk)."""
    return check_rows(rows, first, source)


@task(task_run_name="intake-rows-{first}")
def intake_chunk(rows: list[dict[str, str]], first: int, source: str) -> list[dict[str, Any]]:
    """Refer a chunk of CSV rows (a task: one per chunk, never one per case)."""
    return refer_rows(rows, first, source)


def _referrals(
    rows: list[dict[str, str]], first: int, source: str
) -> tuple[list[dict[str, Any]], list[tuple[int, Referral]]]:
    """Each row's outcome so far (a malformed row is refused here), and the referrals of
    the well-formed rows by their index."""
    outcomes: list[dict[str, Any]] = []
    requests: list[tuple[int, Referral]] = []
    for offset, row in enumerate(rows):
        number = first + offset
        outcomes.append({"row": number, "case": "", "status": "", "problems": []})
        missing = [c for c in INTAKE_COLUMNS if not (row.get(c) or "").strip()]
        if missing:
            outcomes[offset].update(
                status="refused", problems=[_problem(c, "required") for c in missing]
            )
            continue
        try:
            born = date.fromisoformat(row["birth_date"].strip())
        except ValueError:
            outcomes[offset].update(status="refused", problems=[_problem("birth_date", "not_date")])
            continue
        caseworker = (row.get("caseworker") or "").strip() or None
        inputs = {"source": (row.get("source") or "").strip() or "caseworker"}
        if caseworker:
            inputs["caseworker"] = caseworker
        person = YoungPersonDetails(row["name"].strip(), row["cpr"].strip(), born)
        key = f"intake:{(row.get('key') or '').strip() or f'{source}:{number}'}"
        referral = Referral(
            row["definition"].strip(),
            person,
            Actor("caseworker", caseworker),
            inputs,
            idempotency_key=key,
            purpose="bulk intake",
        )
        requests.append((offset, referral))
    return outcomes, requests


def _problem(field: str, code: str, **params: Any) -> dict[str, Any]:
    return {"field": field, "code": code, "params": params}


def _refusal(error: WorkflowError, row: dict[str, str]) -> list[dict[str, Any]]:
    """A refused row's problems as codes (the CLI words them; no personal data in them)."""
    if isinstance(error, RejectedError):
        found = [
            _problem(_COLUMNS.get(e.name, e.name), e.code, **dict(e.params))
            for e in error.rejection.field_errors
        ]
        reason = error.rejection.reason.value
        return found or [_problem("", reason, **dict(error.rejection.params))]
    if isinstance(error, UnknownDefinitionError):
        return [_problem("definition", "intake_unknown_definition", value=row["definition"][:40])]
    if isinstance(error, IdempotencyKeyReusedError):
        return [_problem("key", "intake_key_reused")]
    return [_problem("", "intake_not_opened", error=type(error).__name__)]


def check_rows(rows: list[dict[str, str]], first: int, source: str = "csv") -> list[dict[str, Any]]:
    """The refused rows of a chunk, with why (nothing is written)."""
    outcomes, requests = _referrals(rows, first, source)
    checked = get_runtime().service.check_many([request for _, request in requests])
    for (offset, _), error in zip(requests, checked, strict=True):
        if error is not None:
            outcomes[offset].update(status="refused", problems=_refusal(error, rows[offset]))
    return [o for o in outcomes if o["status"] == "refused"]


def refer_rows(rows: list[dict[str, str]], first: int, source: str = "csv") -> list[dict[str, Any]]:
    """Refer CSV rows in one transaction; per-row outcomes carry row numbers, not people.

    A row's idempotency key is its `key` column, else the file name and row number, so
    running the same file again opens no case twice.
    """
    outcomes, requests = _referrals(rows, first, source)
    results = get_runtime().service.refer_many([request for _, request in requests])
    for (offset, _), result in zip(requests, results, strict=True):
        if isinstance(result, WorkflowError):
            outcomes[offset].update(status="refused", problems=_refusal(result, rows[offset]))
        else:
            status = "already opened" if result.repeated else "opened"
            outcomes[offset].update(case=result.reference, status=status)
    for report in PROGRESS:
        report(len(rows))
    return outcomes


def _refused_file(rows: list[dict[str, str]], refused: list[dict[str, Any]]) -> dict[str, int]:
    """The summary of a file some of whose rows are refused: no case is opened of it."""
    for report in REFUSED:
        report(refused)
    return {"refused": len(refused), "not opened": len(rows) - len(refused)}


def intake_rows(source: Path) -> dict[str, int]:
    """Intake without Prefect (no server configured): the same work, chunk by chunk.

    Every row is checked first; if any is refused, no case is opened (the refused rows go
    to :data:`REFUSED`). Rows are keyed by the file's content, like the flow's: the same
    file twice opens nothing twice, and another file with the same name is another file.
    """
    batch = stage_intake_file(source)
    rows = _read_csv(str(get_runtime().settings.home / "intake" / f"{batch}.csv"))
    refused: list[dict[str, Any]] = []
    for start in range(0, len(rows), INTAKE_CHUNK):
        refused += check_rows(rows[start : start + INTAKE_CHUNK], start + 2, batch)
    if refused:
        return _refused_file(rows, refused)
    outcomes: list[dict[str, Any]] = []
    for start in range(0, len(rows), INTAKE_CHUNK):
        outcomes += refer_rows(rows[start : start + INTAKE_CHUNK], start + 2, batch)
    return dict(Counter(o["status"] for o in outcomes))


def _read_csv(csv_path: str) -> list[dict[str, str]]:
    with Path(csv_path).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def stage_intake_file(source: Path) -> str:
    """Copy a referral file into the store's intake folder; returns its batch id.

    Prefect gets only the batch id: a file's name or path could say anything (even
    whom it is about), and flow parameters carry codes only.
    """
    batch = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    folder = get_runtime().settings.home / "intake"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, folder / f"{batch}.csv")
    return batch


@flow(name="intake", flow_run_name="intake-{batch}")
async def intake(batch: str) -> dict[str, int]:
    """Open cases from a staged CSV of referrals, in chunks (never one flow run per case).

    Every row is checked first (a task per chunk); if any is refused, no case of the file
    is opened, and the artifact lists the refused rows by number and code.
    """
    if not re.fullmatch(r"[0-9a-f]{16}", batch):
        raise ValueError("batch must be the id stage_intake_file() returned")
    rows = _read_csv(str(get_runtime().settings.home / "intake" / f"{batch}.csv"))
    refused: list[dict[str, Any]] = []
    for start in range(0, len(rows), INTAKE_CHUNK):
        refused += check_chunk(rows[start : start + INTAKE_CHUNK], start + 2, batch)
    outcomes: list[dict[str, Any]] = []
    if refused:
        summary = Counter(_refused_file(rows, refused))
        problems = refused[:200]
    else:
        for start in range(0, len(rows), INTAKE_CHUNK):
            chunk = rows[start : start + INTAKE_CHUNK]
            outcomes += intake_chunk(chunk, start + 2, batch)  # +2: the header line
        summary = Counter(o["status"] for o in outcomes)
        problems = [o for o in outcomes if o["status"] != "opened"][:200]
    codes = (
        ", ".join(f"{p['field']}: {p['code']}" for p in o.get("problems", [])) for o in problems
    )
    await acreate_table_artifact(
        key="intake",
        table=[{"status": s, "rows": n} for s, n in sorted(summary.items())]
        + [
            {"status": f"row {p['row']}: {p['status']} ({why})", "rows": 1}
            for p, why in zip(problems, codes, strict=True)
        ],
        description=f"Intake of batch {batch}: outcome per status",
    )
    return dict(summary)
