"""The young person's consent to share their case, as its own record.

A consent says who gave it (the young person; also a custodial parent where the
definition's ``privacy.guardian_consent_under`` requires it), which departments and which
data categories it covers, the day it was given and the young person's age that day.
Withdrawing it — for some departments or all — stops sharing with them from that moment:
the access rule no longer lets their team members see the case, and notifications to them
are withheld. Nothing is deleted: the record and the case notes stay (notatpligt).

Recording a consent releases the notifications that were withheld for want of it and
are still relevant (:func:`workflow.engine.consent.release_verdict`: the meeting they are
about is still ahead as described, or the case is still where the step left it): they
go out with the next delivery. The others stay withheld, with the reason added.

Only the case's caseworker or coordinator records or withdraws a consent (on the young
person's behalf); every change goes to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from workflow.definitions.calendar import age_on
from workflow.definitions.models import Definition
from workflow.definitions.vocabulary import SYSTEM_ROLE, StageKind
from workflow.engine.access import CONSENT_ACTOR, Action, Via
from workflow.engine.consent import (
    CaseNow,
    WithheldNotice,
    consent_problems,
    guardian_needed,
    release_verdict,
)
from workflow.engine.model import Actor
from workflow.engine.vocabulary import DEPARTMENT_KINDS
from workflow.errors import InvalidRequestError, NotAllowedError, Problem, did_you_mean
from workflow.privacy.authorisation import authorise
from workflow.privacy.uninvited import (
    close_department_tasks,
    reinvite,
    reopen_department_tasks,
    uninvite,
)
from workflow.store.audit import AuditAction, AuditObject, actor_label, write_audit
from workflow.store.reading import case_by_reference
from workflow.store.states import OutboxState
from workflow.store.tables import (
    Case,
    Consent,
    ConsentDepartment,
    ConsentPart,
    HistoryEvent,
    Meeting,
    OutboxRow,
    YoungPerson,
)
from workflow.store.unit_of_work import UnitOfWork

YOUNG_PERSON, GUARDIAN = "young_person", "guardian"
CONSENT_GIVEN, CONSENT_WITHDRAWN = "consent_given", "consent_withdrawn"

#: How the consent service raises an event on a case (the case service's raise_event).
RaiseEvent = Callable[[str, str, Actor], object]


@dataclass(frozen=True)
class ConsentRequest:
    """A consent as the caseworker records it from the signed consent form."""

    departments: list[str]
    categories: list[str] = field(default_factory=list)
    given_on: date | None = None  # default: today
    guardian: bool = False  # a custodial parent consented too


def _unknown(path: str, what: str, values: Iterable[str], known: Iterable[str]) -> list[Problem]:
    known = list(known)
    return [
        Problem(None, path, f"unknown {what} '{value}'", did_you_mean(value, known))
        for value in values
        if value not in known
    ]


def check_request(
    definition: Definition, request: ConsentRequest, age: int, today: date, opened: date
) -> list[Problem]:
    """What is wrong with a consent for this definition (field by field): the rules the
    simulator applies too (:func:`workflow.engine.consent.consent_problems`), and the
    dates only a recorded consent has."""
    problems = consent_problems(
        definition, request.departments, request.categories, request.guardian, age
    )
    if request.given_on and request.given_on > today:
        problems.append(
            Problem(None, "given_on", "a consent cannot be given in the future", "use today")
        )
    if request.given_on and request.given_on < opened:
        problems.append(
            Problem(
                None,
                "given_on",
                f"the case was opened on {opened}: record a consent given for this case",
            )
        )
    return problems


_GUARDIAN = frozenset({Via.GUARDIAN})
_CITIZENS = frozenset({Via.YOUNG_PERSON, Via.GUARDIAN})
_PARTY = {Via.YOUNG_PERSON: YOUNG_PERSON, Via.GUARDIAN: GUARDIAN}


@dataclass(frozen=True)
class PartGiven:
    """What a party's yes did: the departments now consented to (every party the young
    person's age needs has said yes) and those still waiting for the other's yes."""

    consented: list[str]
    waiting: list[str]


def consent_actor(by: Actor) -> Actor:
    """The system, telling the case of a consent ``by`` recorded or withdrew."""
    return Actor(SYSTEM_ROLE, CONSENT_ACTOR + actor_label(by))


class ConsentService:
    """Records and withdraws consents; the service layer's access rule reads them."""

    def __init__(self, uow: UnitOfWork, raise_event: RaiseEvent | None = None) -> None:
        self.uow = uow
        #: Raises ``consent_given`` / ``consent_withdrawn`` on the case as the system,
        #: after the consent is committed, when the case's definition takes the event.
        self.raise_event = raise_event

    def _tell_case(self, reference: str, definition: Definition, event: str, by: Actor) -> None:
        if self.raise_event is not None and event in definition.transitions_by_event:
            self.raise_event(reference, event, consent_actor(by))

    def _case_of_responsible(
        self, session: Session, reference: str, actor: Actor, also: frozenset[Via] = frozenset()
    ) -> Case:
        """The case, if ``actor`` is its caseworker or coordinator (who record consents), or
        stands on it through one of ``also`` (the young person and a guardian withdraw, and
        complete a consent with their own yes: :meth:`give_part`)."""
        case = case_by_reference(session, reference)
        self._responsible(session, case, actor, also)
        return case

    def _responsible(
        self, session: Session, case: Case, actor: Actor, also: frozenset[Via] = frozenset()
    ) -> None:
        """NotAllowedError unless ``actor`` records consents on the case (see above)."""
        access = authorise(session, case, actor, Action.TRIGGER, today=self.uow.today())
        if access.via not in {Via.CASEWORKER, Via.COORDINATOR} | also:
            raise NotAllowedError(
                f"only the caseworker or the coordinator of {case.reference} records its consents"
            )

    def _checked(
        self, session: Session, case: Case, request: ConsentRequest, now: datetime
    ) -> tuple[Definition, date, int]:
        """The case's definition, the day the consent is given and the young person's age
        that day; InvalidRequestError (field by field) when the consent is not valid."""
        definition = self.uow.catalog.pinned(session, case.definition_version_id)
        zone = ZoneInfo(definition.calendar.timezone)
        today = now.astimezone(zone).date()
        given_on = request.given_on or today
        born = session.scalar(
            select(YoungPerson.birth_date).where(YoungPerson.id == case.young_person_id)
        )
        age = age_on(born, given_on) if born else 0
        opened = case.opened_at.astimezone(zone).date()
        problems = check_request(definition, request, age, today, opened)
        if problems:
            raise InvalidRequestError(problems)
        return definition, given_on, age

    def check(self, reference: str, actor: Actor, request: ConsentRequest) -> list[Problem]:
        """What is wrong with this consent for the case (nothing recorded, nothing logged):
        a form that records a consent with a step asks this before the step is taken."""
        with self.uow.reading() as session:
            case = self._case_of_responsible(session, reference, actor, _GUARDIAN)
            try:
                self._checked(session, case, request, self.uow.clock())
            except InvalidRequestError as refused:
                return list(refused.problems)
        return []

    def give(
        self, reference: str, actor: Actor, request: ConsentRequest, purpose: str = "samtykke"
    ) -> int:
        """Record a consent; returns its id. Raises InvalidRequestError field by field.

        Notifications withheld for want of this consent that are still relevant are
        released for delivery in the same transaction (the audit entry counts them)."""
        now = self.uow.clock()
        with self.uow.transaction() as session:
            case = case_by_reference(session, reference)
            recorded, definition = self.give_in(session, case, actor, request, now, purpose)
        self._tell_case(reference, definition, CONSENT_GIVEN, actor)
        return recorded

    def give_part(
        self, reference: str, actor: Actor, departments: list[str], categories: list[str]
    ) -> PartGiven:
        """The young person's or a guardian's own yes to sharing with these departments.

        A consent is recorded only when every party the young person's age needs has said
        yes to a department (under ``privacy.guardian_consent_under``: both; else the
        young person): until then the yes is a part (:class:`ConsentPart`), shared with
        no one. Nobody's yes is recorded as another's."""
        now = self.uow.clock()
        with self.uow.transaction() as session:
            case = case_by_reference(session, reference)
            access = authorise(session, case, actor, Action.TRIGGER, today=self.uow.today())
            party = _PARTY.get(access.via) if access.via is not None else None
            if party is None:
                raise NotAllowedError("only the young person or a guardian gives their own yes")
            # A part is checked as a consent of both would be (the other's part aside).
            both = ConsentRequest(departments, categories, guardian=True)
            definition, _, age = self._checked(session, case, both, now)
            needed = {YOUNG_PERSON} | ({GUARDIAN} if guardian_needed(definition, age) else set())
            given = self._parts(session, case.id)
            for department in sorted(set(departments)):
                if party not in given.setdefault(department, set()):
                    session.add(
                        ConsentPart(
                            case_id=case.id,
                            party=party,
                            department=department,
                            given_by=actor_label(actor),
                            given_at=now,
                        )
                    )
                    given[department].add(party)
            session.flush()
            consented = sorted(d for d, parties in given.items() if needed <= parties)
            waiting = sorted(d for d in departments if d not in consented)
            write_audit(
                session,
                at=now,
                actor=actor_label(actor),
                action=AuditAction.CHANGE,
                object_type=AuditObject.CONSENT,
                object_id=case.reference,
                purpose="samtykke (egen del)",
                details={"part": party, "given": sorted(set(departments)), "waiting": waiting},
            )
            if consented:
                request = ConsentRequest(consented, categories, guardian=GUARDIAN in needed)
                self.give_in(session, case, actor, request, now, "samtykke")
                session.execute(
                    delete(ConsentPart).where(
                        ConsentPart.case_id == case.id, ConsentPart.department.in_(consented)
                    )
                )
        if consented:
            self._tell_case(reference, definition, CONSENT_GIVEN, actor)
        return PartGiven(consented, waiting)

    def parts(self, reference: str) -> dict[str, set[str]]:
        """The yeses given and waiting for another's: department -> the parties who gave
        theirs (read with the case's page, whose read is logged)."""
        with self.uow.reading() as session:
            case = case_by_reference(session, reference)
            return self._parts(session, case.id)

    @staticmethod
    def _parts(session: Session, case_id: int) -> dict[str, set[str]]:
        given: dict[str, set[str]] = {}
        for department, party in session.execute(
            select(ConsentPart.department, ConsentPart.party).where(ConsentPart.case_id == case_id)
        ):
            given.setdefault(department, set()).add(party)
        return given

    def give_in(
        self,
        session: Session,
        case: Case,
        actor: Actor,
        request: ConsentRequest,
        now: datetime,
        purpose: str = "samtykke",
    ) -> tuple[int, Definition]:
        """Record a consent in the caller's transaction (the case service records the
        consent a step gives with the step): checked, written, withheld notifications
        released and audited as :meth:`give` does, but the case is not told (the caller
        raises ``consent_given`` once its transaction is committed). Returns the consent's
        id and the case's definition; InvalidRequestError field by field."""
        self._responsible(session, case, actor, _CITIZENS)
        definition, given_on, age = self._checked(session, case, request, now)
        given_by = [YOUNG_PERSON] + ([GUARDIAN] if request.guardian else [])
        consent = Consent(
            case_id=case.id,
            given_by=given_by,
            categories=sorted(set(request.categories)),
            given_on=given_on,
            age_at_consent=age,
            recorded_by=actor_label(actor),
            recorded_at=now,
            withdrawn_at=None,
            withdrawn_by=None,
        )
        session.add(consent)
        session.flush()
        departments = sorted(set(request.departments))
        session.add_all(
            ConsentDepartment(consent_id=consent.id, case_id=case.id, department=d)
            for d in departments
        )
        session.flush()
        details: dict[str, Any] = {
            "consent": consent.id,
            "given": departments,
            "categories": consent.categories,
            "given_by": given_by,
        }
        released, kept = release_withheld(session, case, definition, now, given_on)
        if released or kept:
            details |= {"released": released, "still_withheld": kept}
        # Those a withdrawal took out of the meetings still to come are invited again.
        again = reinvite(session, case, definition, set(departments), now)
        if again:
            details["invited_again"] = again
        # And the tasks it ended go on, if nothing has happened on the case since.
        reopened = reopen_department_tasks(session, case, definition, set(departments), now)
        if reopened:
            details["tasks_reopened"] = reopened
        write_audit(
            session,
            at=now,
            actor=actor_label(actor),
            action=AuditAction.CHANGE,
            object_type=AuditObject.CONSENT,
            object_id=case.reference,
            purpose=purpose,
            details=details,
        )
        return consent.id, definition

    def withdraw(
        self,
        reference: str,
        actor: Actor,
        departments: list[str] | None = None,
        purpose: str = "samtykke trukket tilbage",
    ) -> list[str]:
        """Withdraw consent for these departments (None: all); returns those withdrawn."""
        now = self.uow.clock()
        with self.uow.transaction() as session:
            case = self._case_of_responsible(session, reference, actor, _CITIZENS)
            active = session.scalars(
                select(ConsentDepartment).where(
                    ConsentDepartment.case_id == case.id, ConsentDepartment.withdrawn_at.is_(None)
                )
            ).all()
            shared = {row.department for row in active}
            if departments is not None:
                problems = _unknown("departments", "consented department", departments, shared)
                if problems:
                    raise InvalidRequestError(problems)
            chosen = [r for r in active if departments is None or r.department in departments]
            for row in chosen:
                row.withdrawn_at = now
                row.withdrawn_by = actor_label(actor)
            session.flush()
            # A consent with no department left is withdrawn as a whole.
            still = {r.consent_id for r in active if r.withdrawn_at is None}
            session.execute(
                update(Consent)
                .where(
                    Consent.case_id == case.id,
                    Consent.withdrawn_at.is_(None),
                    Consent.id.not_in(still),
                )
                .values(withdrawn_at=now, withdrawn_by=actor_label(actor))
            )
            withdrawn = sorted({r.department for r in chosen})
            definition = self.uow.catalog.pinned(session, case.definition_version_id)
            # Their team members leave the meetings still to come (their calendars), and
            # their open tasks end (they can no longer see them; left open they went
            # overdue and were escalated to the coordinator).
            uninvited = uninvite(session, case, definition, set(withdrawn), now)
            closed = close_department_tasks(session, case, set(withdrawn), now)
            write_audit(
                session,
                at=now,
                actor=actor_label(actor),
                action=AuditAction.CHANGE,
                object_type=AuditObject.CONSENT,
                object_id=reference,
                purpose=purpose,
                details={"withdrawn": withdrawn, "uninvited": uninvited}
                | ({"tasks_closed": closed} if closed else {}),
            )
        if withdrawn:
            self._tell_case(reference, definition, CONSENT_WITHDRAWN, actor)
        return withdrawn


def release_withheld(
    session: Session, case: Case, definition: Definition, now: datetime, given_on: date
) -> tuple[int, int]:
    """Release the case's withheld notifications to departments a consent now covers, if
    they are still relevant (:func:`release_verdict`): back to pending, due now, so the
    next delivery sends them (and checks the consent again as it does). The others stay
    withheld with the reason added. Returns (released, kept withheld)."""
    covered = {
        department
        for (department,) in session.execute(
            select(ConsentDepartment.department).where(
                ConsentDepartment.case_id == case.id, ConsentDepartment.withdrawn_at.is_(None)
            )
        )
    }
    rows = session.execute(
        select(OutboxRow, HistoryEvent.to_stage)
        .outerjoin(HistoryEvent, HistoryEvent.id == OutboxRow.history_id)
        .where(OutboxRow.case_id == case.id, OutboxRow.state == OutboxState.WITHHELD)
        .order_by(OutboxRow.id)
    ).all()
    waiting = [
        (row, stage)
        for row, stage in rows
        if row.recipient.get("kind") in DEPARTMENT_KINDS and row.recipient.get("id") in covered
    ]
    if not waiting:
        return 0, 0
    meetings = {
        m.key: {"state": m.state, "sequence": m.sequence, "starts_at": m.starts_at}
        for m in session.scalars(select(Meeting).where(Meeting.case_id == case.id))
        if m.key is not None
    }
    final = {s.id for s in definition.stages if s.kind is StageKind.FINAL}
    now_case = CaseNow(
        stage=case.stage,
        closed=case.closed_at is not None or case.stage in final,
        meetings=meetings,
        now=now,
    )
    released = kept = 0
    for row, stage in waiting:
        payload = row.payload or {}
        notice = WithheldNotice(
            stage=str(stage or payload.get("stage") or ""), meeting=payload.get("meeting")
        )
        why = release_verdict(notice, now_case)
        if why is None:
            row.state, row.last_error = OutboxState.PENDING, None
            row.attempts, row.available_at = 0, now
            released += 1
        else:
            first = (row.last_error or "withheld").split("; ", 1)[0]
            row.last_error = f"{first}; not released by the consent of {given_on}: {why}"
            kept += 1
    return released, kept
