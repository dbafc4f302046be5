"""The demo: one case per municipality through its whole lifecycle, on an accelerated clock.

Each municipality's sample script (definitions/examples/) is played against the real
store; every step's effects are carried out by a `case-step` flow run, and time passes
through the `sweep` flow, which fires the timers that fall due. The young people are
invented, but their names and CPR numbers are stored as real ones would be — the
personal-data scan checks that none of it reaches Prefect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect.logging.handlers import PrefectConsoleHandler
from sqlalchemy import select

from workflow.cases.model import StepResult, YoungPersonDetails
from workflow.cases.pool import balance as pool_balance
from workflow.definitions.models import Definition
from workflow.definitions.vocabulary import CaseRole
from workflow.engine.access import young_person_actor
from workflow.engine.model import Actor
from workflow.engine.simulation import (
    Script,
    ScriptDeposit,
    ScriptStep,
    load_script,
    script_birth_date,
)
from workflow.engine.timing import add_duration
from workflow.orchestration.flows import run_step
from workflow.orchestration.sweep import run_sweep
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime
from workflow.store.states import OutboxState, TaskState, TimerState
from workflow.store.tables import CaseTask, CaseTimer, IdempotencyKey, OutboxRow, PoolEntry

#: The store's note that the demo was played (a row of idempotency_keys: no migration).
DEMO_MARKER = "demo:played:v1"

#: Invented young people, one per municipality (names and CPR numbers are fake).
DEMO_PEOPLE = {
    "silkeborg": YoungPersonDetails("Mikkel Demoesen", "0302084235", date(2008, 2, 3)),
    "soroe": YoungPersonDetails("Freja Testesen", "0101104321", date(2010, 1, 1)),
    "skanderborg": YoungPersonDetails("Noah Prøvesen", "1505094237", date(2009, 5, 15)),
    "horsens": YoungPersonDetails("Ida Eksempelsen", "2207074238", date(2007, 7, 22)),
    "koebenhavn": YoungPersonDetails("Oliver Fiktivsen", "0911064239", date(2006, 11, 9)),
    "ballerup": YoungPersonDetails("Alma Opdigtesen", "1204054240", date(2005, 4, 12)),
    "roskilde": YoungPersonDetails("Lucas Pseudonymsen", "3008094241", date(2009, 8, 30)),
}


class DemoClock:
    """A clock the demo moves from step to step."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class PlayedCase:
    """One demo case: its reference and the steps it took."""

    definition: str
    reference: str
    steps: list[StepResult]


def step_moments(
    definition: Definition, start: datetime, steps: Sequence[ScriptStep]
) -> list[datetime]:
    """When each step of a script happens: at its ``at``, or ``after``/``wait`` past the
    step before (business days as the definition counts them), or with the step before."""
    zone = ZoneInfo(definition.calendar.timezone)
    moment = start if start.tzinfo else start.replace(tzinfo=zone)
    moments = []
    for step in steps:
        if step.at is not None:
            moment = step.at if step.at.tzinfo else step.at.replace(tzinfo=zone)
        elif step.after is not None or step.wait is not None:
            amount = step.after or step.wait
            assert amount is not None
            moment = add_duration(definition, moment, amount)
        moments.append(moment)
    return moments


def play_script(
    runtime: Runtime,
    clock: DemoClock,
    script: Script,
    person: YoungPersonDetails,
    *,
    carry_out: Callable[[StepResult], None],
    time_passes: Callable[[datetime], None],
) -> PlayedCase:
    """Run a script's steps through the service layer (steps expected to be refused skipped)."""
    definition = runtime.catalog.by_id(script.definition)
    played = PlayedCase(script.definition, "", [])
    record_grants(runtime, script)
    pay_into_pool(runtime, script)
    for step, moment in zip(
        script.steps, step_moments(definition, script.start, script.steps), strict=True
    ):
        clock.now = moment
        time_passes(moment)
        result = None
        if step.event is not None and step.expect_rejection is None:
            actor = script_actor(step, played.reference)
            if step.event == "refer":
                result = runtime.service.refer(script.definition, person, actor, dict(step.inputs))
                played.reference = result.reference
            else:
                result = runtime.service.trigger(
                    played.reference, step.event, dict(step.inputs), actor
                )
            played.steps.append(result)
        record_consent(runtime, played.reference, step)
        if result is not None:
            carry_out(result)
    return played


def script_actor(step: ScriptStep, reference: str) -> Actor:
    """Who takes a script's step: ``role`` or ``role:id``; the young person without an id
    is the case's own young person."""
    role, _, ident = step.actor.partition(":")
    if role == CaseRole.YOUNG_PERSON and not ident and reference:
        ident = young_person_actor(reference)  # the case's own young person
    return Actor(role, ident or None)


def record_consent(runtime: Runtime, reference: str, step: ScriptStep) -> None:
    """The consent a script's step records or withdraws right after it (as the simulator
    does), by the step's actor."""
    actor = script_actor(step, reference)
    if step.consent is not None:
        given = step.consent
        runtime.consents.give(
            reference,
            actor,
            ConsentRequest(given.departments, given.categories, guardian=given.guardian),
        )
    if step.withdraw_consent is not None:
        which = step.withdraw_consent
        runtime.consents.withdraw(reference, actor, None if which == "all" else list(which))


def pay_into_pool(runtime: Runtime, script: Script) -> None:
    """The departments' payments a script's pool needs, made once (an empty pool only)."""
    definition = runtime.catalog.by_id(script.definition)
    if script.pool and definition.municipality is not None:
        pay_into_pool_of(runtime, definition.municipality.code, script.pool)


def pay_into_pool_of(runtime: Runtime, code: str, deposits: Sequence[ScriptDeposit]) -> None:
    """The departments' payments into municipality ``code``'s pool, if it is empty."""
    with runtime.sessions() as session, session.begin():
        if pool_balance(session, code) > 0:
            return
        for deposit in deposits:
            session.add(
                PoolEntry(
                    municipality_code=code,
                    kind="deposit",
                    department=deposit.department,
                    case_id=None,
                    amount=deposit.amount,
                    recorded_by="demo",
                    at=runtime.uow.clock(),
                )
            )


def record_grants(runtime: Runtime, script: Script) -> None:
    """The legal bases a script needs, recorded once (the demo may run again)."""
    definition = runtime.catalog.by_id(script.definition)
    assert definition.municipality is not None
    code = definition.municipality.code
    held = {(g.person_id, g.basis) for g in runtime.grants.list(code) if g.revoked_at is None}
    for grant in script.grants:
        if (grant.person, grant.basis) not in held:
            runtime.grants.grant(
                grant.person, code, grant.basis, grant.law, "demo", tuple(grant.actions)
            )


def aged_for(person: YoungPersonDetails, script: Script) -> YoungPersonDetails:
    """The invented person, born when the script says (its ``young_person``, or derived
    from the age at referral): the birth date the simulator gives the case too."""
    born = script_birth_date(script)
    if born is None:
        return person
    # The CPR number follows the birth date (its serial's first digit, 4, gives the
    # century for births 1937-2036), as the service checks it.
    return replace(person, birth_date=born, cpr=f"{born:%d%m%y}{person.cpr[6:]}")


def run_demo(
    runtime: Runtime, clock: DemoClock, examples: Path, report: Callable[[str], None] = print
) -> list[PlayedCase]:
    """Play every municipality's sample script with Prefect carrying out the effects."""

    def carry_out(result: StepResult, trigger: str = "caseworker") -> None:
        asyncio.run(run_step(result, trigger))

    # The steps the system takes (a consent recorded, a raised event) are runs too.
    runtime.service.system_steps.append(lambda result: carry_out(result, "system"))

    def time_passes(moment: datetime) -> None:
        if anything_due(runtime, moment):  # a sweep run only when it has work
            asyncio.run(run_sweep(moment.isoformat()))

    played = []
    for name, invented in DEMO_PEOPLE.items():
        script = load_script(examples / f"{name}.yaml")
        person = aged_for(invented, script)
        case = play_script(
            runtime, clock, script, person, carry_out=carry_out, time_passes=time_passes
        )
        report(f"{case.reference}: {len(case.steps)} steps, now {case.steps[-1].to_stage}")
        played.append(case)
        waiting = leave_open(runtime, script, person)
        carry_out(waiting)
        report(f"{waiting.reference}: referred, waits to be taken on")
    mark_demo_played(runtime, played)
    return played


def leave_open(runtime: Runtime, script: Script, person: YoungPersonDetails) -> StepResult:
    """One more case of the script's municipality, referred as its script refers and left
    there, for a caseworker to take on (another invented young person: the CPR serial's
    next number, same birth date and century digit)."""
    refer = next(step for step in script.steps if step.event == "refer")
    serial = (int(person.cpr[7:]) + 1) % 1000
    other = replace(
        person, name=f"{person.name.split()[0]} Venter", cpr=f"{person.cpr[:7]}{serial:03d}"
    )
    return runtime.service.refer(
        script.definition, other, script_actor(refer, ""), dict(refer.inputs)
    )


def anything_due(runtime: Runtime, moment: datetime) -> bool:
    """Whether a sweep at ``moment`` would find work: a running timer due, an open task's
    reminder due, or a notification waiting (the demo's clock jumps between steps; most
    jumps have none, and a sweep run each time would be most of the demo's time)."""
    with runtime.sessions() as session:
        for found in (
            select(CaseTimer.id).where(
                CaseTimer.state == TimerState.RUNNING, CaseTimer.due_at <= moment
            ),
            select(CaseTask.id).where(
                CaseTask.state == TaskState.OPEN,
                CaseTask.next_reminder_at.is_not(None),
                CaseTask.next_reminder_at <= moment,
            ),
            select(OutboxRow.id).where(
                OutboxRow.state.in_((OutboxState.PENDING, OutboxState.SENDING)),
                OutboxRow.available_at <= moment,
            ),
        ):
            if session.scalar(found.limit(1)) is not None:
                return True
    return False


def demo_played(runtime: Runtime) -> bool:
    """Whether the demo was played in this store (`workflow up --demo` plays it once)."""
    with runtime.sessions() as session:
        return session.get(IdempotencyKey, DEMO_MARKER) is not None


def mark_demo_played(runtime: Runtime, played: Sequence[PlayedCase]) -> None:
    """Note in the store that the demo was played, with its cases' references."""
    with runtime.sessions() as session, session.begin():
        if session.get(IdempotencyKey, DEMO_MARKER) is None:
            session.add(
                IdempotencyKey(
                    key=DEMO_MARKER,
                    case_reference="",
                    result={"cases": [case.reference for case in played]},
                    created_at=runtime.uow.clock(),
                )
            )


@contextmanager
def prefect_console_quiet() -> Iterator[None]:
    """Prefect's console lines at WARNING and above only (its runs' logs still reach the
    Prefect server): the demo's hundreds of INFO lines would bury the addresses above."""
    known = logging.root.manager.loggerDict.values()
    loggers = [logging.root, *(each for each in known if isinstance(each, logging.Logger))]
    handlers = {
        handler
        for logger in loggers
        for handler in logger.handlers
        if isinstance(handler, PrefectConsoleHandler)
    }
    levels = {handler: handler.level for handler in handlers}
    for handler in handlers:
        handler.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for handler, level in levels.items():
            handler.setLevel(level)
