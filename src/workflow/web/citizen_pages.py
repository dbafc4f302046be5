"""The young person's and guardian's own pages, at ``/ung``: a separate app with its own
login (OpenID Connect: MitID through NemLog-in) and its own session cookie.

Mobile first and in plain Danish (English with ``?lang=en``): my plan, my team and my
coordinator, my next meeting (with a calendar file), my steps before and after a meeting,
my consent per department, who has read my case and why, withdraw or come back. Every read
and step goes through the same services as the staff app; a case that is not the
citizen's is answered like a missing one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from workflow.cases.citizens import (
    CitizenPage,
    CitizenService,
    departments_withdrawn,
    departments_without_consent,
)
from workflow.cases.model import RejectedError, StepResult
from workflow.definitions.models import Definition
from workflow.definitions.parts import Transition
from workflow.definitions.templates import when as written_when
from workflow.definitions.vocabulary import CaseRole, InputType
from workflow.delivery.ics import CalendarMeeting, published_calendar
from workflow.delivery.message import meeting_uid
from workflow.errors import CaseNotFoundError, NotAllowedError, WorkflowError
from workflow.privacy.accounts import same_token
from workflow.privacy.audit import READ_WINDOW
from workflow.privacy.citizen_sessions import Citizen, CitizenLoginRefusedError, CitizenSessions
from workflow.privacy.staff_roster import StaffRoster
from workflow.settings import Settings
from workflow.texts import LANGUAGES, TEXTS, text
from workflow.web.citizen_log import log_rows
from workflow.web.citizen_oidc import CitizenLoginError, OidcClient, check_state
from workflow.web.context import choice_label, displayed
from workflow.web.definition_texts import local
from workflow.web.forms import FormData, form_fields, read_form, without_blank_rows
from workflow.web.meetings import next_meeting
from workflow.web.page_support import refusal, secure_cookies
from workflow.web.private_logs import NO_TELEMETRY
from workflow.web.progress_view import progress_of
from workflow.web.rendering import Pages, locale_of
from workflow.web.role_words import coordinator_word

CITIZEN_COOKIE = "kui_ung"
LOGIN_COOKIE = "kui_ung_login"
ROOT = "/ung"
#: How long a started login may take at the provider.
LOGIN_WINDOW = 600
#: How long a meeting lasts in its calendar file.
MEETING_LENGTH = timedelta(hours=1)


@dataclass
class CitizenContext:
    """What the citizen pages need, built once by :func:`create_citizen_app`."""

    settings: Settings
    citizens: CitizenService
    logins: CitizenSessions
    staff: StaffRoster
    pages: Pages
    oidc: OidcClient | None
    #: Called with every step the citizen takes (as the staff app's: handed to a worker).
    on_step: Callable[[StepResult], None] = lambda _result: None


def _sign(secret: str, payload: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def _unsign(secret: str, value: str | None) -> dict[str, Any] | None:
    body, _, mac = (value or "").partition(".")
    expected = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    if not body or not hmac.compare_digest(mac, expected):
        return None
    try:
        payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body))
    except ValueError:
        return None
    return payload if payload.get("at", 0) + LOGIN_WINDOW >= time.time() else None


class _Render:
    """Renders a citizen page with the language and the citizen's CSRF token."""

    def __init__(self, context: CitizenContext, request: Request, citizen: Citizen | None):
        self.context, self.request, self.citizen = context, request, citizen
        self.lang = locale_of(request, citizen.locale if citizen else None)

    def __call__(self, template: str, status: int = 200, **values: Any) -> Response:
        values.setdefault("heading", "")
        return self.context.pages.render(
            self.request,
            template,
            status,
            citizen=self.citizen,
            csrf=self.citizen.csrf_token if self.citizen else "",
            **values,
        )

    def message(self, heading: str, message: str, status: int) -> Response:
        return self("citizen/message.html", status, heading=heading, message=message)

    def missing(self) -> Response:
        """The one answer for a case that does not exist or is not the citizen's."""
        return self.message(
            text("ung_missing_heading", self.lang), text("ung_missing", self.lang), 404
        )


def create_citizen_app(context: CitizenContext) -> FastAPI:  # noqa: C901 - the routes of one app
    """The citizen app, to be mounted at :data:`ROOT`."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, telemetry=NO_TELEMETRY)
    secure = secure_cookies(context.settings)

    def who(request: Request) -> Citizen | None:
        return context.logins.citizen(request.cookies.get(CITIZEN_COOKIE))

    @app.exception_handler(StarletteHTTPException)
    def no_such_page(request: Request, error: StarletteHTTPException) -> Response:
        """An address the app does not have (a mistyped or shortened link): the page a
        missing case gets, in the citizen's language, not the framework's JSON."""
        if error.status_code not in (404, 405):
            return Response(status_code=error.status_code, headers=error.headers)
        return _Render(context, request, who(request)).missing()

    async def form_of(request: Request) -> FormData:
        raw = await request.form()
        return FormData([(k, v) for k, v in raw.multi_items() if isinstance(v, str)])

    def checked(request: Request, form: FormData) -> tuple[Citizen, _Render] | Response:
        citizen = who(request)
        render = _Render(context, request, citizen)
        if citizen is None:
            return RedirectResponse(f"{ROOT}/", status_code=303)
        if not same_token(form.get("csrf_token"), citizen.csrf_token):
            return render.message(text("error", render.lang), text("ung_expired", render.lang), 400)
        return citizen, render

    @app.get("/")
    def home(request: Request) -> Response:
        citizen = who(request)
        render = _Render(context, request, citizen)
        if citizen is None:
            return render("citizen/login.html", can_login=context.oidc is not None)
        cases = context.citizens.my_cases(citizen)
        if len(cases) == 1:
            return RedirectResponse(f"{ROOT}/cases/{cases[0][0].reference}", status_code=303)
        shown = [
            {
                "reference": case.reference,
                "guardian": case.role == "guardian",
                "owner": _genitive(case.first_name, render.lang) if case.first_name else "",
                "where": definition.municipality.name if definition.municipality else "",
                "stage": local(definition.stages_by_id[case.stage].name, render.lang),
                "opened": case.opened_at,
            }
            for case, definition in cases
        ]
        following = all(case["guardian"] for case in shown)  # none of them their own
        return render("citizen/cases.html", cases=shown, following=following)

    @app.get("/login")
    def login(request: Request) -> Response:
        render = _Render(context, request, None)
        if context.oidc is None:
            return render.message(
                text("error", render.lang), text("ung_no_login", render.lang), 503
            )
        start = context.oidc.start()
        response = RedirectResponse(start.url, status_code=303)
        state = {"s": start.state, "n": start.nonce, "v": start.code_verifier, "at": time.time()}
        response.set_cookie(
            LOGIN_COOKIE,
            _sign(context.settings.secret_key.get_secret_value(), state),
            max_age=LOGIN_WINDOW,
            httponly=True,
            samesite="lax",
            secure=secure,
            path=ROOT,
        )
        return response

    @app.get("/callback")
    def callback(request: Request, code: str = "", state: str = "") -> Response:
        render = _Render(context, request, None)
        started = _unsign(
            context.settings.secret_key.get_secret_value(), request.cookies.get(LOGIN_COOKIE)
        )
        failed = render.message(
            text("ung_login_failed_heading", render.lang),
            text("ung_login_failed", render.lang),
            401,
        )
        failed.delete_cookie(LOGIN_COOKIE, path=ROOT)
        if context.oidc is None or started is None or not code:
            context.logins.refused("no login in progress")
            return failed
        try:
            check_state(expected=started["s"], received=state)
            claims = context.oidc.finish(code=code, code_verifier=started["v"], nonce=started["n"])
        except CitizenLoginError as exc:
            context.logins.refused(exc.reason)
            return failed
        try:
            login = context.logins.login(claims.cpr, claims.subject, render.lang)
        except CitizenLoginRefusedError:
            unknown = render.missing()  # no case of this person: as for a missing case
            unknown.delete_cookie(LOGIN_COOKIE, path=ROOT)
            return unknown
        response = RedirectResponse(f"{ROOT}/", status_code=303)
        response.delete_cookie(LOGIN_COOKIE, path=ROOT)
        response.set_cookie(
            CITIZEN_COOKIE,
            login.token,
            max_age=int(context.logins.ttl.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=secure,
            path=ROOT,
        )
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        form = await form_of(request)
        found = checked(request, form)
        if isinstance(found, Response):
            return found
        context.logins.logout(request.cookies.get(CITIZEN_COOKIE, ""))
        response = RedirectResponse(f"{ROOT}/", status_code=303)
        response.delete_cookie(CITIZEN_COOKIE, path=ROOT)
        return response

    def case_page(request: Request, citizen: Citizen, reference: str, notice: str = "") -> Response:
        render = _Render(context, request, citizen)
        try:
            page = context.citizens.page(citizen, reference)
        except CaseNotFoundError:
            return render.missing()
        return render(
            "citizen/case.html", **_case_values(context, page, render.lang), notice=notice
        )

    @app.get("/cases/{reference}")
    def show_case(request: Request, reference: str, notice: str = "") -> Response:
        citizen = who(request)
        if citizen is None:
            return RedirectResponse(f"{ROOT}/", status_code=303)
        return case_page(request, citizen, reference, notice if notice in _NOTICES else "")

    @app.get("/cases/{reference}/steps/{event}")
    def step_form(request: Request, reference: str, event: str) -> Response:
        citizen = who(request)
        if citizen is None:
            return RedirectResponse(f"{ROOT}/", status_code=303)
        return _step_page(context, request, citizen, reference, event)

    @app.post("/cases/{reference}/steps/{event}")
    async def take_step(request: Request, reference: str, event: str) -> Response:
        form = await form_of(request)
        found = checked(request, form)
        if isinstance(found, Response):
            return found
        citizen, render = found
        try:
            page = context.citizens.page(citizen, reference)
        except CaseNotFoundError:
            return render.missing()
        step = next((t for t in page.steps if t.event_name == event), None)
        if step is None:  # taken meanwhile, or the course moved on: nothing is saved
            return RedirectResponse(_course_address(request, reference, notice="not_open"), 303)
        form = without_blank_rows(step.inputs, form)
        inputs = read_form(step.inputs, form, [])
        try:
            result = context.citizens.take_step(
                citizen, reference, event, inputs, form.get("key") or None
            )
        except RejectedError as exc:
            message, errors = refusal(exc.rejection, render.lang, heading="ung_errors_heading")
            return _step_page(context, request, citizen, reference, event, message, errors, form)
        except NotAllowedError as exc:
            return render.message(
                text("error", render.lang), text(exc.text_key, render.lang, **exc.params), 403
            )
        except CaseNotFoundError:
            return render.missing()
        if not result.repeated:
            context.on_step(result)  # its notifications go out as a run of its own
        notice = "ended" if step.to == "withdrawn" else "saved"  # what the step did, said
        return RedirectResponse(f"{ROOT}/cases/{reference}?notice={notice}", status_code=303)

    @app.get("/cases/{reference}/consent")
    def consent_page(request: Request, reference: str) -> Response:
        """The consent's own address opened (the language switched on the page that asks
        before a withdrawal, a bookmark): the course page at its consent, in the language
        asked for. Nothing is withdrawn by opening an address."""
        return RedirectResponse(_course_address(request, reference, "consent-h"), 303)

    @app.post("/cases/{reference}/consent")
    async def consent(request: Request, reference: str) -> Response:
        form = await form_of(request)
        found = checked(request, form)
        if isinstance(found, Response):
            return found
        citizen, render = found
        try:
            if form.get("give") in ("own", "guardian"):  # "guardian": a page made before
                given = context.citizens.give_consent(citizen, reference)
                notice = "consent_part" if given.waiting else "consent_given"
            elif form.get("confirmed") != "1":  # a withdrawal is asked about first
                return _confirm_withdrawal(context, render, citizen, reference, form)
            else:
                context.citizens.withdraw_consent(citizen, reference, form.get("department"))
                notice = "consent_withdrawn"
        except CaseNotFoundError:
            return render.missing()
        except NotAllowedError as exc:
            return render.message(
                text("error", render.lang), text(exc.text_key, render.lang, **exc.params), 403
            )
        except WorkflowError:  # e.g. a department the consent no longer covers
            return render.message(
                text("error", render.lang), text("ung_consent_not_changed", render.lang), 400
            )
        return RedirectResponse(f"{ROOT}/cases/{reference}?notice={notice}", status_code=303)

    @app.post("/cases/{reference}/come-back")
    async def come_back(request: Request, reference: str) -> Response:
        form = await form_of(request)
        found = checked(request, form)
        if isinstance(found, Response):
            return found
        citizen, render = found
        try:
            result = context.citizens.come_back(citizen, reference)
        except CaseNotFoundError:
            return render.missing()
        except WorkflowError:
            return render.message(
                text("error", render.lang), text("ung_come_back_failed", render.lang), 400
            )
        return RedirectResponse(
            f"{ROOT}/cases/{result.reference}?notice=come_back", status_code=303
        )

    @app.get("/cases/{reference}/log")
    def access_log(request: Request, reference: str) -> Response:
        citizen = who(request)
        if citizen is None:
            return RedirectResponse(f"{ROOT}/", status_code=303)
        render = _Render(context, request, citizen)
        try:
            shown, membership = context.citizens.access_log(citizen, reference)
        except CaseNotFoundError:
            return render.missing()
        guardian = membership.role == "guardian"
        rows = log_rows(shown, guardian, render.lang)
        minutes = int(READ_WINDOW.total_seconds() // 60)
        return render(
            "citizen/log.html",
            reference=reference,
            rows=rows,
            window=minutes,
            guardian=guardian,
            coordinator_word=coordinator_word(shown.definition, render.lang),
        )

    @app.get("/cases/{reference}/meeting.ics")
    def meeting_file(request: Request, reference: str) -> Response:
        citizen = who(request)
        render = _Render(context, request, citizen)
        if citizen is None:
            return RedirectResponse(f"{ROOT}/", status_code=303)
        try:
            page = context.citizens.page(citizen, reference)
        except CaseNotFoundError:
            return render.missing()
        meeting = _next_meeting(page, context)
        if meeting is None:
            return render.missing()
        # The meeting's own UID and sequence: the same event as its mailed invitation,
        # so a calendar that has one updates it rather than adding another.
        key = meeting.get("key")
        calendar_meeting = CalendarMeeting(
            uid=meeting_uid(reference, int(key))
            if key
            else f"{reference}-{meeting['id']}@workflow",
            sequence=int(meeting.get("sequence") or 0),
            starts_at=meeting["starts_at"],
            ends_at=meeting.get("ends_at") or meeting["starts_at"] + MEETING_LENGTH,
            summary=text(
                "meeting_summary",
                render.lang,
                title=_meeting_title(page, meeting, render.lang),
                reference=reference,
            ),
            description=reference,
            location=choice_label(page.definition, meeting["place"], render.lang) or None,
        )
        # A file put into one's own calendar (not an invitation to answer), made now.
        body = published_calendar(
            calendar_meeting,
            stamp=context.citizens.uow.clock(),
            timezone=page.definition.calendar.timezone,
        )
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{reference}.ics"'},
        )

    return app


_NOTICES = frozenset(
    (
        "saved",
        "ended",
        "consent_given",
        "consent_part",
        "consent_withdrawn",
        "come_back",
        "not_open",
    )
)


def _course_address(request: Request, reference: str, anchor: str = "", notice: str = "") -> str:
    """The course page's address, in the language the request asked for (if it did)."""
    query = {"notice": notice} if notice else {}
    if (lang := request.query_params.get("lang")) in LANGUAGES:
        query["lang"] = str(lang)
    address = f"{ROOT}/cases/{quote(reference)}"
    address += f"?{urlencode(query)}" if query else ""
    return address + (f"#{anchor}" if anchor else "")


def _confirm_withdrawal(
    context: CitizenContext, render: _Render, citizen: Citizen, reference: str, form: FormData
) -> Response:
    """Before a withdrawal: which department, by name, and what withdrawing means."""
    page = context.citizens.page(citizen, reference)
    department = form.get("department")
    known = page.definition.departments_by_id.get(department)
    if known is None:
        return render.missing()
    return render(
        "citizen/consent_withdraw.html",
        heading=text("ung_withdraw_confirm_heading", render.lang),
        reference=reference,
        department=department,
        department_name=local(known.name, render.lang),
    )


def _step_name(step: Transition, lang: str) -> str:
    """A step's name as the citizen reads it (ending the course in their own words)."""
    return text("ung_step_withdraw", lang) if step.to == "withdrawn" else local(step.name, lang)


def _next_meeting(page: CitizenPage, context: CitizenContext) -> dict[str, Any] | None:
    """The next booked (or moved) meeting that has not ended; never a cancelled or held one."""
    found = next_meeting(page.view.meetings, context.citizens.uow.clock())
    return dict(found) if found is not None else None


def _meeting_title(page: CitizenPage, meeting: dict[str, Any], lang: str) -> str:
    """What the meeting is called: its kind's name, else a collaboration meeting."""
    kind = page.definition.meeting_kinds_by_id.get(meeting.get("kind") or "")
    return local(kind.name, lang) if kind else text("collaboration_meeting", lang)


def _case_values(context: CitizenContext, page: CitizenPage, lang: str) -> dict[str, Any]:
    """What the case page shows, in plain words (names of staff, never of other citizens)."""
    definition, view = page.definition, page.view
    people = {m["person"] for m in view.team} | {view.coordinator, view.caseworker}
    names = context.staff.names(p for p in people if p)
    emails = context.staff.emails(p for p in people if p)
    departments = {d.id: local(d.name, lang) for d in definition.departments}
    themes = {t.id: local(t.name, lang) for t in definition.themes}
    stage = definition.stages_by_id.get(view.stage)
    helpers: dict[str, str] = {}
    for member in view.team:
        helpers.setdefault(member["department"], names.get(member["person"], member["person"]))
    closed = view.closed_at is not None
    withdrawn = departments_withdrawn(view)
    plan = [
        {
            "text": goal.get("text", ""),
            "status": _goal_status(goal.get("status") or "open", closed),
            "department": departments.get(goal.get("department") or "", ""),
            # A department whose consent was taken back helps no more: no name is shown
            # as helping (the team card says they are no longer part of the course).
            "helper": ""
            if goal.get("department") in withdrawn
            else helpers.get(goal.get("department") or "", ""),
            "left": goal.get("department") in withdrawn,
            "theme": themes.get(goal.get("theme") or "", ""),
        }
        for goal in view.plan
    ]
    uncovered = set(departments_without_consent(view)) if not closed else set()
    team = [
        {
            "name": names.get(m["person"], m["person"]),
            "department": departments.get(m["department"], m["department"]),
            # No longer part of the course: the consent for their department was taken back.
            "withdrawn": m["department"] in withdrawn,
            # Not yet part of the course: no consent covers their department (see below).
            "waiting": m["department"] in uncovered,
            # Nor is one written to once the course has ended (the contact line says how).
            "email": None
            if closed or m["department"] in withdrawn or m["department"] in uncovered
            else emails.get(m["person"]),
        }
        for m in view.team
    ]
    meeting = _next_meeting(page, context)
    if meeting is not None:
        local_start = meeting["starts_at"].astimezone(ZoneInfo(definition.calendar.timezone))
        meeting = meeting | {
            "place": choice_label(definition, meeting["place"], lang),
            # As the letters say it: "torsdag den 10. december 2026 kl. 14.00", and which.
            "written": written_when(local_start, lang),
            "title": _meeting_title(page, meeting, lang),
        }
    active = sorted(
        {
            d["department"]
            for given in view.consents
            if not given.get("withdrawn_at")
            for d in given["departments"]
            if not d.get("withdrawn_at")
        }
    )
    shared = [{"id": d, "name": departments.get(d, d)} for d in active]
    own_words = (
        None
        if page.is_guardian
        else {
            "topics": [themes.get(t, t) for t in view.data.get("my_topics") or []],
            "wishes": view.data.get("my_wishes") or "",
            "feedback": view.data.get("feedback_words") or "",
            # Her answers to her own steps' questions, as the forms asked them.
            "answers": _answers(definition, view.data, lang),
        }
    )
    return {
        "reference": view.reference,
        "municipality": local(definition.title, lang),
        "stage": local(stage.name, lang) if stage else view.stage,
        "closed": closed,
        "plan": plan,
        "progress": progress_of(view.progress, definition, lang),
        "team": team,
        "coordinator": names.get(view.coordinator or "", view.coordinator or ""),
        "coordinator_email": emails.get(view.coordinator or ""),
        "caseworker": names.get(view.caseworker or "", view.caseworker or ""),
        "meeting": meeting,
        "displayed": displayed(definition, view.data, lang, young_person=True),
        # Offered: not a step its guard refuses on the case as it is (feedback on a meeting
        # before any is held); its form still answers with the reason if opened anyway.
        "steps": [
            {"event": t.event_name, "name": _step_name(t, lang), "danger": t.to == "withdrawn"}
            for t in page.steps
            if t.id not in view.refused_steps
        ],
        "shared": shared,
        "guardian": page.is_guardian,
        **_consent_asked(page, departments),
        "own_words": own_words,
        "networks": _networks(definition, view.data, lang),
        "coordinator_word": coordinator_word(definition, lang),
    }


def _answers(definition: Definition, data: Mapping[str, Any], lang: str) -> list[str]:
    """The choices the young person made in her own steps, each with its question
    ("Blev jeg hørt på mødet? Delvist"), as the forms asked them."""
    shown: list[str] = []
    seen: set[str] = set()
    for transition in definition.transitions:
        if CaseRole.YOUNG_PERSON.value not in transition.roles:
            continue
        for item in transition.inputs:
            value = data.get(item.name)
            if item.type is not InputType.CHOICE or not isinstance(value, str) or item.name in seen:
                continue
            seen.add(item.name)
            answer = next((c.label for c in item.choices if c.value == value), None)
            shown.append(f"{local(item.label, lang)} {local(answer, lang) if answer else value}")
    return shown


def _genitive(name: str, lang: str) -> str:
    """Whose, as each language writes it: Danish "Emmas", "Jonas'"; English "Emma's",
    "Jonas'"."""
    if name[-1:].lower() in ("s", "x", "z"):
        return f"{name}'"
    return f"{name}s" if lang == "da" else f"{name}'s"


def _consent_asked(page: CitizenPage, departments: Mapping[str, str]) -> dict[str, Any]:
    """The team's departments no consent covers yet, by name: those the reader's yes is
    asked for (``ask``), those their yes is given for and waiting for the other's
    (``waiting``), and, to the young person, those a parent has said yes to
    (``parent_said_yes``; a guardian is not shown what the young person did)."""
    me = page.membership.role.value
    # An ended course asks no one's yes: no department takes part any more.
    uncovered = departments_without_consent(page.view) if page.view.closed_at is None else []
    parts = page.consent_parts
    ask = [d for d in uncovered if me not in parts.get(d, set())]
    parent = [d for d in ask if "guardian" in parts.get(d, set())] if me != "guardian" else []
    return {
        "ask": [departments.get(d, d) for d in ask],
        "waiting": [departments.get(d, d) for d in uncovered if d not in ask],
        "parent_said_yes": [departments.get(d, d) for d in parent],
        "consent_under": page.definition.privacy.guardian_consent_under,
    }


def _networks(definition: Definition, data: Mapping[str, Any], lang: str) -> list[str]:
    """The networks and communities the young person goes on with after the course (the
    handover's list), each as "Sorø Fodboldklub (Fritid)"."""
    shown: list[str] = []
    for name in definition.input_names_by_type.get(InputType.NETWORKS, []):
        for network in data.get(name) or []:
            if isinstance(network, Mapping) and network.get("name"):
                kind = f"kind_{network.get('kind')}"
                said = f" ({text(kind, lang)})" if kind in TEXTS else ""
                shown.append(f"{network['name']}{said}")
    return shown


def _goal_status(status: str, closed: bool) -> str:
    """A goal's status as the page words it: after the course has ended, a goal nobody
    marked is not "under way", and one not met is not "not met yet"."""
    return f"{status}_ended" if closed and status in ("open", "not_met") else status


def _step_page(
    context: CitizenContext,
    request: Request,
    citizen: Citizen,
    reference: str,
    event: str,
    message: str = "",
    errors: dict[str, str] | None = None,
    form: FormData | None = None,
) -> Response:
    render = _Render(context, request, citizen)
    try:
        page = context.citizens.page(citizen, reference)
    except CaseNotFoundError:
        return render.missing()
    step = next((t for t in page.steps if t.event_name == event), None)
    if step is None:  # the course is theirs, the step not open now (it moved on, or ended)
        return RedirectResponse(_course_address(request, reference, notice="not_open"), 303)
    fields = form_fields(page.definition, step.inputs, render.lang)
    given = {f.name: (form.getlist(f.name) if form else []) for f in fields}
    return render(
        "citizen/step.html",
        422 if message else 200,
        reference=reference,
        event=event,
        step_name=_step_name(step, render.lang),
        ending=step.to == "withdrawn",  # said what it means, and confirmed in words
        has_coordinator=bool(page.view.coordinator),
        has_meetings=_next_meeting(page, context) is not None,
        guardian=page.is_guardian,
        fields=fields,
        given=given,
        message=message,
        errors=errors or {},
        coordinator_word=coordinator_word(page.definition, render.lang),
    )
