"""The case pages: caseload, case page, step forms and meeting mode."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from workflow.cases.citizens import departments_withdrawn
from workflow.cases.consent_at_start import ConsentScopeError
from workflow.cases.model import RejectedError
from workflow.cases.upgrades import MIGRATED_EVENT
from workflow.definitions.models import Definition
from workflow.definitions.parts import Transition
from workflow.definitions.types import LocalizedText, text_in
from workflow.definitions.vocabulary import PREVIOUS_STAGE, CaseRole, InputType, StageKind
from workflow.engine.meetings import own_themes
from workflow.engine.steps import next_steps, open_meeting_kinds
from workflow.errors import ConflictError
from workflow.privacy.staff_roster import StaffMember
from workflow.store.caseload import CaseloadQuery
from workflow.store.reading import CaseView
from workflow.texts import TEXTS, text
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
    choice_label,
    displayed,
    entered_by,
    pause_of,
    steps_for,
    young_persons_words,
)
from workflow.web.definition_texts import local
from workflow.web.dependencies import Caseloads, Cases, Consents, PostedForm, SignedIn, Web
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
    kind_name,
    left_out,
    names_of,
    next_meeting,
    participant_names,
    staff_ids,
    unrecorded_meeting,
)
from workflow.web.page_support import (
    PageNotFoundError,
    actor_person,
    actor_words,
    form_key,
    refusal,
)
from workflow.web.progress_view import progress_of
from workflow.web.rendering import locale_of
from workflow.web.role_words import coordinator_word, in_own_words, role_name
from workflow.web.task_views import people_of_tasks, task_rows, task_title, task_titles

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
REFERRAL_NAME = LocalizedText(**TEXTS["referral"])
#: The history event of a definition upgrade (workflow.cases.upgrades), named on the timeline.
MIGRATED_NAME = LocalizedText(**TEXTS["definition_migrated"])


#: The caseload's views by standing: all, mine as caseworker, as coordinator, on the team.
STANDINGS = ("caseworker", "coordinator", "team_member")


@router.get("/")
def caseload_page(  # noqa: PLR0913 - the page's query parameters
    request: Request,
    web: Web,
    caseloads: Caseloads,
    auth: SignedIn,
    stage: str = "",
    overdue: str = "",
    q: str = "",
    page: int = 1,
    standing: str = "",
    referred: str = "",
) -> Response:
    page = max(1, min(page, 10_000))
    standing = standing if standing in STANDINGS else ""
    query = CaseloadQuery(
        person=auth.user.person_id,
        relation=standing or None,
        stage=stage[:64] or None,
        overdue=overdue == "1",
        search=q[:32] or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    result = caseloads.search(auth.user.audit_name, query)
    stages: dict[str, Any] = {}
    definitions = web.definitions_for(auth.user)
    for definition in definitions:
        for s in definition.stages:
            stages.setdefault(s.id, s.name)
    # "Som koordinator" in the municipality's word ("Som tovholder" in Sorø), when its
    # definitions agree on one.
    lang = locale_of(request, auth.user.locale)
    words = {coordinator_word(d, lang) for d in definitions}
    word = words.pop() if len(words) == 1 else None
    return web.pages.render(
        request,
        "caseload.html",
        result=result,
        stages=stages,
        filters={"stage": stage, "overdue": overdue == "1", "q": q, "standing": standing},
        standings={s: in_own_words(text(f"standing_{s}", lang), word) for s in STANDINGS},
        page=page,
        pages=max(1, -(-result.total // PAGE_SIZE)),
        # A referral made for another caseworker: opened, and not the referrer's to see.
        referred=referred if _REFERENCE.fullmatch(referred) else "",
    )


_REFERENCE = re.compile(r"[A-Z]{2,5}-\d{4}-\d{4,}")


# --- a case ----------------------------------------------------------------------


def case_or_missing(
    request: Request,
    web: WebContext,
    auth: Authenticated,
    reference: str,
    channel: str,
    purpose: str | None = None,
) -> tuple[CaseView, Definition]:
    """The case and its definition, or the "no such case" page.

    A purpose goes with the read only as the purpose page posts it (:func:`case_page_read`,
    with the form's CSRF token): a link or a cross-site navigation cannot write one into
    the log the citizen reads.
    """
    found = web.visible_case(auth.user, reference, channel, purpose)
    if found is None:
        lang = locale_of(request, auth.user.locale)
        raise PageNotFoundError(text("case_not_found", lang, reference=reference[:32]))
    return found


@router.get("/cases/{reference}")
def case_page(
    request: Request,
    web: Web,
    auth: SignedIn,
    reference: str,
    saved: str = "",
    withdrawn: str = "",
    task_added: str = "",
) -> Response:
    view, definition = case_or_missing(request, web, auth, reference, "case page")
    shown = CaseShown(saved=saved, withdrawn=withdrawn, task_added=task_added)
    return render_case(request, web, auth, view, definition, shown)


@router.post("/cases/{reference}")
def case_page_read(
    request: Request, web: Web, auth: SignedIn, form: PostedForm, reference: str
) -> Response:
    """The case page, read with the purpose its purpose page posts (a legal basis)."""
    purpose = form.get("purpose").strip()[:200] or None
    view, definition = case_or_missing(request, web, auth, reference, "case page", purpose)
    return render_case(request, web, auth, view, definition, CaseShown())


@dataclass(frozen=True)
class CaseShown:
    """What the case page shows besides the case: notices, and the "add a task" form as
    sent back after a refusal (its values, the errors beside its fields, the message)."""

    saved: str = ""
    withdrawn: str = ""
    task_added: str = ""
    task_form: Mapping[str, str] = field(default_factory=dict)
    task_errors: Mapping[str, str] = field(default_factory=dict)
    task_message: str = ""
    #: The consent form as sent back after a refusal: what was ticked and its date, and
    #: why it was refused (shown in the form, opened).
    consent_form: Mapping[str, Any] = field(default_factory=dict)
    consent_errors: tuple[str, ...] = ()


def render_case(
    request: Request,
    web: WebContext,
    auth: Authenticated,
    view: CaseView,
    definition: Definition,
    shown: CaseShown,
    status_code: int = 200,
) -> Response:
    """The case page (after a refused task form too, with its errors)."""
    roles = case_roles(web, auth.user, view)
    kinds = open_meeting_kinds(view.meetings)
    steps = next_steps(definition, view.stage, roles, kinds, view.refused_steps)
    lang = locale_of(request, auth.user.locale)
    now = web.clock()
    upcoming = next_meeting(view.meetings, now)
    saved_step = definition.transitions_by_id.get(shown.saved)
    people = web.staff.names(_people_of(view))
    departments = {d.id: local(d.name, lang) for d in definition.departments}
    stages = {s.id: s.name for s in definition.stages}
    young_person, plan = str(view.young_person.get("name") or ""), view.plan_meeting
    titles = task_titles([definition], lang)
    return web.pages.render(
        request,
        "case.html",
        status_code,
        view=view,
        d=definition,
        progress=progress_of(view.progress, definition, lang),
        steps=[t for t in steps if not exceptional(definition, t)],
        other_steps=[t for t in steps if exceptional(definition, t)],
        ending_steps={t.id for t in steps if _ends(definition, t)},
        meeting_steps={t.id for t in steps if _writes_plan(t)},
        roles=roles,
        saved=saved_step,
        request_saved=shown.saved,
        next_meeting=upcoming,
        # A task's due date may not have passed: its picker starts today (in Denmark).
        today=now.astimezone(ZoneInfo(definition.calendar.timezone)).date().isoformat(),
        # A meeting still booked while the course is paused cannot be held: said on its
        # card, with whether it can be moved or cancelled meanwhile (the young person's
        # page says it is not held).
        paused=bool(definition.stages_by_id[view.stage].pause)
        if view.stage in definition.stages_by_id
        else False,
        # (whoever reads: a team member's page said it could not be moved)
        paused_movable=any(
            t.meeting is not None
            and t.meeting.action != "hold"
            and view.stage in definition.source_stages(t)
            for t in definition.transitions
        ),
        pause=pause_of(
            definition,
            view,
            lang,
            everything=bool({CaseRole.CASEWORKER, CaseRole.COORDINATOR} & set(roles)),
            today=now.astimezone(ZoneInfo(definition.calendar.timezone)).date(),
        ),
        unrecorded=None if upcoming else unrecorded_meeting(view.meetings, now),
        meetings=sorted(view.meetings, key=lambda m: m["starts_at"]),
        attendees={
            # (meetings still to come: one held before the withdrawal keeps its names)
            m["id"]: participant_names(
                m, people, young_person, lang, departments_withdrawn(view) if is_open(m) else ()
            )
            for m in view.meetings
        },
        stage_names=stages,
        transition_names={"refer": REFERRAL_NAME, MIGRATED_EVENT: MIGRATED_NAME}
        | {t.id: t.name for t in definition.transitions}
        | {f"timer:{t.id}": t.name for t in definition.timers},
        timer_names={t.id: t.name for t in definition.timers},
        place=choice_label(definition, upcoming["place"], lang) if upcoming else "",
        places={m["id"]: choice_label(definition, m["place"], lang) for m in view.meetings},
        kinds={m["id"]: kind_name(definition, m["kind"], lang) for m in view.meetings},
        people=people,
        plan_people=names_of(plan["participants"], people, young_person, lang) if plan else "",
        # "(koordinator)" in the municipality's word: "(tovholder)" in Sorø.
        actors={
            h["actor"]: in_own_words(
                actor_words(h["actor"], people, lang), coordinator_word(definition, lang)
            )
            for h in view.history
        },
        manages_consent=auth.user.person_id in (view.caseworker, view.coordinator),
        # Ticked to start with: the team's departments, not one whose consent was taken
        # back (ticked, it was easy to give again by mistake).
        team_departments={m["department"] for m in view.team} - departments_withdrawn(view),
        withdrawn_departments=departments_withdrawn(view),
        coordinator_name=role_name(definition, CaseRole.COORDINATOR, lang),
        consent_notice=_consent_notice(shown.saved, shown.withdrawn, lang, definition),
        tasks=task_rows(
            view.tasks,
            names=people,
            departments=departments,
            stages={},
            lang=lang,
            now=now,
            mine=_my_tasks(view, auth.user.person_id),
            titles=titles,
        ),
        task_notice=_task_notice(view, shown.task_added, lang, titles),
        # The case's own people; a leader reads through a legal basis, each read with a
        # purpose, and is offered no form that would ask for one again and add nothing.
        may_add_task=bool(set(roles) - {CaseRole.LEADER}) and not _closed(definition, view),
        assignees=_assignees(view, people, departments, lang, definition),
        task_form=shown.task_form,
        task_errors=shown.task_errors,
        task_message=shown.task_message,
        consent_form=shown.consent_form,
        consent_errors=shown.consent_errors,
        displayed=displayed(definition, view.data, lang),
        own_words=young_persons_words(definition, view.data, lang),
    )


def _task_notice(view: CaseView, added: str, lang: str, titles: Mapping[str, str]) -> str:
    task = next((t for t in view.tasks if str(t["id"]) == added), None)
    return text("task_added_notice", lang, title=task_title(task["title"], titles)) if task else ""


def exceptional(definition: Definition, transition: Transition) -> bool:
    """Whether a step is off the course's main path, shown apart after the main steps.

    The definition language has no flag for it; it is derived from the stage graph. A step
    is exceptional when it can be taken from every stage (``from: "*"``: ending the course
    early, moving away, ageing out, pausing), or when it ends the course anywhere but at
    its main end. The main end is the final stage (or stages) a step enters from a stage
    that is not the start stage, naming the stages it is taken from (Sorø's "Afslut
    forløbet" into ``closed``); so "Start ikke forløbet" (from the start stage into
    ``declined``) is exceptional too, and "Start forløbet" is the main step beside it.
    """
    if transition.from_ == "*":
        return True
    return _ends(definition, transition) and transition.to not in _main_ends(definition)


def _ends(definition: Definition, transition: Transition) -> bool:
    """Whether the step enters a final stage (it ends the course)."""
    stage = definition.stages_by_id.get(str(transition.to))
    return stage is not None and stage.kind is StageKind.FINAL


def _main_ends(definition: Definition) -> set[str]:
    """The final stages the course ends in when it runs its course (see :func:`exceptional`)."""
    ends: set[str] = set()
    for transition in definition.transitions:
        if transition.from_ == "*" or not _ends(definition, transition):
            continue
        sources = [definition.stages_by_id.get(s) for s in definition.source_stages(transition)]
        if any(s is not None and s.kind is not StageKind.START for s in sources):
            ends.add(str(transition.to))
    return ends


def _my_tasks(view: CaseView, person: str) -> list[int]:
    """The tasks on the case the person may mark done: their own, and their department's."""
    mine = {m["department"] for m in view.team if m["person"] == person}
    return [t["id"] for t in view.tasks if t["assignee"] == person or t["assignee"] in mine]


def _assignees(
    view: CaseView,
    people: Mapping[str, str],
    departments: Mapping[str, str],
    lang: str,
    definition: Definition,
) -> list[tuple[str, str]]:
    """Who a task can be given to: the people with a standing on the case, in words (the
    coordinator by the municipality's name for the role: Sorø's "Tovholder")."""
    found: dict[str, str] = {}
    for person, role in ((view.caseworker, "caseworker"), (view.coordinator, "coordinator")):
        if person:
            said = role_name(definition, role, lang) if role == "coordinator" else None
            word = said or text("role_" + role, lang)
            found.setdefault(person, f"{people.get(person, person)} – {word}")
    covered = covered_departments(view)
    for member in view.team:
        person = member["person"]
        if member["department"] not in covered:
            continue  # no consent covers them: no standing, no task
        department = departments.get(member["department"], member["department"])
        found.setdefault(person, f"{people.get(person, person)} – {department}")
    return list(found.items())


def _closed(definition: Definition, view: CaseView) -> bool:
    stage = definition.stages_by_id.get(view.stage)
    return stage is not None and stage.kind is StageKind.FINAL


def _consent_notice(saved: str, withdrawn: str, lang: str, definition: Definition) -> str:
    if saved == "consent":
        return text("consent_saved", lang)
    if withdrawn:  # the departments by name, as the page names them (not their ids)
        names = [
            text_in(definition.departments_by_id[d].name, lang)
            if d in definition.departments_by_id
            else d
            for d in (part.strip() for part in withdrawn[:200].split(","))
            if d
        ]
        return text("consent_withdrawn_notice", lang, departments=", ".join(names))
    return ""


def _people_of(view: CaseView) -> set[str]:
    """The staff ids a case page names (the team, meetings' participants, tasks, the plan's
    goals, who took the steps)."""
    people = {m["person"] for m in view.team} | {view.coordinator or "", view.caseworker or ""}
    people |= {str(g["owner"]) for g in view.plan if g.get("owner")}
    people |= {p for h in view.history if (p := actor_person(str(h.get("actor") or "")))}
    return people | staff_ids(view.meetings) | people_of_tasks(view.tasks)


def _staff(web: WebContext, definition: Definition) -> list[StaffMember]:
    """The municipality's staff accounts (names for staff ids, choices for teams)."""
    code = definition.municipality.code if definition.municipality else None
    return web.staff.members(code)


def _writes_plan(transition: Transition) -> bool:
    return any(i.type is InputType.GOALS for i in transition.inputs)


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
    names = web.staff.names(staff_ids([held])) if held else {}
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
