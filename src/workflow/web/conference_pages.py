"""The case-conference pages: a municipality's sessions, and a session's big-screen agenda.

``/conferences`` lists the sessions of the user's municipality (when its definition holds
case conferences, e.g. Horsens), plans the next one, and puts a case forward by its
reference (a refusal, such as a full agenda, is shown beside the field and nothing is
stored). ``/conferences/{id}`` is the agenda on the meeting room's big screen: every case
in order with its time slot, one case at a time in focus with the form of the
definition's ``records`` step (the professions present, what the young person wishes, the
goal, the next concrete action); a recorded case is shown as done with its next action,
which has become its caseworker's task. The agenda holds only case references and the
conference's own fields: never a young person's name or CPR number.

Every action goes through the conference service (its access checks, the audit log, and
the case service for the recorded step). Plain ``def`` handlers: the store is used off
the event loop.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from workflow.cases.conferences import Agenda, AgendaItem
from workflow.cases.model import RejectedError
from workflow.definitions.calendar import WEEKDAYS
from workflow.definitions.models import Definition
from workflow.definitions.parts import Transition
from workflow.engine.model import Actor
from workflow.errors import (
    CaseNotFoundError,
    ConflictError,
    InvalidRequestError,
    NotAllowedError,
    Problem,
    PurposeRequiredError,
)
from workflow.privacy.accounts import User
from workflow.texts import text
from workflow.web.context import WebContext, acting_as
from workflow.web.definition_texts import local
from workflow.web.dependencies import PostedForm, SignedIn, Web
from workflow.web.forms import FormData, form_fields, read_form, without_blank_rows
from workflow.web.identity import Authenticated
from workflow.web.page_support import PageNotFoundError, refusal
from workflow.web.rendering import locale_of
from workflow.web.role_words import coordinator_word, in_own_words

router = APIRouter(include_in_schema=False)

#: The longest case reference the put-forward form reads (references are ~13 characters).
MAX_REFERENCE = 40
#: What a case reference looks like (a notice names only such a thing, e.g. HOR-2026-0001).
_REFERENCE = re.compile(r"[A-Z]{2,8}-\d{4}-\d{1,8}")
_FULL = re.compile(r"has (\d+) cases already \(at most (\d+), (\d+) minutes")


def staff_actor(user: User) -> Actor:
    """The user as the conference service knows them: it checks who, not the role."""
    return Actor(user.roles[0] if user.roles else "staff", user.person_id)


def conference_definition(web: WebContext, user: User, lang: str) -> Definition:
    """The definition of the user's municipality that holds case conferences, or 404."""
    for definition in sorted(web.catalog.current.values(), key=lambda d: d.id):
        code = definition.municipality.code if definition.municipality else None
        if definition.conferences is not None and code and code == user.municipality_code:
            return definition
    raise PageNotFoundError(text("conference_none", lang))


def _zone(definition: Definition) -> ZoneInfo:
    return ZoneInfo(definition.calendar.timezone)


def day_and_time(moment: datetime, zone: ZoneInfo, lang: str) -> str:
    """'onsdag 18.03.2026 kl. 09:00' (a session's start, in the municipality's time)."""
    local_moment = moment.astimezone(zone)
    weekday = text(f"weekday_{local_moment.weekday()}", lang)
    return text(
        "conference_when",
        lang,
        weekday=weekday,
        day=local_moment.strftime("%d.%m.%Y"),
        time=local_moment.strftime("%H:%M"),
    )


def slot(item: AgendaItem, minutes: int, zone: ZoneInfo) -> str:
    """A case's time slot on the agenda, e.g. '10:00–11:00'."""
    starts = item.starts_at.astimezone(zone)
    ends = starts + timedelta(minutes=minutes)
    return f"{starts:%H:%M}–{ends:%H:%M}"


# --- the sessions ------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    """A session as the list shows it."""

    id: int
    starts: str
    state: str
    cases: int
    #: Cases can still be put forward (a planned session with room on its agenda).
    open: bool


@dataclass(frozen=True)
class PutForward:
    """A put-forward form sent back refused: its session, what was written, and why."""

    session: int
    reference: str
    error: str


@dataclass(frozen=True)
class SessionsShown:
    """What the session list shows besides the sessions: a notice, or a refusal."""

    notice: str = ""
    refused: PutForward | None = None


def _sessions_page(
    request: Request,
    web: WebContext,
    auth: Authenticated,
    shown: SessionsShown,
    status_code: int = 200,
) -> Response:
    lang = locale_of(request, auth.user.locale)
    definition = conference_definition(web, auth.user, lang)
    spec = definition.conferences
    assert spec is not None
    assert definition.municipality is not None
    zone = _zone(definition)
    found = web.conferences.sessions(definition.municipality.code, staff_actor(auth.user))
    rows = [
        SessionRow(
            s["id"],
            day_and_time(s["starts_at"], zone, lang),
            s["state"],
            s["cases"],
            s["state"] == "planned" and s["cases"] < spec.max_cases,
        )
        for s in found
    ]
    return web.pages.render(
        request,
        "conferences.html",
        status_code,
        conference_name=local(spec.name, lang),
        rhythm=text(
            "conference_rhythm",
            lang,
            every=spec.every.amount * (7 if spec.every.unit == "weeks" else 1),
            weekday=text(f"weekday_{WEEKDAYS.index(spec.weekday)}", lang),
            time=spec.starts.strftime("%H:%M"),
            min=spec.min_cases,
            max=spec.max_cases,
            minutes=spec.minutes_per_case,
        ),
        sessions=rows,
        max_cases=spec.max_cases,
        min_cases=spec.min_cases,
        # "... sagsbehandler eller ungekoordinator på": the municipality's word for the role.
        put_forward_help=in_own_words(
            text("conference_put_forward_help", lang), coordinator_word(definition, lang)
        ),
        notice=shown.notice,
        refused=shown.refused,
        reference_max=MAX_REFERENCE,
    )


@router.get("/conferences")
def conferences_page(
    request: Request, web: Web, auth: SignedIn, planned: str = "", added: str = ""
) -> Response:
    lang = locale_of(request, auth.user.locale)
    notice = ""
    if planned.isascii() and planned.isdigit():
        notice = text("conference_planned_notice", lang)
    elif _REFERENCE.fullmatch(added):
        notice = text("conference_added_notice", lang, reference=added)
    return _sessions_page(request, web, auth, SessionsShown(notice=notice))


@router.post("/conferences")
def plan_session(request: Request, web: Web, auth: SignedIn, form: PostedForm) -> Response:
    """Plan the next session (on the conference weekday, after the last one)."""
    lang = locale_of(request, auth.user.locale)
    definition = conference_definition(web, auth.user, lang)
    assert definition.municipality is not None
    session_id = web.conferences.plan(definition.municipality.code, staff_actor(auth.user))
    return RedirectResponse(f"/conferences?planned={session_id}", status_code=303)


@router.post("/conferences/{session_id}/cases")
def put_forward(
    request: Request, web: Web, auth: SignedIn, form: PostedForm, session_id: int
) -> Response:
    """Put a case on a session's agenda; a refusal is shown beside the reference field."""
    lang = locale_of(request, auth.user.locale)
    conference_definition(web, auth.user, lang)  # a municipality with conferences only
    reference = form.get("reference").strip().upper()[:MAX_REFERENCE]
    status = 400
    if not reference:
        error = text("conference_reference_missing", lang)
    else:
        try:
            web.conferences.put_forward(session_id, reference, staff_actor(auth.user))
        except InvalidRequestError as refused:
            problem = refused.problems[0]
            if problem.path == "session":
                raise PageNotFoundError(text("conference_not_found", lang)) from None
            error = _put_forward_problem(problem, reference, lang)
        except CaseNotFoundError:
            status, error = 404, text("conference_case_not_found", lang, reference=reference)
        except (NotAllowedError, PurposeRequiredError):
            status, error = 403, text("conference_not_your_case", lang, reference=reference)
        else:
            target = f"/conferences?added={quote(reference)}#session-{session_id}"
            return RedirectResponse(target, status_code=303)
    shown = SessionsShown(refused=PutForward(session_id, reference, error))
    return _sessions_page(request, web, auth, shown, status_code=status)


def _put_forward_problem(problem: Problem, reference: str, lang: str) -> str:
    """A put-forward refusal in the page's language (the service words it in English)."""
    full = _FULL.search(problem.message)
    if full:
        cases, most, minutes = (int(n) for n in full.groups())
        return text("conference_full", lang, cases=cases, max=most, minutes=minutes)
    if "already on this session" in problem.message:
        return text("conference_already_on", lang, reference=reference)
    if "is closed" in problem.message:
        return text("conference_case_closed", lang, reference=reference)
    return str(problem)


# --- the big-screen agenda -------------------------------------------------------------


@dataclass(frozen=True)
class AgendaRow:
    """A case on the big screen: its slot and stage, and what the conference recorded."""

    position: int
    reference: str
    stage: str
    slot: str
    put_forward_by: str
    recorded: bool
    #: The conference's fields in words (this session's when recorded, else the last one's).
    answers: list[tuple[str, str]]
    next_action: str


@dataclass(frozen=True)
class RecordShown:
    """The record form as sent back after a refusal: which case, the form and its errors."""

    reference: str = ""
    form: FormData = field(default_factory=lambda: FormData([]))
    message: str = ""
    errors: Mapping[str, str] = field(default_factory=dict)
    notice: str = ""


def records_step(definition: Definition) -> Transition:
    """The step each case's outcome is recorded with (the definition's ``records``)."""
    spec = definition.conferences
    assert spec is not None
    return definition.transitions_by_id[spec.records]


def _answers(
    definition: Definition, step: Transition, data: Mapping[str, object], lang: str
) -> list[tuple[str, str]]:
    """The conference's recorded fields as label and words (departments by name)."""
    departments = {d.id: local(d.name, lang) for d in definition.departments}
    found = []
    for item in step.inputs:
        value = data.get(item.name)
        if value in (None, "", []):
            continue
        if isinstance(value, list):
            shown = ", ".join(departments.get(str(v), str(v)) for v in value)
        else:
            shown = str(value)
        found.append((local(item.label, lang), shown))
    return found


def agenda_rows(
    web: WebContext, definition: Definition, agenda: Agenda, lang: str
) -> list[AgendaRow]:
    """The agenda's cases as the big screen shows them."""
    step = records_step(definition)
    zone = _zone(definition)
    names = web.staff.names(i.put_forward_by for i in agenda.items)
    stages = {s.id: local(s.name, lang) for s in definition.stages}
    return [
        AgendaRow(
            position=item.position,
            reference=item.reference,
            stage=stages.get(item.stage, item.stage),
            slot=slot(item, agenda.minutes_per_case, zone),
            put_forward_by=names.get(item.put_forward_by, item.put_forward_by),
            recorded=item.recorded,
            answers=_answers(definition, step, item.data, lang),
            next_action=str(item.data.get("next_action") or "") if item.recorded else "",
        )
        for item in agenda.items
    ]


def _current(rows: Sequence[AgendaRow], chosen: str, reference: str) -> AgendaRow | None:
    """The case in focus: the one refused, else the one chosen, else the first not done."""
    if reference:
        return next((r for r in rows if r.reference == reference), None)
    if chosen.isascii() and chosen.isdigit() and len(chosen) < 6:
        found = next((r for r in rows if r.position == int(chosen)), None)
        if found is not None:
            return found
    return next((r for r in rows if not r.recorded), None)


def _agenda_page(
    request: Request,
    web: WebContext,
    auth: Authenticated,
    agenda: Agenda,
    shown: RecordShown,
    chosen: str = "",
    status_code: int = 200,
) -> Response:
    lang = locale_of(request, auth.user.locale)
    definition = web.catalog.by_id(agenda.definition)
    spec = definition.conferences
    assert spec is not None
    step = records_step(definition)
    rows = agenda_rows(web, definition, agenda, lang)
    current = _current(rows, chosen, shown.reference)
    done = sum(1 for r in rows if r.recorded)
    return web.pages.render(
        request,
        "conference_agenda.html",
        status_code,
        agenda=agenda,
        conference_name=local(spec.name, lang),
        day=day_and_time(agenda.starts_at, _zone(definition), lang),
        rows=rows,
        current=current,
        done=done,
        min_cases=spec.min_cases,
        fields=form_fields(definition, step.inputs, lang),
        form=shown.form,
        message=shown.message,
        errors=shown.errors,
        notice=shown.notice,
    )


def _agenda(request: Request, web: WebContext, auth: Authenticated, session_id: int) -> Agenda:
    """The session's agenda (every case on it read, audited), or 404."""
    lang = locale_of(request, auth.user.locale)
    conference_definition(web, auth.user, lang)
    try:
        return web.conferences.agenda(session_id, staff_actor(auth.user))
    except InvalidRequestError:
        raise PageNotFoundError(text("conference_not_found", lang)) from None


@router.get("/conferences/{session_id}")
def agenda_page(
    request: Request,
    web: Web,
    auth: SignedIn,
    session_id: int,
    case: str = "",
    recorded: str = "",
) -> Response:
    lang = locale_of(request, auth.user.locale)
    agenda = _agenda(request, web, auth, session_id)
    notice = ""
    if recorded and any(i.reference == recorded and i.recorded for i in agenda.items):
        notice = text("conference_recorded_notice", lang, reference=recorded)
    return _agenda_page(request, web, auth, agenda, RecordShown(notice=notice), chosen=case)


@router.post("/conferences/{session_id}/cases/{reference}")
def record_case(
    request: Request,
    web: Web,
    auth: SignedIn,
    form: PostedForm,
    session_id: int,
    reference: str,
) -> Response:
    """Record a case's outcome at the session (the definition's ``records`` step); a
    refusal is shown beside the form's fields, and nothing is recorded."""
    lang = locale_of(request, auth.user.locale)
    agenda = _agenda(request, web, auth, session_id)
    item = next((i for i in agenda.items if i.reference == reference), None)
    if item is None:
        raise PageNotFoundError(text("conference_case_not_on_agenda", lang, reference=reference))
    if item.recorded:  # a form sent twice: the first one recorded the case
        target = f"/conferences/{session_id}?recorded={quote(reference)}"
        return RedirectResponse(target, status_code=303)
    definition = web.catalog.by_id(agenda.definition)
    step = records_step(definition)
    form = without_blank_rows(step.inputs, form)
    inputs = read_form(step.inputs, form, [])
    held = web.service.roles_held(reference, auth.user.person_id)
    role = acting_as(step.roles, held, None)
    actor = Actor(role, auth.user.person_id) if role else staff_actor(auth.user)
    status, message, errors = 403, "", dict[str, str]()
    try:
        result = web.conferences.record(session_id, reference, actor, inputs)
    except RejectedError as refused:
        status = 422
        message, errors = refusal(refused.rejection, lang, definition)
    except InvalidRequestError:  # the session has not begun
        when = day_and_time(agenda.starts_at, _zone(definition), lang)
        status, message = 409, text("conference_not_begun", lang, day=when)
    except (NotAllowedError, CaseNotFoundError, PurposeRequiredError):
        message = text("conference_record_not_allowed", lang, reference=reference)
    except ConflictError:
        status, message = 409, text("conflict", lang)
    else:
        if not result.repeated:
            web.on_step(result)
        target = f"/conferences/{session_id}?recorded={quote(reference)}"
        return RedirectResponse(target, status_code=303)
    shown = RecordShown(reference, form, message, errors)
    return _agenda_page(request, web, auth, agenda, shown, status_code=status)


__all__ = ["router"]
