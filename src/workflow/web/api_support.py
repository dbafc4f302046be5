"""What the JSON API's routes share: the caller, path parameters, documented answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from workflow.definitions.models import Definition
from workflow.definitions.parts import Input
from workflow.definitions.vocabulary import InputType
from workflow.privacy.accounts import same_token
from workflow.web.api_models import IDENTIFIER, REFERENCE, ApiError, FieldProblem, InputInfo
from workflow.web.definition_texts import local
from workflow.web.dependencies import Auth
from workflow.web.identity import Authenticated
from workflow.web.meetings import open_meetings


class ApiProblemError(Exception):
    """An API error answer, as the route words it (status, code, message, fields)."""

    def __init__(
        self, status: int, error: str, message: str, fields: Iterable[FieldProblem] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = ApiError(error=error, message=message, fields=list(fields))


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers an operation documents (400 and 422 always)."""
    meaning = {
        400: "The request is malformed",
        401: "Not logged in (no valid token or session)",
        403: "Not allowed: a session cookie without the X-CSRF-Token header, a token "
        "without the scope the operation needs, an action your access to the case does "
        "not cover, or a legal-basis read without a purpose",
        404: "No such case, process or step, or not one you have access to",
        429: "Too many failed logins from your address or for this username: wait (see "
        "Retry-After) and try again",
        409: "A conflict: someone changed the case at the same time, the store is busy, "
        "or the idempotency key was used for another request",
        422: "Invalid input, or the process refused the step (see fields)",
    }
    return {c: {"model": ApiError, "description": meaning[c]} for c in sorted({*codes, 400, 422})}


#: Declares the bearer token in the OpenAPI schema; the identity layer reads it.
BEARER = HTTPBearer(auto_error=False, description="A token from POST /api/v1/tokens.")


async def api_user(
    request: Request,
    auth: Auth,
    _token: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Authenticated:
    """The caller; changes through a session cookie must carry the CSRF header."""
    if auth is None:
        raise ApiProblemError(401, "not_authenticated", "log in: POST /api/v1/tokens, then Bearer")
    # A read that states a purpose writes it into the log the citizen reads: through a
    # browser session it needs the CSRF header too (a cross-site link cannot send one).
    writes = request.method not in ("GET", "HEAD") or "purpose" in request.query_params
    if (
        writes
        and auth.needs_csrf
        and not same_token(request.headers.get("x-csrf-token"), auth.csrf_token)
    ):
        raise ApiProblemError(403, "csrf", "send the session's CSRF token in X-CSRF-Token")
    needed = scope_needed(request)
    if needed not in auth.scopes:
        raise ApiProblemError(
            403,
            "scope",
            f"this token may not do this: it needs the '{needed}' scope (it has "
            f"{', '.join(sorted(auth.scopes)) or 'none'}); create a token with "
            f'"scopes": [..., "{needed}"] at POST /api/v1/tokens',
        )
    return auth


#: The ``openapi_extra`` key by which a route names the token scope it needs.
SCOPE_KEY = "x-scope"


def scope_needed(request: Request) -> str:
    """The scope a route needs: its own ``x-scope``, else ``read`` to read (GET, HEAD)
    and ``act`` to change anything."""
    route = request.scope.get("route")
    extra = getattr(route, "openapi_extra", None) or {}
    if SCOPE_KEY in extra:
        return str(extra[SCOPE_KEY])
    return "read" if request.method in ("GET", "HEAD") else "act"


Caller = Annotated[Authenticated, Depends(api_user)]
CaseReference = Annotated[str, Path(max_length=40, pattern=REFERENCE, examples=["SOR-2026-0001"])]
TokenId = Annotated[
    str, Path(max_length=16, pattern=r"^[0-9a-f]{1,16}$", examples=["9f2c41d07be3a815"])
]
EventName = Annotated[str, Path(max_length=64, pattern=IDENTIFIER, examples=["accept_referral"])]


def inputs_info(
    definition: Definition,
    inputs: list[Input],
    lang: str,
    meetings: Sequence[Mapping[str, Any]] = (),
) -> list[InputInfo]:
    """A step's inputs as the API describes them (with the choices a value may take; a
    booked meeting's are the keys of the case's booked and moved ``meetings``)."""
    info = []
    for item in inputs:
        choices = [c.value for c in item.choices]
        if item.type in (InputType.DEPARTMENT, InputType.DEPARTMENTS):
            choices = list(definition.departments_by_id)
        elif item.type in (InputType.THEME, InputType.THEMES):
            choices = [t.id for t in definition.themes]
        elif item.type is InputType.PROGRESSION and definition.progression:
            choices = [level.id for level in definition.progression.levels]
        elif item.type is InputType.MEETING_PLACE and not choices:
            choices = [r.value for r in definition.meeting_rules.rooms]
        elif item.type is InputType.BOOKED_MEETING:
            choices = [str(m["key"]) for m in open_meetings(meetings)]
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
