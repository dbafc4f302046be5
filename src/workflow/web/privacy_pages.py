"""The case's privacy pages: consent, the logged CPR reveal, export and the access log.

Every route goes through the service layer, which applies the access rule and writes
the audit log; these handlers only read forms and render. They are plain ``def``
handlers: the services' store transactions run in FastAPI's threadpool.
"""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from workflow.errors import InvalidRequestError, Problem
from workflow.privacy.consents import ConsentRequest
from workflow.texts import TEXTS, text
from workflow.web.dependencies import Audit, Cases, Consents, PostedForm, SignedIn, Web
from workflow.web.rendering import locale_of

router = APIRouter(include_in_schema=False)


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRequestError(
            [Problem(None, "given_on", f"'{text[:20]}' is not a date", "write YYYY-MM-DD")]
        ) from None


@router.post("/cases/{reference}/consents")
def give_consent(
    request: Request,
    web: Web,
    consents: Consents,
    auth: SignedIn,
    form: PostedForm,
    reference: str,
) -> Response:
    consent = ConsentRequest(
        departments=form.getlist("departments"),
        categories=form.getlist("categories"),
        given_on=_day(form.get("given_on")),
        guardian=form.get("guardian") == "1",
    )
    try:
        consents.give(reference, auth.user.actor(), consent)
    except InvalidRequestError as refused:
        lang = locale_of(request, auth.user.locale)
        shown = " ".join(_problem_text(problem, lang) for problem in refused.problems)
        return web.pages.render(
            request, "message.html", 400, heading=text("consent_refused", lang), message=shown
        )
    return RedirectResponse(f"/cases/{quote(reference)}?saved=consent", status_code=303)


def _problem_text(problem: Problem, lang: str) -> str:
    """A consent refusal in the page's language (the service words it in English)."""
    key = f"consent_problem_{problem.path}"
    return text(key, lang) if key in TEXTS else str(problem)


@router.post("/cases/{reference}/consents/withdraw")
def withdraw_consent(
    consents: Consents, auth: SignedIn, form: PostedForm, reference: str
) -> Response:
    chosen = form.getlist("department") or None
    withdrawn = consents.withdraw(reference, auth.user.actor(), chosen)
    target = f"/cases/{quote(reference)}?withdrawn={quote(', '.join(withdrawn))}"
    return RedirectResponse(target, status_code=303)


@router.post("/cases/{reference}/cpr")
def reveal_cpr(
    request: Request, web: Web, cases: Cases, auth: SignedIn, form: PostedForm, reference: str
) -> Response:
    purpose = (form.get("purpose") or "").strip()[:200]
    cpr = cases.reveal_cpr(reference, auth.user.actor(), purpose)
    return web.pages.render(request, "cpr.html", reference=reference, cpr=cpr)


@router.get("/cases/{reference}/export")
def export_case(audit: Audit, auth: SignedIn, reference: str) -> Response:
    return _export(audit, auth, reference, None)


@router.post("/cases/{reference}/export")
def export_case_with_purpose(
    audit: Audit, auth: SignedIn, form: PostedForm, reference: str
) -> Response:
    """The export, with the purpose the purpose page posts (a legal basis needs one)."""
    return _export(audit, auth, reference, form.get("purpose").strip()[:200] or None)


def _export(audit: Audit, auth: SignedIn, reference: str, purpose: str | None) -> Response:
    data = audit.export(reference, auth.user.actor(), purpose)
    body = json.dumps(data, default=str, ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{quote(reference)}.json"'},
    )


# A purpose is taken only from a posted form (with its CSRF token), never from a link: a
# cross-site navigation must not write a purpose into the log the citizen reads.


@router.get("/cases/{reference}/access-log")
def access_log(
    request: Request, web: Web, audit: Audit, auth: SignedIn, reference: str
) -> Response:
    entries = audit.access_log(reference, auth.user.actor(), None)
    return web.pages.render(request, "access_log.html", reference=reference, entries=entries)


@router.post("/cases/{reference}/access-log")
def access_log_with_purpose(
    request: Request, web: Web, audit: Audit, auth: SignedIn, form: PostedForm, reference: str
) -> Response:
    """The access log, with the purpose the purpose page posts (a legal basis needs one)."""
    purpose = form.get("purpose").strip()[:200] or None
    entries = audit.access_log(reference, auth.user.actor(), purpose)
    return web.pages.render(request, "access_log.html", reference=reference, entries=entries)
