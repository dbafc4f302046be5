"""The JSON API's privacy endpoints: consent, the logged CPR reveal, export, access log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query

from workflow.privacy.consents import ConsentRequest
from workflow.web.api_models import (
    PLAIN,
    AccessLogEntryOut,
    AccessLogOut,
    ConsentIn,
    ConsentOut,
    RevealIn,
    RevealOut,
    WithdrawIn,
    WithdrawOut,
)
from workflow.web.api_support import SCOPE_KEY, Caller, CaseReference, responses
from workflow.web.dependencies import Audit, Cases, Consents

router = APIRouter(prefix="/v1", tags=["privacy"])
Purpose = Annotated[
    str | None,
    Query(min_length=1, max_length=200, pattern=PLAIN, description="Why (kept in the log)."),
]


@router.post(
    "/cases/{reference}/consents",
    status_code=201,
    response_model=ConsentOut,
    responses=responses(401, 403, 404),
    summary="Record the young person's consent (caseworker or coordinator)",
)
def give_consent(
    reference: CaseReference, body: ConsentIn, consents: Consents, auth: Caller
) -> Any:
    consent = ConsentRequest(body.departments, body.categories, body.given_on, body.guardian)
    ident = consents.give(reference, auth.user.actor(), consent)
    return ConsentOut(id=ident)


@router.post(
    "/cases/{reference}/consents/withdraw",
    response_model=WithdrawOut,
    responses=responses(401, 403, 404),
    summary="Withdraw consent for some departments, or all",
)
def withdraw_consent(
    reference: CaseReference, body: WithdrawIn, consents: Consents, auth: Caller
) -> WithdrawOut:
    withdrawn = consents.withdraw(reference, auth.user.actor(), body.departments)
    return WithdrawOut(withdrawn=withdrawn)


@router.post(
    "/cases/{reference}/cpr",
    response_model=RevealOut,
    responses=responses(401, 403, 404),
    summary="Reveal the whole CPR number (one logged reveal, with a purpose)",
    openapi_extra={SCOPE_KEY: "cpr"},
)
def reveal_cpr(reference: CaseReference, body: RevealIn, cases: Cases, auth: Caller) -> RevealOut:
    cpr = cases.reveal_cpr(reference, auth.user.actor(), body.purpose)
    return RevealOut(cpr=cpr)


@router.get(
    "/cases/{reference}/export",
    responses=responses(401, 403, 404),
    summary="Export the whole case as JSON (CPR masked; logged as an export)",
)
def export_case(
    reference: CaseReference, audit: Audit, auth: Caller, purpose: Purpose = None
) -> dict[str, Any]:
    return audit.export(reference, auth.user.actor(), purpose)


@router.get(
    "/cases/{reference}/access-log",
    response_model=AccessLogOut,
    responses=responses(401, 403, 404),
    summary="The citizen's access log: when and why the case was used, without staff names",
)
def access_log(
    reference: CaseReference, audit: Audit, auth: Caller, purpose: Purpose = None
) -> AccessLogOut:
    entries = audit.access_log(reference, auth.user.actor(), purpose)
    return AccessLogOut(
        reference=reference, entries=[AccessLogEntryOut(**asdict(e)) for e in entries]
    )
