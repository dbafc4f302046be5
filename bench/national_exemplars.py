"""Exemplar cases for the national store, opened and stepped through the service layer.

For every municipality's definition, one case per *archetype*: each point of its sample
script (``definitions/examples/<template>.yaml``) where a case may wait (referred, after
the pre-meeting, in follow-up, ...), the whole script (closed), and the early exits
(declined, withdrawn, moved, aged out). All exemplars play *in lockstep* on one clock:
at every moment of any script the real sweep fires due timers and delivers the outbox,
then the steps due at that moment are taken, each step's notifications delivered right
after it (as a case-step flow would). An exemplar's rows are taken (see
``national_clone.snapshot``) right after its last step, so the sweeps of later moments
never change the copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.municipalities import Municipality
from workflow.cases.model import YoungPersonDetails
from workflow.definitions.models import Definition
from workflow.engine.simulation import Script, ScriptDeposit, ScriptGrant, ScriptStep, load_script
from workflow.orchestration.demo import DemoClock as Clock
from workflow.orchestration.demo import (
    pay_into_pool_of,
    record_consent,
    script_actor,
    step_moments,
)
from workflow.runtime import Runtime

#: How the active cases of a municipality spread over the stages they wait in.
ACTIVE_STAGES = {
    "referred": 0.10,
    "pre_meeting": 0.15,
    "awaiting_first_meeting": 0.12,
    "follow_up": 0.55,
    "handover": 0.08,
}
#: How the closed cases end.
CLOSED_KINDS = {
    "closed": 0.55,
    "declined": 0.20,
    "withdrawn": 0.15,
    "moved": 0.05,
    "aged_out": 0.05,
}
#: Events a meeting day brings (the burst takes these on waiting cases).
MEETING_EVENTS = ("hold_pre_meeting", "hold_first_meeting", "hold_follow_up")


@dataclass
class Archetype:
    """One exemplar case: the steps it takes, and (once played) what it left in the store."""

    municipality: Municipality
    kind: str  # active | closed
    label: str  # the stage it waits in, or how it was closed
    steps: list[ScriptStep]
    moments: list[datetime]
    #: The step a caseworker takes next on such a case (active ones): the burst's event.
    next_step: ScriptStep | None
    #: Staff ids in the script, by what they are (caseworker, coordinator, team, leader).
    staff: dict[str, str]
    grants: list[ScriptGrant]
    #: The departments' payments into the municipality's pool (Ballerup's script).
    pool: list[ScriptDeposit] = field(default_factory=list)
    #: The young person's birth date the script gives (None: derived from the age).
    born: date | None = None
    weight: float = 0.0
    reference: str = ""
    case_id: int = 0
    stage: str = ""
    #: Rows per table, as the driver returns them (see national_clone).
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    last_step_at: datetime | None = None
    first_due: datetime | None = None  # the earliest running timer after the last step


def _step(event: str, actor: str, after: str, inputs: dict[str, Any] | None = None) -> ScriptStep:
    return ScriptStep.model_validate(
        {"event": event, "actor": actor, "after": after, "inputs": inputs or {}}
    )


def _staff(script: Script) -> dict[str, str]:
    staff: dict[str, str] = {g.person: "leader" for g in script.grants}
    for step in script.steps:
        role, _, ident = step.actor.partition(":")
        if ident and ident not in staff:
            staff[ident] = role if role in ("caseworker", "coordinator") else "team"
        for key in ("caseworker", "coordinator"):
            value = step.inputs.get(key)
            if isinstance(value, str):
                staff[value] = key
        for member in step.inputs.get("team") or []:
            staff.setdefault(str(member["person"]), "team")
    return staff


def archetypes(
    municipality: Municipality, definition: Definition, examples: Path
) -> list[Archetype]:
    """Every archetype of a municipality, weighted (the weights of a kind sum to 1)."""
    script = load_script(examples / f"{municipality.template}.yaml")
    steps = list(script.steps)
    events = [i for i, s in enumerate(steps) if s.event and not s.expect_rejection]
    staff = _staff(script)
    caseworker = next(p for p, kind in staff.items() if kind == "caseworker")
    found: list[Archetype] = []

    def add(kind: str, label: str, chosen: list[ScriptStep], following: ScriptStep | None) -> None:
        found.append(
            Archetype(
                municipality,
                kind,
                label,
                chosen,
                step_moments(definition, script.start, chosen),
                following,
                staff,
                list(script.grants),
                list(script.pool),
                script.young_person.born if script.young_person else None,
            )
        )

    def upto(stage: str) -> list[ScriptStep]:
        last = next(i for i in events if steps[i].expect_stage == stage)
        return steps[: last + 1]

    for j, index in enumerate(events[:-1]):
        add("active", str(steps[index].expect_stage), steps[: index + 1], steps[events[j + 1]])
    add("closed", "closed", steps, None)
    cw = f"caseworker:{caseworker}"
    add(
        "closed",
        "declined",
        [
            *steps[: events[0] + 1],
            _step("decline_referral", cw, "3 days", {"decline_reason": "not_needed"}),
        ],
        None,
    )
    add("closed", "withdrawn", [*upto("follow_up"), _step("withdraw", cw, "3 weeks")], None)
    add(
        "closed",
        "moved",
        [
            *upto("pre_meeting"),
            _step("move_municipality", cw, "10 days", {"new_municipality_code": "751"}),
        ],
        None,
    )
    # Aged out as it happens: the young person passes the upper age four weeks after the
    # follow-up begins, and the timer upper_age_reached ends the course (the caseworker's
    # "Over aldersgrænsen" is refused inside the age range).
    passing = ScriptStep.model_validate({"wait": "4 weeks"})
    add("closed", "aged_out", [*upto("follow_up"), passing], None)
    _passes_the_upper_age(found[-1], definition)
    _weigh([a for a in found if a.kind == "active"], ACTIVE_STAGES)
    _weigh([a for a in found if a.kind == "closed"], CLOSED_KINDS)
    return found


def _passes_the_upper_age(archetype: Archetype, definition: Definition) -> None:
    """Born so as to turn one year past the definition's upper age the day before the
    archetype's last moment (the sweep at that moment fires upper_age_reached)."""
    last = archetype.moments[-1].date() - timedelta(days=1)
    years = definition.target_ages.max + 1
    try:
        archetype.born = last.replace(year=last.year - years)
    except ValueError:  # 29 February
        archetype.born = date(last.year - years, 2, 28)


def _weigh(group: list[Archetype], shares: dict[str, float]) -> None:
    present = {a.label for a in group if a.label in shares}
    total = sum(shares[label] for label in present)
    for a in group:
        if a.label in shares:
            same = sum(1 for b in group if b.label == a.label)
            a.weight = shares[a.label] / total / same


def _person(archetype: Archetype, number: int) -> YoungPersonDetails:
    """An invented young person, as old at referral as the script says."""
    refer = archetype.steps[0]
    age = int(refer.inputs.get("age", 17))
    start = archetype.moments[0].date()
    born = archetype.born or date(
        start.year - age - (1 if start.month < 6 else 0), 6, 1 + number % 28
    )
    century = 4 if born.year >= 2000 else 0
    return YoungPersonDetails(
        f"Eksempel Person {number}", f"{born:%d%m%y}{century}{number % 1000:03d}", born
    )


def play(
    runtime: Runtime,
    clock: Clock,
    found: list[Archetype],
    snapshot: Callable[[Archetype], None],
    report: Callable[[str], None] = print,
) -> None:
    """Play every archetype in lockstep through the service layer; snapshot each at its end."""
    grants_done: set[tuple[str, str]] = set()
    plan: list[tuple[datetime, int, int]] = sorted(
        (moment, a, s)
        for a, archetype in enumerate(found)
        for s, moment in enumerate(archetype.moments)
    )
    last_sweep: datetime | None = None
    started = time.perf_counter()
    steps_taken = 0
    for moment, a, s in plan:
        archetype = found[a]
        if moment != last_sweep:
            clock.now = moment
            runtime.service.fire_due_timers(moment)
            deliver_due(runtime, moment)
            last_sweep = moment
        step = archetype.steps[s]
        if s == 0:
            _grants(runtime, archetype, grants_done)
        if step.event is not None and step.expect_rejection is None:
            _take(runtime, archetype, step, a)
            steps_taken += 1
        if s == len(archetype.steps) - 1:
            archetype.last_step_at = moment
            snapshot(archetype)
    report(
        f"  {len(found):,} exemplar cases, {steps_taken:,} steps through the service layer "
        f"in {time.perf_counter() - started:.0f} s"
    )


def deliver_due(runtime: Runtime, moment: datetime, chunk: int = 200) -> int:
    """Deliver what the outbox holds (the sweep's delivery half), in chunks."""
    done = 0
    while rows := runtime.deliverer.due_rows(5000, moment):
        outcomes = [
            o
            for i in range(0, len(rows), chunk)
            for o in runtime.deliverer.deliver_many(rows[i : i + chunk])
        ]
        done += len(outcomes)
        if all(o.status == "skipped" for o in outcomes):
            break
    return done


def _grants(runtime: Runtime, archetype: Archetype, done: set[tuple[str, str]]) -> None:
    code = archetype.municipality.code
    if archetype.pool and ("pool", code) not in done:
        pay_into_pool_of(runtime, code, archetype.pool)
        done.add(("pool", code))
    for grant in archetype.grants:
        if (grant.person, code) not in done:
            runtime.grants.grant(
                grant.person, code, grant.basis, grant.law, "bench", tuple(grant.actions)
            )
            done.add((grant.person, code))


def _take(runtime: Runtime, archetype: Archetype, step: ScriptStep, number: int) -> None:
    # As the demo plays a script: a young person acts as the case's own young person.
    actor = script_actor(step, archetype.reference or "")
    service = runtime.service
    if step.event == "refer":
        result = service.refer(
            archetype.municipality.definition, _person(archetype, number), actor, dict(step.inputs)
        )
        archetype.reference = result.reference
    else:
        assert step.event is not None
        result = service.trigger(archetype.reference, step.event, dict(step.inputs), actor)
    archetype.stage = result.to_stage
    record_consent(runtime, archetype.reference, step)
    rows = runtime.deliverer.rows_of_step(archetype.reference, result.seq)
    if rows:
        runtime.deliverer.deliver_many(rows)


def catch_up(runtime: Runtime, clock: Clock, moment: datetime) -> tuple[int, int]:
    """The nightly sweeps between the scripts' end and ``moment``, for the exemplars."""
    fired = delivered = 0
    day = clock.now
    while day < moment:
        day = min(day + timedelta(days=7), moment)
        clock.now = day
        fired += len(runtime.service.fire_due_timers(day))
        delivered += deliver_due(runtime, day)
    return fired, delivered
