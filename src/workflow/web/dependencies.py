"""What a route can ask for, as FastAPI dependencies: the services, the caller, a posted form.

A handler's signature says what it uses — ``cases: Cases`` for the case service,
``auth: SignedIn`` for a page's logged-in user, ``form: PostedForm`` for a checked
form post — instead of reaching into a service locator.

On the event loop: a dependency that reaches the store or hashes is a plain ``def``
(FastAPI runs those in its threadpool). The ``async`` ones only hand out what is
already in memory or read the request body, so they never block the loop, and save
the threadpool hop a plain ``def`` costs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from workflow.cases.caseload import CaseloadService
from workflow.cases.service import CaseService
from workflow.cases.tasks import TaskService
from workflow.privacy.accounts import AccountService, same_token
from workflow.privacy.audit import AuditService
from workflow.privacy.consents import ConsentService
from workflow.privacy.staff_roster import StaffRoster
from workflow.web.context import WebContext
from workflow.web.forms import FormData
from workflow.web.identity import Authenticated
from workflow.web.page_support import CsrfError, LoginRequiredError


async def web_context(request: Request) -> WebContext:
    """The app's shared context (set by ``create_app`` on the page app and the API)."""
    context: WebContext = request.app.state.web
    return context


Web = Annotated[WebContext, Depends(web_context)]


async def case_service(web: Web) -> CaseService:
    """The case service: cases, steps, referrals, the logged CPR reveal."""
    return web.service


async def caseload_service(web: Web) -> CaseloadService:
    """The caseload search."""
    return web.caseload


async def account_service(web: Web) -> AccountService:
    """Staff accounts, logins and sessions."""
    return web.accounts


async def staff_roster(web: Web) -> StaffRoster:
    """Staff names by staff id."""
    return web.staff


async def consent_service(web: Web) -> ConsentService:
    """The young person's consents."""
    return web.consents


async def audit_service(web: Web) -> AuditService:
    """Exports and the citizen's access log (both audited)."""
    return web.audit


async def task_service(web: Web) -> TaskService:
    """Tasks: worklists, a case's tasks, done and added by hand."""
    return web.tasks


Cases = Annotated[CaseService, Depends(case_service)]
Tasks = Annotated[TaskService, Depends(task_service)]
Caseloads = Annotated[CaseloadService, Depends(caseload_service)]
Accounts = Annotated[AccountService, Depends(account_service)]
Staff = Annotated[StaffRoster, Depends(staff_roster)]
Consents = Annotated[ConsentService, Depends(consent_service)]
Audit = Annotated[AuditService, Depends(audit_service)]


def authenticated(request: Request, web: Web) -> Authenticated | None:
    """The caller of this request, or None: a store read, so a plain ``def``.

    Every route of both apps depends on it (the apps' own dependency), and pages are
    rendered with its result, error pages too: it is kept on ``request.state.auth``.
    """
    auth = web.identity.authenticate(request)
    request.state.auth = auth
    return auth


Auth = Annotated[Authenticated | None, Depends(authenticated)]


async def signed_in(auth: Auth) -> Authenticated:
    """The logged-in user of a page request, else a redirect to the login page."""
    if auth is None:
        raise LoginRequiredError
    return auth


SignedIn = Annotated[Authenticated, Depends(signed_in)]


async def sent_form(request: Request) -> FormData:
    """The posted form's text fields (read from the body: no store, no hashing)."""
    raw = await request.form()
    return FormData([(k, v) for k, v in raw.multi_items() if isinstance(v, str)])


SentForm = Annotated[FormData, Depends(sent_form)]


async def posted_form(auth: SignedIn, form: SentForm) -> FormData:
    """A logged-in user's posted form, whose CSRF token matches the session's."""
    if auth.needs_csrf and not same_token(form.get("csrf_token"), auth.csrf_token):
        raise CsrfError
    return form


PostedForm = Annotated[FormData, Depends(posted_form)]
