"""The JSON API's account endpoints: API tokens, who am I, the processes one can refer to."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from workflow.privacy.accounts import AccountError
from workflow.web.api_models import (
    DefinitionInfo,
    FieldProblem,
    Me,
    PasswordChange,
    PasswordChanged,
    TokenOut,
    TokenRequest,
    TokenResponse,
)
from workflow.web.api_support import (
    SCOPE_KEY,
    ApiProblemError,
    Caller,
    TokenId,
    inputs_info,
    responses,
)
from workflow.web.definition_texts import local
from workflow.web.dependencies import Accounts, Web
from workflow.web.identity import SESSION_COOKIE, bearer_token

router = APIRouter(prefix="/v1", tags=["account"])


@router.post(
    "/tokens",
    status_code=201,
    response_model=TokenResponse,
    responses=responses(401, 422, 429),
    summary="Log in and get an API token (scopes: read and act unless others are asked)",
)
def create_token(
    body: TokenRequest, request: Request, web: Web, accounts: Accounts
) -> TokenResponse:
    # A plain def: the password is hashed (argon2) off the event loop. A refused login
    # (LoginRefusedError) is answered 401 by the API's error answers, a throttled one 429.
    login = accounts.login(
        body.username,
        body.password,
        kind="api",
        address=web.identity.address(request),
        scopes=body.scopes,
        name=body.name,
    )
    return TokenResponse(
        token=login.token,
        expires_at=login.expires_at,
        id=login.token_id,
        scopes=list(login.scopes),
    )


@router.get(
    "/tokens",
    response_model=list[TokenOut],
    responses=responses(401, 403),
    summary="Your live sessions and API tokens (never the tokens themselves)",
)
def list_tokens(accounts: Accounts, auth: Caller) -> list[TokenOut]:
    return [
        TokenOut(
            id=t.id,
            kind=t.kind,
            name=t.name,
            scopes=list(t.scopes),
            created_at=t.created_at,
            expires_at=t.expires_at,
            current=t.id == auth.token_id,
        )
        for t in accounts.tokens(auth.user.username)
    ]


@router.delete(
    "/tokens/current",
    status_code=204,
    responses=responses(401, 403),
    summary="Log out: end the token used for this request",
    openapi_extra={SCOPE_KEY: "read"},  # any token may end itself
)
def delete_token(request: Request, accounts: Accounts, auth: Caller) -> Response:
    token = bearer_token(request) or request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.logout(token)
    return Response(status_code=204)


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    responses=responses(401, 403, 404),
    summary="End one of your sessions or API tokens by its id",
    openapi_extra={SCOPE_KEY: "read"},  # ending a token only takes rights away
)
def revoke_token(token_id: TokenId, accounts: Accounts, auth: Caller) -> Response:
    if not accounts.revoke(auth.user.username, token_id, by=auth.user.audit_name):
        raise ApiProblemError(
            404,
            "not_found",
            f"you have no live session or token '{token_id}': see GET /api/v1/tokens",
        )
    return Response(status_code=204)


@router.post(
    "/me/password",
    response_model=PasswordChanged,
    responses=responses(401, 403, 429),
    summary="Change your password: your other sessions and tokens end, this one goes on",
)
def change_password(
    body: PasswordChange, request: Request, web: Web, accounts: Accounts, auth: Caller
) -> PasswordChanged:
    token = bearer_token(request) if auth.via == "bearer" else request.cookies.get(SESSION_COOKIE)
    if not token:  # the trusted header: the password is the identity provider's
        raise ApiProblemError(
            403, "forbidden", "your password is kept by your identity provider; change it there"
        )
    try:
        ended = accounts.change_password(
            token, body.current_password, body.new_password, address=web.identity.address(request)
        )
    except AccountError as error:
        name, _, problem = str(error).partition(": ")
        field = "current_password" if name == "current_password" else "new_password"
        raise ApiProblemError(
            422, "invalid", str(error), [FieldProblem(field=f"body.{field}", message=problem)]
        ) from None
    return PasswordChanged(ended=ended)


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
