"""The timer sweep: firing due timers in chunks, each timer in a savepoint.

Timer rows are claimed with FOR UPDATE SKIP LOCKED (PostgreSQL), so two sweeps never
fire the same timer; on SQLite the case's version check does the same, and a sweep
that loses a write race backs off. A case a caseworker changed meanwhile, or a broken
timer, is left for the next sweep without spoiling the rest of the chunk.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from workflow.cases.model import StepResult
from workflow.cases.recording import Step, record_step
from workflow.engine.firing import fire_timer
from workflow.engine.model import Actor, Rejection
from workflow.errors import WorkflowError
from workflow.store.busy import is_busy
from workflow.store.loading import consent_state, load_case_by_id
from workflow.store.repository import StaleCaseError
from workflow.store.states import TimerState
from workflow.store.tables import CaseTimer
from workflow.store.unit_of_work import UnitOfWork

_log = logging.getLogger(__name__)


class TimerSweep:
    """Fires the due timers of a store."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def fire_due(self, moment: datetime, limit: int, chunk: int) -> list[StepResult]:
        """Fire the due timers: a transaction per chunk, a savepoint per timer.

        Timer rows are claimed with FOR UPDATE SKIP LOCKED (PostgreSQL), so two sweeps
        never fire the same timer; a case a caseworker changed meanwhile is left for the
        next sweep, without spoiling the rest of the chunk.
        """
        results: list[StepResult] = []
        for _round in range(limit // chunk + 1):
            try:
                claimed, fired_now = self._fire_chunk(moment, chunk)
            except OperationalError as exc:
                if not is_busy(exc):
                    raise
                break  # SQLite: another sweep is writing these rows; it will finish them
            results += fired_now
            if len(claimed) < chunk or not fired_now:
                break
        return results

    def _fire_chunk(self, moment: datetime, chunk: int) -> tuple[list[Any], list[StepResult]]:
        """Claim and fire one chunk of due timers in one transaction."""
        results: list[StepResult] = []
        with self.uow.transaction() as session:
            claimed = session.execute(
                select(CaseTimer.case_id, CaseTimer.timer)
                .where(CaseTimer.state == TimerState.RUNNING, CaseTimer.due_at <= moment)
                .order_by(CaseTimer.due_at, CaseTimer.id)
                .limit(chunk)
                .with_for_update(skip_locked=True)
            ).all()
            for case_id, timer in claimed:
                try:
                    with session.begin_nested():
                        result = self._fire_in(session, case_id, timer, moment)
                except (StaleCaseError, IntegrityError):
                    # A caseworker changed the case meanwhile (PostgreSQL: the step's
                    # history number was taken): the next sweep sees it.
                    continue
                except (WorkflowError, LookupError, ValueError, TypeError) as exc:
                    # One broken timer must not stop the others; it stays due and visible.
                    # Logged by type only: the exception's text could hold case data.
                    _log.error(
                        "timer %s of case id %s could not fire (%s)",
                        timer,
                        case_id,
                        type(exc).__name__,
                    )
                    continue
                if result is not None:
                    results.append(result)
        return list(claimed), results

    def _fire_in(
        self, session: Session, case_id: int, timer: str, now: datetime
    ) -> StepResult | None:
        loaded = load_case_by_id(session.connection(), case_id)
        assert loaded is not None
        case = loaded.case
        definition = self.uow.catalog.pinned(session, case.definition_version_id)
        spec = definition.timers_by_id.get(timer)
        event = spec.fires.event if spec is not None else None
        reads = event is not None and event in definition.events_reading_consent
        consent = consent_state(session.connection(), case_id) if reads else None
        decision = fire_timer(definition, loaded.state(consent), timer, now)
        if isinstance(decision, Rejection):
            return None
        step = Step(
            definition=definition,
            case=case,
            decision=decision,
            actor=Actor("system", f"timer:{timer}"),
            inputs={},
            at=now,
            purpose=f"timer {timer}",
            live_timers=loaded.live_timers(),
        )
        return record_step(session, step)
