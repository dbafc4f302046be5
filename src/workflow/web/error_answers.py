"""How the web app answers an error: one table, rendered as a page or as the API's JSON.

``ERROR_ANSWERS`` maps each kind of error to its answer — status, the API's error code,
the words (from ``workflow.texts`` where a person reads them) and how a page answers
(a message, the purpose form, or a redirect to the login page). An error is looked up
by its class and then its base classes, so every ``WorkflowError`` has an answer and
anything else is a server error (503 when the store cannot be reached).

The page app renders the answers as pages (``page_answer``), the ``/api`` sub-app as
JSON (``json_answer``); ``answer_errors`` installs a rendering on an app. Handlers are
plain ``def`` functions: Starlette runs them in its threadpool, so rendering a page
never holds the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match, Mount

from workflow.cases.model import RejectedError
from workflow.errors import (
    CaseNotFoundError,
    ConflictError,
    IdempotencyKeyReusedError,
    InvalidRequestError,
    NotAllowedError,
    PurposeRequiredError,
    WorkflowError,
)
from workflow.privacy.accounts import LoginRefusedError
from workflow.store.database import store_unreachable
from workflow.texts import text
from workflow.web.api_models import ApiError, FieldProblem
from workflow.web.api_support import ApiProblemError
from workflow.web.context import WebContext
from workflow.web.page_support import (
    CsrfError,
    LoginRequiredError,
    PageNotFoundError,
    field_error_text,
    rejection_text,
)
from workflow.web.private_logs import summary
from workflow.web.rendering import locale_of
from workflow.web.request_limits import BodyTooLargeError

_log = logging.getLogger(__name__)


class Reply(Enum):
    """How a page answers an error (the API always answers with an ``ApiError``)."""

    MESSAGE = "message"  # the message page, with the error's words
    PURPOSE = "purpose"  # the form that asks why a case is opened through a legal basis
    LOGIN = "login"  # a redirect to the login page, and back afterwards


@dataclass(frozen=True)
class ErrorAnswer:
    """One error's answer, before it is rendered as a page or as JSON."""

    #: The API's status (and the page's, unless ``page_status`` says otherwise).
    status: int
    #: The API's stable error code.
    code: str
    #: The API's words (and the page's, unless ``shown`` says otherwise).
    message: str
    fields: Sequence[FieldProblem] = ()
    page_status: int | None = None
    #: The page's words, where a person should read other words than a program.
    shown: str | None = None
    reply: Reply = Reply.MESSAGE
    #: What the page's template needs besides the words (e.g. the case reference).
    details: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Not a refusal but a failure: logged (by type and path only).
    unexpected: bool = False


def _request_invalid(error: RequestValidationError, lang: str) -> ErrorAnswer:
    fields = [
        FieldProblem(
            field=".".join(str(part) for part in problem.get("loc", ())),
            message=str(problem.get("msg", "invalid")),
        )
        for problem in error.errors()
    ]
    shown = "; ".join(f"{f.field}: {f.message}" for f in fields)
    return ErrorAnswer(422, "invalid", "the request is not valid", fields, 400, shown)


def _input_invalid(error: InvalidRequestError, lang: str) -> ErrorAnswer:
    fields = [FieldProblem(field=p.path, message=str(p)) for p in error.problems]
    shown = "; ".join(f.message for f in fields)
    return ErrorAnswer(422, "invalid", "the request is not valid", fields, 400, shown)


def _rejected(error: RejectedError, lang: str) -> ErrorAnswer:
    # A step's fields are its inputs; a referral's young person is named by its body path.
    fields = [
        FieldProblem(
            field=e.name if e.name.startswith("young_person.") else f"inputs.{e.name}",
            message=field_error_text(e, lang),
        )
        for e in error.rejection.field_errors
    ]
    return ErrorAnswer(422, "rejected", rejection_text(error.rejection, lang), fields)


def _key_reused(error: IdempotencyKeyReusedError, lang: str) -> ErrorAnswer:
    message = "this idempotency_key was already used for another request; use a new key"
    field = FieldProblem(field="body.idempotency_key", message=message)
    return ErrorAnswer(409, "conflict", message, [field])


def _http(error: HTTPException, lang: str) -> ErrorAnswer:
    missing = error.status_code == 404
    shown = text("not_found", lang) if missing else None
    if error.status_code == 405:  # it said "Method Not Allowed", in English
        shown = text("method_not_allowed", lang)
    return ErrorAnswer(
        error.status_code,
        "not_found" if missing else "invalid",
        str(error.detail),
        shown=shown,
        headers=error.headers or {},
    )


def _too_large(error: BodyTooLargeError, lang: str) -> ErrorAnswer:
    shown = text("body_too_large", lang, limit=error.limit_text)
    return ErrorAnswer(413, "too_large", str(error.detail), shown=shown)


def _unexpected(error: Exception, lang: str) -> ErrorAnswer:
    if store_unreachable(error):  # the database restarts or is down: try again soon
        message = text("store_unavailable", lang)
        retry = {"Retry-After": "5"}
        return ErrorAnswer(503, "store_unavailable", message, headers=retry, unexpected=True)
    return ErrorAnswer(500, "server_error", text("server_error", lang), unexpected=True)


#: Each kind of error and its answer, from the error and the reader's language.
ERROR_ANSWERS: dict[type[Exception], Callable[[Any, str], ErrorAnswer]] = {
    # What a route words itself.
    ApiProblemError: lambda e, lang: ErrorAnswer(
        e.status, e.body.error, e.body.message, e.body.fields
    ),
    PageNotFoundError: lambda e, lang: ErrorAnswer(404, "not_found", e.message),
    LoginRequiredError: lambda e, lang: ErrorAnswer(
        401, "not_authenticated", "log in first", page_status=303, reply=Reply.LOGIN
    ),
    CsrfError: lambda e, lang: ErrorAnswer(
        403, "csrf", "send the session's CSRF token", shown=text("forbidden", lang)
    ),
    # The service layer's refusals.
    CaseNotFoundError: lambda e, lang: ErrorAnswer(
        404, "not_found", str(e), shown=text("case_not_found_here", lang)
    ),
    NotAllowedError: lambda e, lang: ErrorAnswer(
        403, "forbidden", str(e), shown=text(e.text_key, lang, **e.params)
    ),
    PurposeRequiredError: lambda e, lang: ErrorAnswer(
        403,
        "purpose_required",
        f"{e}: state a purpose (kept in the audit log)",
        reply=Reply.PURPOSE,
        details={"reference": e.reference, "basis": e.basis},
    ),
    InvalidRequestError: _input_invalid,
    RejectedError: _rejected,
    IdempotencyKeyReusedError: _key_reused,
    ConflictError: lambda e, lang: ErrorAnswer(
        409, "conflict", str(e), shown=text("conflict", lang)
    ),
    LoginRefusedError: lambda e, lang: (
        ErrorAnswer(429, "throttled", str(e), headers={"Retry-After": str(e.retry_after)})
        if e.retry_after
        else ErrorAnswer(401, "not_authenticated", str(e))
    ),
    WorkflowError: lambda e, lang: ErrorAnswer(409, "conflict", str(e)),
    # The framework's, and the door's (a body over the limit).
    BodyTooLargeError: _too_large,
    RequestValidationError: _request_invalid,
    HTTPException: _http,
    # Anything else is ours to fix, or the store's to come back.
    Exception: _unexpected,
}


def explain(error: Exception, lang: str) -> ErrorAnswer:
    """The answer to an error: its class's row, else its nearest base class's."""
    for kind in type(error).__mro__:
        answer = ERROR_ANSWERS.get(kind)
        if answer is not None:
            return answer(error, lang)
    raise error  # not an Exception: nothing answers it


def _language(request: Request) -> str:
    auth = getattr(request.state, "auth", None)
    return locale_of(request, auth.user.locale if auth else None)


def _seen_before(request: Request, error: Exception) -> bool:
    """Whether this unexpected error was answered already (and notes that it now is).

    Starlette re-raises an unexpected error after answering it, for the server to see:
    one the API sub-app answered comes to the page app's handler too, too late to send.
    """
    if getattr(request.state, "answered_error", None) is error:
        return True
    request.state.answered_error = error
    return False


#: The methods a route may answer (what an Allow header can name).
METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """Every method the path supports (Starlette names only the first route's).

    Asked of the routes themselves, method by method: included routers are routes of
    their own in FastAPI, so their routes' methods are not to be read from outside.
    """
    # A mount (static files, the API) answers every method its own way.
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    return ", ".join(
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    )


#: The reads whose page posts its own purpose form (any other read posts to the case page).
_PURPOSE_READS = ("/export", "/access-log")


def purpose_target(path: str, reference: str) -> str:
    """Where the purpose form posts: the read asked for where it takes a posted purpose
    (the case page, an export, the access log), else the case page — never a step's form
    (posting a purpose there would be taken as the step)."""
    case_page = f"/cases/{quote(reference, safe='')}"
    if path == case_page or (path.startswith(case_page) and path.endswith(_PURPOSE_READS)):
        return path
    return case_page


def nearest_page(app: Any, path: str) -> str:
    """The nearest address above ``path`` that the app answers a GET on ("/" at least):
    a conference's case form's address, ``/conferences/1/cases/HOR-2026-0001``, belongs to
    the conference's page, ``/conferences/1``."""
    parts = path.rstrip("/").split("/")
    while len(parts) > 1:
        parts.pop()
        candidate = "/".join(parts) or "/"
        scope = {"type": "http", "path": candidate, "method": "GET", "root_path": ""}
        if any(route.matches(scope)[0] is Match.FULL for route in app.router.routes):
            return candidate
    return "/"


def page_answer(request: Request, error: Exception, answer: ErrorAnswer) -> Response:
    """An error answered as a page: the message page, the purpose form, or the login page."""
    if answer.reply is Reply.LOGIN:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    if answer.status == 405 and request.method == "GET":
        # A form's address opened as a page (reloaded, or its language link followed,
        # after a refusal): the page it belongs to, with what was asked of it (?lang=en).
        target = nearest_page(request.app, request.url.path)
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(target + query, status_code=303)
    context: WebContext = request.app.state.web
    if not hasattr(request.state, "auth"):  # no route took the request (an unknown address)
        # Who is logged in, so the page has its navigation and the user's language; an
        # error page is answered whatever the store says (e.g. it is unreachable).
        try:
            request.state.auth = context.identity.authenticate(request)
        except Exception:
            request.state.auth = None
    status = answer.page_status or answer.status
    if answer.reply is Reply.PURPOSE:
        target = purpose_target(request.url.path, str(answer.details.get("reference", "")))
        page = context.pages.render(
            request, "purpose.html", status, target=target, **answer.details
        )
    else:
        heading = text("error", _language(request))
        words = answer.shown if answer.shown is not None else answer.message
        page = context.pages.render(request, "message.html", status, heading=heading, message=words)
    page.headers.update(answer.headers)
    return page


def page_or_api_answer(request: Request, error: Exception, answer: ErrorAnswer) -> Response:
    """The app's own answer: a page — or JSON for a path under ``/api/`` that the API's
    mount did not take (Starlette's mount pattern stops at a newline in the path, so
    ``/api/v1/cases/X/events/a%0Ab`` reaches the app)."""
    if request.url.path.startswith("/api/"):
        return json_answer(request, error, answer)
    return page_answer(request, error, answer)


def answer_before_routing(request: Request, error: Exception) -> Response:
    """An error answered by a middleware, before any route (e.g. a body over the limit):
    as the app answers it — a page, or JSON under ``/api/``."""
    return page_or_api_answer(request, error, explain(error, _language(request)))


def json_answer(request: Request, error: Exception, answer: ErrorAnswer) -> Response:
    """An error answered as the API's JSON ``ApiError``."""
    body = ApiError(error=answer.code, message=answer.message, fields=list(answer.fields))
    response = JSONResponse(body.model_dump(), status_code=answer.status)
    response.headers.update(answer.headers)
    return response


Rendering = Callable[[Request, Exception, ErrorAnswer], Response]


def answer_errors(app: FastAPI, render: Rendering) -> None:
    """Answer every error in ``ERROR_ANSWERS`` on ``app``, rendered by ``render``."""

    def handle(request: Request, error: Exception) -> Response:
        answer = explain(error, _language(request))
        if answer.unexpected:
            if _seen_before(request, error):
                return Response(status_code=answer.status)  # not sent: answered already
            # By type and code location only: the exception's text and the traceback's
            # values could hold case data (workflow.web.private_logs).
            path = request.url.path
            _log.error("unexpected %s on %s %s", summary(error), request.method, path)
        if answer.status == 405:  # Starlette's names only the first matching route's
            answer = replace(answer, headers={**answer.headers, "Allow": allowed_methods(request)})
        return render(request, error, answer)

    for kind in ERROR_ANSWERS:
        app.add_exception_handler(kind, handle)
