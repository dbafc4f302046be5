"""The web app: FastAPI with server-rendered pages and the JSON API, over the service layer.

``create_app`` wires it to a runtime. Every action goes through the same services as
the CLI, so the audit log, notifications and Prefect flows are the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow.cases.model import StepResult
from workflow.errors import (
    CaseNotFoundError,
    InvalidRequestError,
    NotAllowedError,
    PurposeRequiredError,
)
from workflow.runtime import Runtime
from workflow.store.database import store_unreachable
from workflow.texts import text
from workflow.web import (
    api,
    api_cases,
    api_privacy,
    login_pages,
    page_support,
    pages,
    privacy_pages,
    referral_pages,
)
from workflow.web.api_models import ApiError, FieldProblem
from workflow.web.context import WebContext
from workflow.web.identity import Identity, LocalSessions, TrustedHeader
from workflow.web.rendering import Pages, locale_of

STATIC = Path(__file__).parent / "static"
_log = logging.getLogger(__name__)

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Adds the security headers to every response (pages hold personal data: no caching)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _api_error(status: int, body: ApiError) -> JSONResponse:
    return JSONResponse(body.model_dump(), status_code=status)


def _message(request: Request, status: int, heading: str, message: str) -> Response:
    context: WebContext = request.app.state.web
    return context.pages.render(request, "message.html", status, heading=heading, message=message)


def create_app(
    runtime: Runtime,
    *,
    identity: Identity | None = None,
    on_step: Callable[[StepResult], None] | None = None,
) -> FastAPI:
    """The web app over a runtime's services.

    ``identity`` defaults to the settings' choice (local accounts, or a trusted header
    from a SAML/OIDC proxy); ``on_step`` is called with every committed step.
    """
    settings = runtime.settings
    if identity is None:
        identity = (
            TrustedHeader(
                runtime.accounts,
                settings.secret_key,
                settings.identity_header,
                settings.trusted_proxies,
            )
            if settings.identity == "header"
            else LocalSessions(runtime.accounts)
        )
    context = WebContext(
        settings=settings,
        service=runtime.service,
        caseload=runtime.caseload,
        consents=runtime.consents,
        audit=runtime.audit,
        accounts=runtime.accounts,
        catalog=runtime.catalog,
        identity=identity,
        clock=runtime.uow.clock,
        pages=Pages(),
        on_step=on_step or (lambda _result: None),
    )

    def authenticate(request: Request) -> None:
        request.state.auth = context.identity.authenticate(request)

    app = FastAPI(
        title="Ungeindsats – case workflow API",
        version="1",
        description=(api.__doc__ or "").strip(),
        dependencies=[Depends(authenticate)],
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.web = context
    app.include_router(login_pages.router)
    app.include_router(pages.router)
    app.include_router(referral_pages.router)
    app.include_router(privacy_pages.router)
    app.include_router(api.router)
    app.include_router(api_cases.router)
    app.include_router(api_privacy.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityHeaders)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(api.ApiProblemError)
    def api_problem(request: Request, exc: api.ApiProblemError) -> Response:
        return _api_error(exc.status, exc.body)

    @app.exception_handler(page_support.LoginRequiredError)
    def login_required(request: Request, exc: page_support.LoginRequiredError) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)

    @app.exception_handler(page_support.PageNotFoundError)
    def page_not_found(request: Request, exc: page_support.PageNotFoundError) -> Response:
        return _message(request, 404, text("error", locale_of(request)), exc.message)

    @app.exception_handler(page_support.CsrfError)
    def csrf_failed(request: Request, exc: page_support.CsrfError) -> Response:
        return _message(
            request, 403, text("error", locale_of(request)), text("forbidden", locale_of(request))
        )

    @app.exception_handler(CaseNotFoundError)
    def case_not_found(request: Request, exc: CaseNotFoundError) -> Response:
        if _is_api(request):
            return _api_error(404, ApiError(error="not_found", message=str(exc)))
        return _message(request, 404, text("error", locale_of(request)), str(exc))

    @app.exception_handler(NotAllowedError)
    def not_allowed(request: Request, exc: NotAllowedError) -> Response:
        if _is_api(request):
            return _api_error(403, ApiError(error="forbidden", message=str(exc)))
        return _message(request, 403, text("error", locale_of(request)), str(exc))

    @app.exception_handler(PurposeRequiredError)
    def purpose_required(request: Request, exc: PurposeRequiredError) -> Response:
        if _is_api(request):
            message = f"{exc}: give ?purpose= (kept in the audit log)"
            return _api_error(403, ApiError(error="purpose_required", message=message))
        return context.pages.render(
            request,
            "purpose.html",
            403,
            reference=exc.reference,
            basis=exc.basis,
            target=request.url.path,
        )

    @app.exception_handler(InvalidRequestError)
    def invalid_input(request: Request, exc: InvalidRequestError) -> Response:
        fields = [FieldProblem(field=p.path, message=str(p)) for p in exc.problems]
        if _is_api(request):
            body = ApiError(error="invalid", message="the request is not valid", fields=fields)
            return _api_error(422, body)
        shown = "; ".join(f.message for f in fields)
        return _message(request, 400, text("error", locale_of(request)), shown)

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        fields = [
            FieldProblem(
                field=".".join(str(part) for part in error.get("loc", ())),
                message=str(error.get("msg", "invalid")),
            )
            for error in exc.errors()
        ]
        if _is_api(request):
            body = ApiError(error="invalid", message="the request is not valid", fields=fields)
            return _api_error(422, body)
        shown = "; ".join(f"{f.field}: {f.message}" for f in fields)
        return _message(request, 400, text("error", locale_of(request)), shown)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request):
            code = "not_found" if exc.status_code == 404 else "invalid"
            response = _api_error(exc.status_code, ApiError(error=code, message=str(exc.detail)))
            response.headers.update(exc.headers or {})
            if exc.status_code == 405:
                response.headers["Allow"] = _allowed_methods(request)
            return response
        lang = locale_of(request)
        shown = text("not_found", lang) if exc.status_code == 404 else str(exc.detail)
        return _message(request, exc.status_code, text("error", lang), shown)

    @app.exception_handler(Exception)
    def unexpected(request: Request, exc: Exception) -> Response:
        # Logged by type and path only: the exception text could hold case data.
        _log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        if store_unreachable(exc):  # the database restarts or is down: try again soon
            message = text("store_unavailable", locale_of(request))
            answer: Response
            if _is_api(request):
                answer = _api_error(503, ApiError(error="store_unavailable", message=message))
            else:
                answer = _message(request, 503, text("error", locale_of(request)), message)
            answer.headers["Retry-After"] = "5"
            return answer
        message = text("server_error", locale_of(request))
        if _is_api(request):
            return _api_error(500, ApiError(error="server_error", message=message))
        return _message(request, 500, text("error", locale_of(request)), message)

    return app


def _allowed_methods(request: Request) -> str:
    """Every method the path supports (Starlette names only the first route's)."""
    allowed: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            allowed |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(allowed))
