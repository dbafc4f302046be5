"""Who is making a request: the pluggable identity layer.

``LocalSessions`` (the default) reads the session cookie set at login, or an API token
in ``Authorization: Bearer``. ``TrustedHeader`` is for a municipality that puts SAML or
OIDC in front of the app (e.g. KOMBIT's Context Handler through a SAML proxy, or an
OIDC proxy): the proxy authenticates the person and passes their username in a header;
the app trusts that header only from the proxy's own address. Either way the account
in our store gives the person's roles and staff id.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

from workflow.privacy.accounts import AccountService, User

SESSION_COOKIE = "kui_session"


@dataclass(frozen=True)
class Authenticated:
    """The user behind a request, the CSRF token their forms must carry, and how."""

    user: User
    csrf_token: str
    via: str  # cookie | bearer | header

    @property
    def needs_csrf(self) -> bool:
        """Requests a browser sends by itself (cookies, proxy headers) need a CSRF token."""
        return self.via != "bearer"


class Identity(Protocol):
    """Finds the user behind a request (None: not logged in)."""

    #: Whether the app shows its own login form (False when a proxy logs people in).
    local_login: bool

    def authenticate(self, request: Request) -> Authenticated | None:
        """The user of this request, or None."""


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class LocalSessions:
    """Local accounts: a session cookie from the login form, or a bearer API token."""

    local_login = True

    def __init__(self, accounts: AccountService) -> None:
        self.accounts = accounts

    def authenticate(self, request: Request) -> Authenticated | None:
        token = bearer_token(request)
        if token:
            found = self.accounts.session_user(token, "api")
            return Authenticated(found[0], found[1], "bearer") if found else None
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            found = self.accounts.session_user(cookie, "browser")
            return Authenticated(found[0], found[1], "cookie") if found else None
        return None


class TrustedHeader(LocalSessions):
    """SAML/OIDC in front: a trusted proxy names the user in a header.

    API tokens keep working (for other systems); the login form is not shown.
    """

    local_login = False

    def __init__(
        self,
        accounts: AccountService,
        secret: str,
        header: str = "X-Remote-User",
        trusted: Collection[str] = ("127.0.0.1",),
    ) -> None:
        super().__init__(accounts)
        self.secret = secret.encode()
        self.header = header
        self.trusted = set(trusted)

    def authenticate(self, request: Request) -> Authenticated | None:
        if bearer_token(request):
            return super().authenticate(request)
        username = request.headers.get(self.header)
        client = request.client.host if request.client else ""
        if not username or client not in self.trusted:
            return None
        user = self.accounts.user(username)
        if user is None:
            return None
        csrf = hmac.new(self.secret, f"csrf:{user.username}".encode(), hashlib.sha256)
        return Authenticated(user, csrf.hexdigest(), "header")
