"""A Sorø case from referral to closed: real store, real Prefect flows, real SMTP.

Every step is committed by the service layer and its effects carried out by a
``case-step`` flow run; time passes through the ``sweep`` flow, which fires timers.
Afterwards Prefect's own database must not contain the young person's name or CPR.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterStartTime,
    FlowRunFilterTags,
)
from sqlalchemy import select

from tests.integration.conftest import Clock
from tests.integration.scripted import PERSON, play
from tests.support.services import SmtpSink, run_async
from workflow.cases.model import StepResult
from workflow.delivery.message import addresses_of
from workflow.engine.model import Notify
from workflow.engine.simulation import load_script, simulate
from workflow.orchestration.flows import run_step
from workflow.orchestration.sweep import run_sweep
from workflow.runtime import Runtime
from workflow.store.tables import Case, HistoryEvent, OutboxRow

REMINDER_TEMPLATES = ("task_reminder", "task_overdue")


def _expected_mail(runtime: Runtime) -> Counter[str]:
    definition = runtime.catalog.by_id("soroe")
    timeline = simulate(definition, load_script("definitions/examples/soroe.yaml"))
    expected: Counter[str] = Counter()
    for entry in timeline.entries:
        for effect in entry.effects:
            if isinstance(effect, Notify):
                recipient = {
                    "kind": effect.recipient.kind,
                    "id": effect.recipient.id,
                    "person": effect.recipient.person,
                }
                expected.update(
                    a.address for a in addresses_of(definition, recipient) if a.kind == "email"
                )
    # And the reminders of the tasks still open when they fell due (queued by the sweep):
    # the confirmations and plan tasks nobody marked done in this script.
    with runtime.sessions() as session:
        reminders = session.scalars(
            select(OutboxRow.recipient).where(OutboxRow.template.in_(REMINDER_TEMPLATES))
        ).all()
    assert reminders, "the script leaves tasks open past their reminders"
    for recipient in reminders:
        expected.update(a.address for a in addresses_of(definition, recipient) if a.kind == "email")
    return expected


async def _flow_runs(reference: str, since: datetime) -> list[tuple[str, list[str]]]:
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=[f"case:{reference}"]),
                start_time=FlowRunFilterStartTime(after_=since),
            )
        )
    return sorted((r.name, sorted(r.tags)) for r in runs)


def test_soroe_case_runs_through_store_prefect_and_smtp(
    runtime: Runtime, clock: Clock, smtp: SmtpSink, prefect_api: Path
) -> None:
    steps: list[StepResult] = []
    started = datetime.now(UTC)

    def carry_out(result: StepResult) -> None:
        summary = run_async(run_step(result))
        assert set(summary) <= {"sent"}, summary
        steps.append(result)

    # The steps the system takes (the consent recorded) are carried out as runs too.
    runtime.service.system_steps.append(lambda result: run_async(run_step(result, "system")))

    def time_passes(moment: datetime) -> list[StepResult]:
        run_async(run_sweep(moment.isoformat()))
        return []

    play(
        runtime,
        clock,
        load_script("definitions/examples/soroe.yaml"),
        after_step=carry_out,
        fire_timers=time_passes,
    )
    reference = steps[0].reference
    assert steps[-1].to_stage == "closed"

    # Each department and role got exactly the mails the definition says.
    received = Counter(to for to, _ in smtp.messages())
    assert received == _expected_mail(runtime)
    # invitation, plan, follow-up, handover, closed; and two reminders: to confirm the
    # first meeting, and two days before the plan task is due
    assert received["skole@soroe.example"] == 7

    invitations = [
        m
        for to, m in smtp.messages()
        if to == "skole@soroe.example" and "Indkaldelse" in str(m["Subject"])
    ]
    assert len(invitations) == 1
    calendar = [p for p in invitations[0].walk() if p.get_content_type() == "text/calendar"]
    assert len(calendar) == 1
    ics = calendar[0].get_payload(decode=True).decode()
    assert "DTSTART;TZID=Europe/Copenhagen:20260317T090000" in ics  # local wall clock
    assert "LOCATION:Rådhuset\\, lokale med storskærm" in ics  # the room's label
    assert f"UID:{reference}-m1@kui.workflow" in ics
    assert "METHOD:REQUEST" in ics
    for _, mail in smtp.messages():
        body = mail.as_string()
        assert PERSON.name not in body
        assert PERSON.cpr not in body

    # The operator finds every step of the case in Prefect by its reference.
    # Every step: the caseworkers' (run as they were taken) and those the sweep fired
    # (deadlines, reminders), with no gap; the sweep's runs for what a step had left
    # (a task reminder queued later) are named so.
    runs = dict(asyncio.run(_flow_runs(reference, started)))
    with runtime.sessions() as session:
        seqs = list(
            session.scalars(
                select(HistoryEvent.seq)
                .join(Case)
                .where(Case.reference == reference)
                .order_by(HistoryEvent.seq)
            )
        )
    named = {f"{reference}-step-{seq}": seq for seq in seqs}
    assert set(named) <= set(runs)
    assert all(name.endswith("-sweep") for name in set(runs) - set(named)), sorted(runs)
    fired = {seq for seq in seqs if seq not in {s.seq for s in steps}}
    assert fired  # the script has deadlines that fire and steps the system takes
    for name, seq in named.items():
        assert f"step:{seq}" in runs[name]
        assert "municipality:340" in runs[name]
        triggers = {"trigger:timer", "trigger:system"} if seq in fired else {"trigger:caseworker"}
        assert triggers & set(runs[name]), (name, runs[name])

    # Nothing that identifies the young person reached Prefect's database.
    time.sleep(2)  # let the API log handler flush
    database = b"".join(p.read_bytes() for p in prefect_api.glob("prefect.db*"))
    assert reference.encode() in database  # the scan looks at the right data
    for secret in (PERSON.name, PERSON.cpr, f"{PERSON.cpr[:6]}-{PERSON.cpr[6:]}", "Testesen"):
        assert secret.encode() not in database, f"{secret!r} found in Prefect's database"
