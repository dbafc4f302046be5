"""The caseworker pages: log in, caseload, case page, step forms, meeting mode, referral."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from workflow.accounts import LoginRefusedError, StaffMember, same_token
from workflow.caseload import CaseloadQuery
from workflow.definitions import Definition
from workflow.definitions.models import InputType, Transition
from workflow.definitions.types import LocalizedText
from workflow.engine import Rejection, acting_role
from workflow.errors import WorkflowError
from workflow.service_types import (
    CaseNotFoundError,
    ConflictError,
    RejectedError,
    YoungPersonDetails,
)
from workflow.services import CaseView
from workflow.web.context import WebContext, case_roles, choice_label, steps_for
from workflow.web.forms import FormData, form_fields, read_form
from workflow.web.i18n import word
from workflow.web.identity import SESSION_COOKIE, Authenticated
from workflow.web.rendering import DEFAULT_ZONE, locale_of

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "kui_login_csrf"
PAGE_SIZE = 25
REFERRAL_NAME = LocalizedText(da="Henvisning", en="Referral")
CPR = re.compile(r"^\d{6}-?\d{4}$")


class LoginRequiredError(Exception):
    """The page needs a logged-in user."""


class PageNotFoundError(Exception):
    """A case, step or page that does not exist (or the user may not see)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CsrfError(Exception):
    """A form post without the session's CSRF token."""


def web(request: Request) -> WebContext:
    """The app's shared context."""
    context: WebContext = request.app.state.web
    return context


def signed_in(request: Request) -> Authenticated:
    """The logged-in user of a page request, else a redirect to the login page."""
    auth: Authenticated | None = request.state.auth
    if auth is None:
        raise LoginRequiredError
    return auth


async def posted(request: Request, auth: Authenticated) -> FormData:
    """A posted form whose CSRF token matches the session's."""
    raw = await request.form()
    form = FormData([(k, v) for k, v in raw.multi_items() if isinstance(v, str)])
    if auth.needs_csrf and not same_token(form.get("csrf_token"), auth.csrf_token):
        raise CsrfError
    return form


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def _secure(request: Request) -> bool:
    return web(request).settings.base_url.startswith("https://")


# --- log in and out ---------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return _login_form(request, next)


def _login_form(
    request: Request, target: str, error: str | None = None, status_code: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = web(request).pages.render(
        request,
        "login.html",
        status_code,
        login_csrf=token,
        next=_safe_next(target),
        error=error,
        local_login=web(request).identity.local_login,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    raw = await request.form()
    form = FormData([(k, v) for k, v in raw.multi_items() if isinstance(v, str)])
    target = _safe_next(form.get("next"))
    lang = locale_of(request)
    if not same_token(form.get("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        return _login_form(request, target, word("login_expired", lang), 400)
    try:
        login = web(request).accounts.login(form.get("username"), form.get("password"))
    except LoginRefusedError as refused:
        if refused.locked_until is not None:
            until = refused.locked_until.astimezone(DEFAULT_ZONE)
            message = word("login_locked", lang, time=until.strftime("%H:%M"))
        else:
            message = word("login_failed", lang)
        return _login_form(request, target, message, 401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        login.token,
        max_age=int((login.expires_at - web(request).service.clock()).total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    auth = signed_in(request)
    await posted(request, auth)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        web(request).accounts.logout(token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# --- caseload ------------------------------------------------------------------


@router.get("/")
def caseload_page(
    request: Request, stage: str = "", overdue: str = "", q: str = "", page: int = 1
) -> Response:
    auth = signed_in(request)
    page = max(1, min(page, 10_000))
    query = CaseloadQuery(
        person=auth.user.person_id,
        stage=stage[:64] or None,
        overdue=overdue == "1",
        search=q[:32] or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    result = web(request).caseload.search(auth.user.audit_name, query)
    stages: dict[str, Any] = {}
    for definition in web(request).definitions_for(auth.user):
        for s in definition.stages:
            stages.setdefault(s.id, s.name)
    return web(request).pages.render(
        request,
        "caseload.html",
        result=result,
        stages=stages,
        filters={"stage": stage, "overdue": overdue == "1", "q": q},
        page=page,
        pages=max(1, -(-result.total // PAGE_SIZE)),
    )


# --- a case ----------------------------------------------------------------------


def _view(request: Request, auth: Authenticated, reference: str, purpose: str) -> CaseView:
    context = web(request)
    try:
        view = context.service.view(reference, auth.user.actor(auth.user.roles[0]), purpose)
    except CaseNotFoundError:
        raise PageNotFoundError(
            word("case_not_found", locale_of(request), reference=reference[:32])
        ) from None
    definition = context.definition_of(view)
    home = auth.user.municipality_code
    if home and definition.municipality and definition.municipality.code != home:
        raise PageNotFoundError(
            word("case_not_found", locale_of(request), reference=reference[:32])
        )
    return view


@router.get("/cases/{reference}")
def case_page(request: Request, reference: str, saved: str = "") -> Response:
    auth = signed_in(request)
    view = _view(request, auth, reference, "case page")
    definition = web(request).definition_of(view)
    steps = steps_for(definition, view, auth.user)
    lang = locale_of(request, auth.user.locale)
    now = web(request).service.clock()
    next_meeting = next((m for m in view.meetings if m["starts_at"] >= now), None)
    saved_step = next((t for t in definition.transitions if t.id == saved), None)
    return web(request).pages.render(
        request,
        "case.html",
        view=view,
        d=definition,
        steps=steps,
        meeting_steps={t.id for t in steps if _writes_plan(t)},
        roles=case_roles(auth.user, view),
        saved=saved_step,
        request_saved=saved,
        next_meeting=next_meeting,
        stage_names={s.id: s.name for s in definition.stages},
        transition_names={"refer": REFERRAL_NAME} | {t.id: t.name for t in definition.transitions},
        place=choice_label(definition, next_meeting["place"], lang) if next_meeting else "",
        people=web(request).accounts.names(_people_of(view)),
    )


def _people_of(view: CaseView) -> set[str]:
    """The staff ids a case page names."""
    people = {m["person"] for m in view.team} | {view.coordinator or "", view.caseworker or ""}
    for meeting in view.meetings:
        people.update(meeting["participants"])
    return people


def _staff(request: Request, definition: Definition) -> list[StaffMember]:
    """The municipality's staff accounts (names for staff ids, choices for teams)."""
    code = definition.municipality.code if definition.municipality else None
    return web(request).accounts.staff(code)


def _writes_plan(transition: Transition) -> bool:
    return any(i.type is InputType.GOALS for i in transition.inputs)


def _step(request: Request, auth: Authenticated, view: CaseView, step: str) -> Transition:
    definition = web(request).definition_of(view)
    for transition in steps_for(definition, view, auth.user):
        if transition.id == step:
            return transition
    raise PageNotFoundError(word("step_not_available", locale_of(request)))


def _step_form(
    request: Request,
    view: CaseView,
    transition: Transition,
    form: FormData,
    *,
    meeting: bool,
    status_code: int = 200,
    message: str | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    definition = web(request).definition_of(view)
    lang = locale_of(request, request.state.auth.user.locale)
    staff = _staff(request, definition)
    return web(request).pages.render(
        request,
        "meeting.html" if meeting else "step.html",
        status_code,
        view=view,
        d=definition,
        step=transition,
        fields=form_fields(definition, transition.inputs, lang),
        form=form,
        message=message,
        errors=errors or {},
        idempotency_key=form.get("idempotency_key") or uuid.uuid4().hex,
        staff=staff,
        people={s.person_id: s.display_name for s in staff},
        stage_names={s.id: s.name for s in definition.stages},
        rows=_row_counts(transition, form, meeting),
    )


def _row_counts(transition: Transition, form: FormData, meeting: bool) -> dict[str, int]:
    blank = {InputType.TEAM: 6, InputType.GOALS: 5 if meeting else 3, InputType.NETWORKS: 3}
    return {
        i.name: max(form.rows(i.name) + 1, blank[i.type])
        for i in transition.inputs
        if i.type in blank
    }


@router.get("/cases/{reference}/steps/{step}")
def step_page(request: Request, reference: str, step: str, mode: str = "") -> Response:
    auth = signed_in(request)
    view = _view(request, auth, reference, f"form:{step[:64]}")
    transition = _step(request, auth, view, step)
    return _step_form(request, view, transition, FormData([]), meeting=mode == "meeting")


@router.post("/cases/{reference}/steps/{step}")
async def take_step(request: Request, reference: str, step: str) -> Response:
    auth = signed_in(request)
    form = await posted(request, auth)
    view = _view(request, auth, reference, f"form:{step[:64]}")
    key = _form_key(auth, form)
    declared = {t.id: t.event_name for t in web(request).definition_of(view).transitions}
    if key and web(request).service.repeated(key, reference, declared.get(step, step)):
        # A form sent twice (double click, resend): the first one took the step.
        return RedirectResponse(f"/cases/{reference}?saved={step}", status_code=303)
    transition = _step(request, auth, view, step)
    meeting = form.get("mode") == "meeting"
    inputs = read_form(transition.inputs, form, [g["number"] for g in view.plan])
    role = acting_role(transition.roles, case_roles(auth.user, view))
    assert role is not None  # _step offers only steps one of the user's roles may take
    lang = locale_of(request, auth.user.locale)
    try:
        result = web(request).service.trigger(
            reference,
            transition.event_name,
            inputs,
            auth.user.actor(role),
            idempotency_key=key,
            purpose=transition.id,
        )
    except RejectedError as refused:
        message, errors = _refusal(refused.rejection, lang)
        return _step_form(
            request,
            view,
            transition,
            form,
            meeting=meeting,
            status_code=422,
            message=message,
            errors=errors,
        )
    except ConflictError:
        return _step_form(
            request,
            view,
            transition,
            form,
            meeting=meeting,
            status_code=409,
            message=word("conflict", lang),
        )
    if not result.repeated:
        web(request).on_step(result)
    return RedirectResponse(f"/cases/{reference}?saved={transition.id}", status_code=303)


def _form_key(auth: Authenticated, form: FormData) -> str | None:
    """The form's one-time key, scoped to the user: a resent form repeats nothing."""
    key = form.get("idempotency_key")
    if not key:
        return None
    return "web:" + hashlib.sha256(f"{auth.user.person_id}\0{key}".encode()).hexdigest()


def _refusal(rejection: Rejection, lang: str) -> tuple[str, dict[str, str]]:
    errors = {e.name: e.text(lang) for e in rejection.field_errors}
    message = word("errors_heading", lang) if errors else rejection.text(lang)
    return message, errors


# --- referral --------------------------------------------------------------------

#: Inputs the service fills in itself (the age is computed from the birth date).
COMPUTED_INPUTS = frozenset({"age"})


def _referral_inputs(definition: Definition) -> list[Any]:
    return [i for i in definition.referral.inputs if i.name not in COMPUTED_INPUTS]


def _refer_form(
    request: Request,
    definition: Definition | None,
    form: FormData,
    *,
    status_code: int = 200,
    message: str | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    auth = signed_in(request)
    lang = locale_of(request, auth.user.locale)
    return web(request).pages.render(
        request,
        "refer.html",
        status_code,
        definitions=web(request).definitions_for(auth.user),
        d=definition,
        fields=form_fields(definition, _referral_inputs(definition), lang) if definition else [],
        form=form,
        message=message,
        errors=errors or {},
        idempotency_key=form.get("idempotency_key") or uuid.uuid4().hex,
        staff=web(request).accounts.staff(auth.user.municipality_code),
        rows={},
    )


def _definition(request: Request, wanted: str) -> Definition | None:
    choices = web(request).definitions_for(signed_in(request).user)
    if len(choices) == 1 and not wanted:
        return choices[0]
    return next((d for d in choices if d.id == wanted), None)


@router.get("/refer")
def refer_page(request: Request, definition: str = "") -> Response:
    signed_in(request)
    return _refer_form(request, _definition(request, definition), FormData([]))


@router.post("/refer")
async def refer(request: Request) -> Response:
    auth = signed_in(request)
    form = await posted(request, auth)
    definition = _definition(request, form.get("definition"))
    lang = locale_of(request, auth.user.locale)
    if definition is None:
        return _refer_form(request, None, form, status_code=422)
    person, errors = _young_person(form, lang)
    inputs = read_form(_referral_inputs(definition), form, [])
    role = acting_role(definition.referral.roles, auth.user.roles)
    if role is None:
        message = word("step_not_available", lang)
        return _refer_form(request, definition, form, status_code=403, message=message)
    if person is None:
        return _refer_form(
            request,
            definition,
            form,
            status_code=422,
            message=word("errors_heading", lang),
            errors=errors,
        )
    try:
        result = web(request).service.refer(
            definition.id,
            person,
            auth.user.actor(role),
            inputs,
            idempotency_key=_form_key(auth, form),
        )
    except RejectedError as refused:
        message, field_errors = _refusal(refused.rejection, lang)
        return _refer_form(
            request,
            definition,
            form,
            status_code=422,
            message=message,
            errors=field_errors,
        )
    except WorkflowError as error:
        return _refer_form(request, definition, form, status_code=409, message=str(error))
    if not result.repeated:
        web(request).on_step(result)
    return RedirectResponse(f"/cases/{result.reference}?saved=refer", status_code=303)


def _young_person(form: FormData, lang: str) -> tuple[YoungPersonDetails | None, dict[str, str]]:
    name = form.get("person_name").strip()
    cpr = form.get("person_cpr").strip()
    born = form.get("person_birth_date").strip()
    errors: dict[str, str] = {}
    required = "skal udfyldes" if lang == "da" else "is required"
    if not name:
        errors["person_name"] = required
    elif len(name) > 200:
        errors["person_name"] = "højst 200 tegn" if lang == "da" else "at most 200 characters"
    if not CPR.match(cpr):
        errors["person_cpr"] = word("cpr_help", lang)
    birth: date | None = None
    try:
        birth = date.fromisoformat(born)
    except ValueError:
        errors["person_birth_date"] = required if not born else "ÅÅÅÅ-MM-DD"
    if birth is not None and CPR.match(cpr) and cpr[:6] != birth.strftime("%d%m%y"):
        errors["person_cpr"] = (
            "de første 6 cifre skal være fødselsdatoen (DDMMÅÅ)"
            if lang == "da"
            else "the first 6 digits must be the birth date (DDMMYY)"
        )
    if errors or birth is None:
        return None, errors
    return YoungPersonDetails(name, cpr, birth), {}
