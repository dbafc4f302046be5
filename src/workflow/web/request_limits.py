"""The web app's door: request bodies are bounded, and API changes need a credential.

A pure ASGI middleware (no body is buffered by it):

- a request whose ``Content-Length`` is over the limit is answered 413 before anything
  of its body is read (the connection is then closed);
- a body that grows past the limit while streaming (chunked) stops being read at the
  limit: reading on raises :class:`BodyTooLargeError`, a 413 that the app answers as
  every other error (a page, or the API's JSON);
- a change through the API (``POST``/``PUT``/``PATCH``/``DELETE`` under ``/api/``) that
  carries no credential at all — no ``Authorization`` header, no session cookie, no
  trusted proxy's header — is answered 401 at once; only the login itself
  (``POST /api/v1/tokens``) is open. A credential that turns out to be invalid is
  refused by the route, after at most the limit was read.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.requests import Request, cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow.web.api_support import ApiProblemError

#: Methods that change something: through the API they need a credential.
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def size_text(size: int) -> str:
    """A size as people read it: ``1 MB``, ``512 kB``, ``100 B``."""
    for unit, factor in (("MB", 1 << 20), ("kB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} B"


class BodyTooLargeError(HTTPException):
    """A request body over the limit (an ``HTTPException``: FastAPI's body reading lets
    it through, where it turns other errors into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit:,} bytes")
        self.limit = limit

    @property
    def limit_text(self) -> str:
        return size_text(self.limit)


def no_credential() -> ApiProblemError:
    """The API's refusal of a change without any credential (its routes' own words)."""
    return ApiProblemError(401, "not_authenticated", "log in: POST /api/v1/tokens, then Bearer")


class _Over:
    """Whether a request's body went over the limit."""

    limit = False


#: How the app answers an error before routing: a page, or JSON under ``/api/``.
Answer = Callable[[Request, Exception], Response]


class RequestLimits:
    """Bounds request bodies and refuses anonymous API changes before reading them."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        answer: Answer,
        credential_headers: Collection[str] = ("authorization",),
        credential_cookies: Collection[str] = (),
        open_changes: Collection[str] = ("/api/v1/tokens",),
    ) -> None:
        self.app, self.max_body, self.answer = app, max_body, answer
        self.credential_headers = [h.lower() for h in credential_headers]
        self.credential_cookies = list(credential_cookies)
        self.open_changes = frozenset(open_changes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self._anonymous_api_change(scope, headers):
            await self._refuse(scope, receive, send, no_credential())
            return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await self._refuse(scope, receive, send, BodyTooLargeError(self.max_body))
            return
        over = _Over()
        await self.app(scope, self._bounded(receive, over), self._closing(send, over))

    def _anonymous_api_change(self, scope: Scope, headers: Headers) -> bool:
        path: str = scope["path"]
        if scope["method"] not in CHANGES or not path.startswith("/api/"):
            return False
        if path.rstrip("/") in self.open_changes:
            return False
        if any(headers.get(name, "").strip() for name in self.credential_headers):
            return False
        cookies = cookie_parser(headers.get("cookie", ""))
        return not any(cookies.get(name) for name in self.credential_cookies)

    def _bounded(self, receive: Receive, over: _Over) -> Receive:
        """``receive``, raising :class:`BodyTooLargeError` once the body is over the limit."""
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            if over.limit:
                raise BodyTooLargeError(self.max_body)  # asked again: never read on
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    over.limit = True
                    raise BodyTooLargeError(self.max_body)
            return message

        return bounded

    @staticmethod
    def _closing(send: Send, over: _Over) -> Send:
        """``send``, closing the connection after an answer to a body over the limit (the
        rest of it is not waited for)."""

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start" and over.limit:
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"connection"]
                message["headers"] = [*headers, (b"connection", b"close")]
            await send(message)

        return closing

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: Exception) -> None:
        """Answer ``error`` without reading the body; the connection is closed after it."""
        response = self.answer(Request(scope, receive), error)
        response.headers["connection"] = "close"
        await response(scope, receive, send)
