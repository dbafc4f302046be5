"""A municipality's pooled budget (Ballerup): departments pay in, grants draw from it.

The pool is a ledger of entries per municipality; its balance is their sum. A grant is the
definition's ``pool.grants`` step on a case: it is refused beside its amount field when
the pool cannot cover it, and otherwise drawn in the step's own transaction (so a step
and its draw commit together or not at all). On PostgreSQL a transaction-level advisory
lock per municipality serialises draws, so two grants never spend the same krone twice;
SQLite serialises writers anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from workflow.cases.model import RejectedError
from workflow.definitions.models import Definition
from workflow.engine.model import Actor, FieldError, Rejection, RejectionReason
from workflow.errors import InvalidRequestError, NotAllowedError, Problem
from workflow.store.audit import AuditAction, AuditObject, actor_label, write_audit
from workflow.store.loading import StoredCase
from workflow.store.tables import Account, Case, PoolEntry
from workflow.store.unit_of_work import UnitOfWork

#: The largest single deposit (DKK): a typo of a few zeros is refused, not booked.
MAX_DEPOSIT = 10_000_000


@dataclass(frozen=True)
class LedgerLine:
    """One entry of the pool's ledger."""

    at: datetime
    kind: str
    department: str | None
    reference: str | None
    amount: int
    recorded_by: str
    balance: int


def balance(session: Session, municipality: str) -> int:
    """The pool's balance now (DKK)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(PoolEntry.amount), 0)).where(
                PoolEntry.municipality_code == municipality
            )
        )
        or 0
    )


def draw_for_step(
    session: Session,
    definition: Definition,
    case: StoredCase,
    transition: str,
    inputs: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> None:
    """Draw a grant step's amount from the pool, or refuse the step beside the field."""
    pool = definition.pool
    if pool is None or transition != pool.grants:
        return
    amount = round(float(inputs.get(pool.amount) or 0))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"pool:{case.municipality_code}"},
        )
    left = balance(session, case.municipality_code)
    if amount > left:
        problem = FieldError(pool.amount, "pool_exceeded", {"balance": left, "amount": amount})
        raise RejectedError(
            Rejection(RejectionReason.INVALID_INPUT, {"fields": pool.amount}, (problem,))
        )
    session.add(
        PoolEntry(
            municipality_code=case.municipality_code,
            kind="grant",
            department=None,
            case_id=case.id,
            amount=-amount,
            recorded_by=actor.id or actor.role,
            at=now,
        )
    )


class PoolService:
    """The pool's ledger and balance for the programme manager; departments paying in."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def _manager(self, session: Session, actor: Actor, municipality: str) -> None:
        account = session.scalar(select(Account).where(Account.person_id == (actor.id or "")))
        if (
            account is None
            or account.municipality_code != municipality
            or "leader" not in (account.roles or [])
        ):
            raise NotAllowedError(
                f"the pool of municipality {municipality} is kept by its programme manager "
                "(a leader of the municipality)"
            )

    def ledger(self, municipality: str, actor: Actor) -> tuple[int, list[LedgerLine]]:
        """The balance and every entry, oldest first, each with the balance after it."""
        with self.uow.transaction() as session:
            self._manager(session, actor, municipality)
            rows = session.execute(
                select(PoolEntry, Case.reference)
                .outerjoin(Case, Case.id == PoolEntry.case_id)
                .where(PoolEntry.municipality_code == municipality)
                .order_by(PoolEntry.at, PoolEntry.id)
            ).all()
            running, lines = 0, []
            for entry, reference in rows:
                running += entry.amount
                lines.append(
                    LedgerLine(
                        entry.at,
                        entry.kind,
                        entry.department,
                        reference,
                        entry.amount,
                        entry.recorded_by,
                        running,
                    )
                )
            write_audit(
                session,
                at=self.uow.clock(),
                actor=actor_label(actor),
                action=AuditAction.READ,
                object_type=AuditObject.POOL,
                object_id=municipality,
                purpose="puljeregnskab",
                details={"entries": len(lines)},
            )
            return running, lines

    def deposit(self, municipality: str, department: str, amount: int, actor: Actor) -> int:
        """A department pays into the pool; returns the new balance."""
        definition = next(
            (
                d
                for d in self.uow.catalog.current.values()
                if d.pool and d.municipality and d.municipality.code == municipality
            ),
            None,
        )
        if definition is None:
            raise InvalidRequestError(
                [Problem(None, "municipality", f"municipality {municipality} has no pool")]
            )
        if department not in definition.departments_by_id:
            known = ", ".join(definition.departments_by_id)
            raise InvalidRequestError(
                [Problem(None, "department", f"unknown department '{department}'", known)]
            )
        if not 0 < amount <= MAX_DEPOSIT:
            raise InvalidRequestError(
                [
                    Problem(
                        None,
                        "amount",
                        f"a deposit is a whole number of kroner from 1 to {MAX_DEPOSIT:,}",
                    )
                ]
            )
        now = self.uow.clock()
        with self.uow.transaction() as session:
            self._manager(session, actor, municipality)
            session.add(
                PoolEntry(
                    municipality_code=municipality,
                    kind="deposit",
                    department=department,
                    case_id=None,
                    amount=amount,
                    recorded_by=actor.id or "",
                    at=now,
                )
            )
            session.flush()
            write_audit(
                session,
                at=now,
                actor=actor_label(actor),
                action=AuditAction.CHANGE,
                object_type=AuditObject.POOL,
                object_id=municipality,
                purpose="indbetaling til puljen",
                details={"department": department, "amount": amount},
            )
            return balance(session, municipality)


__all__ = ["LedgerLine", "PoolService", "balance", "draw_for_step"]
