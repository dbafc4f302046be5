"""The web app: FastAPI with server-rendered pages, and the JSON API mounted at ``/api``.

``create_app`` wires it to a runtime. Every action goes through the same services as
the CLI, so the audit log, notifications and Prefect flows are the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow.cases.model import StepResult
from workflow.runtime import Runtime
from workflow.web import (
    conference_pages,
    login_pages,
    outcome_pages,
    pages,
    pool_pages,
    privacy_pages,
    referral_pages,
    step_pages,
    task_pages,
)
from workflow.web.api import API_ROOT, create_api
from workflow.web.citizen_oidc import OidcClient
from workflow.web.citizen_pages import ROOT as CITIZEN_ROOT
from workflow.web.citizen_pages import CitizenContext, create_citizen_app
from workflow.web.context import WebContext
from workflow.web.dependencies import authenticated
from workflow.web.error_answers import answer_before_routing, answer_errors, page_or_api_answer
from workflow.web.identity import (
    SESSION_COOKIE,
    Identity,
    IdentityCookies,
    LocalSessions,
    TrustedHeader,
)
from workflow.web.page_support import secure_cookies
from workflow.web.private_logs import NO_TELEMETRY
from workflow.web.rendering import Pages
from workflow.web.request_limits import RequestLimits

STATIC = Path(__file__).parent / "static"

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


def _identity(runtime: Runtime) -> Identity:
    """The settings' choice: local accounts, or a trusted header from a SAML/OIDC proxy."""
    settings = runtime.settings
    if settings.identity == "header":
        return TrustedHeader(
            runtime.accounts,
            settings.secret_key.get_secret_value(),
            settings.identity_header,
            settings.trusted_proxies,
            secure=secure_cookies(settings),
        )
    return LocalSessions(runtime.accounts, settings.trusted_proxies)


def _citizen_context(
    runtime: Runtime,
    pages: Pages,
    oidc: OidcClient | None,
    on_step: Callable[[StepResult], None],
) -> CitizenContext:
    """The citizen pages' services; their login is ``oidc``, else the settings' provider."""
    settings = runtime.settings
    oidc = oidc or (
        OidcClient(
            settings.citizen_oidc_issuer,
            settings.citizen_oidc_client_id,
            settings.citizen_oidc_client_secret.get_secret_value(),
            f"{settings.base_url.rstrip('/')}{CITIZEN_ROOT}/callback",
            cpr_claim=settings.citizen_cpr_claim,
        )
        if settings.citizen_oidc_issuer
        else None
    )
    return CitizenContext(
        settings, runtime.citizens, runtime.citizen_logins, runtime.staff, pages, oidc, on_step
    )


def working_threads(threads: int) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: its sync routes and dependencies (every page) run on at most
    ``threads`` worker threads of the server's event loop (anyio's default is 40).

    A page is mostly Python time and Python runs one thread at a time: 40 threads taking
    turns each hold their page's answer back while the others run, and each statement
    sent to the database gives the interpreter away and waits to get it back. Measured on
    a case page, 20 users, SQLite: 52 pages/s with 40 threads, 91 with 4, 109 with 1
    (docs/benchmarks.md); PostgreSQL, whose statements wait on the network: 57, 70, 55.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    return lifespan


def healthz() -> dict[str, str]:
    """Whether the web process answers (for a load balancer)."""
    return {"status": "ok"}


def create_app(
    runtime: Runtime,
    *,
    identity: Identity | None = None,
    on_step: Callable[[StepResult], None] | None = None,
    citizen_login: OidcClient | None = None,
) -> FastAPI:
    """The web app over a runtime's services: the pages, with the JSON API mounted at /api.

    ``identity`` defaults to the settings' choice (local accounts, or a trusted header
    from a SAML/OIDC proxy); ``on_step`` is called with every committed step;
    ``citizen_login`` is the young person's OIDC login (default: the settings' provider).
    """
    context = WebContext(
        settings=runtime.settings,
        service=runtime.service,
        caseload=runtime.caseload,
        consents=runtime.consents,
        audit=runtime.audit,
        accounts=runtime.accounts,
        staff=runtime.staff,
        catalog=runtime.catalog,
        identity=identity or _identity(runtime),
        tasks=runtime.tasks,
        clock=runtime.uow.clock,
        pages=Pages(),
        on_step=on_step or (lambda _result: None),
        conferences=runtime.conferences,
        pool=runtime.pool,
        outcomes=runtime.outcomes,
    )
    # The navigation offers the conference and pool pages where the definition has them.
    municipalities = [d for d in runtime.catalog.current.values() if d.municipality]
    context.pages.set_global(
        "conference_codes",
        frozenset(d.municipality.code for d in municipalities if d.municipality and d.conferences),
    )
    context.pages.set_global(
        "pool_codes",
        frozenset(d.municipality.code for d in municipalities if d.municipality and d.pool),
    )
    # The pages have no schema of their own: the API's is at /api/openapi.json.
    app = FastAPI(
        dependencies=[Depends(authenticated)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=working_threads(runtime.settings.web_threads),
        telemetry=NO_TELEMETRY,
    )
    app.state.web = context
    app.include_router(login_pages.router)
    app.include_router(pages.router)
    app.include_router(step_pages.router)
    app.include_router(referral_pages.router)
    app.include_router(privacy_pages.router)
    app.include_router(task_pages.router)
    app.include_router(conference_pages.router)
    app.include_router(pool_pages.router)
    app.include_router(outcome_pages.router)
    app.add_api_route("/healthz", healthz, include_in_schema=False)
    app.mount(API_ROOT, create_api(context))
    citizens = _citizen_context(runtime, context.pages, citizen_login, context.on_step)
    app.mount(CITIZEN_ROOT, create_citizen_app(citizens))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Inside the security headers: its refusals carry them too.
    settings = runtime.settings
    app.add_middleware(
        RequestLimits,
        max_body=settings.web_max_body,
        answer=answer_before_routing,
        credential_headers=["authorization"]
        + ([settings.identity_header] if settings.identity == "header" else []),
        credential_cookies=[SESSION_COOKIE],
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(IdentityCookies)
    answer_errors(app, page_or_api_answer)
    return app
