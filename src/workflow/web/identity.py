"""Who is making a request: the pluggable identity layer.

``LocalSessions`` (the default) reads the session cookie set at login, or an API token
in ``Authorization: Bearer``. ``TrustedHeader`` is for a municipality that puts SAML or
OIDC in front of the app (e.g. KOMBIT's Context Handler through a SAML proxy, or an
OIDC proxy): the proxy authenticates the person and passes their username in a header;
the app trusts that header only when the TCP connection itself comes from the proxy's
address (uvicorn runs without its proxy-header rewriting, so ``request.client`` is the
raw peer: a client cannot claim the proxy's address in ``X-Forwarded-For``). Either way
the account in our store gives the person's roles and staff id.

Under the trusted header the forms' CSRF token is random per browser session: it is
kept in an HttpOnly cookie signed for the user (so a cookie set for one user does not
serve another), and a form or ``X-CSRF-Token`` must repeat it. Nothing about it can be
computed from the username or the secret key alone.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow.privacy.accounts import NO_ADDRESS, SCOPES, AccountService, User

SESSION_COOKIE = "kui_session"
#: The trusted-header mode's CSRF cookie: ``<random token>.<signature for the user>``.
CSRF_COOKIE = "kui_csrf"
#: Where a request keeps the cookies the identity layer asks to be set on its response.
_PENDING = "identity_cookies"
#: Proxies whose ``X-Forwarded-For`` is believed by default (a proxy on the same host).
LOCAL_PROXIES = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class Authenticated:
    """The user behind a request, the CSRF token their forms must carry, and how."""

    user: User
    csrf_token: str
    via: str  # cookie | bearer | header
    #: What the request may do (an API token's scopes; a person at the screen: all).
    scopes: frozenset[str] = field(default_factory=lambda: frozenset(SCOPES))
    #: The session's or token's id as listed (none under the trusted header).
    token_id: str | None = None

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

    def address(self, request: Request) -> str:
        """The client's address, for counting failed logins."""


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def peer_address(request: Request) -> str:
    """The TCP peer's address (uvicorn is started without rewriting it)."""
    return request.client.host if request.client else ""


def client_address(request: Request, trusted: Collection[str]) -> str:
    """The client's address: the TCP peer, or — when the peer is a trusted proxy — the
    nearest address in ``X-Forwarded-For`` that is not a trusted proxy itself."""
    peer = peer_address(request) or NO_ADDRESS
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        if hop in trusted:
            continue
        try:
            return str(ipaddress.ip_address(hop))
        except ValueError:
            return NO_ADDRESS  # a garbled hop: counted together, never as the proxy
    return peer


class LocalSessions:
    """Local accounts: a session cookie from the login form, or a bearer API token."""

    local_login = True

    def __init__(self, accounts: AccountService, trusted: Collection[str] = LOCAL_PROXIES) -> None:
        self.accounts = accounts
        self.trusted = set(trusted)

    def authenticate(self, request: Request) -> Authenticated | None:
        token = bearer_token(request)
        if token:
            return self._live(token, "api", "bearer")
        cookie = request.cookies.get(SESSION_COOKIE)
        return self._live(cookie, "browser", "cookie") if cookie else None

    def _live(self, token: str, kind: str, via: str) -> Authenticated | None:
        found = self.accounts.session_user(token, kind)
        if found is None:
            return None
        return Authenticated(found.user, found.csrf_token, via, found.scopes, found.token_id)

    def address(self, request: Request) -> str:
        return client_address(request, self.trusted)


def _secret_text(secret: Any) -> str:
    """A secret given as text or as pydantic's ``SecretStr``."""
    value = getattr(secret, "get_secret_value", lambda: secret)()
    return str(value)


class TrustedHeader(LocalSessions):
    """SAML/OIDC in front: a trusted proxy names the user in a header.

    API tokens keep working (for other systems); the login form is not shown.
    """

    local_login = False

    def __init__(
        self,
        accounts: AccountService,
        secret: Any,
        header: str = "X-Remote-User",
        trusted: Collection[str] = ("127.0.0.1",),
        *,
        secure: bool = True,
    ) -> None:
        super().__init__(accounts, trusted)
        self.secret = _secret_text(secret).encode()
        self.header = header
        self.secure = secure

    def authenticate(self, request: Request) -> Authenticated | None:
        if bearer_token(request):
            return super().authenticate(request)
        username = request.headers.get(self.header)
        if not username or peer_address(request) not in self.trusted:
            return None
        user = self.accounts.user(username)
        if user is None:
            return None
        return Authenticated(user, self._csrf(request, user), "header")

    def _csrf(self, request: Request, user: User) -> str:
        """The browser session's CSRF token: the signed cookie's, else a new one (sent)."""
        token, _, signature = request.cookies.get(CSRF_COOKIE, "").partition(".")
        if token and hmac.compare_digest(signature, self._sign(user, token)):
            return token
        token = secrets.token_urlsafe(32)
        cookie = f"{CSRF_COOKIE}={token}.{self._sign(user, token)}; Path=/; HttpOnly; "
        cookie += "SameSite=Strict" + ("; Secure" if self.secure else "")
        setattr(request.state, _PENDING, [cookie])
        return token

    def _sign(self, user: User, token: str) -> str:
        message = f"csrf-cookie:{user.username}:{token}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()


class IdentityCookies:
    """Sets the cookies the identity layer asked for on the response (the trusted-header
    mode's CSRF cookie), whatever route or error page answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                pending = scope.get("state", {}).get(_PENDING) or []
                headers = list(message.get("headers", []))
                headers.extend((b"set-cookie", c.encode("latin-1")) for c in pending)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_cookies)
