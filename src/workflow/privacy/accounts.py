"""Local staff accounts: argon2 passwords, lockout, server-side sessions and API tokens.

Only a SHA-256 hash of a session token is stored, so a copy of the database cannot be
used to log in. After ``max_failures`` wrong passwords in a row an account is locked
for ``lockout``; every login, failed login and logout is written to the audit log.
A municipality that logs in through SAML or OIDC (e.g. KOMBIT's Context Handler)
keeps the accounts for roles and staff ids and leaves passwords empty.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.engine.model import Actor
from workflow.errors import WorkflowError
from workflow.store.audit import AuditAction, AuditObject, write_audit
from workflow.store.tables import Account, WebSession
from workflow.store.unit_of_work import UnitOfWork

MIN_PASSWORD = 12
LOCALES = ("da", "en")
_HASHER = PasswordHasher()
#: Passwords of 12 characters or more that are tried first (lower-cased; a digit run or
#: a year at the end does not make them safe).
_COMMON = frozenset(
    {
        "password", "passwordpassword", "qwertyuiopasdf", "qwertyuiop", "123456789012",
        "abcdefghijkl", "iloveyouiloveyou", "adgangskode", "kodeordkodeord", "sommerfugl",
        "velkommen", "hemmeligt", "danmark", "kobenhavn", "københavn", "letmein", "welcome",
        "changeme", "administrator", "sommer", "vinter", "efterår", "forår", "trustno1",
    }
)  # fmt: skip


def _guessable(password: str) -> bool:
    """Whether a password is a common one, perhaps with digits or a year after it."""
    core = password.lower().rstrip("0123456789!.?# ").strip()
    return core in _COMMON or len(set(core)) <= 2 or core.isdigit()


# Verified when the username is unknown, so a wrong username takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("no such account, no such password")


class AccountError(WorkflowError):
    """An account cannot be created or changed as asked."""


class LoginRefusedError(WorkflowError):
    """Wrong username or password, or the account is locked (never says which one exists)."""

    def __init__(self, message: str, locked_until: datetime | None = None) -> None:
        super().__init__(message)
        self.locked_until = locked_until


@dataclass(frozen=True)
class User:
    """A logged-in member of staff."""

    id: int
    username: str
    display_name: str
    person_id: str
    roles: tuple[str, ...]
    municipality_code: str | None
    department: str | None
    locale: str

    def actor(self, role: str | None = None) -> Actor:
        """This user acting in one of their roles (default: their first)."""
        return Actor(role or self.roles[0], self.person_id)

    @property
    def audit_name(self) -> str:
        """How the audit log names this user."""
        return f"user:{self.person_id}"


@dataclass(frozen=True)
class StaffMember:
    """A colleague as forms offer them: staff id and name."""

    person_id: str
    display_name: str


@dataclass(frozen=True)
class Login:
    """A new session: the token goes in the cookie (or the Authorization header)."""

    token: str
    csrf_token: str
    user: User
    expires_at: datetime


def token_hash(token: str) -> str:
    """The stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _user(account: Account) -> User:
    return User(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        person_id=account.person_id,
        roles=tuple(account.roles),
        municipality_code=account.municipality_code,
        department=account.department,
        locale=account.locale,
    )


class AccountService:
    """Create accounts, log in and out, and find the user behind a session token."""

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        max_failures: int = 5,
        lockout: timedelta = timedelta(minutes=15),
        browser_ttl: timedelta = timedelta(hours=8),
        api_ttl: timedelta = timedelta(days=30),
    ) -> None:
        self.sessions, self.clock = uow.sessions, uow.clock
        self.max_failures = max_failures
        self.lockout = lockout
        self.ttl = {"browser": browser_ttl, "api": api_ttl}

    def create(  # noqa: PLR0913 - an account's fields, keyword-only
        self,
        username: str,
        password: str | None,
        *,
        display_name: str,
        person_id: str,
        roles: Sequence[str],
        municipality_code: str | None = None,
        department: str | None = None,
        email: str | None = None,
        locale: str = "da",
    ) -> User:
        """A new account; ``password`` None means it logs in only through SAML/OIDC."""
        if not username.strip() or len(username) > 64:
            raise AccountError("username: give 1-64 characters")
        if not roles:
            raise AccountError("roles: give at least one role, e.g. caseworker")
        if locale not in LOCALES:
            raise AccountError(f"locale: use one of {', '.join(LOCALES)}")
        account = Account(
            username=username.strip(),
            display_name=display_name,
            person_id=person_id,
            email=email,
            municipality_code=municipality_code,
            department=department,
            roles=list(roles),
            locale=locale,
            password_hash=self._hash(password) if password is not None else None,
            failed_logins=0,
            locked_until=None,
            active=True,
            created_at=self.clock(),
        )
        try:
            with self.sessions() as session, session.begin():
                session.add(account)
        except IntegrityError:
            raise AccountError(
                f"username '{username}' or staff id '{person_id}' is already taken"
            ) from None
        return _user(account)

    def set_password(self, username: str, password: str) -> None:
        """Give an account a new password (and unlock it)."""
        with self.sessions() as session, session.begin():
            account = self._account(session, username)
            if account is None:
                raise AccountError(f"no account '{username}'")
            account.password_hash = self._hash(password)
            account.failed_logins = 0
            account.locked_until = None

    @staticmethod
    def _hash(password: str) -> str:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"password: use at least {MIN_PASSWORD} characters")
        if len(password.strip()) < MIN_PASSWORD or len(set(password)) < 4:
            raise AccountError(
                "password: use at least 12 characters that are not spaces, and more than "
                "a few different ones"
            )
        if _guessable(password):
            raise AccountError("password: it is among the most common passwords; choose another")
        return _HASHER.hash(password)

    @staticmethod
    def _account(session: Session, username: str) -> Account | None:
        return session.scalar(select(Account).where(Account.username == username.strip()))

    def login(self, username: str, password: str, kind: str = "browser") -> Login:
        """Check a password and start a session; LoginRefusedError says nothing more."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            # Refusals are returned, not raised, so the failure count and audit commit.
            outcome = self._check(session, username, password, kind, now)
        if isinstance(outcome, LoginRefusedError):
            raise outcome
        return outcome

    def _check(
        self, session: Session, username: str, password: str, kind: str, now: datetime
    ) -> Login | LoginRefusedError:
        account = self._account(session, username)
        if account is None or not account.active or account.password_hash is None:
            self._verify(_DUMMY_HASH, password)
            self._audit(session, f"unknown:{username[:40]}", AuditAction.LOGIN_FAILED, now)
            return LoginRefusedError("wrong username or password")
        if account.locked_until is not None and account.locked_until > now:
            self._audit(session, account.person_id, AuditAction.LOGIN_LOCKED, now)
            return LoginRefusedError("the account is locked", account.locked_until)
        if not self._verify(account.password_hash, password):
            account.failed_logins += 1
            self._audit(session, account.person_id, AuditAction.LOGIN_FAILED, now)
            if account.failed_logins < self.max_failures:
                return LoginRefusedError("wrong username or password")
            account.locked_until = now + self.lockout
            account.failed_logins = 0
            return LoginRefusedError("the account is locked", account.locked_until)
        account.failed_logins = 0
        account.locked_until = None
        if _HASHER.check_needs_rehash(account.password_hash):
            account.password_hash = _HASHER.hash(password)
        self._audit(session, account.person_id, AuditAction.LOGIN, now, {"kind": kind})
        return self._start(session, account, kind, now)

    def _start(self, session: Session, account: Account, kind: str, now: datetime) -> Login:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        expires = now + self.ttl[kind]
        session.add(
            WebSession(
                token_hash=token_hash(token),
                account_id=account.id,
                kind=kind,
                csrf_token=csrf,
                created_at=now,
                expires_at=expires,
            )
        )
        return Login(token, csrf, _user(account), expires)

    @staticmethod
    def _verify(stored: str, password: str) -> bool:
        try:
            return _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def session_user(self, token: str, kind: str) -> tuple[User, str] | None:
        """The user and CSRF token of a live session, or None."""
        if not token or len(token) > 200:
            return None
        with self.sessions() as session:
            row = session.execute(
                select(Account, WebSession.csrf_token, WebSession.expires_at)
                .join(WebSession, WebSession.account_id == Account.id)
                .where(WebSession.token_hash == token_hash(token), WebSession.kind == kind)
            ).first()
        if row is None or row[2] <= self.clock() or not row[0].active:
            return None
        return _user(row[0]), row[1]

    def logout(self, token: str) -> None:
        """End a session (and forget sessions that have expired)."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            row = session.get(WebSession, token_hash(token))
            if row is not None:
                account = session.get(Account, row.account_id)
                session.delete(row)
                self._audit(session, account.person_id if account else "-", AuditAction.LOGOUT, now)
            session.execute(delete(WebSession).where(WebSession.expires_at <= now))

    def user(self, username: str) -> User | None:
        """An active account by username."""
        with self.sessions() as session:
            account = self._account(session, username)
            return _user(account) if account and account.active else None

    def staff(self, municipality_code: str | None = None) -> list[StaffMember]:
        """Active staff (of a municipality): who can be chosen for a team."""
        query = (
            select(Account.person_id, Account.display_name)
            .where(Account.active.is_(True))
            .order_by(Account.display_name)
        )
        if municipality_code:
            query = query.where(Account.municipality_code == municipality_code)
        with self.sessions() as session:
            return [StaffMember(*row) for row in session.execute(query)]

    def names(self, person_ids: Iterable[str]) -> dict[str, str]:
        """The display names of those staff ids that have an account."""
        wanted = {p for p in person_ids if p}
        if not wanted:
            return {}
        query = select(Account.person_id, Account.display_name).where(Account.person_id.in_(wanted))
        with self.sessions() as session:
            return {person: name for person, name in session.execute(query)}

    def emails(self, person_ids: Iterable[str]) -> dict[str, str]:
        """The work e-mail addresses of those staff ids whose account has one (how the
        young person reaches their coordinator and team)."""
        wanted = {p for p in person_ids if p}
        if not wanted:
            return {}
        query = select(Account.person_id, Account.email).where(
            Account.person_id.in_(wanted), Account.email.is_not(None), Account.active.is_(True)
        )
        with self.sessions() as session:
            return {person: email for person, email in session.execute(query) if email}

    @staticmethod
    def _audit(
        session: Session,
        who: str,
        action: AuditAction,
        now: datetime,
        details: dict[str, Any] | None = None,
    ) -> None:
        write_audit(
            session,
            at=now,
            actor=f"user:{who}",
            action=action,
            object_type=AuditObject.ACCOUNT,
            object_id=who,
            purpose="login",
            details=details,
        )


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted CSRF token."""
    return bool(given) and hmac.compare_digest(str(given), expected)
