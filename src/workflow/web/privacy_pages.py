"""The case's privacy pages: consent, the logged CPR reveal, export and the access log.

Every route goes through the service layer, which applies the access rule and writes
the audit log; these handlers only read forms and render.
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
from workflow.web.page_support import posted, signed_in, web
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
async def give_consent(request: Request, reference: str) -> Response:
    auth = signed_in(request)
    form = await posted(request, auth)
    consent = ConsentRequest(
        departments=form.getlist("departments"),
        categories=form.getlist("categories"),
        given_on=_day(form.get("given_on")),
        guardian=form.get("guardian") == "1",
    )
    try:
        web(request).consents.give(reference, auth.user.actor(), consent)
    except InvalidRequestError as refused:
        lang = locale_of(request, auth.user.locale)
        shown = " ".join(_problem_text(problem, lang) for problem in refused.problems)
        return web(request).pages.render(
            request, "message.html", 400, heading=text("consent_refused", lang), message=shown
        )
    return RedirectResponse(f"/cases/{quote(reference)}?saved=consent", status_code=303)


def _problem_text(problem: Problem, lang: str) -> str:
    """A consent refusal in the page's language (the service words it in English)."""
    key = f"consent_problem_{problem.path}"
    return text(key, lang) if key in TEXTS else str(problem)


@router.post("/cases/{reference}/consents/withdraw")
async def withdraw_consent(request: Request, reference: str) -> Response:
    auth = signed_in(request)
    form = await posted(request, auth)
    chosen = form.getlist("department") or None
    withdrawn = web(request).consents.withdraw(reference, auth.user.actor(), chosen)
    target = f"/cases/{quote(reference)}?withdrawn={quote(', '.join(withdrawn))}"
    return RedirectResponse(target, status_code=303)


@router.post("/cases/{reference}/cpr")
async def reveal_cpr(request: Request, reference: str) -> Response:
    auth = signed_in(request)
    form = await posted(request, auth)
    purpose = (form.get("purpose") or "").strip()[:200]
    cpr = web(request).service.reveal_cpr(reference, auth.user.actor(), purpose)
    return web(request).pages.render(request, "cpr.html", reference=reference, cpr=cpr)


@router.get("/cases/{reference}/export")
def export_case(request: Request, reference: str, purpose: str = "") -> Response:
    auth = signed_in(request)
    data = web(request).audit.export(reference, auth.user.actor(), purpose[:200] or None)
    body = json.dumps(data, default=str, ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{quote(reference)}.json"'},
    )


@router.get("/cases/{reference}/access-log")
def access_log(request: Request, reference: str, purpose: str = "") -> Response:
    auth = signed_in(request)
    entries = web(request).audit.access_log(reference, auth.user.actor(), purpose[:200] or None)
    return web(request).pages.render(
        request, "access_log.html", reference=reference, entries=entries
    )
