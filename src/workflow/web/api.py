"""The JSON API: the same actions as the pages, for the CLI's remote mode and other systems.

Authenticate with ``POST /api/v1/tokens`` and send ``Authorization: Bearer <token>``.
A browser session cookie works too, with the ``X-CSRF-Token`` header on changes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import Response

from workflow.definitions import Definition
from workflow.definitions.models import Input
from workflow.privacy.accounts import LoginRefusedError, same_token
from workflow.web.api_models import (
    IDENTIFIER,
    REFERENCE,
    ApiError,
    DefinitionInfo,
    InputInfo,
    Me,
    TokenRequest,
    TokenResponse,
)
from workflow.web.context import context_of as web
from workflow.web.i18n import local
from workflow.web.identity import Authenticated, bearer_token


class ApiProblemError(Exception):
    """An API error response."""

    def __init__(self, status: int, error: str, message: str, fields: Any = ()) -> None:
        super().__init__(message)
        self.status = status
        self.body = ApiError(error=error, message=message, fields=list(fields))


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    meaning = {
        400: "The request is malformed",
        401: "Not logged in (no valid token or session)",
        403: "Not allowed: a session cookie without the X-CSRF-Token header, an action "
        "your access to the case does not cover, or a legal-basis read without a purpose",
        404: "No such case, process or step, or not one you have access to",
        409: "A conflict: someone changed the case at the same time, the store is busy, "
        "or the idempotency key was used for another request",
        422: "Invalid input, or the process refused the step (see fields)",
    }
    return {c: {"model": ApiError, "description": meaning[c]} for c in sorted({*codes, 400, 422})}


router = APIRouter(prefix="/api/v1", tags=["account"])


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


def inputs_info(definition: Definition, inputs: list[Input], lang: str) -> list[InputInfo]:
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


@router.post(
    "/tokens",
    status_code=201,
    response_model=TokenResponse,
    responses=responses(401, 422),
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
    responses=responses(401, 403),
    summary="Log out: end the token used for this request",
)
def delete_token(request: Request, auth: Caller) -> Response:
    token = bearer_token(request)
    if token:
        web(request).accounts.logout(token)
    return Response(status_code=204)


@router.get("/me", response_model=Me, responses=responses(401), summary="Who am I")
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
    responses=responses(401),
    summary="The processes you can refer to",
)
def definitions(request: Request, auth: Caller) -> list[DefinitionInfo]:
    lang = auth.user.locale
    return [
        DefinitionInfo(
            id=d.id,
            version=d.version,
            title=local(d.title, lang),
            municipality_code=d.municipality.code if d.municipality else "",
            referral_inputs=inputs_info(d, list(d.referral.inputs), lang),
        )
        for d in web(request).definitions_for(auth.user)
    ]
