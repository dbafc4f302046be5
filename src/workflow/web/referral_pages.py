"""The referral page: open a case for a young person."""

from __future__ import annotations

import uuid
from datetime import date
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from workflow.cases.model import GuardianDetails, RejectedError, YoungPersonDetails
from workflow.cases.referral_checks import DANISH_MOBILE, EMAIL
from workflow.cases.service import CaseService
from workflow.definitions.models import Definition
from workflow.definitions.vocabulary import CASEWORKER_ROLE
from workflow.engine.inputs import validate_inputs
from workflow.engine.steps import acting_role
from workflow.errors import WorkflowError
from workflow.privacy.accounts import User
from workflow.texts import text
from workflow.web.context import WebContext
from workflow.web.dependencies import Cases, PostedForm, SignedIn, Web
from workflow.web.forms import FormData, form_fields, read_form
from workflow.web.identity import Authenticated
from workflow.web.page_support import field_error_text, form_key, refusal
from workflow.web.rendering import locale_of

router = APIRouter(include_in_schema=False)


#: Inputs the service fills in itself (the age is computed from the birth date).
COMPUTED_INPUTS = frozenset({"age"})


def _referral_inputs(definition: Definition) -> list[Any]:
    return [i for i in definition.referral.inputs if i.name not in COMPUTED_INPUTS]


def _refer_form(
    request: Request,
    web: WebContext,
    auth: Authenticated,
    definition: Definition | None,
    form: FormData,
    *,
    status_code: int = 200,
    message: str | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    lang = locale_of(request, auth.user.locale)
    return web.pages.render(
        request,
        "refer.html",
        status_code,
        definitions=web.definitions_for(auth.user),
        d=definition,
        fields=form_fields(definition, _referral_inputs(definition), lang) if definition else [],
        form=form,
        message=message,
        errors=errors or {},
        idempotency_key=form.get("idempotency_key") or uuid.uuid4().hex,
        staff=web.staff.members(auth.user.municipality_code),
        rows={},
    )


def _definition(web: WebContext, user: User, wanted: str) -> Definition | None:
    choices = web.definitions_for(user)
    if len(choices) == 1 and not wanted:
        return choices[0]
    return next((d for d in choices if d.id == wanted), None)


@router.get("/refer")
def refer_page(request: Request, web: Web, auth: SignedIn, definition: str = "") -> Response:
    chosen = _definition(web, auth.user, definition)
    # A caseworker who refers is most often the caseworker of record: filled in, changeable.
    mine = CASEWORKER_ROLE in auth.user.roles and auth.user.person_id
    given = FormData([(CASEWORKER_ROLE, auth.user.person_id)] if mine else [])
    return _refer_form(request, web, auth, chosen, given)


@router.post("/refer")
def refer(request: Request, web: Web, cases: Cases, auth: SignedIn, form: PostedForm) -> Response:
    """Open a case (a plain ``def``: the store is written off the event loop)."""
    definition = _definition(web, auth.user, form.get("definition"))
    lang = locale_of(request, auth.user.locale)
    answer = partial(_refer_form, request, web, auth, definition, form)
    if definition is None:
        return answer(status_code=422)
    person, errors = _young_person(form, lang, cases)
    inputs = read_form(_referral_inputs(definition), form, [])
    role = acting_role(definition.referral.roles, auth.user.roles)
    if role is None:
        return answer(status_code=403, message=text("step_not_available", lang))
    if person is None:  # the referral's own fields told with the young person's, at once
        _, input_errors = validate_inputs(definition, _referral_inputs(definition), inputs)
        errors |= {e.name: field_error_text(e, lang, definition) for e in input_errors}
        return answer(status_code=422, message=text("refer_errors_heading", lang), errors=errors)
    try:
        result = cases.refer(
            definition.id,
            person,
            auth.user.actor(role),
            inputs,
            idempotency_key=form_key(auth, form),
        )
    except RejectedError as refused:
        message, field_errors = refusal(refused.rejection, lang, heading="refer_errors_heading")
        shown = {FORM_FIELDS.get(name, name): error for name, error in field_errors.items()}
        return answer(status_code=422, message=message, errors=shown)
    except WorkflowError as error:
        return answer(status_code=409, message=str(error))
    if not result.repeated:
        web.on_step(result)
    if not web.service.roles_held(result.reference, auth.user.person_id):
        # Referred for another caseworker: the referrer has no standing on the case, so
        # its page would say there is no such case; the caseload says it was opened.
        return RedirectResponse(f"/?referred={result.reference}", status_code=303)
    return RedirectResponse(f"/cases/{result.reference}?saved=refer", status_code=303)


#: The form's fields of the service's names for the young person's details.
FORM_FIELDS = {
    "young_person.name": "person_name",
    "young_person.cpr": "person_cpr",
    "young_person.birth_date": "person_birth_date",
    "young_person.email": "person_email",
    "young_person.phone": "person_phone",
    "young_person.guardians.1.name": "guardian_name",
    "young_person.guardians.1.cpr": "guardian_cpr",
    "young_person.guardians.1.email": "guardian_email",
    "young_person.guardians.1.phone": "guardian_phone",
}


_BIRTH_DATE_CODES = frozenset({"birth_date_not_past", "cpr_century", "cpr_not_birth_date"})


def _young_person(
    form: FormData, lang: str, cases: CaseService
) -> tuple[YoungPersonDetails | None, dict[str, str]]:
    """The young person of the form, or the errors beside its fields: the form's own
    (a date that is not one, contact details), and the service's rules for names and CPR
    numbers (:meth:`CaseService.person_problems`, the same on every way in)."""
    name = form.get("person_name").strip()
    cpr = form.get("person_cpr").strip()
    born = form.get("person_birth_date").strip()
    errors: dict[str, str] = {}
    birth: date | None = None
    try:
        birth = date.fromisoformat(born)
    except ValueError:
        errors["person_birth_date"] = text("required" if not born else "date_format", lang)
    email, phone = form.get("person_email").strip(), form.get("person_phone").strip()
    guardian = _guardian(form, lang, errors)
    for field_name, value in (("person_email", email), ("person_phone", phone)):
        _check_contact(field_name, value, lang, errors)
    guardians = (guardian,) if guardian else ()
    person = YoungPersonDetails(
        name, cpr, birth or date.min, email or None, phone or None, guardians
    )
    for problem in cases.person_problems(person):
        if birth is None and problem.code in _BIRTH_DATE_CODES:
            continue  # no birth date to compare with: its own error says so
        errors.setdefault(
            FORM_FIELDS.get(problem.name, problem.name), field_error_text(problem, lang)
        )
    if errors or birth is None:
        return None, errors
    return person, {}


def _check_contact(field_name: str, value: str, lang: str, errors: dict[str, str]) -> None:
    """An e-mail address or phone number, if given, must look like one."""
    if not value:
        return
    if field_name.endswith("email") and not EMAIL.fullmatch(value):
        errors[field_name] = text("email_format", lang)
    if field_name.endswith("phone") and not DANISH_MOBILE.fullmatch("".join(value.split())):
        errors[field_name] = text("phone_format", lang)


def _guardian(form: FormData, lang: str, errors: dict[str, str]) -> GuardianDetails | None:
    """The guardian of a minor, when the form names one (name and CPR number together)."""
    name = form.get("guardian_name").strip()
    cpr = form.get("guardian_cpr").strip()
    email, phone = form.get("guardian_email").strip(), form.get("guardian_phone").strip()
    if not (name or cpr or email or phone):
        return None
    _check_contact("guardian_email", email, lang, errors)
    _check_contact("guardian_phone", phone, lang, errors)
    return GuardianDetails(name, cpr, email or None, phone or None)
