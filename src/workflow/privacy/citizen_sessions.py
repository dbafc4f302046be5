"""The young person's and the guardian's logins: a CPR claim in, a session out.

A login's CPR number (the OIDC provider's claim; MitID through NemLog-in) is turned into
keyed hashes at once and matched with the cases' young persons and current guardians; the
number itself is neither stored nor logged. A claim that matches no case is refused exactly
like a missing case, and every attempt is audited.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from workflow.errors import WorkflowError
from workflow.store.audit import AuditAction, AuditObject, write_audit
from workflow.store.citizens import CitizenCase, cases_of_citizen
from workflow.store.tables import CitizenSession
from workflow.store.unit_of_work import UnitOfWork

#: How long a citizen stays logged in (NemLog-in sessions are short, too).
CITIZEN_SESSION_TTL = timedelta(hours=1)


class CitizenLoginRefusedError(WorkflowError):
    """No case of this person is known here (said the same way as a missing case)."""


@dataclass(frozen=True)
class Citizen:
    """A logged-in young person or guardian: who they are to the store, and their cases."""

    #: The first characters of their CPR key: how the audit log names the person.
    pseudonym: str
    keys: tuple[str, ...]
    csrf_token: str
    locale: str

    @property
    def audit_name(self) -> str:
        """How the audit log names this citizen (a pseudonym, never the CPR number)."""
        return f"citizen:{self.pseudonym}"


@dataclass(frozen=True)
class CitizenLogin:
    """A new citizen session: the token for the cookie, and the citizen."""

    token: str
    citizen: Citizen
    cases: list[CitizenCase]
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CitizenSessions:
    """Logs citizens in and out, and finds the citizen behind a session cookie."""

    def __init__(self, uow: UnitOfWork, ttl: timedelta = CITIZEN_SESSION_TTL) -> None:
        self.sessions: sessionmaker[Session] = uow.sessions
        self.uow = uow
        self.clock: Callable[[], datetime] = uow.clock
        self.ttl = ttl

    def login(self, cpr: str | None, subject: str, locale: str = "da") -> CitizenLogin:
        """Start a session for the person with this CPR claim, if any case knows them."""
        now = self.clock()
        keys = tuple(self.uow.cpr.lookup_keys(cpr)) if cpr and cpr.strip() else ()
        subject_tag = hashlib.sha256(subject.encode()).hexdigest()[:12]
        with self.sessions() as session, session.begin():
            cases = cases_of_citizen(session, keys)
            if not cases:
                _audit(
                    session,
                    f"citizen:unknown-{subject_tag}",
                    AuditAction.LOGIN_FAILED,
                    now,
                    {"reason": "no CPR claim" if not keys else "no case"},
                )
                started: CitizenLogin | None = None
            else:
                token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
                session.add(
                    CitizenSession(
                        token_hash=_hash(token),
                        cpr_key=keys[0],
                        csrf_token=csrf,
                        locale=locale,
                        created_at=now,
                        expires_at=now + self.ttl,
                    )
                )
                citizen = Citizen(keys[0][:12], keys, csrf, locale)
                _audit(
                    session,
                    citizen.audit_name,
                    AuditAction.LOGIN,
                    now,
                    {"cases": [c.reference for c in cases]},
                )
                started = CitizenLogin(token, citizen, cases, now + self.ttl)
        # Refused after the transaction, so the failed attempt's audit entry is kept.
        if started is None:
            raise CitizenLoginRefusedError("no case of yours is known here")
        return started

    def refused(self, reason: str, subject: str | None = None) -> None:
        """Audit a login that failed before a CPR claim was read (bad or expired token)."""
        tag = hashlib.sha256((subject or "-").encode()).hexdigest()[:12]
        with self.sessions() as session, session.begin():
            _audit(
                session,
                f"citizen:unknown-{tag}",
                AuditAction.LOGIN_FAILED,
                self.clock(),
                {"reason": reason},
            )

    def citizen(self, token: str | None) -> Citizen | None:
        """The citizen of a live session, or None."""
        if not token or len(token) > 200:
            return None
        with self.sessions() as session:
            row = session.get(CitizenSession, _hash(token))
            if row is None or row.expires_at <= self.clock():
                return None
            keys = tuple(dict.fromkeys([row.cpr_key]))
            return Citizen(row.cpr_key[:12], keys, row.csrf_token, row.locale)

    def cases(self, citizen: Citizen) -> list[CitizenCase]:
        """The citizen's cases, newest first (as the young person or a guardian)."""
        with self.sessions() as session:
            return cases_of_citizen(session, citizen.keys)

    def logout(self, token: str) -> None:
        """End a session (and forget expired ones)."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            row = session.get(CitizenSession, _hash(token))
            if row is not None:
                session.delete(row)
                _audit(session, f"citizen:{row.cpr_key[:12]}", AuditAction.LOGOUT, now)
            session.execute(delete(CitizenSession).where(CitizenSession.expires_at <= now))


def _audit(
    session: Session,
    who: str,
    action: AuditAction,
    now: datetime,
    details: dict[str, object] | None = None,
) -> None:
    write_audit(
        session,
        at=now,
        actor=who,
        action=action,
        object_type=AuditObject.CITIZEN_LOGIN,
        object_id=who.partition(":")[2][:64],
        purpose="login",
        details=details,
    )
