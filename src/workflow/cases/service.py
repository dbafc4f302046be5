"""The case service: every action on a case goes through here (CLI, web, flows alike).

One call is one transaction of the unit of work: the engine decides, and the new stage,
the history event, the audit entry, the outbox rows and the timers are committed
together or not at all. A concurrent change of the same case gives
:class:`~workflow.errors.ConflictError`; a repeated idempotency key returns the first
result without deciding again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from workflow.cases.consent_at_start import ConsentScopeError, StepConsent, consent_with_step
from workflow.cases.idempotency import first_result, stored_result
from workflow.cases.model import Referral, RejectedError, StepResult, YoungPersonDetails
from workflow.cases.opening import open_case_in, open_cases_in
from workflow.cases.pool import draw_for_step
from workflow.cases.recording import Step, record_step
from workflow.cases.referral_checks import ReferralChecks, check_referrals, person_problems
from workflow.cases.referred_again import shown_to
from workflow.cases.staff import input_facts
from workflow.cases.timers import TimerSweep
from workflow.definitions.models import Definition
from workflow.definitions.vocabulary import SYSTEM_ROLE, CaseRole, InputType
from workflow.engine.access import Action, roles_held
from workflow.engine.decide import decide
from workflow.engine.model import Actor, Event, FieldError, Rejection, RejectionReason
from workflow.engine.steps import refused_now
from workflow.errors import (
    CaseNotFoundError,
    ConflictError,
    NotAllowedError,
    PurposeRequiredError,
    WorkflowError,
)
from workflow.privacy.authorisation import (
    access_details,
    audited_refusal,
    authorise,
    authorise_step,
    standing_on,
)
from workflow.privacy.consents import CONSENT_GIVEN, ConsentRequest, consent_actor
from workflow.store.audit import (
    AuditAction,
    AuditObject,
    actor_label,
    audit_row,
    commit_read_audit,
    write_audit,
)
from workflow.store.busy import BUSY_ATTEMPTS, pause_when_busy, retry_when_busy
from workflow.store.loading import (
    LoadedCase,
    connection_of,
    consent_state,
    load_case,
    step_actors,
    step_actors_of,
)
from workflow.store.reading import (
    CaseView,
    case_by_reference,
    case_row_by_reference,
    read_case,
    read_cpr,
)
from workflow.store.repository import StaleCaseError
from workflow.store.standing import may_be_given
from workflow.store.unit_of_work import UnitOfWork

DEFAULT_PURPOSE = "sagsbehandling"
#: The shortest purpose a reveal of the CPR number states (as the API's field asks).
MIN_PURPOSE = 3


class CaseService:
    """Refer, trigger, view and fire timers; one transaction per call."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        #: Told of every step the system takes on a case (a consent recorded, a raised
        #: event), once committed: whoever carries steps out (the web app's hand-off to
        #: the workers, the sweep) adds itself here. Must not raise.
        self.system_steps: list[Callable[[StepResult], None]] = []

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
        for attempt in range(BUSY_ATTEMPTS):
            try:
                with self.uow.transaction() as session:
                    outcome = open_case_in(self.uow, session, request, self.uow.clock())
            except IntegrityError:
                continue  # another referral took the same reference or key; try again
            except OperationalError as exc:
                pause_when_busy(exc, attempt)  # SQLite: another writer was first
                continue
            if isinstance(outcome, WorkflowError):
                raise outcome
            return outcome
        raise ConflictError("the case store is busy; try again in a moment")

    def person_problems(self, person: YoungPersonDetails) -> tuple[FieldError, ...]:
        """What is wrong with a young person's details at referral (nothing: empty), as
        :meth:`refer` checks them — for a form that shows its errors beside its fields."""
        return person_problems(person, self.uow.today())

    def check_many(
        self, requests: list[Referral], checks: ReferralChecks | None = None
    ) -> list[WorkflowError | None]:
        """Why each referral would be refused (None: it would be opened), writing nothing:
        a bulk intake checks a whole file before it opens any case of it.

        ``checks`` (:meth:`referral_checks`): a check of many calls, as of the moment it
        began, each distinct set of the engine's arguments decided once."""
        now = self.uow.clock() if checks is None else checks.now
        with self.uow.reading() as session:
            return check_referrals(self.uow, session, requests, now, checks)

    def referral_checks(self) -> ReferralChecks:
        """A check of referrals over several :meth:`check_many` calls, as of now."""
        return ReferralChecks(self.uow.clock())

    def refer_many(
        self, requests: list[Referral], checks: ReferralChecks | None = None
    ) -> list[StepResult | WorkflowError]:
        """Open many cases in one transaction (bulk intake); refusals are returned, not raised.

        Refusals and repeated keys write nothing, so one bad row never spoils the batch.
        ``checks`` (:meth:`referral_checks`, the file's check): the cases are opened as of
        the moment the check began, with its decisions (their audit entries say when
        they were written).
        """
        written_at = self.uow.clock()
        now = written_at if checks is None else checks.now
        with self.uow.transaction() as session:
            return open_cases_in(self.uow, session, requests, now, checks, written_at)

    def trigger(
        self,
        reference: str,
        event: str,
        inputs: dict[str, Any],
        actor: Actor,
        *,
        idempotency_key: str | None = None,
        purpose: str | None = None,
        consent: ConsentRequest | None = None,
        consent_required: bool = False,
    ) -> StepResult:
        """Take a step on a case. Raises RejectedError, ConflictError or CaseNotFoundError.

        ``consent`` is the consent a step that records ``consent_given`` gives: checked
        and recorded in the step's transaction (ConsentScopeError, field by field, when
        it is not valid; nothing is saved). People's ways in (web, API, CLI) pass
        ``consent_required=True``: such a step without a consent scope is refused
        (:mod:`workflow.cases.consent_at_start`).

        A conflict means the case changed between reading and writing it. SQLite may
        refuse a write because *another* case was written meanwhile ("database is
        locked"): that is retried, and is a conflict only if this case itself changed.
        """
        conflict = ConflictError(
            f"case {reference} was changed by someone else at the same time; "
            "reload it and try again"
        )
        request = _Trigger(reference, event, inputs, actor, idempotency_key, purpose or event)
        request.consent = StepConsent(consent, consent_required)
        try:
            result = self._trigger_with_retries(request, conflict)
        except (
            CaseNotFoundError,
            NotAllowedError,
            PurposeRequiredError,
            RejectedError,
            ConsentScopeError,
        ) as exc:
            self._audit_refusal(request, exc)
            raise
        if not result.repeated:
            for raised in result.raises:
                self.raise_event(reference, raised, Actor(SYSTEM_ROLE, f"{event}:{raised}"))
            if result.consent is not None and request.tells_consent:
                # As the consent service does: the case hears of the consent recorded.
                self.raise_event(reference, CONSENT_GIVEN, consent_actor(request.actor))
        return result

    def raise_event(self, reference: str, event: str, actor: Actor) -> StepResult | None:
        """Raise an event on a case as the system (tasks done, a no-show): taken if the
        case's definition takes it where the case now is, else nothing happens (recorded
        in the audit log as refused, like any refused step)."""
        conflict = ConflictError(f"case {reference} changed while {event} was raised")
        request = _Trigger(reference, event, {}, actor, None, event, system=True)
        try:
            result = self._trigger_with_retries(request, conflict)
        except (RejectedError, ConflictError) as exc:
            self._audit_refusal(request, exc)
            return None
        if not result.repeated:
            for observe in self.system_steps:
                observe(result)
        return result

    def _audit_refusal(self, request: _Trigger, refusal: WorkflowError) -> None:
        """Every refused step is kept in the audit log (in its own transaction: the step's
        own rolled back), with who tried what and why it was refused."""
        reason = (
            refusal.rejection.reason.value
            if isinstance(refusal, RejectedError)
            else type(refusal).__name__
        )
        with self.uow.transaction() as session:
            write_audit(
                session,
                at=self.uow.clock(),
                actor=actor_label(request.actor),
                action=AuditAction.REFUSED,
                object_type=AuditObject.CASE,
                object_id=request.reference[:64],
                purpose=request.purpose,
                details={"event": request.event, "role": request.actor.role, "reason": reason},
            )

    def _trigger_with_retries(self, request: _Trigger, conflict: ConflictError) -> StepResult:
        reference, event, idempotency_key = (
            request.reference,
            request.event,
            request.idempotency_key,
        )
        for attempt in range(BUSY_ATTEMPTS):
            try:
                return self._trigger_once(request)
            except OperationalError as exc:
                pause_when_busy(exc, attempt)
            except (StaleCaseError, IntegrityError):
                repeated = self._repeated_now(idempotency_key, reference, event)
                if repeated:
                    return repeated  # a double click: the first request won
                raise conflict from None
        raise conflict

    def _trigger_once(self, request: _Trigger) -> StepResult:
        now = self.uow.clock()
        with self.uow.step() as session:
            connection = connection_of(session, flush=False)
            loaded = load_case(connection, request.reference)
            if loaded is None:
                raise CaseNotFoundError(f"no case {request.reference}")
            case = loaded.case
            if not request.system:  # the engine's own events: raised by it, not asked for
                authorise_step(session, case, request.actor, request.purpose, self.uow.today())
            # After the access check: a key must not tell a stranger what it was used for.
            repeated = first_result(
                session, request.idempotency_key, request.reference, request.event
            )
            if repeated:
                return repeated
            if request.first_read is not None and case.version != request.first_read:
                raise StaleCaseError(request.reference)
            request.first_read = case.version
            definition = self.uow.catalog.pinned(session, case.definition_version_id)
            _check_qualifications(session, definition, request.inputs)
            reviews = definition.input_names_by_type.get(InputType.GOAL_REVIEWS, [])
            reviewed = any(name in request.inputs for name in reviews)
            facts = input_facts(
                session,
                case.municipality_code,
                request.inputs,
                case.id if reviewed else None,
                definition,
            )
            event = Event(request.event, request.actor, request.inputs)
            consent = None
            if request.event in definition.events_reading_consent:
                consent = consent_state(connection, case.id)
            state = loaded.state(consent)
            if request.event in definition.events_separating_duties:
                state = replace(state, step_actors=step_actors(connection, case.id))
            decision = decide(definition, state, event, now, facts)
            if isinstance(decision, Rejection):
                raise RejectedError(decision)
            if request.checking:
                raise _Checked  # the step's transaction is rolled back: nothing written
            recorded = consent_with_step(
                self.uow,
                session,
                case,
                definition,
                (decision.transition, request.actor, now),
                request.consent,
            )
            request.tells_consent = CONSENT_GIVEN in definition.transitions_by_event
            draw_for_step(
                session, definition, case, decision.transition, request.inputs, request.actor, now
            )
            step = Step(
                definition=definition,
                case=case,
                decision=decision,
                actor=request.actor,
                inputs=dict(request.inputs),
                at=now,
                purpose=request.purpose,
                idempotency_key=request.idempotency_key,
                live_timers=loaded.live_timers(),
                consent=recorded,
            )
            return record_step(session, step)

    def check(
        self, reference: str, event: str, inputs: dict[str, Any], actor: Actor, purpose: str
    ) -> Rejection | None:
        """The refusal a step would get now, or None, without taking it (the same access
        rule, inputs and engine as :meth:`trigger`; its transaction is rolled back and
        nothing is written or logged). A form asks before a question of its own (a team
        some of whom no consent covers), so the person hears every error at once."""
        request = _Trigger(reference, event, inputs, actor, None, purpose)
        request.checking = True

        def once() -> Rejection | None:
            try:
                self._trigger_once(request)
            except RejectedError as refused:
                return refused.rejection
            except _Checked:
                return None
            return None  # pragma: no cover - without a key nothing returns before deciding

        return retry_when_busy(once)

    def repeated(self, key: str, reference: str, event: str) -> bool:
        """Whether this idempotency key already took ``event`` on the case."""
        with self.uow.reading() as session:
            result = stored_result(session.connection(), key)
        if not result:
            return False
        return bool((result.get("reference"), result.get("event")) == (reference, event))

    def _repeated_now(self, key: str | None, reference: str, event: str) -> StepResult | None:
        if not key:
            return None
        with self.uow.reading() as session:
            return first_result(session, key, reference, event)

    def view(
        self, reference: str, actor: Actor, purpose: str | None = None, *, channel: str = ""
    ) -> CaseView:
        """Read a case, if the access rule lets ``actor`` see it (logged with its purpose).

        ``purpose`` is what the person states; the case's own people may leave it out,
        someone who sees the case through a legal basis must give it (PurposeRequiredError).
        ``channel`` says where the read came from (a page, an API call), for the log.
        """
        return retry_when_busy(lambda: self._view_once(reference, actor, purpose, channel))

    def _view_once(
        self, reference: str, actor: Actor, purpose: str | None, channel: str
    ) -> CaseView:
        now = self.uow.clock()
        # A pure read (concurrent with the others); its entry is committed before the
        # case is handed out (commit_read_audit), a refusal in its own transaction.
        with (
            audited_refusal(self.uow, actor, AuditObject.CASE, reference, purpose),
            self.uow.brief_reading() as session,
        ):
            case = case_row_by_reference(session, reference)
            access = authorise(session, case, actor, Action.READ, purpose, self.uow.today())
            definition = self.uow.catalog.pinned(session, case.definition_version_id)
            view = read_case(session, case, definition, self.uow.cpr.mask, now)
            standing = standing_on(session, case, actor.id, self.uow.today())
            roles = tuple(role.value for role in roles_held(standing))
            born = view.young_person.get("birth_date")
            state = LoadedCase(case, born=born if isinstance(born, date) else None).state()
            state = replace(state, step_actors=step_actors_of(view.history))
            view = replace(
                view,
                reader=actor.id,
                reader_roles=roles,
                refused_steps=refused_now(definition, state, roles, actor.id, now),
                tasks=[
                    t
                    for t in view.tasks
                    if shown_to(t["key"], t["created_by"], t["assignee"], actor.id)
                ],
            )
            entry = audit_row(
                at=now,
                actor=actor_label(actor),
                action=AuditAction.READ,
                object_type=AuditObject.CASE,
                object_id=reference,
                purpose=purpose or DEFAULT_PURPOSE,
                details=access_details(access) | ({"channel": channel} if channel else {}),
            )
        commit_read_audit(self.uow.engine, entry)
        return view

    def reveal_cpr(self, reference: str, actor: Actor, purpose: str) -> str:
        """The young person's whole CPR number: one explicit, logged reveal with a purpose
        (at least three characters, on every way in: web, API and CLI alike)."""
        if len(purpose.strip()) < MIN_PURPOSE:
            raise PurposeRequiredError(reference, "reveal")
        now = self.uow.clock()
        with (
            audited_refusal(self.uow, actor, AuditObject.CPR, reference, purpose),
            self.uow.transaction() as session,
        ):
            case = case_by_reference(session, reference)
            access = authorise(session, case, actor, Action.READ, purpose, self.uow.today())
            cpr = read_cpr(session, case)
            write_audit(
                session,
                at=now,
                actor=actor_label(actor),
                action=AuditAction.READ,
                object_type=AuditObject.CPR,
                object_id=reference,
                purpose=purpose,
                details=access_details(access) | {"field": "cpr"},
            )
            return self.uow.cpr.decrypt(cpr) if cpr else ""

    def roles_held(self, reference: str, person: str | None) -> tuple[str, ...]:
        """The roles ``person`` may act in on the case, most specific first (from their
        standing on it; nothing is read of the case's data, so nothing is logged)."""
        with self.uow.reading() as session:
            case = case_by_reference(session, reference)
            standing = standing_on(session, case, person, self.uow.today())
            return tuple(role.value for role in roles_held(standing))

    def definition(self, version_id: int) -> Definition:
        """The definition version a case is pinned to (see CaseView.definition_version_id)."""
        with self.uow.reading() as session:
            return self.uow.catalog.pinned(session, version_id)

    def fire_due_timers(
        self, now: datetime | None = None, limit: int = 100_000, chunk: int = 200
    ) -> list[StepResult]:
        """Fire the due timers (see :class:`workflow.cases.timers.TimerSweep`)."""
        return TimerSweep(self.uow).fire_due(now or self.uow.clock(), limit, chunk)


def _check_qualifications(session: Session, definition: Definition, inputs: dict[str, Any]) -> None:
    """Account roles say which standings a person may be given: the coordinator the young
    person chooses must be staff with the coordinator qualification (a person without an
    account here is left to the municipality's own check)."""
    for name in definition.input_names_by_type.get(InputType.COORDINATOR, []):
        chosen = inputs.get(name)
        if not isinstance(chosen, str) or not _storable(chosen):
            continue  # not a person id at all: the engine refuses it beside its field
        if may_be_given(session, chosen, CaseRole.COORDINATOR) is False:
            problem = FieldError(name, "not_qualified", {"role": CaseRole.COORDINATOR.value})
            raise RejectedError(
                Rejection(RejectionReason.INVALID_INPUT, {"fields": name}, (problem,))
            )


def _storable(text: str) -> bool:
    """Text a database can be asked about (no lone surrogates, no NUL)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text and len(text) <= 200


class _Checked(Exception):  # noqa: N818 - a signal, not an error
    """A checked step was decided: its transaction ends here, rolled back."""


@dataclass
class _Trigger:
    """One trigger request, and the case version its first attempt read."""

    reference: str
    event: str
    inputs: dict[str, Any]
    actor: Actor
    idempotency_key: str | None
    purpose: str
    #: The case version the first attempt read; a later attempt must see the same.
    first_read: int | None = None
    #: Raised by the engine itself (tasks done, a no-show), not asked for by a person.
    system: bool = False
    #: The consent the step gives (see :mod:`workflow.cases.consent_at_start`).
    consent: StepConsent = field(default_factory=StepConsent)
    #: Whether the case's definition takes ``consent_given`` (raised once it is recorded).
    tells_consent: bool = False
    #: Only decide (see :meth:`CaseService.check`): nothing is written.
    checking: bool = False
