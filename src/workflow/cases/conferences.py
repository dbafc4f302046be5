"""Case-conference sessions (Horsens: every 14 days, 10-12 cases, an hour each).

A session is planned on the definition's conference weekday; caseworkers put their cases
forward (at most ``max_cases``); at the session the big-screen agenda goes case by case,
and each case's outcome is recorded with the definition's ``records`` step (through the
case service: its history, audit and the caseworker's task for the next concrete action).
Reading the agenda is a read of every case on it, each in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.cases.model import StepResult
from workflow.cases.service import CaseService
from workflow.definitions.calendar import WEEKDAYS
from workflow.definitions.models import Definition
from workflow.definitions.vocabulary import StageKind
from workflow.engine.access import Action
from workflow.engine.model import Actor
from workflow.errors import CaseNotFoundError, InvalidRequestError, NotAllowedError, Problem
from workflow.privacy.authorisation import authorise
from workflow.store.audit import AuditAction, AuditObject, actor_label, write_audit
from workflow.store.reading import case_by_reference
from workflow.store.tables import Account, Case, ConferenceItem, ConferenceSession
from workflow.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class AgendaItem:
    """A case on a session's agenda: its slot, and what the conference asks about it."""

    position: int
    reference: str
    stage: str
    starts_at: datetime
    put_forward_by: str
    recorded: bool
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Agenda:
    """A session and its cases, in order."""

    id: int
    definition: str
    name: str
    starts_at: datetime
    state: str
    minutes_per_case: int
    max_cases: int
    items: list[AgendaItem]


def _refused(path: str, message: str, hint: str | None = None) -> InvalidRequestError:
    return InvalidRequestError([Problem(None, path, message, hint)])


class ConferenceService:
    """Plan sessions, put cases forward, show the agenda, record each case's outcome."""

    def __init__(self, uow: UnitOfWork, cases: CaseService) -> None:
        self.uow = uow
        self.cases = cases

    def _definition_of(self, municipality: str) -> Definition:
        for definition in self.uow.catalog.current.values():
            code = definition.municipality.code if definition.municipality else None
            if code == municipality and definition.conferences is not None:
                return definition
        raise _refused(
            "municipality", f"municipality {municipality} holds no case conferences", None
        )

    def _staff(self, session: Session, actor: Actor, municipality: str) -> None:
        account = session.scalar(select(Account).where(Account.person_id == (actor.id or "")))
        if account is None or account.municipality_code != municipality:
            raise NotAllowedError(
                f"only staff of municipality {municipality} plan its case conferences"
            )

    def plan(self, municipality: str, actor: Actor, starts_at: datetime | None = None) -> int:
        """The next session (on the conference weekday, ``every`` after the last one)."""
        definition = self._definition_of(municipality)
        spec = definition.conferences
        assert spec is not None
        zone = ZoneInfo(definition.calendar.timezone)
        now = self.uow.clock()
        with self.uow.transaction() as session:
            self._staff(session, actor, municipality)
            if starts_at is None:
                last = session.scalar(
                    select(func.max(ConferenceSession.starts_at)).where(
                        ConferenceSession.municipality_code == municipality
                    )
                )
                local_now = now.astimezone(zone)
                day = last.astimezone(zone).date() + timedelta(days=1) if last else local_now.date()
                if last is not None and spec.every.unit == "days":
                    day = last.astimezone(zone).date() + timedelta(days=spec.every.amount)
                while WEEKDAYS[day.weekday()] != spec.weekday or (
                    datetime.combine(day, spec.starts, tzinfo=zone) <= local_now
                ):
                    day += timedelta(days=1)
                starts_at = datetime.combine(day, spec.starts, tzinfo=zone)
            elif WEEKDAYS[starts_at.astimezone(zone).weekday()] != spec.weekday:
                raise _refused(
                    "starts_at",
                    f"case conferences are held on {spec.weekday}s",
                    f"pick a {spec.weekday}",
                )
            row = ConferenceSession(
                municipality_code=municipality,
                definition_id=definition.id,
                starts_at=starts_at,
                state="planned",
                created_by=actor.id or "",
                created_at=now,
            )
            session.add(row)
            session.flush()
            return row.id

    def put_forward(self, session_id: int, reference: str, actor: Actor) -> AgendaItem:
        """Put a case on a session's agenda (its caseworker or coordinator; once)."""
        now = self.uow.clock()
        with self.uow.transaction() as session:
            meeting = self._session(session, session_id)
            stored = case_by_reference(session, reference)
            if stored.municipality_code != meeting.municipality_code:
                # Answered as a case that is not there: whether another municipality has
                # a case of that reference is not this one's to know.
                raise CaseNotFoundError(f"no case {reference}")
            authorise(session, stored, actor, Action.TRIGGER, None, self.uow.today())
            definition = self.uow.catalog.pinned(session, stored.definition_version_id)
            if definition.stages_by_id[stored.stage].kind is StageKind.FINAL:
                raise _refused("reference", f"{reference} is closed", "put forward open cases")
            spec = self._definition_of(meeting.municipality_code).conferences
            assert spec is not None
            items = session.scalars(
                select(ConferenceItem).where(ConferenceItem.session_id == session_id)
            ).all()
            if any(i.case_id == stored.id for i in items):
                raise _refused("reference", f"{reference} is already on this session's agenda")
            if len(items) >= spec.max_cases:
                raise _refused(
                    "reference",
                    f"the session has {len(items)} cases already (at most {spec.max_cases}, "
                    f"{spec.minutes_per_case} minutes each)",
                    "put the case forward for the next session",
                )
            item = ConferenceItem(
                session_id=session_id,
                case_id=stored.id,
                position=len(items) + 1,
                put_forward_by=actor.id or "",
                reason="caseworker",
            )
            session.add(item)
            write_audit(
                session,
                at=now,
                actor=actor_label(actor),
                action=AuditAction.CHANGE,
                object_type=AuditObject.CONFERENCE,
                object_id=reference,
                purpose="sagskonference",
                details={"session": session_id, "put_forward": True},
            )
            return AgendaItem(
                item.position,
                reference,
                stored.stage,
                meeting.starts_at + timedelta(minutes=spec.minutes_per_case * (item.position - 1)),
                item.put_forward_by,
                False,
            )

    def agenda(self, session_id: int, actor: Actor) -> Agenda:
        """The session's agenda: each case with its slot and what the conference asks
        (each case read is in the audit log, for the conference's purpose)."""
        now = self.uow.clock()
        with self.uow.transaction() as session:
            meeting = self._session(session, session_id)
            self._staff(session, actor, meeting.municipality_code)
            definition = self._definition_of(meeting.municipality_code)
            spec = definition.conferences
            assert spec is not None
            records = definition.transitions_by_id[spec.records]
            asked = [i.name for i in records.inputs]
            rows = session.execute(
                select(ConferenceItem, Case)
                .join(Case, Case.id == ConferenceItem.case_id)
                .where(ConferenceItem.session_id == session_id)
                .order_by(ConferenceItem.position)
            ).all()
            items = []
            for item, stored in rows:
                write_audit(
                    session,
                    at=now,
                    actor=actor_label(actor),
                    action=AuditAction.READ,
                    object_type=AuditObject.CONFERENCE,
                    object_id=stored.reference,
                    purpose="sagskonference",
                    details={"session": session_id},
                )
                items.append(
                    AgendaItem(
                        item.position,
                        stored.reference,
                        stored.stage,
                        meeting.starts_at
                        + timedelta(minutes=spec.minutes_per_case * (item.position - 1)),
                        item.put_forward_by,
                        item.recorded_at is not None,
                        {k: stored.data.get(k) for k in asked if stored.data.get(k)},
                    )
                )
            return Agenda(
                meeting.id,
                definition.id,
                str(spec.name if isinstance(spec.name, str) else spec.name.da),
                meeting.starts_at,
                meeting.state,
                spec.minutes_per_case,
                spec.max_cases,
                items,
            )

    def record(
        self, session_id: int, reference: str, actor: Actor, inputs: dict[str, Any]
    ) -> StepResult:
        """Record a case's outcome at the session: the definition's ``records`` step on the
        case (its refusals as the step's own), then the item marked recorded."""
        with self.uow.reading() as session:
            meeting = self._session(session, session_id)
            stored = case_by_reference(session, reference)
            found = session.execute(
                select(ConferenceItem.id, ConferenceItem.recorded_at).where(
                    ConferenceItem.session_id == session_id, ConferenceItem.case_id == stored.id
                )
            ).first()
            on_agenda, recorded = (found[0], found[1]) if found else (None, None)
        if on_agenda is None:
            raise _refused("reference", f"{reference} is not on this session's agenda")
        if recorded is not None:
            raise _refused("reference", f"{reference} is already recorded at this session")
        if self.uow.clock() < meeting.starts_at:  # as a meeting is held only once begun
            raise _refused(
                "starts_at",
                f"the session begins {meeting.starts_at.isoformat()}; nothing is recorded "
                "at it before then",
            )
        spec = self._definition_of(meeting.municipality_code).conferences
        assert spec is not None
        # One record per case and session, even from two posts at once: the second gets
        # the first's result (and no second task).
        result = self.cases.trigger(
            reference,
            spec.records,
            inputs,
            actor,
            purpose="sagskonference",
            idempotency_key=f"conference:{session_id}:{reference}",
        )
        with self.uow.transaction() as session:
            item = session.get(ConferenceItem, on_agenda)
            assert item is not None
            item.recorded_at, item.recorded_by = self.uow.clock(), actor.id
            remaining = session.scalar(
                select(func.count()).where(
                    ConferenceItem.session_id == session_id, ConferenceItem.recorded_at.is_(None)
                )
            )
            if remaining == 0:
                row = session.get(ConferenceSession, session_id)
                assert row is not None
                row.state = "held"
        return result

    def sessions(self, municipality: str, actor: Actor) -> list[dict[str, Any]]:
        """The municipality's sessions, newest first, with how many cases each has."""
        with self.uow.reading() as session:
            self._staff(session, actor, municipality)
            rows = session.execute(
                select(ConferenceSession, func.count(ConferenceItem.id))
                .outerjoin(ConferenceItem, ConferenceItem.session_id == ConferenceSession.id)
                .where(ConferenceSession.municipality_code == municipality)
                .group_by(ConferenceSession.id)
                .order_by(ConferenceSession.starts_at.desc())
            ).all()
            return [
                {"id": s.id, "starts_at": s.starts_at, "state": s.state, "cases": n}
                for s, n in rows
            ]

    @staticmethod
    def _session(session: Session, session_id: int) -> ConferenceSession:
        found = session.get(ConferenceSession, session_id)
        if found is None:
            raise _refused("session", f"there is no conference session {session_id}")
        return found


__all__ = ["Agenda", "AgendaItem", "ConferenceService"]
