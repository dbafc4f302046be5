"""A case's step forms and meeting mode: the form of a next step, and taking it.

The form shows the step's inputs (a team, a plan, a meeting's attendance...), what
saving it does when it ends the course, cancels a meeting, pauses or resumes it, and
after a refusal every error at once beside its field: the consent's scope, the team
members no consent covers (asked before saving) and the step's own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from workflow.cases.citizens import departments_withdrawn
from workflow.cases.consent_at_start import ConsentScopeError
from workflow.cases.model import RejectedError
from workflow.definitions.models import Definition
from workflow.definitions.parts import Transition
from workflow.definitions.vocabulary import PREVIOUS_STAGE, CaseRole, InputType, StageKind
from workflow.engine.meetings import own_themes
from workflow.errors import ConflictError
from workflow.privacy.staff_roster import StaffMember
from workflow.store.reading import CaseView
from workflow.texts import text
from workflow.web.consent_forms import (
    CONFIRM_WITHHELD,
    covered_departments,
    scope_errors,
    scope_of,
    scope_request,
    team_people,
    uncovered_team,
)
from workflow.web.context import (
    WebContext,
    acting_as,
    case_roles,
    entered_by,
    steps_for,
    young_persons_words,
)
from workflow.web.definition_texts import local
from workflow.web.dependencies import Cases, Consents, PostedForm, SignedIn, Web
from workflow.web.forms import (
    MAX_ROWS,
    ROW_FIELDS,
    FormCase,
    FormData,
    form_fields,
    read_form,
    without_blank_rows,
)
from workflow.web.identity import Authenticated
from workflow.web.meetings import (
    held_meeting,
    is_open,
    left_out,
    participant_names,
    staff_ids,
    with_parents,
)
from workflow.web.page_support import PageNotFoundError, form_key, refusal
from workflow.web.pages import case_or_missing
from workflow.web.progress_view import progress_of
from workflow.web.rendering import locale_of
from workflow.web.role_words import coordinator_word, in_own_words, role_name

router = APIRouter(include_in_schema=False)


def _staff(web: WebContext, definition: Definition) -> list[StaffMember]:
    """The municipality's staff accounts (names for staff ids, choices for teams)."""
    code = definition.municipality.code if definition.municipality else None
    return web.staff.members(code)


def _step(
    request: Request,
    web: WebContext,
    auth: Authenticated,
    view: CaseView,
    definition: Definition,
    step: str,
) -> Transition:
    for transition in steps_for(web, definition, view, auth.user):
        if transition.id == step:
            return transition
    raise PageNotFoundError(text("step_not_available", locale_of(request)))


@dataclass(frozen=True)
class StepForm:
    """A step's form on a case: the case, the step, what was filled in, and how it is shown."""

    view: CaseView
    definition: Definition
    transition: Transition
    form: FormData
    #: Meeting mode: the plan is written together, on a big screen.
    meeting: bool


def _step_page(
    request: Request,
    web: WebContext,
    shown: StepForm,
    *,
    status_code: int = 200,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    withheld: list[str] | None = None,
) -> Response:
    """The step's form, blank or again with the message and field errors of a refusal
    (``withheld``: the team persons no consent covers, to confirm before saving)."""
    lang = locale_of(request, request.state.auth.user.locale)
    definition, form, view = shown.definition, shown.form, shown.view
    staff = _staff(web, definition)
    held = held_meeting(shown.transition, view.meetings)
    names = with_parents(web.staff.names(staff_ids([held])), view.guardians, lang) if held else {}
    left = departments_withdrawn(view)
    young_person = str(view.young_person.get("name") or "")
    case = FormCase(
        meetings=view.meetings,
        held=held,
        # A member whose department's consent was withdrawn was sent the meeting's
        # cancellation: said so, and set as absent (left out, they counted as present).
        participants=participant_names(held, names, young_person, lang, left) if held else {},
        absent=frozenset(left_out(held, left)) if held else frozenset(),
        goal_themes=own_themes(definition, view.data) or None,  # none chosen yet: any
        today=web.clock().astimezone(ZoneInfo(definition.calendar.timezone)).date(),
    )
    return web.pages.render(
        request,
        "meeting.html" if shown.meeting else "step.html",
        status_code,
        view=view,
        d=definition,
        coordinator_name=role_name(definition, CaseRole.COORDINATOR, lang),
        write_plan=in_own_words(text("write_plan", lang), coordinator_word(definition, lang)),
        progress=progress_of(view.progress, definition, lang) if shown.meeting else None,
        own_words=young_persons_words(definition, view.data, lang) if shown.meeting else [],
        step=shown.transition,
        fields=form_fields(definition, shown.transition.inputs, lang, case),
        form=form,
        message=message,
        errors=errors or {},
        scope=scope_of(definition, shown.transition, lang),
        withheld=withheld or [],
        idempotency_key=form.get("idempotency_key") or uuid.uuid4().hex,
        staff=staff,
        people={s.person_id: s.display_name for s in staff},
        stage_names={s.id: s.name for s in definition.stages},
        rows=_row_counts(shown.transition, form, shown.meeting),
        consequence=_consequence(definition, shown.transition, view, lang),
        act_as=[
            role
            for role in case_roles(web, request.state.auth.user, shown.view)
            if role in shown.transition.roles
        ],
    )


def _consequence(definition: Definition, transition: Transition, view: CaseView, lang: str) -> str:
    """What saving a step that ends the course, cancels a meeting, pauses or resumes the
    course does — said above its button (a course was ended, its meeting cancelled, by
    one click on "Gem" with nothing said; "Genoptag forløbet" was a bare button)."""
    booked = [m for m in view.meetings if is_open(m)]
    target = definition.stages_by_id.get(transition.to) if transition.to else None
    if target is not None and target.kind is StageKind.FINAL:
        said = text("step_ends_course", lang, stage=local(target.name, lang))
        if booked:
            said += " " + text("step_ends_meetings", lang, count=len(booked))
        return f"{said} {text('step_cannot_undo', lang)}"
    action = getattr(transition, "meeting", None)
    if action is not None and action.action == "cancel" and booked:
        return text("step_cancels_meeting", lang)
    if target is not None and target.pause:
        return text("step_pauses_course", lang)
    current = definition.stages_by_id.get(view.stage)
    if current is not None and current.pause and transition.to == PREVIOUS_STAGE:
        back = definition.stages_by_id.get(str((entered_by(view) or {}).get("from")))
        if back is not None:
            return text("step_resumes_course", lang, stage=local(back.name, lang))
    return ""


def _row_counts(transition: Transition, form: FormData, meeting: bool) -> dict[str, int]:
    """How many rows each list input (team, goals, networks) shows: a few blank ones on a
    blank form; after a refusal the rows the user had, and one blank row more only when
    their last row is filled in (a refused form never grows by itself)."""
    blank = {InputType.TEAM: 6, InputType.GOALS: 5 if meeting else 3, InputType.NETWORKS: 3}
    counts = {}
    for item in transition.inputs:
        if item.type not in blank:
            continue
        had = form.rows(item.name)
        last = [form.get(f"{item.name}.{had - 1}.{c}").strip() for c in ROW_FIELDS[item.type]]
        more = min(had + 1, MAX_ROWS) if any(last) else had
        counts[item.name] = more if had else blank[item.type]
    return counts


@router.get("/cases/{reference}/steps/{step}")
def step_page(
    request: Request, web: Web, auth: SignedIn, reference: str, step: str, mode: str = ""
) -> Response:
    view, definition = case_or_missing(request, web, auth, reference, f"form:{step[:64]}")
    transition = _step(request, web, auth, view, definition, step)
    shown = StepForm(view, definition, transition, FormData([]), meeting=mode == "meeting")
    return _step_page(request, web, shown)


@router.post("/cases/{reference}/steps/{step}")
def take_step(
    request: Request,
    web: Web,
    cases: Cases,
    consents: Consents,
    auth: SignedIn,
    form: PostedForm,
    reference: str,
    step: str,
) -> Response:
    """Take a step from its form (a plain ``def``: the store is written off the event loop).

    A step that records the young person's consent has its consent checked first and
    recorded with the step, in its transaction (:mod:`workflow.cases.consent_at_start`);
    a team some of whom no consent covers is saved only once the form's warning is
    confirmed (:mod:`workflow.web.consent_forms`)."""
    view, definition = case_or_missing(request, web, auth, reference, f"form:{step[:64]}")
    key = form_key(auth, form)
    declared = {t.id: t.event_name for t in definition.transitions}
    if key and cases.repeated(key, reference, declared.get(step, step)):
        # A form sent twice (double click, resend): the first one took the step.
        return RedirectResponse(f"/cases/{reference}?saved={step}", status_code=303)
    transition = _step(request, web, auth, view, definition, step)
    form = without_blank_rows(transition.inputs, form)
    shown = StepForm(view, definition, transition, form, meeting=form.get("mode") == "meeting")
    inputs = read_form(transition.inputs, form, [g["number"] for g in view.plan])
    role = acting_as(transition.roles, case_roles(web, auth.user, view), form.get("act_as"))
    assert role is not None  # _step offers only steps one of the user's roles may take
    lang = locale_of(request, auth.user.locale)
    actor = auth.user.actor(role)
    consent = scope_request(transition, form)
    if consent is not None and (problems := consents.check(reference, actor, consent)):
        message = text("consent_scope_refused", lang)
        errors = scope_errors(problems, lang)
        # The step's own errors with the consent's (they came one round later).
        found = cases.check(reference, transition.event_name, inputs, actor, transition.id)
        if found is not None:
            said, beside = refusal(found, lang, definition)
            errors = beside | errors
            message = message if beside else f"{message} {said}"
        return _step_page(request, web, shown, status_code=422, message=message, errors=errors)
    covered = covered_departments(view) | set(consent.departments if consent else ())
    names = web.staff.names(team_people(transition, inputs))
    withheld = uncovered_team(definition, transition, inputs, covered, names, lang)
    if withheld and form.get(CONFIRM_WITHHELD) != "1":
        # Asked before saving; the form's other errors are said with the question, not
        # one round later.
        found = cases.check(reference, transition.event_name, inputs, actor, transition.id)
        if found is not None:
            message, errors = refusal(found, lang, definition)
            return _step_page(
                request,
                web,
                shown,
                status_code=422,
                message=message,
                errors=errors,
                withheld=withheld,
            )
        return _step_page(request, web, shown, withheld=withheld)
    try:
        result = cases.trigger(
            reference,
            transition.event_name,
            inputs,
            actor,
            idempotency_key=key,
            purpose=transition.id,
            consent=consent,
            consent_required=True,
        )
    except ConsentScopeError as refused:  # changed since the check: nothing is saved
        message = text("consent_scope_refused", lang)
        errors = scope_errors(refused.problems, lang)
        return _step_page(request, web, shown, status_code=422, message=message, errors=errors)
    except RejectedError as refused:
        message, errors = refusal(refused.rejection, lang, definition)
        return _step_page(
            request, web, shown, status_code=422, message=message, errors=errors, withheld=withheld
        )
    except ConflictError:
        return _step_page(request, web, shown, status_code=409, message=text("conflict", lang))
    if not result.repeated:
        web.on_step(result)
    return RedirectResponse(f"/cases/{reference}?saved={transition.id}", status_code=303)
