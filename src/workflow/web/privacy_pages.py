"""The case's privacy pages: consent, the logged CPR reveal, export and the access log.

Every route goes through the service layer, which applies the access rule and writes
the audit log; these handlers only read forms and render. They are plain ``def``
handlers: the services' store transactions run in FastAPI's threadpool.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from workflow.definitions.models import Definition
from workflow.definitions.types import text_in
from workflow.definitions.vocabulary import REFER_EVENT
from workflow.errors import InvalidRequestError, Problem
from workflow.privacy.audit import READ_WINDOW, AuditService, ShownAccessLog
from workflow.privacy.consents import ConsentRequest
from workflow.texts import TEXTS, text
from workflow.web.context import WebContext
from workflow.web.dependencies import Audit, Cases, Consents, PostedForm, SignedIn, Web
from workflow.web.identity import Authenticated
from workflow.web.page_support import PageNotFoundError
from workflow.web.rendering import locale_of
from workflow.web.role_words import coordinator_word, in_own_words

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


def _consent_refused(
    request: Request,
    web: WebContext,
    auth: Authenticated,
    reference: str,
    form: PostedForm,
    refused: InvalidRequestError,
) -> Response:
    """The case page again, its consent form open with what was ticked and why it was
    refused (it was a page of its own with only a link away, and the ticks were lost)."""
    from workflow.web.pages import CaseShown, case_or_missing, render_case

    lang = locale_of(request, auth.user.locale)
    view, definition = case_or_missing(request, web, auth, reference, "case page")
    sent = {
        "departments": form.getlist("departments"),
        "categories": form.getlist("categories"),
        "guardian": form.get("guardian") == "1",
        "given_on": form.get("given_on")[:10],
    }
    errors = tuple(dict.fromkeys(_problem_text(p, lang) for p in refused.problems))
    shown = CaseShown(consent_form=sent, consent_errors=errors)
    return render_case(request, web, auth, view, definition, shown, status_code=422)


@router.post("/cases/{reference}/consents")
def give_consent(
    request: Request,
    web: Web,
    consents: Consents,
    auth: SignedIn,
    form: PostedForm,
    reference: str,
) -> Response:
    try:
        consent = ConsentRequest(
            departments=form.getlist("departments"),
            categories=form.getlist("categories"),
            given_on=_day(form.get("given_on")),
            guardian=form.get("guardian") == "1",
        )
        consents.give(reference, auth.user.actor(), consent)
    except InvalidRequestError as refused:
        return _consent_refused(request, web, auth, reference, form, refused)
    return RedirectResponse(f"/cases/{quote(reference)}?saved=consent", status_code=303)


def _problem_text(problem: Problem, lang: str) -> str:
    """A consent refusal in the page's language (the service words it in English)."""
    key = f"consent_problem_{problem.path}"
    if problem.path == "given_on" and "opened on" in problem.message:
        key = "consent_problem_given_on_before"  # before the case: not "in the future"
    elif problem.path == "given_on" and "not a date" in problem.message:
        key = "consent_problem_given_on_date"
    return text(key, lang) if key in TEXTS else str(problem)


@router.post("/cases/{reference}/consents/withdraw")
def withdraw_consent(
    request: Request,
    web: Web,
    consents: Consents,
    auth: SignedIn,
    form: PostedForm,
    reference: str,
) -> Response:
    """Withdraw consent for the departments posted (none: all) — in two steps: the first
    post answers with what would be withdrawn, by name, and what it means; only the
    confirmation (``confirmed=1``) withdraws."""
    chosen = [d for d in form.getlist("department") if d][:100] or None
    if form.get("confirmed") != "1":
        return _confirm_withdrawal(request, web, auth, reference, chosen)
    withdrawn = consents.withdraw(reference, auth.user.actor(), chosen)
    target = f"/cases/{quote(reference)}?withdrawn={quote(', '.join(withdrawn))}"
    return RedirectResponse(target, status_code=303)


def _confirm_withdrawal(
    request: Request, web: WebContext, auth: Authenticated, reference: str, chosen: list[str] | None
) -> Response:
    """The page that asks before a withdrawal: the departments and the data categories
    their consent covers, by name (the case is read for it, and the read is logged)."""
    lang = locale_of(request, auth.user.locale)
    found = web.visible_case(auth.user, reference, "consent withdrawal")
    if found is None:
        raise PageNotFoundError(text("case_not_found", lang, reference=reference[:32]))
    view, definition = found
    scope = withdrawal_scope(definition, view.consents, chosen, lang)
    return web.pages.render(
        request,
        "consent_withdraw.html",
        reference=reference,
        departments=scope.departments,
        categories=scope.categories,
        chosen=[d for d, _ in scope.departments] if chosen else [],  # none: all of them
    )


@dataclass(frozen=True)
class WithdrawalScope:
    """What a withdrawal takes away, in words: the departments and their data categories."""

    departments: list[tuple[str, str]]
    categories: list[str]


def withdrawal_scope(
    definition: Definition,
    consents: Sequence[Mapping[str, Any]],
    chosen: Sequence[str] | None,
    lang: str,
) -> WithdrawalScope:
    """The departments a consent in force covers among ``chosen`` (None: all of them), and
    the data categories of the consents that cover them — by their names, not their ids."""
    departments: dict[str, str] = {}
    categories: dict[str, str] = {}
    for consent in consents:
        active = [
            d["department"] for d in consent.get("departments", []) if d.get("withdrawn_at") is None
        ]
        hit = [d for d in active if chosen is None or d in chosen]
        for department in hit:
            known = definition.departments_by_id.get(department)
            departments[department] = text_in(known.name, lang) if known else department
        for category in consent.get("categories", []) if hit else []:
            known_category = definition.data_categories_by_id.get(category)
            categories[category] = (
                text_in(known_category.name, lang) if known_category else category
            )
    return WithdrawalScope(list(departments.items()), list(categories.values()))


@router.post("/cases/{reference}/cpr")
def reveal_cpr(
    request: Request, web: Web, cases: Cases, auth: SignedIn, form: PostedForm, reference: str
) -> Response:
    purpose = (form.get("purpose") or "").strip()[:200]
    cpr = cases.reveal_cpr(reference, auth.user.actor(), purpose)
    digits = cpr.replace("-", "")  # stored as it was typed: shown as it is written
    shown = f"{digits[:6]}-{digits[6:]}" if len(digits) == 10 else cpr
    return web.pages.render(request, "cpr.html", reference=reference, cpr=shown)


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
    return _access_log_page(request, web, audit, auth, reference, None)


@router.post("/cases/{reference}/access-log")
def access_log_with_purpose(
    request: Request, web: Web, audit: Audit, auth: SignedIn, form: PostedForm, reference: str
) -> Response:
    """The access log, with the purpose the purpose page posts (a legal basis needs one)."""
    purpose = form.get("purpose").strip()[:200] or None
    return _access_log_page(request, web, audit, auth, reference, purpose)


def _access_log_page(
    request: Request,
    web: WebContext,
    audit: AuditService,
    auth: Authenticated,
    reference: str,
    purpose: str | None,
) -> Response:
    """The access log to hand to the citizen, in words; repeated reads by one person within
    ten minutes are one line with their number (every read stays in the log itself)."""
    shown = audit.access_log_shown(reference, auth.user.actor(), purpose)
    lang = locale_of(request, auth.user.locale)
    return web.pages.render(
        request,
        "access_log.html",
        reference=reference,
        rows=access_log_rows(shown, lang),
        window=int(READ_WINDOW.total_seconds() // 60),
    )


#: Purposes the engine and the services write, by the text that names them.
_PURPOSE_KEYS = {
    "sagsbehandling": "purpose_casework",
    "samtykke": "purpose_consent_given",
    "samtykke trukket tilbage": "purpose_consent_withdrawn",
    "samtykke (egen del)": "purpose_consent_part",
    # Written by a guardian's consent before consent parts (0016): kept in old logs.
    "forældresamtykke": "purpose_parent_consent",
    "export": "purpose_export",
    "access log for the citizen": "purpose_access_log",
    "den unges egen side": "purpose_own_page",
    "den unge er henvist igen": "purpose_referred_again",
    "opgave løst": "purpose_task_done",
    "opgave tilføjet": "purpose_task_added",
    "bulk intake": "purpose_bulk_intake",
    "come back": "purpose_come_back",
    "definition migration": "purpose_definition_migration",
    "sagskonference": "purpose_conference",
}


def purpose_words(definition: Definition, purpose: str, lang: str) -> str:
    """A logged purpose in words: a step's id is the step's name, a timer's the deadline's
    name, the services' own purposes their text; a purpose a person wrote is shown as is."""
    steps = {t.id: t.name for t in definition.transitions} | {
        t.event_name: t.name for t in definition.transitions
    }
    if purpose in steps:
        return text_in(steps[purpose], lang)
    if purpose in (REFER_EVENT, "referral"):
        return text("referral", lang)
    if purpose.startswith("timer "):
        timer = next((t for t in definition.timers if t.id == purpose[6:]), None)
        if timer is not None:
            return text("purpose_timer", lang, name=text_in(timer.name, lang))
    key = _PURPOSE_KEYS.get(purpose)
    return text(key, lang) if key else purpose


def access_log_rows(shown: ShownAccessLog, lang: str) -> list[dict[str, Any]]:
    """The staff page's access log (to hand to the citizen) in words: the action and what
    it concerned, the role by name, the purpose by :func:`purpose_words`."""
    return [
        {
            "at": line.at,
            "until": line.until,
            "count": line.count,
            "action": text(f"log_{line.action}", lang),
            "what": text(f"log_what_{line.what}", lang),
            "role": in_own_words(
                _log_role(line.role, line.action, lang), coordinator_word(shown.definition, lang)
            ),
            "purpose": purpose_words(shown.definition, line.purpose, lang),
        }
        for line in shown.lines
    ]


#: The roles a refused attempt may be named by: the citizens' own (the role a member of
#: staff claimed was not held on the case, so it says nothing true of them).
_OWN_ROLES = frozenset({"young_person", "guardian", "citizen", "system"})


def _log_role(role: str, action: str, lang: str) -> str:
    """A line's role in words; a refused attempt by staff is "a member of staff" (the
    account's role, e.g. "Teammedlem", read as if they were on the young person's team)."""
    if action == "refused" and role not in _OWN_ROLES:
        return text("ung_who_user", lang)
    return text(f"role_{role}", lang) if f"role_{role}" in TEXTS else text("role_other", lang)
