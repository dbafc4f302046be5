"""Honest runs: a step's effects are tasks named by their codes, a delivery given up is red.

Against a real Prefect server and a real SMTP server that refuses the school's mail for
good: the step's flow run ends Failed with the ``invite-skole-…`` task Failed (tried once
by Prefect: a dead row is not retried), the other effects still carried out; a withheld
notification ends its task and run in the state named "Withheld"; a dead row is
announced by one ``kui.delivery.dead`` event. Nothing personal reaches Prefect.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterName,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
)
from prefect.client.schemas.sorting import ArtifactSort, FlowRunSort
from prefect.events.filters import EventFilter, EventNameFilter
from sqlalchemy import select

from tests.integration.conftest import Clock, settings_for
from tests.integration.scripted import PERSON, play
from tests.support.services import SmtpSink, run_async, wait_until
from workflow.cases.model import StepResult
from workflow.engine.model import Actor
from workflow.engine.simulation import load_script
from workflow.orchestration.alerts import EVENT
from workflow.orchestration.flows import run_step
from workflow.orchestration.sweep import publish_caseload, run_sweep
from workflow.runtime import Runtime, build_runtime, use_runtime
from workflow.store.tables import OutboxRow

SKOLE = "skole@soroe.example"


class _EnoughError(Exception):
    """Stops the script once the steps the test needs are committed."""


@pytest.fixture
def one_try_runtime(smtp: SmtpSink, clock: Clock, tmp_path: Path) -> Iterator[Runtime]:
    """SQLite; a row is given up after its first failed attempt (no backoff to wait out)."""
    settings = settings_for(f"sqlite:///{tmp_path / 'workflow.db'}", smtp, tmp_path / "var")
    rt = build_runtime(settings.model_copy(update={"delivery_attempts": 1}), clock=clock)
    use_runtime(rt)
    yield rt
    use_runtime(None)
    rt.engine.dispose()


def _steps_up_to_handover(runtime: Runtime, clock: Clock) -> dict[str, StepResult]:
    """Play Sorø's script up to the handover; earlier steps' effects are delivered straight
    (no Prefect), the follow-up meeting's and the handover's are left for the test."""
    kept: dict[str, StepResult] = {}

    def carry_out(result: StepResult) -> None:
        if result.event in ("hold_follow_up", "start_handover"):
            kept[result.event] = result
            if result.event == "start_handover":
                raise _EnoughError
            return
        rows = [e.row_id for e in runtime.deliverer.effects_of_step(result.reference, result.seq)]
        runtime.deliverer.deliver_many(rows)

    with pytest.raises(_EnoughError):
        play(runtime, clock, load_script("definitions/examples/soroe.yaml"), after_step=carry_out)
    return kept


async def _run_and_tasks(name: str) -> tuple[Any, dict[str, Any]]:
    async with get_client() as client:
        # The newest of that name: other tests on this server play Sorø's case too.
        (run,) = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name])),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=1,
        )
        tasks = await client.read_task_runs(
            task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[run.id]))
        )
    return run, {t.name: t for t in tasks}


def _settled(name: str, tasks: int) -> tuple[Any, dict[str, Any]]:
    """The run and its tasks once the server has all ``tasks`` in a final state (task
    runs reach the server in the background, after the flow returns)."""
    found: list[tuple[Any, dict[str, Any]]] = []

    def ready() -> bool:
        found[:] = [asyncio.run(_run_and_tasks(name))]
        runs = found[0][1].values()
        return len(runs) >= tasks and all(t.state and t.state.is_final() for t in runs)

    wait_until(ready, f"the {tasks} tasks of {name}", 30)
    return found[0]


async def _artifact(key: str) -> Any:
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=10,
        )
    return found


async def _dead_events() -> list[Any]:
    async with get_client() as client:
        page = await client.read_events(
            filter=EventFilter(event=EventNameFilter(name=[EVENT])), limit=50
        )
    return list(page.events)


def _private(text: str) -> list[str]:
    return [p for p in (PERSON.name, PERSON.cpr, SKOLE, "@") if p in text]


def test_a_dead_delivery_is_red_and_a_withheld_one_is_named(
    one_try_runtime: Runtime, clock: Clock, smtp: SmtpSink, prefect_api: Path
) -> None:
    runtime = one_try_runtime
    steps = _steps_up_to_handover(runtime, clock)
    reference = steps["hold_follow_up"].reference
    runtime.consents.withdraw(reference, Actor("caseworker", "cw-mette"), ["uu"])
    # The session's Prefect server keeps other tests' events too, and outbox ids start at
    # 1 in every store: only the events this test brings are counted.
    seen_before = {e.id for e in asyncio.run(_dead_events())}

    # The follow-up invitations: the school's mail is refused for good.
    smtp.refusing.add(SKOLE)
    received = len(smtp.messages())
    counts = run_async(run_step(steps["hold_follow_up"]))
    # Sent: born_familie, the young person, the guardian and the coordinator (whose
    # calendar holds the next meeting too).
    assert counts == {"sent": 4, "dead": 1, "withheld": 1}
    run, tasks = _settled(f"{reference}-step-{steps['hold_follow_up'].seq}", 8)
    assert run.state.type.value == "FAILED"
    with runtime.sessions() as session:
        dead_id, template = session.execute(
            select(OutboxRow.id, OutboxRow.template).where(OutboxRow.state == "dead")
        ).one()
    assert run.state.message == f"1 of 6 effects given up: skole/{template} (outbox {dead_id})"
    # Found by reference as a run of the step; its task runs carry no tags of their own
    # (a tagged task run asks the server for a concurrency slot per tag).
    assert {f"case:{reference}", f"step:{steps['hold_follow_up'].seq}"} <= set(run.tags)
    assert [t.tags for t in tasks.values()] == [[]] * len(tasks)
    timer_tasks = {n: t for n, t in tasks.items() if n.startswith("timer-")}
    # The step restarted its follow-up timer: a task per timer effect, by the timer's code.
    assert sorted(timer_tasks) == [
        "timer-cancel-follow_up_due",
        "timer-start-follow_up_due",
        # the meeting it booked is chased if not recorded (the one held had been: fired)
        "timer-start-meeting_not_recorded",
    ]
    assert {t.state.type.value for t in timer_tasks.values()} == {"COMPLETED"}
    tasks = {n: t for n, t in tasks.items() if n not in timer_tasks}
    assert sorted(tasks) == [
        "invite-born_familie-follow_up",
        "invite-coordinator-follow_up",
        "invite-guardian-follow_up",
        "invite-skole-follow_up",
        "invite-uu-follow_up",
        "invite-young_person-follow_up",
    ]
    skole = tasks["invite-skole-follow_up"]
    assert skole.state.type.value == "FAILED"
    assert skole.run_count == 1  # given up: not retried by Prefect
    assert skole.state.message == f"given up (SMTP 550): outbox {dead_id}"
    assert (
        tasks["invite-uu-follow_up"].state.type.value,
        tasks["invite-uu-follow_up"].state.name,
    ) == (
        "COMPLETED",
        "Withheld",
    )
    assert {tasks[n].state.name for n in tasks if "skole" not in n and "uu" not in n} == {
        "Completed"
    }
    # The school's mail was not delivered; the others were, even after it failed.
    delivered = [to for to, _ in smtp.messages()[received:]]
    assert SKOLE not in delivered
    assert "familie@soroe.example" in delivered  # the school's row came first

    # The handover: nothing refused any more, youth guidance still withheld.
    smtp.refusing.clear()
    assert run_async(run_step(steps["start_handover"])) == {"sent": 2, "withheld": 1}
    handover, handover_tasks = _settled(f"{reference}-step-{steps['start_handover'].seq}", 5)
    assert (handover.state.type.value, handover.state.name) == ("COMPLETED", "Withheld")
    assert handover_tasks["notify-uu-handover_started"].state.name == "Withheld"
    reminder = handover_tasks["timer-start-handover_reminder"].state.message
    assert reminder.startswith("timer handover_reminder: running, due 20")

    # One row per effect in the step's artifact; the caseload lists the failed delivery.
    run_async(publish_caseload())
    artifacts = asyncio.run(_artifact(f"step-{reference.lower()}"))
    by_run = {a.flow_run_id: a for a in artifacts}
    rows = by_run[run.id].data
    rows = json.loads(rows) if isinstance(rows, str) else rows
    assert {r["effect"] for r in rows if r["outbox"] is None} == set(timer_tasks)
    assert sorted((r["effect"], r["outcome"]) for r in rows if r["outbox"]) == [
        ("invite-born_familie-follow_up", "sent"),
        ("invite-coordinator-follow_up", "sent"),
        ("invite-guardian-follow_up", "sent"),
        ("invite-skole-follow_up", "dead"),
        ("invite-uu-follow_up", "withheld"),
        ("invite-young_person-follow_up", "sent"),
    ]
    (caseload,) = asyncio.run(_artifact("caseload-340"))[:1]
    table = json.loads(caseload.data) if isinstance(caseload.data, str) else caseload.data
    failed = [r for r in table if r["stage"] == "(failed deliveries)"]
    assert failed == [
        {
            "stage": "(failed deliveries)",
            "cases": 1,
            "references": f"{reference} (outbox {dead_id})",
        }
    ]

    # One event for the dead row, by its codes; a sweep does not announce it again.
    def new_events() -> list[Any]:
        return [e for e in asyncio.run(_dead_events()) if e.id not in seen_before]

    wait_until(lambda: bool(new_events()), "the dead event", 20)
    run_async(run_sweep())
    events = [e for e in new_events() if e.resource.id == f"kui.outbox.{dead_id}"]
    assert len(events) == 1
    related = {r.role: r.id for r in events[0].related}
    assert related["case"] == f"kui.case.{reference}"
    assert related["municipality"] == "kui.municipality.340"
    assert related["recipient"] == "kui.department.skole"
    assert related["flow-run"] == f"prefect.flow-run.{run.id}"  # it links to the red run
    with runtime.sessions() as session:
        assert session.scalar(select(OutboxRow.announced_at).where(OutboxRow.id == dead_id))

    seen = [
        run.name,
        str(run.state.message),
        handover.name,
        str(handover.state.message),
        *(f"{t.name} {t.state.message}" for t in [*tasks.values(), *handover_tasks.values()]),
        json.dumps(rows),
        json.dumps(table),
        events[0].model_dump_json(),
    ]
    assert [text for text in seen if _private(text)] == []
