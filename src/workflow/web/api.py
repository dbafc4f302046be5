"""The JSON API: the same actions as the pages, for the CLI's remote mode and other systems.

Authenticate with ``POST /api/v1/tokens`` and send ``Authorization: Bearer <token>``.
A browser session cookie works too, with the ``X-CSRF-Token`` header on changes.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import Response

from workflow.accounts import LoginRefusedError, same_token
from workflow.caseload import CaseloadQuery
from workflow.definitions import Definition
from workflow.definitions.models import Input
from workflow.engine import acting_role
from workflow.errors import WorkflowError
from workflow.service_types import (
    CaseNotFoundError,
    ConflictError,
    IdempotencyKeyReusedError,
    RejectedError,
    StepResult,
    YoungPersonDetails,
)
from workflow.services import CaseView
from workflow.web.api_models import (
    IDENTIFIER,
    REFERENCE,
    ApiError,
    CaseDetail,
    Caseload,
    CaseloadParams,
    CaseParams,
    CaseSummary,
    DefinitionInfo,
    FieldProblem,
    InputInfo,
    Me,
    ReferRequest,
    StepInfo,
    StepResponse,
    TokenRequest,
    TokenResponse,
    TriggerRequest,
    YoungPersonOut,
)
from workflow.web.context import WebContext, case_roles, steps_for
from workflow.web.i18n import local
from workflow.web.identity import Authenticated, bearer_token


class ApiProblemError(Exception):
    """An API error response."""

    def __init__(self, status: int, error: str, message: str, fields: Any = ()) -> None:
        super().__init__(message)
        self.status = status
        self.body = ApiError(error=error, message=message, fields=list(fields))


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    meaning = {
        400: "The request is malformed",
        401: "Not logged in (no valid token or session)",
        403: "A session cookie without the X-CSRF-Token header",
        404: "No such case, process or step, or not one you have access to",
        409: "A conflict: someone changed the case at the same time, the store is busy, "
        "or the idempotency key was used for another request",
        422: "Invalid input, or the process refused the step (see fields)",
    }
    return {c: {"model": ApiError, "description": meaning[c]} for c in sorted({*codes, 400, 422})}


router = APIRouter(prefix="/api/v1", tags=["cases"])


def web(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


#: Declares the bearer token in the OpenAPI schema; the identity layer reads it.
BEARER = HTTPBearer(auto_error=False, description="A token from POST /api/v1/tokens.")


def api_user(
    request: Request, _token: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
) -> Authenticated:
    """The caller; changes through a session cookie must carry the CSRF header."""
    auth: Authenticated | None = request.state.auth
    if auth is None:
        raise ApiProblemError(401, "not_authenticated", "log in: POST /api/v1/tokens, then Bearer")
    if (
        request.method not in ("GET", "HEAD")
        and auth.needs_csrf
        and not same_token(request.headers.get("x-csrf-token"), auth.csrf_token)
    ):
        raise ApiProblemError(403, "csrf", "send the session's CSRF token in X-CSRF-Token")
    return auth


Caller = Annotated[Authenticated, Depends(api_user)]
CaseReference = Annotated[str, Path(max_length=40, pattern=REFERENCE, examples=["SOR-2026-0001"])]
EventName = Annotated[str, Path(max_length=64, pattern=IDENTIFIER, examples=["accept_referral"])]


def _locale(auth: Authenticated) -> str:
    return auth.user.locale


def _inputs_info(definition: Definition, inputs: list[Input], lang: str) -> list[InputInfo]:
    info = []
    for item in inputs:
        choices = [c.value for c in item.choices]
        if item.type.value in ("department", "departments"):
            choices = list(definition.departments_by_id)
        elif item.type.value in ("theme", "themes"):
            choices = [t.id for t in definition.themes]
        info.append(
            InputInfo(
                name=item.name,
                type=item.type.value,
                label=local(item.label, lang),
                required=item.required,
                choices=choices,
            )
        )
    return info


def _step_response(result: StepResult) -> StepResponse:
    return StepResponse(
        reference=result.reference,
        event=result.event,
        from_stage=result.from_stage,
        to_stage=result.to_stage,
        seq=result.seq,
        notifications=result.notifications,
        repeated=result.repeated,
    )


def _scoped_key(auth: Authenticated, key: str | None) -> str | None:
    """A caller's idempotency key, kept apart from other callers' (and short enough to store)."""
    if not key:
        return None
    digest = hashlib.sha256(f"{auth.user.person_id}\x00{key}".encode()).hexdigest()
    return f"api:{digest}"


def _key_reused() -> ApiProblemError:
    message = "this idempotency_key was already used for another request; use a new key"
    return ApiProblemError(
        409, "conflict", message, [FieldProblem(field="body.idempotency_key", message=message)]
    )


def _rejected(error: RejectedError, lang: str) -> ApiProblemError:
    fields = [
        FieldProblem(field=f"inputs.{e.name}", message=e.text(lang))
        for e in error.rejection.field_errors
    ]
    return ApiProblemError(422, "rejected", error.rejection.text(lang), fields)


@router.post(
    "/tokens",
    status_code=201,
    response_model=TokenResponse,
    responses=_responses(401, 422),
    summary="Log in and get an API token",
)
def create_token(body: TokenRequest, request: Request) -> TokenResponse:
    try:
        login = web(request).accounts.login(body.username, body.password, kind="api")
    except LoginRefusedError as refused:
        error = "locked" if refused.locked_until else "not_authenticated"
        raise ApiProblemError(401, error, str(refused)) from None
    return TokenResponse(token=login.token, expires_at=login.expires_at)


@router.delete(
    "/tokens/current",
    status_code=204,
    responses=_responses(401, 403),
    summary="Log out: end the token used for this request",
)
def delete_token(request: Request, auth: Caller) -> Response:
    token = bearer_token(request)
    if token:
        web(request).accounts.logout(token)
    return Response(status_code=204)


@router.get("/me", response_model=Me, responses=_responses(401), summary="Who am I")
def me(auth: Caller) -> Me:
    user = auth.user
    return Me(
        username=user.username,
        display_name=user.display_name,
        person_id=user.person_id,
        roles=list(user.roles),
        municipality_code=user.municipality_code,
        locale=user.locale,
    )


@router.get(
    "/definitions",
    response_model=list[DefinitionInfo],
    responses=_responses(401),
    summary="The processes you can refer to",
)
def definitions(request: Request, auth: Caller) -> list[DefinitionInfo]:
    lang = _locale(auth)
    return [
        DefinitionInfo(
            id=d.id,
            version=d.version,
            title=local(d.title, lang),
            municipality_code=d.municipality.code if d.municipality else "",
            referral_inputs=_inputs_info(d, list(d.referral.inputs), lang),
        )
        for d in web(request).definitions_for(auth.user)
    ]


@router.get(
    "/cases",
    response_model=Caseload,
    responses=_responses(401),
    summary="My caseload (as coordinator, caseworker or team member)",
)
def list_cases(
    request: Request, auth: Caller, params: Annotated[CaseloadParams, Query()]
) -> Caseload:
    limit, offset = params.limit, params.offset
    query = CaseloadQuery(
        auth.user.person_id, params.stage, params.overdue, params.q, limit, offset
    )
    page = web(request).caseload.search(auth.user.audit_name, query, purpose="api caseload")
    lang = _locale(auth)
    cases = []
    for row in page.rows:
        stage_def = page.definitions[row.definition_version_id].stages_by_id.get(row.stage)
        cases.append(
            CaseSummary(
                reference=row.reference,
                municipality_code=row.municipality_code,
                stage=row.stage,
                stage_name=local(stage_def.name, lang) if stage_def else row.stage,
                opened_at=row.opened_at,
                closed_at=row.closed_at,
                relations=list(row.relations),
                next_due=row.next_due,
                overdue=row.overdue,
            )
        )
    return Caseload(total=page.total, limit=limit, offset=offset, cases=cases)


def _view(request: Request, auth: Authenticated, reference: str, purpose: str) -> CaseView:
    context = web(request)
    missing = ApiProblemError(404, "not_found", f"no case {reference} you have access to")
    try:
        view = context.service.view(reference, auth.user.actor(auth.user.roles[0]), purpose)
    except CaseNotFoundError:
        raise missing from None
    except ConflictError as error:  # the store stayed busy
        raise ApiProblemError(409, "conflict", str(error)) from None
    definition = context.definition_of(view)
    home = auth.user.municipality_code
    if home and definition.municipality and definition.municipality.code != home:
        raise missing
    return view


@router.get(
    "/cases/{reference}",
    response_model=CaseDetail,
    responses=_responses(401, 404, 409),
    summary="A case: stage, team, plan, meetings, timers, timeline and your next steps",
)
def get_case(
    reference: CaseReference,
    request: Request,
    auth: Caller,
    params: Annotated[CaseParams, Query()],
) -> CaseDetail:
    view = _view(request, auth, reference, params.purpose)
    definition = web(request).definition_of(view)
    lang = _locale(auth)
    stage = definition.stages_by_id.get(view.stage)
    person = view.young_person
    return CaseDetail(
        reference=view.reference,
        definition=view.definition,
        definition_version=view.version,
        version=view.version,
        stage=view.stage,
        stage_name=local(stage.name, lang) if stage else view.stage,
        timezone=definition.calendar.timezone,
        opened_at=view.opened_at,
        closed_at=view.closed_at,
        young_person=YoungPersonOut(**person) if person else None,
        coordinator=view.coordinator,
        caseworker=view.caseworker,
        team=view.team,
        plan_version=view.plan_version,
        reviewed=view.reviewed,
        plan=view.plan,
        meetings=view.meetings,
        timers=view.timers,
        tasks=view.tasks,
        milestones=view.milestones,
        history=view.history,
        next_steps=[
            StepInfo(
                id=t.id,
                event=t.event_name,
                name=local(t.name, lang),
                inputs=_inputs_info(definition, list(t.inputs), lang),
            )
            for t in steps_for(definition, view, auth.user)
        ],
    )


@router.post(
    "/cases",
    status_code=201,
    response_model=StepResponse,
    responses=_responses(401, 403, 404, 409, 422),
    summary="Refer a young person: open a case",
)
def refer(body: ReferRequest, request: Request, auth: Caller) -> Any:
    context = web(request)
    lang = _locale(auth)
    definition = next(
        (d for d in context.definitions_for(auth.user) if d.id == body.definition), None
    )
    if definition is None:
        raise ApiProblemError(404, "not_found", f"no process '{body.definition}' you can refer to")
    role = acting_role(definition.referral.roles, auth.user.roles)
    if role is None:
        raise ApiProblemError(
            422, "rejected", f"your roles may not refer; these may: {definition.referral.roles}"
        )
    person = body.young_person
    if person.cpr[:6] != person.birth_date.strftime("%d%m%y"):
        raise ApiProblemError(
            422,
            "invalid",
            "the CPR number does not match the birth date",
            [FieldProblem(field="young_person.cpr", message="first 6 digits: DDMMYY of birth")],
        )
    try:
        result = context.service.refer(
            definition.id,
            YoungPersonDetails(person.name, person.cpr, person.birth_date),
            auth.user.actor(role),
            body.inputs,
            idempotency_key=_scoped_key(auth, body.idempotency_key),
        )
    except RejectedError as error:
        raise _rejected(error, lang) from None
    except IdempotencyKeyReusedError:
        raise _key_reused() from None
    except WorkflowError as error:
        raise ApiProblemError(409, "conflict", str(error)) from None
    if not result.repeated:
        context.on_step(result)
    return _step_response(result)


@router.post(
    "/cases/{reference}/events/{event}",
    response_model=StepResponse,
    responses=_responses(401, 403, 404, 409, 422),
    summary="Take a step: trigger an event on a case with its inputs",
)
def trigger(
    reference: CaseReference,
    event: EventName,
    body: TriggerRequest,
    request: Request,
    auth: Caller,
) -> StepResponse:
    context = web(request)
    lang = _locale(auth)
    view = _view(request, auth, reference, f"api:{event}")
    definition = context.definition_of(view)
    if event not in definition.transitions_by_event:
        raise ApiProblemError(404, "not_found", f"the process has no step '{event}'")
    roles = case_roles(auth.user, view)
    candidates = [t for t in steps_for(definition, view, auth.user) if t.event_name == event]
    role = acting_role(candidates[0].roles, roles) if candidates else roles[0]
    try:
        result = context.service.trigger(
            reference,
            event,
            body.inputs,
            auth.user.actor(role or roles[0]),
            idempotency_key=_scoped_key(auth, body.idempotency_key),
            purpose=event,
        )
    except CaseNotFoundError:
        raise ApiProblemError(404, "not_found", f"no case {reference}") from None
    except RejectedError as error:
        raise _rejected(error, lang) from None
    except IdempotencyKeyReusedError:
        raise _key_reused() from None
    except WorkflowError as error:
        raise ApiProblemError(409, "conflict", str(error)) from None
    if not result.repeated:
        context.on_step(result)
    return _step_response(result)
