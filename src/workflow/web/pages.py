"""The case pages: the caseload and the case page (step forms: workflow.web.step_pages)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.responses import Response

from workflow.cases.citizens import departments_withdrawn
from workflow.cases.upgrades import MIGRATED_EVENT
from workflow.definitions.models import Definition
from workflow.definitions.parts import Transition
from workflow.definitions.types import LocalizedText, text_in
from workflow.definitions.vocabulary import CaseRole, InputType, StageKind
from workflow.engine.steps import next_steps, open_meeting_kinds
from workflow.store.caseload import CaseloadQuery
from workflow.store.reading import CaseView
from workflow.texts import TEXTS, text
from workflow.web.consent_forms import (
    covered_departments,
)
from workflow.web.context import (
    WebContext,
    case_roles,
    choice_label,
    displayed,
    holds_the_case,
    pause_of,
    young_persons_words,
)
from workflow.web.definition_texts import local
from workflow.web.dependencies import Caseloads, PostedForm, SignedIn, Web
from workflow.web.identity import Authenticated
from workflow.web.meetings import (
    is_open,
    kind_name,
    names_of,
    next_meeting,
    participant_names,
    staff_ids,
    unrecorded_meeting,
    with_parents,
)
from workflow.web.page_support import (
    PageNotFoundError,
    actor_person,
    actor_words,
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
        reference_example=web.reference_example(auth.user),
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
    parents = with_parents(people, view.guardians, lang)  # a meeting's parent by name
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
            everything=holds_the_case(roles),
            today=now.astimezone(ZoneInfo(definition.calendar.timezone)).date(),
        ),
        unrecorded=None if upcoming else unrecorded_meeting(view.meetings, now),
        meetings=sorted(view.meetings, key=lambda m: m["starts_at"]),
        attendees={
            # (meetings still to come: one held before the withdrawal keeps its names)
            m["id"]: participant_names(
                m, parents, young_person, lang, departments_withdrawn(view) if is_open(m) else ()
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
        plan_people=names_of(plan["participants"], parents, young_person, lang) if plan else "",
        # "(koordinator)" in the municipality's word: "(tovholder)" in Sorø.
        actors={
            h["actor"]: actor_words(h["actor"], people, lang, coordinator_word(definition, lang))
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


def _writes_plan(transition: Transition) -> bool:
    return any(i.type is InputType.GOALS for i in transition.inputs)
