"""Retention: which closed cases may be deleted, and deleting them — only on command.

Each definition says how long its closed cases are kept (``privacy.retention``):
children's cases (the young person was under 18 when the case opened) are kept in full
by default; an adult's case may be deleted a number of years after it closed. Nothing is
deleted by a sweep or as a side effect: :meth:`RetentionService.report` is a dry run,
and :meth:`RetentionService.delete` needs the case references and the archive's
authorisation (Rigsarkivet's journal number), and logs one audit entry per case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Delete, Table, delete, select
from sqlalchemy.orm import Session

from workflow.definitions.calendar import age_on
from workflow.errors import InvalidRequestError, Problem
from workflow.store.audit import AuditAction, AuditObject, write_audit
from workflow.store.reading import case_by_reference
from workflow.store.tables import Base, Case, IdempotencyKey, YoungPerson
from workflow.store.unit_of_work import UnitOfWork

MAY_DELETE = "may_delete"


@dataclass(frozen=True)
class RetentionItem:
    """What the rules say about one closed case."""

    reference: str
    definition: str
    closed_at: datetime
    verdict: str  # keep_minor | keep_policy | not_yet | may_delete
    deletable_from: date | None


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class RetentionService:
    """Reports on and deletes closed cases by their definitions' retention rules."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def _verdict(self, session: Session, case: Case, born: date | None) -> RetentionItem:
        definition = self.uow.catalog.pinned(session, case.definition_version_id)
        rule = definition.privacy.retention
        assert case.closed_at is not None
        zone = ZoneInfo(definition.calendar.timezone)
        opened = case.opened_at.astimezone(zone).date()
        closed = case.closed_at.astimezone(zone).date()
        today = self.uow.clock().astimezone(zone).date()
        deletable_from = None
        if rule.keep_minors and (born is None or age_on(born, opened) < 18):
            verdict = "keep_minor"
        elif rule.delete_closed_after_years is None:
            verdict = "keep_policy"
        else:
            deletable_from = _add_years(closed, rule.delete_closed_after_years)
            verdict = MAY_DELETE if deletable_from <= today else "not_yet"
        return RetentionItem(case.reference, definition.id, case.closed_at, verdict, deletable_from)

    def _closed(self, session: Session, references: list[str] | None) -> list[RetentionItem]:
        query = (
            select(Case, YoungPerson.birth_date)
            .outerjoin(YoungPerson, YoungPerson.id == Case.young_person_id)
            .where(Case.closed_at.is_not(None))
            .order_by(Case.closed_at, Case.id)
        )
        if references is not None:
            query = query.where(Case.reference.in_(references))
        return [self._verdict(session, case, born) for case, born in session.execute(query)]

    def report(self, actor: str) -> list[RetentionItem]:
        """The dry run: every closed case and what may happen to it (nothing is deleted)."""
        now = self.uow.clock()
        with self.uow.transaction() as session:
            items = self._closed(session, None)
            write_audit(
                session,
                at=now,
                actor=actor,
                action=AuditAction.READ,
                object_type=AuditObject.RETENTION_REPORT,
                object_id="closed cases",
                purpose="retention dry run",
                details={"cases": len(items)},
            )
        return items

    def delete(self, references: list[str], actor: str, authorisation: str) -> list[str]:
        """Delete these cases, if every one may be deleted; refuses the lot otherwise."""
        if not authorisation.strip():
            raise InvalidRequestError(
                [
                    Problem(
                        None,
                        "authorisation",
                        "deleting case files needs the archive's authorisation",
                        "give Rigsarkivet's journal number with --authorisation",
                    )
                ]
            )
        references = list(dict.fromkeys(references))  # each case once
        now = self.uow.clock()
        with self.uow.transaction() as session:
            items = {i.reference: i for i in self._closed(session, references)}
            problems = [
                Problem(None, ref, "no closed case with this reference")
                for ref in references
                if ref not in items
            ] + [
                Problem(
                    None,
                    i.reference,
                    f"may not be deleted ({i.verdict})",
                    f"deletable from {i.deletable_from}" if i.deletable_from else None,
                )
                for i in items.values()
                if i.verdict != MAY_DELETE
            ]
            if problems:
                raise InvalidRequestError(problems)
            for reference in references:
                self._delete_case(session, reference)
                write_audit(
                    session,
                    at=now,
                    actor=actor,
                    action=AuditAction.DELETE,
                    object_type=AuditObject.CASE,
                    object_id=reference,
                    purpose="retention",
                    details={"authorisation": authorisation[:100]},
                )
        return list(references)

    @staticmethod
    def _delete_case(session: Session, reference: str) -> None:
        case = case_by_reference(session, reference)
        for statement in case_rows(case.id, reference):
            session.execute(statement)
        person = case.young_person_id
        session.delete(case)
        session.flush()
        if person is not None:
            session.execute(delete(YoungPerson).where(YoungPerson.id == person))


def case_rows(case_id: int, reference: str) -> list[Delete]:
    """Deleting every row that belongs to a case, children before parents, from the tables.

    Derived from the foreign keys, so a table added later is removed with its case: rows
    that refer to the case, rows that refer to those (a plan's goals), and the case's
    idempotency keys (kept by reference). The case row and the young person follow.
    """
    cases = Case.__table__
    owned: dict[Table, ColumnElement[bool]] = {}
    for table in Base.metadata.sorted_tables:  # parents before children
        for fk in table.foreign_keys:
            if fk.column.table is cases:
                owned[table] = fk.parent == case_id
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            parent = fk.column.table
            if table not in owned and parent in owned and parent is not table:
                owned[table] = fk.parent.in_(select(fk.column).where(owned[parent]))
    statements = [delete(t).where(w) for t, w in reversed(owned.items())]
    keys = delete(IdempotencyKey).where(IdempotencyKey.case_reference == reference)
    return [keys, *statements]
