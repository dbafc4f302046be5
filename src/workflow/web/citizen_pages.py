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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from workflow.cases.citizens import CitizenService, StillOpenError, departments_consented
from workflow.cases.model import RejectedError, StepResult
from workflow.definitions.vocabulary import PREVIOUS_STAGE, CaseRole
from workflow.delivery.ics import CalendarMeeting, published_calendar
from workflow.delivery.message import meeting_uid
from workflow.engine.vocabulary import RecipientKind
from workflow.errors import CaseNotFoundError, NotAllowedError, WorkflowError
from workflow.privacy.accounts import same_token
from workflow.privacy.audit import READ_WINDOW
from workflow.privacy.citizen_sessions import Citizen, CitizenLoginRefusedError, CitizenSessions
from workflow.privacy.staff_roster import StaffRoster
from workflow.settings import Settings
from workflow.texts import LANGUAGES, text
from workflow.web.citizen_log import log_rows
from workflow.web.citizen_oidc import CitizenLoginError, OidcClient, check_state
from workflow.web.citizen_view import (
    course_values,
    earlier_answers,
    genitive,
    meeting_title,
    next_meeting_of,
    stage_words,
    step_name,
)
from workflow.web.context import choice_label
from workflow.web.definition_texts import local
from workflow.web.forms import FormCase, FormData, form_fields, read_form, without_blank_rows
from workflow.web.page_support import refusal, secure_cookies
from workflow.web.private_logs import NO_TELEMETRY
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
                "owner": genitive(case.first_name, render.lang) if case.first_name else "",
                "where": definition.municipality.name if definition.municipality else "",
                "stage": stage_words(definition, case.stage, render.lang),
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
            # No course of this person (a parent's ends when the young person turns 18):
            # said as such, not as a page that does not exist ("log in and try again").
            unknown = render.message(
                text("ung_no_course_heading", render.lang), text("ung_no_course", render.lang), 403
            )
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
            "citizen/case.html",
            **course_values(page, context.staff, context.citizens.uow.clock(), render.lang),
            notice=notice,
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
        # What it did, said; who was told as a consent lets them be told.
        covered = departments_consented(page.view)
        notice = "ended" if step.to == "withdrawn" else _told(result, covered)
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
        except StillOpenError as open_course:  # asked already: that course, said so
            return RedirectResponse(
                f"{ROOT}/cases/{open_course.reference}?notice=still_open", status_code=303
            )
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
        meeting = next_meeting_of(page, context.citizens.uow.clock())
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
                title=meeting_title(page, meeting, render.lang),
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


def _told(result: StepResult, covered: set[str]) -> str:
    """Who the step told, as her notice says it: her team (a pause is told to all of
    it: those a consent covers), her coordinator, her caseworker, or no one (it said "din
    koordinator får besked" whoever was told)."""
    told = {
        (str(e["recipient"]["kind"]), str(e["recipient"]["id"]))
        for e in result.effects
        if e.get("type") == "Notify" and isinstance(e.get("recipient"), dict)
    }
    teams = (RecipientKind.TEAM_MEMBER, RecipientKind.DEPARTMENT)
    if any(kind in teams and department in covered for kind, department in told):
        return "saved_team"
    if (RecipientKind.ROLE, CaseRole.COORDINATOR) in told:
        return "saved"
    if (RecipientKind.ROLE, CaseRole.CASEWORKER) in told:
        return "saved_caseworker"
    return "saved_quiet"


_NOTICES = frozenset(
    (
        "saved",
        "saved_team",
        "saved_caseworker",
        "saved_quiet",
        "ended",
        "consent_given",
        "consent_part",
        "consent_withdrawn",
        "come_back",
        "still_open",
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
    zone = ZoneInfo(page.definition.calendar.timezone)
    today = context.citizens.uow.clock().astimezone(zone).date()
    fields = form_fields(page.definition, step.inputs, render.lang, FormCase(today=today))
    earlier = earlier_answers(page, event) if form is None else {}
    given = {f.name: (form.getlist(f.name) if form else earlier.get(f.name, [])) for f in fields}
    return render(
        "citizen/step.html",
        422 if message else 200,
        reference=reference,
        event=event,
        step_name=step_name(step, render.lang),
        ending=step.to == "withdrawn",  # said what it means, and confirmed in words
        # A pause and its end said in her words too (they were a bare "Send" button).
        pausing=bool(
            step.to in page.definition.stages_by_id and page.definition.stages_by_id[step.to].pause
        ),
        resuming=step.to == PREVIOUS_STAGE,
        has_coordinator=bool(page.view.coordinator),
        # Her own steps (preparing, feedback): her words are on the case for the people
        # who hold the meetings, her team too — said before she sends them (she was told
        # only that her coordinator is told).
        own_step=list(step.roles) == [CaseRole.YOUNG_PERSON],
        has_meetings=next_meeting_of(page, context.citizens.uow.clock()) is not None,
        guardian=page.is_guardian,
        fields=fields,
        # Fields a rule of the step asks for in some answers (the pause's "Andet" asks
        # what for): not marked optional, as the help beside them says when.
        ruled=set() if isinstance(step.guard, str) else {r.field for r in step.guard or ()},
        given=given,
        message=message,
        errors=errors or {},
        coordinator_word=coordinator_word(page.definition, render.lang),
    )
