"""Local staff accounts: argon2 passwords, throttled logins, server-side sessions and API tokens.

Only a SHA-256 hash of a session token is stored, so a copy of the database cannot be
used to log in. Failed logins slow down further attempts per client address and per
username (``workflow.privacy.login_throttle``) instead of locking the account, so nobody
can lock a colleague out and a refusal never tells whether an account exists. A password
change ends the account's other sessions and tokens; a deactivated account has none.
API tokens carry scopes (``read``, ``act``, ``cpr``). Every login, failed login, logout,
revocation and change is written to the audit log. A municipality that logs in through
SAML or OIDC (e.g. KOMBIT's Context Handler) keeps the accounts for roles and staff ids
and leaves passwords empty.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.engine.model import Actor
from workflow.errors import WorkflowError
from workflow.privacy import passwords
from workflow.privacy.login_throttle import Alert, LoginThrottle, username_key
from workflow.store.audit import AuditAction, AuditObject, write_audit
from workflow.store.database import READ_ONLY
from workflow.store.driver import DriverStatement, read_alone
from workflow.store.loading import record_of
from workflow.store.tables import Account, WebSession
from workflow.store.unit_of_work import UnitOfWork

_log = logging.getLogger(__name__)

LOCALES = ("da", "en")
#: The roles a staff account may hold. The case roles are held on a case through a
#: standing there (caseworker of record, the coordinator chosen, a team member): the
#: account's role says which of them it may be given; a leader acts through a recorded
#: legal basis; an analyst (e.g. KL's) reads the national comparison only.
ACCOUNT_ROLES = ("caseworker", "coordinator", "team_member", "leader", "analyst")
#: What an API token may do: read cases, act on them (steps, referrals, consents, tasks),
#: reveal CPR numbers. A browser session has all of them (the person is at the screen).
SCOPES = ("read", "act", "cpr")
#: A new API token's scopes unless others are asked for (never ``cpr`` unasked).
DEFAULT_SCOPES = ("read", "act")
_MUNICIPALITY_CODE = re.compile(r"\d{3}")
#: The address counted for a login whose client address is not known.
NO_ADDRESS = "-"


#: The longest staff id (person id) an account may have.
MAX_PERSON_ID = 120


class AccountError(WorkflowError):
    """An account cannot be created or changed as asked."""


def check_roles(roles: Iterable[str]) -> None:
    """Refuse a role no account can hold (a typing slip would give an account no rights)."""
    unknown = [role for role in roles if role not in ACCOUNT_ROLES]
    if unknown:
        raise AccountError(
            f"role '{unknown[0]}' is not an account role; use one of {', '.join(ACCOUNT_ROLES)}"
        )


class LoginRefusedError(WorkflowError):
    """Wrong username or password, or too many failed attempts: never says whether the
    account exists (an unknown username is answered exactly like a wrong password).

    ``retry_after`` (seconds) is set when the attempt was throttled: it was refused
    before the password was looked at.
    """

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


_ACCOUNT_COLUMNS = tuple(Account.__table__.columns)
_SESSION_USER = DriverStatement(
    select(*_ACCOUNT_COLUMNS, *WebSession.__table__.columns)
    .join(WebSession, WebSession.account_id == Account.id)
    .where(WebSession.token_hash == bindparam("b_hash"), WebSession.kind == bindparam("b_kind"))
)


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
class Login:
    """A new session: the token goes in the cookie (or the Authorization header)."""

    token: str
    csrf_token: str
    user: User
    expires_at: datetime
    #: How listings name it (``GET /api/v1/tokens``, ``workflow accounts tokens``).
    token_id: str = ""
    scopes: tuple[str, ...] = SCOPES


@dataclass(frozen=True)
class LiveSession:
    """The user behind a live session or API token, and what it may do."""

    user: User
    csrf_token: str
    token_id: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class TokenInfo:
    """A live session or API token as its owner and the operators see it (never the token)."""

    id: str
    kind: str
    name: str | None
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime


def check_scopes(scopes: Iterable[str] | None) -> tuple[str, ...]:
    """The scopes asked for a token (default ``read`` and ``act``), checked."""
    asked = tuple(dict.fromkeys(scopes)) if scopes is not None else DEFAULT_SCOPES
    unknown = [s for s in asked if s not in SCOPES]
    if unknown or not asked:
        raise AccountError(f"scopes: give one or more of {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in asked)


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
        browser_ttl: timedelta = timedelta(hours=8),
        api_ttl: timedelta = timedelta(days=30),
    ) -> None:
        self.sessions, self.clock, self.engine = uow.sessions, uow.clock, uow.engine
        self.throttle = LoginThrottle()
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
        if not person_id.strip() or len(person_id) > MAX_PERSON_ID:
            # It is written into the audit log and the case history with a role before it
            # (columns of 200 characters): "consent:coordinator:<id>" must fit.
            raise AccountError(f"staff id: give 1-{MAX_PERSON_ID} characters")
        if not roles:
            raise AccountError("roles: give at least one role, e.g. caseworker")
        check_roles(roles)
        if municipality_code is not None and not _MUNICIPALITY_CODE.fullmatch(municipality_code):
            raise AccountError(
                f"municipality '{municipality_code}': give its three-digit code "
                "(kommunekode), e.g. 340 for Sorø"
            )
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

    def set_password(self, username: str, password: str, *, by: str = "operator") -> int:
        """Give an account a new password (an operator's reset): every session and API
        token of the account ends. Returns how many ended."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            account = self._existing(session, username)
            account.password_hash = self._hash(password)
            ended = self._end_sessions(session, account.id)
            self._audit(
                session, account.person_id, AuditAction.CHANGE, now,
                {"change": "password", "ended": ended}, actor=by,
            )  # fmt: skip
        return ended

    def change_password(
        self, token: str, current: str, new: str, *, address: str = NO_ADDRESS
    ) -> int:
        """A person changes their own password from a session or token: it must know the
        current password; every other session and token of the account ends (the one
        making the change goes on). Returns how many ended."""
        found = self.session_user(token, "browser") or self.session_user(token, "api")
        if found is None:
            raise LoginRefusedError("log in first")
        user = found.user
        wait = self.throttle.wait(user.username, address)
        if wait:
            raise LoginRefusedError(_throttled_message(wait), wait)
        now = self.clock()
        with self.sessions() as session, session.begin():
            account = self._existing(session, user.username)
            if account.password_hash is None or not passwords.verify(
                account.password_hash, current
            ):
                self._failed(session, user.username, address, account.person_id, now)
                wrong = True
            else:
                wrong = False
                account.password_hash = self._hash(new)
                ended = self._end_sessions(session, account.id, keep=token_hash(token))
                self._audit(
                    session, account.person_id, AuditAction.CHANGE, now,
                    {"change": "password", "ended": ended, "by": "self"},
                )  # fmt: skip
        if wrong:
            raise AccountError("current_password: that is not your current password")
        return ended

    def deactivate(self, username: str, *, by: str = "operator") -> int:
        """Close an account: no login (the generic refusal), every session and token ends.
        The account stays, so cases keep naming its staff id. Returns how many ended."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            account = self._existing(session, username)
            account.active = False
            ended = self._end_sessions(session, account.id)
            self._audit(
                session, account.person_id, AuditAction.CHANGE, now,
                {"change": "deactivated", "ended": ended}, actor=by,
            )  # fmt: skip
        return ended

    def reactivate(self, username: str, *, by: str = "operator") -> None:
        """Open a deactivated account again (its old sessions and tokens stay ended)."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            account = self._existing(session, username)
            account.active = True
            self._audit(
                session, account.person_id, AuditAction.CHANGE, now,
                {"change": "reactivated"}, actor=by,
            )  # fmt: skip

    def tokens(self, username: str) -> list[TokenInfo]:
        """The live sessions and API tokens of an account, newest first."""
        now = self.clock()
        with self.sessions() as session:
            account = self._existing(session, username)
            rows = session.scalars(
                select(WebSession)
                .where(WebSession.account_id == account.id, WebSession.expires_at > now)
                .order_by(WebSession.created_at.desc(), WebSession.public_id)
            ).all()
            return [
                TokenInfo(r.public_id, r.kind, r.name, tuple(r.scopes), r.created_at, r.expires_at)
                for r in rows
            ]

    def revoke(self, username: str, token_id: str, *, by: str) -> bool:
        """End one session or API token of an account by its id; False: no such one."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            account = self._existing(session, username)
            row = session.scalar(
                select(WebSession).where(
                    WebSession.account_id == account.id, WebSession.public_id == token_id
                )
            )
            if row is None:
                return False
            session.delete(row)
            self._audit(
                session, account.person_id, AuditAction.LOGOUT, now,
                {"revoked": token_id, "kind": row.kind}, actor=by,
            )  # fmt: skip
        return True

    @staticmethod
    def _end_sessions(session: Session, account_id: int, keep: str | None = None) -> int:
        query = delete(WebSession).where(WebSession.account_id == account_id)
        if keep is not None:
            query = query.where(WebSession.token_hash != keep)
        return int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]

    def _existing(self, session: Session, username: str) -> Account:
        account = self._account(session, username)
        if account is None:
            raise AccountError(f"no account '{username}': make it with `workflow account create`")
        return account

    @staticmethod
    def _hash(password: str) -> str:
        if (problem := passwords.problem(password)) is not None:
            raise AccountError(problem)
        return passwords.hashed(password)

    @staticmethod
    def _account(session: Session, username: str) -> Account | None:
        return session.scalar(select(Account).where(Account.username == username.strip()))

    def login(
        self,
        username: str,
        password: str,
        kind: str = "browser",
        *,
        address: str = NO_ADDRESS,
        scopes: Iterable[str] | None = None,
        name: str | None = None,
    ) -> Login:
        """Check a password and start a session (an API token: with ``scopes``, default
        read and act); LoginRefusedError says nothing more.

        An attempt that must wait (too many failures from this address or for this
        username) is refused before the password is looked at, the same way whether the
        account exists or not; an unknown username costs the same hashing as a wrong
        password.
        """
        granted = check_scopes(scopes) if kind == "api" else SCOPES
        now = self.clock()
        wait = self.throttle.wait(username, address)
        with self.sessions() as session, session.begin():
            # Refusals are returned, not raised, so the audit entries commit.
            if wait:
                account = self._account(session, username)
                who = account.person_id if account else _unknown(username)
                self._audit(session, who, AuditAction.LOGIN_LOCKED, now, {"wait": wait})
                outcome: Login | LoginRefusedError = LoginRefusedError(
                    _throttled_message(wait), wait
                )
            else:
                checked = self._check(session, username, password, kind, address, now)
                outcome = (
                    checked
                    if isinstance(checked, LoginRefusedError)
                    else self._start(session, checked, kind, now, granted, name)
                )
        if isinstance(outcome, LoginRefusedError):
            raise outcome
        return outcome

    def _check(
        self,
        session: Session,
        username: str,
        password: str,
        kind: str,
        address: str,
        now: datetime,
    ) -> Account | LoginRefusedError:
        account = self._account(session, username)
        if account is None or not account.active or account.password_hash is None:
            passwords.verify(passwords.dummy_hash(), password)  # as long as a wrong password takes
            who = account.person_id if account else _unknown(username)
            self._failed(session, username, address, who, now)
            return LoginRefusedError("wrong username or password")
        if not passwords.verify(account.password_hash, password):
            self._failed(session, username, address, account.person_id, now)
            return LoginRefusedError("wrong username or password")
        self.throttle.succeeded(username, address)
        if passwords.needs_rehash(account.password_hash):
            account.password_hash = passwords.hashed(password)
        self._audit(session, account.person_id, AuditAction.LOGIN, now, {"kind": kind})
        return account

    def _failed(
        self, session: Session, username: str, address: str, who: str, now: datetime
    ) -> None:
        """Count and audit a failed login; alert the operators after many."""
        self._audit(session, who, AuditAction.LOGIN_FAILED, now)
        for alert in self.throttle.failed(username, address):
            self._alert(session, alert, username, address, now)

    def _alert(
        self, session: Session, alert: Alert, username: str, address: str, now: datetime
    ) -> None:
        # The log carries only what kind of alert and the count; the audit entry says
        # which username or address, for the operator who follows it up.
        _log.warning(
            "login alert: %d failed logins within 15 minutes for one %s (see the audit log, "
            "action login_alert)",
            alert.count,
            alert.kind,
        )
        target = username_key(username) if alert.kind == "account" else address
        write_audit(
            session,
            at=now,
            actor="system:login_throttle",
            action=AuditAction.LOGIN_ALERT,
            object_type=AuditObject.ACCOUNT,
            object_id=target[:64],
            purpose="security",
            details={"kind": alert.kind, "failures": alert.count, "minutes": 15},
        )

    def _start(
        self,
        session: Session,
        account: Account,
        kind: str,
        now: datetime,
        scopes: Sequence[str],
        name: str | None,
    ) -> Login:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        expires = now + self.ttl[kind]
        public_id = secrets.token_hex(8)
        session.add(
            WebSession(
                token_hash=token_hash(token),
                public_id=public_id,
                account_id=account.id,
                kind=kind,
                name=name,
                scopes=list(scopes),
                csrf_token=csrf,
                created_at=now,
                expires_at=expires,
            )
        )
        return Login(token, csrf, _user(account), expires, public_id, tuple(scopes))

    def session_user(self, token: str, kind: str) -> LiveSession | None:
        """The user, CSRF token and scopes of a live session, or None."""
        if not token or len(token) > 200:
            return None
        # Every request asks this: one prebuilt statement on the driver, outside a
        # transaction (no write lock on SQLite, no BEGIN/ROLLBACK on PostgreSQL), read
        # as light records.
        rows = read_alone(self.engine, _SESSION_USER, {"b_hash": token_hash(token), "b_kind": kind})
        if not rows:
            return None
        width = len(_ACCOUNT_COLUMNS)
        account = record_of(Account)(*rows[0][:width])
        live = record_of(WebSession)(*rows[0][width:])
        if live.expires_at <= self.clock() or not account.active:
            return None
        return LiveSession(_user(account), live.csrf_token, live.public_id, frozenset(live.scopes))

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
        with self.sessions(execution_options={READ_ONLY: True}) as session:
            account = self._account(session, username)
            return _user(account) if account and account.active else None

    @staticmethod
    def _audit(
        session: Session,
        who: str,
        action: AuditAction,
        now: datetime,
        details: dict[str, Any] | None = None,
        *,
        actor: str | None = None,
    ) -> None:
        write_audit(
            session,
            at=now,
            actor=actor or f"user:{who}",
            action=action,
            object_type=AuditObject.ACCOUNT,
            object_id=who,
            purpose="login",
            details=details,
        )


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted CSRF token."""
    return bool(given) and hmac.compare_digest(str(given), expected)


def _unknown(username: str) -> str:
    """How the audit log names a username that has no account."""
    return f"unknown:{username.strip()[:40]}"


def _throttled_message(wait: int) -> str:
    minutes = max(1, -(-wait // 60))
    return (
        f"too many failed logins from this address or for this username: try again in "
        f"{minutes} minute{'s' if minutes > 1 else ''}"
    )
