"""The service layer: every action on a case goes through here (CLI, web, flows alike).

One call is one transaction: the engine decides, and the new stage, the history event,
the audit entry, the outbox rows and the timers are committed together or not at all.
A concurrent change of the same case gives :class:`ConflictError`; a repeated
idempotency key returns the first result without deciding again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from workflow.access import Action
from workflow.authorisation import access_details, authorise
from workflow.catalog import DefinitionCatalog
from workflow.cpr import CprCipher
from workflow.definitions import Definition
from workflow.engine import (
    Actor,
    Decision,
    Event,
    Rejection,
    decide,
)
from workflow.errors import WorkflowError
from workflow.idempotency import first_result, stored_result
from workflow.opening import open_case_in
from workflow.service_types import (
    CaseNotFoundError,
    ConflictError,
    PurposeRequiredError,
    Referral,
    RejectedError,
    StepResult,
    YoungPersonDetails,
    actor_label,
    age_on,
    busy,
    storable_inputs,
)
from workflow.store.audit import write_audit
from workflow.store.driver import pipelined
from workflow.store.loading import StoredCase, load_case
from workflow.store.reading import CaseView, read_case, read_cpr
from workflow.store.repository import StaleCaseError, record_step_data, write_decision
from workflow.store.statements import (
    CASE_BY_REFERENCE,
    INSERT_IDEMPOTENCY_KEY,
)
from workflow.store.tables import (
    Case,
)

BUSY_RETRIES = 8
DEFAULT_PURPOSE = "sagsbehandling"
T = TypeVar("T")
_log = logging.getLogger(__name__)


__all__ = [
    "CaseNotFoundError",
    "CaseService",
    "CaseView",
    "ConflictError",
    "Referral",
    "RejectedError",
    "StepResult",
    "YoungPersonDetails",
    "age_on",
]


class CaseService:
    """Refer, trigger and fire timers; one transaction per call."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: DefinitionCatalog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cpr: CprCipher | None = None,
    ) -> None:
        self.sessions = sessions
        self.catalog = catalog
        self.clock = clock
        #: Encrypts CPR numbers for the store (see workflow.cpr).
        self.cpr = cpr or CprCipher()

    @property
    def engine(self) -> Engine:
        """The store's database engine."""
        bind = self.sessions.kw["bind"]
        assert isinstance(bind, Engine)
        return bind

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session

    def refer(
        self,
        definition_id: str,
        person: YoungPersonDetails,
        actor: Actor,
        inputs: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        purpose: str = "referral",
    ) -> StepResult:
        """Open a case: the young person's age is computed from the birth date."""
        request = Referral(definition_id, person, actor, inputs, idempotency_key, purpose)
        for attempt in range(BUSY_RETRIES):
            try:
                with self.transaction() as session:
                    outcome = open_case_in(self, session, request, self.clock())
            except IntegrityError:
                continue  # another referral took the same reference or key; try again
            except OperationalError as exc:
                if not busy(exc):
                    raise
                time.sleep(0.005 * (attempt + 1))  # SQLite: another writer was first
                continue
            if isinstance(outcome, WorkflowError):
                raise outcome
            return outcome
        raise ConflictError("the case store is busy; try again in a moment")

    def refer_many(self, requests: list[Referral]) -> list[StepResult | WorkflowError]:
        """Open many cases in one transaction (bulk intake); refusals are returned, not raised.

        Refusals and repeated keys write nothing, so one bad row never spoils the batch.
        """
        now = self.clock()
        with self.transaction() as session:
            return [open_case_in(self, session, request, now) for request in requests]

    def trigger(
        self,
        reference: str,
        event: str,
        inputs: dict[str, Any],
        actor: Actor,
        *,
        idempotency_key: str | None = None,
        purpose: str | None = None,
    ) -> StepResult:
        """Take a step on a case. Raises RejectedError, ConflictError or CaseNotFoundError.

        A conflict means the case changed between reading and writing it. SQLite may
        refuse a write because *another* case was written meanwhile ("database is
        locked"): that is retried, and is a conflict only if this case itself changed.
        """
        conflict = ConflictError(
            f"case {reference} was changed by someone else at the same time; "
            "reload it and try again"
        )
        first_read: list[int] = []  # the case version the first attempt read
        for attempt in range(BUSY_RETRIES):
            try:
                return self._trigger_once(
                    reference, event, inputs, actor, idempotency_key, purpose or event, first_read
                )
            except OperationalError as exc:
                if not busy(exc):
                    raise
                time.sleep(0.005 * (attempt + 1))
            except (StaleCaseError, IntegrityError):
                repeated = self._repeated_now(idempotency_key, reference, event)
                if repeated:
                    return repeated  # a double click: the first request won
                raise conflict from None
        raise conflict

    def _trigger_once(
        self,
        reference: str,
        event: str,
        inputs: dict[str, Any],
        actor: Actor,
        idempotency_key: str | None,
        purpose: str,
        first_read: list[int],
    ) -> StepResult:
        now = self.clock()
        with self.transaction() as session:
            loaded = load_case(session.connection(), reference)
            if loaded is None:
                raise CaseNotFoundError(f"no case {reference}")
            case = loaded.case
            authorise(session, case, actor, Action.TRIGGER, purpose)
            # After the access check: a key must not tell a stranger what it was used for.
            repeated = first_result(session, idempotency_key, reference, event)
            if repeated:
                return repeated
            if first_read and case.version != first_read[0]:
                raise StaleCaseError(reference)
            first_read[:] = [case.version]
            definition = self.catalog.pinned(session, case.definition_version_id)
            decision = decide(definition, loaded.state(), Event(event, actor, inputs), now)
            if isinstance(decision, Rejection):
                raise RejectedError(decision)
            return self.record(
                session,
                definition,
                case,
                decision,
                actor,
                dict(inputs),
                now,
                idempotency_key,
                purpose,
                live_timers=loaded.live_timers(),
            )

    def repeated(self, key: str, reference: str, event: str) -> bool:
        """Whether this idempotency key already took ``event`` on the case."""
        with self.sessions() as session:
            result = stored_result(session.connection(), key)
        if not result:
            return False
        return bool((result.get("reference"), result.get("event")) == (reference, event))

    def _repeated_now(self, key: str | None, reference: str, event: str) -> StepResult | None:
        if not key:
            return None
        with self.sessions() as session:
            return first_result(session, key, reference, event)

    def view(
        self, reference: str, actor: Actor, purpose: str | None = None, *, channel: str = ""
    ) -> CaseView:
        """Read a case, if the access rule lets ``actor`` see it (logged with its purpose).

        ``purpose`` is what the person states; the case's own people may leave it out,
        someone who sees the case through a legal basis must give it (PurposeRequiredError).
        ``channel`` says where the read came from (a page, an API call), for the log.
        """
        return self._retrying(lambda: self._view_once(reference, actor, purpose, channel))

    def _retrying(self, call: Callable[[], T]) -> T:
        for attempt in range(BUSY_RETRIES):
            try:
                return call()
            except OperationalError as exc:
                if not busy(exc):
                    raise
                time.sleep(0.005 * (attempt + 1))
        raise ConflictError("the case store is busy; try again in a moment")

    def _view_once(
        self, reference: str, actor: Actor, purpose: str | None, channel: str
    ) -> CaseView:
        now = self.clock()
        with self.transaction() as session:
            case = self.case(session, reference)
            access = authorise(session, case, actor, Action.READ, purpose)
            definition = self.catalog.pinned(session, case.definition_version_id)
            write_audit(
                session,
                at=now,
                actor=actor_label(actor),
                action="read",
                object_type="case",
                object_id=reference,
                purpose=purpose or DEFAULT_PURPOSE,
                details=access_details(access) | ({"channel": channel} if channel else {}),
            )
            return read_case(session, case, definition, self.cpr.mask)

    def reveal_cpr(self, reference: str, actor: Actor, purpose: str) -> str:
        """The young person's whole CPR number: one explicit, logged reveal with a purpose."""
        if not purpose.strip():
            raise PurposeRequiredError(reference, "reveal")
        now = self.clock()
        with self.transaction() as session:
            case = self.case(session, reference)
            access = authorise(session, case, actor, Action.READ, purpose)
            cpr = read_cpr(session, case)
            write_audit(
                session,
                at=now,
                actor=actor_label(actor),
                action="read",
                object_type="cpr",
                object_id=reference,
                purpose=purpose,
                details=access_details(access) | {"field": "cpr"},
            )
            return self.cpr.decrypt(cpr) if cpr else ""

    def definition(self, version_id: int) -> Definition:
        """The definition version a case is pinned to (see CaseView.definition_version_id)."""
        with self.sessions() as session:
            return self.catalog.pinned(session, version_id)

    def fire_due_timers(
        self, now: datetime | None = None, limit: int = 100_000, chunk: int = 200
    ) -> list[StepResult]:
        """Fire the due timers (see :class:`workflow.sweeping.TimerSweep`)."""
        from workflow.sweeping import TimerSweep

        return TimerSweep(self).fire_due(now or self.clock(), limit, chunk)

    def record(
        self,
        session: Session,
        definition: Definition,
        case: StoredCase,
        decision: Decision,
        actor: Actor,
        inputs: dict[str, Any],
        now: datetime,
        idempotency_key: str | None,
        purpose: str,
        *,
        live_timers: Mapping[str, str],
        opening: bool = False,
    ) -> StepResult:
        """Write a decision, its audit entry and the idempotency key's first result.

        ``live_timers``: the case's running or fired timers as read (see LoadedCase).
        """
        assert definition.municipality is not None
        stored_inputs = storable_inputs(inputs)
        connection = session.connection()
        with pipelined(connection):  # PostgreSQL: all of the step's writes, one round trip
            written = write_decision(
                connection,
                definition,
                case,
                decision,
                live_timers=live_timers,
                opening=opening,
                actor_role=actor.role,
                actor_id=actor.id,
                inputs=stored_inputs,
                now=now,
            )
            write_audit(
                session,
                at=now,
                actor=actor_label(actor),
                action="change",
                object_type="case",
                object_id=case.reference,
                purpose=purpose,
                details={"event": decision.event, "seq": written.seq},
            )
            result = StepResult(
                reference=case.reference,
                event=decision.event,
                from_stage=decision.from_stage,
                to_stage=decision.to_stage,
                seq=written.seq,
                notifications=sum(1 for e in written.effects if e["type"] == "Notify"),
                municipality=definition.municipality.code,
                effects=list(written.effects),
            )
            if idempotency_key:
                INSERT_IDEMPOTENCY_KEY.execute(
                    connection,
                    {
                        "key": idempotency_key,
                        "case_reference": case.reference,
                        "result": result.as_dict(),
                        "created_at": now,
                    },
                )
        written.confirm()
        record_step_data(session, definition, case.id, decision, stored_inputs, actor.id, now)
        return result

    @staticmethod
    def case(session: Session, reference: str) -> Case:
        """The case with this reference, or CaseNotFoundError."""
        case = session.scalar(CASE_BY_REFERENCE, {"b_reference": reference})
        if case is None:
            raise CaseNotFoundError(f"no case {reference}")
        return case
