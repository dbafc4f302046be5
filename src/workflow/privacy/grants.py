"""Recorded legal bases: who may see a municipality's cases without being on them, and why.

A grant names a person (staff id), a municipality, a short basis code (e.g.
``oversight``), the law it rests on and the actions it allows. Granting and revoking are
changes in the audit log; a revoked grant is kept (when it ended is part of the record).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from workflow.engine.access import Action
from workflow.errors import InvalidRequestError, Problem, did_you_mean
from workflow.store.audit import AuditAction, AuditObject, write_audit
from workflow.store.tables import AccessGrant
from workflow.store.unit_of_work import UnitOfWork

DEFAULT_ACTIONS = (Action.READ, Action.EXPORT)


@dataclass(frozen=True)
class Grant:
    """A recorded legal basis as the operator sees it."""

    id: int
    person_id: str
    municipality_code: str
    basis: str
    law: str
    actions: tuple[str, ...]
    granted_by: str
    granted_at: datetime
    revoked_at: datetime | None


def _grant(row: AccessGrant) -> Grant:
    return Grant(
        row.id,
        row.person_id,
        row.municipality_code,
        row.basis,
        row.law,
        tuple(row.actions),
        row.granted_by,
        row.granted_at,
        row.revoked_at,
    )


class GrantService:
    """Grants and revokes legal bases (an operator's or a data protection lead's act)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def grant(
        self,
        person_id: str,
        municipality_code: str,
        basis: str,
        law: str,
        granted_by: str,
        actions: tuple[str, ...] = DEFAULT_ACTIONS,
    ) -> Grant:
        """Record a legal basis; refuses unknown actions or an empty law, field by field."""
        problems = [
            Problem(None, "actions", f"unknown action '{a}'", did_you_mean(a, list(Action)))
            for a in actions
            if a not in list(Action)
        ]
        if not law.strip():
            problems.append(
                Problem(
                    None, "law", "name the law the access rests on", "e.g. 'Serviceloven § 146'"
                )
            )
        if not (municipality_code.isdigit() and len(municipality_code) == 3):
            problems.append(
                Problem(None, "municipality", "a municipality code has three digits", "e.g. 340")
            )
        if not person_id.strip() or not basis.strip():
            problems.append(Problem(None, "person/basis", "give a staff id and a basis code"))
        if problems:
            raise InvalidRequestError(problems)
        now = self.uow.clock()
        with self.uow.transaction() as session:
            row = AccessGrant(
                person_id=person_id,
                municipality_code=municipality_code,
                basis=basis,
                law=law,
                actions=sorted(set(actions)),
                granted_by=granted_by,
                granted_at=now,
                revoked_at=None,
            )
            session.add(row)
            session.flush()
            write_audit(
                session,
                at=now,
                actor=granted_by,
                action=AuditAction.CHANGE,
                object_type=AuditObject.ACCESS_GRANT,
                object_id=str(row.id),
                purpose="legal basis granted",
                details={"person": person_id, "basis": basis, "actions": row.actions},
            )
            return _grant(row)

    def revoke(self, grant_id: int, revoked_by: str) -> Grant:
        """End a grant from now on."""
        now = self.uow.clock()
        with self.uow.transaction() as session:
            row = session.get(AccessGrant, grant_id)
            if row is None:
                raise InvalidRequestError([Problem(None, "grant", f"no grant {grant_id}")])
            if row.revoked_at is None:
                row.revoked_at = now
                write_audit(
                    session,
                    at=now,
                    actor=revoked_by,
                    action=AuditAction.CHANGE,
                    object_type=AuditObject.ACCESS_GRANT,
                    object_id=str(row.id),
                    purpose="legal basis revoked",
                    details={"person": row.person_id},
                )
            return _grant(row)

    def list(self, municipality_code: str | None = None) -> list[Grant]:
        """Every grant (revoked ones too), oldest first."""
        with self.uow.reading() as session:
            query = select(AccessGrant).order_by(AccessGrant.id)
            if municipality_code:
                query = query.where(AccessGrant.municipality_code == municipality_code)
            return [_grant(row) for row in session.scalars(query)]
