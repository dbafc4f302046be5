"""Recording a step: a decision, its audit entry and its idempotency key, written together.

Every way a case changes — a referral opening it, a person's step, a timer firing —
ends here, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from workflow.cases.model import StepResult, storable_inputs
from workflow.definitions.models import Definition
from workflow.engine.model import Actor, Decision, MeetingChanged, Notify, TimerFired
from workflow.engine.outcome_figures import step_figures
from workflow.store.audit import AuditAction, AuditObject, actor_label, write_audit
from workflow.store.driver import pipelined
from workflow.store.figures import write_step_figures
from workflow.store.loading import StoredCase, connection_of
from workflow.store.repository import record_step_data, write_decision
from workflow.store.statements import INSERT_IDEMPOTENCY_KEY


@dataclass(frozen=True)
class Step:
    """A decided step of a case, as it is to be recorded."""

    definition: Definition
    case: StoredCase
    decision: Decision
    actor: Actor
    inputs: dict[str, Any]
    at: datetime
    purpose: str
    idempotency_key: str | None = None
    #: The case's running or fired timers as read (see LoadedCase).
    live_timers: Mapping[str, str] = field(default_factory=dict)
    #: The step that opened the case (its row was inserted in its opened state).
    opening: bool = False
    #: The consent record the step gave (:mod:`workflow.cases.consent_at_start`).
    consent: int | None = None
    #: When the step is written, for its audit entry, if not :attr:`at` (a bulk intake
    #: opens its cases as of the moment its check began, and writes them later).
    written_at: datetime | None = None


def record_step(session: Session, step: Step) -> StepResult:
    """Write a decision, its audit entry and the idempotency key's first result."""
    definition, case, decision, now = step.definition, step.case, step.decision, step.at
    assert definition.municipality is not None
    stored_inputs = storable_inputs(step.inputs)
    connection = connection_of(session)  # what the session added before is seen
    with pipelined(connection):  # PostgreSQL: all of the step's writes, one round trip
        written = write_decision(
            connection,
            definition,
            case,
            decision,
            live_timers=step.live_timers,
            opening=step.opening,
            actor_role=step.actor.role,
            actor_id=step.actor.id,
            inputs=stored_inputs,
            now=now,
        )
        write_audit(
            session,
            at=step.written_at or now,
            actor=actor_label(step.actor),
            action=AuditAction.CHANGE,
            object_type=AuditObject.CASE,
            object_id=case.reference,
            purpose=step.purpose,
            details={"event": decision.event, "seq": written.seq},
        )
        result = StepResult(
            reference=case.reference,
            event=decision.event,
            from_stage=decision.from_stage,
            to_stage=decision.to_stage,
            seq=written.seq,
            notifications=sum(1 for e in written.effects if e["type"] == Notify.__name__),
            municipality=definition.municipality.code,
            effects=list(written.effects),
            raises=list(decision.raises),
            consent=step.consent,
        )
        _write_figures(connection, step, stored_inputs)
        if step.idempotency_key:
            INSERT_IDEMPOTENCY_KEY.execute(
                connection,
                {
                    "key": step.idempotency_key,
                    "case_reference": case.reference,
                    "result": result.as_dict(),
                    "created_at": now,
                },
            )
    written.confirm()
    record_step_data(session, definition, case.id, decision, stored_inputs, step.actor.id, now)
    return result


def _write_figures(connection: Connection, step: Step, stored_inputs: dict[str, Any]) -> None:
    """The outcome figures the step changes (:mod:`workflow.engine.outcome_figures`)."""
    decision, new = step.decision, step.decision.case
    figures = step_figures(
        step.definition,
        event=decision.event,
        transition=decision.transition,
        from_stage=decision.from_stage,
        to_stage=decision.to_stage,
        fired=tuple(e.timer for e in decision.effects if isinstance(e, TimerFired)),
        counts=new.counts,
        values=new.data,
        given=frozenset(stored_inputs),
        opened_at=new.opened_at,
        at=step.at,
        held_start=next(
            (
                e.meeting.starts_at
                for e in decision.effects
                if isinstance(e, MeetingChanged) and e.action == "hold"
            ),
            None,
        ),
    )
    write_step_figures(
        connection,
        step.definition,
        case_id=step.case.id,
        municipality_code=step.case.municipality_code,
        young_person_id=step.case.young_person_id,
        figures=figures,
        from_stage=decision.from_stage,
        referred_at=new.opened_at,
        at=step.at,
        opening=step.opening,
    )
