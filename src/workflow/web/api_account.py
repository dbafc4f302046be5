"""The JSON API's account endpoints: API tokens, who am I, the processes one can refer to."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from workflow.web.api_models import DefinitionInfo, Me, TokenRequest, TokenResponse
from workflow.web.api_support import Caller, inputs_info, responses
from workflow.web.definition_texts import local
from workflow.web.dependencies import Accounts, Web
from workflow.web.identity import bearer_token

router = APIRouter(prefix="/v1", tags=["account"])


@router.post(
    "/tokens",
    status_code=201,
    response_model=TokenResponse,
    responses=responses(401, 422),
    summary="Log in and get an API token",
)
def create_token(body: TokenRequest, accounts: Accounts) -> TokenResponse:
    # A plain def: the password is hashed (argon2) off the event loop. A refused login
    # (LoginRefusedError) is answered 401 by the API's error answers.
    login = accounts.login(body.username, body.password, kind="api")
    return TokenResponse(token=login.token, expires_at=login.expires_at)


@router.delete(
    "/tokens/current",
    status_code=204,
    responses=responses(401, 403),
    summary="Log out: end the token used for this request",
)
def delete_token(request: Request, accounts: Accounts, auth: Caller) -> Response:
    token = bearer_token(request)
    if token:
        accounts.logout(token)
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
def definitions(web: Web, auth: Caller) -> list[DefinitionInfo]:
    lang = auth.user.locale
    return [
        DefinitionInfo(
            id=d.id,
            version=d.version,
            title=local(d.title, lang),
            municipality_code=d.municipality.code if d.municipality else "",
            referral_inputs=inputs_info(d, list(d.referral.inputs), lang),
        )
        for d in web.definitions_for(auth.user)
    ]
