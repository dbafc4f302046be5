"""The web app's pages through FastAPI's test client: log-in, CSRF, errors, roles, caseload."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from sqlalchemy import select

from tests.integration.conftest import Clock
from workflow.cases.model import GuardianDetails, RejectedError, YoungPersonDetails
from workflow.engine.model import Actor
from workflow.errors import NotAllowedError
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime
from workflow.store.tables import AuditEntry
from workflow.web.app import create_app
from workflow.web.identity import TrustedHeader

PASSWORD = "korrekt-hest-batteri"
PERSON = YoungPersonDetails("Sofie Sidetest", "0202104321", date(2010, 2, 2))
PRE_MEETING = {
    "team.0.department": "skole",
    "team.0.person": "laerer-anna",
    "coordinator": "tovholder-lise",
    "agenda": ["uddannelse"],
    "first_meeting_at": "2026-03-17T09:00",
    "meeting_room": "raadhuset_storskaerm",
}


@pytest.fixture
def runtime(sqlite_runtime: Runtime) -> Runtime:
    for username, person, roles in (
        ("mette", "cw-mette", ["caseworker"]),
        ("lise", "tovholder-lise", ["coordinator"]),
        ("anna", "laerer-anna", ["team_member"]),
    ):
        sqlite_runtime.accounts.create(
            username,
            PASSWORD,
            display_name=username.title(),
            person_id=person,
            roles=roles,
            municipality_code="340",
        )
    return sqlite_runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(
        create_app(runtime), base_url="https://testserver", follow_redirects=False
    ) as test_client:
        yield test_client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def _log_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the page's answer (a redirect on success)."""
    token = _csrf(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
    )
    return answer.text if answer.status_code != 303 else "ok"


def _refer(runtime: Runtime) -> str:
    result = runtime.service.refer(
        "soroe",
        PERSON,
        Actor("caseworker", "cw-mette"),
        {"source": "school", "caseworker": "cw-mette"},
    )
    runtime.service.trigger(
        result.reference,
        "accept_referral",
        {"young_person_agrees": True, "consent": True},
        Actor("caseworker", "cw-mette"),
    )
    runtime.consents.give(  # the young person (16) and a parent consent to sharing with school
        result.reference,
        Actor("caseworker", "cw-mette"),
        ConsentRequest(["skole"], ["education"], guardian=True),
    )
    return result.reference


def test_a_page_needs_a_login_and_comes_back_after_it(client: TestClient) -> None:
    answer = client.get("/cases/SOR-2026-0001?lang=en")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/cases/SOR-2026-0001%3Flang%3Den"


def test_five_wrong_passwords_make_this_address_wait_for_that_username(
    client: TestClient, runtime: Runtime
) -> None:
    for _ in range(5):
        assert "Forkert brugernavn eller adgangskode" in _log_in(client, "mette", "forkert-123")
    assert "Prøv igen om 1 min." in _log_in(client, "mette")  # even the right password waits
    # An unknown user gets the same answer as a wrong password.
    assert "Forkert brugernavn eller adgangskode" in _log_in(client, "nobody", PASSWORD)
    with runtime.sessions() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_type == "account")
        ).all()
    assert actions.count("login_failed") == 6
    assert actions.count("login_locked") == 1
    assert actions.count("login") == 0


def test_the_session_cookie_is_guarded_and_logout_ends_it(client: TestClient) -> None:
    token = _csrf(client.get("/login").text)
    answer = client.post(
        "/login", data={"username": "mette", "password": PASSWORD, "csrf_token": token}
    )
    cookie = answer.headers["set-cookie"]
    assert "kui_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" in cookie  # the settings' base_url is https
    page = client.get("/")
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    client.post("/logout", data={"csrf_token": _csrf(page.text)})
    client.cookies.set("kui_session", cookie.split("kui_session=")[1].split(";")[0])
    assert client.get("/").status_code == 303  # the old session no longer works


def test_a_login_form_without_its_token_is_refused(client: TestClient) -> None:
    answer = client.post("/login", data={"username": "mette", "password": PASSWORD})
    assert answer.status_code == 400
    assert "Formularen var for gammel" in answer.text


def test_a_step_posted_without_the_csrf_token_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    reference = _refer(runtime)
    _log_in(client, "mette")
    answer = client.post(f"/cases/{reference}/steps/hold_pre_meeting", data=PRE_MEETING)
    assert answer.status_code == 403
    assert "Formularen kunne ikke bekræftes" in answer.text
    assert runtime.service.view(reference, Actor("caseworker", "cw-mette"), "test").stage == (
        "pre_meeting"
    )


def test_errors_are_shown_beside_their_fields_and_the_values_are_kept(
    client: TestClient, runtime: Runtime
) -> None:
    reference = _refer(runtime)
    _log_in(client, "mette")
    form = client.get(f"/cases/{reference}/steps/hold_pre_meeting").text
    answer = client.post(
        f"/cases/{reference}/steps/hold_pre_meeting",
        data={"csrf_token": _csrf(form), "coordinator": "tovholder-lise", "agenda": []},
    )
    assert answer.status_code == 422
    html = answer.text
    assert 'id="error-team"' in html
    assert 'id="error-first_meeting_at"' in html
    assert re.search(r'id="first_meeting_at"[^>]*aria-describedby="error-first_meeting_at"', html)
    assert 'aria-invalid="true"' in html
    assert 'value="tovholder-lise"' in html  # what was typed is kept
    assert 'href="#error-team"' in html  # the summary links to the field
    assert 'id="error-team">skal udfyldes</p>' in html


def test_each_role_sees_only_its_own_next_steps(client: TestClient, runtime: Runtime) -> None:
    reference = _refer(runtime)
    runtime.service.trigger(
        reference,
        "hold_pre_meeting",
        {
            "team": [{"department": "skole", "person": "laerer-anna"}],
            "coordinator": "tovholder-lise",
            "agenda": ["uddannelse"],
            "first_meeting_at": "2026-03-17T09:00",
            "meeting_room": "raadhuset_storskaerm",
        },
        Actor("caseworker", "cw-mette"),
    )
    _log_in(client, "lise")
    page = client.get(f"/cases/{reference}").text
    assert f"/cases/{reference}/steps/hold_first_meeting" in page
    assert "Mødetilstand (storskærm)" in page
    client.cookies.clear()
    _log_in(client, "anna")
    caseload = client.get("/").text
    assert reference in caseload
    assert "Teammedlem" in caseload
    page = client.get(f"/cases/{reference}").text
    assert "hold_first_meeting" not in page
    refused = client.get(f"/cases/{reference}/steps/hold_first_meeting")
    assert refused.status_code == 404
    assert "kan ikke tages" in refused.text


def test_the_caseload_filters_by_stage_overdue_and_reference(
    client: TestClient, runtime: Runtime, clock: Clock
) -> None:
    first = _refer(runtime)
    second = runtime.service.refer(
        "soroe", PERSON, Actor("caseworker", "cw-mette"), {"source": "uu", "caseworker": "cw-mette"}
    ).reference
    runtime.accounts.create(  # a colleague, who never logs in here
        "bo",
        None,
        display_name="Bo",
        person_id="cw-bo",
        roles=["caseworker"],
        municipality_code="340",
    )
    runtime.service.refer(  # someone else's case
        "soroe", PERSON, Actor("caseworker", "cw-bo"), {"source": "uu", "caseworker": "cw-bo"}
    )
    _log_in(client, "mette")
    everything = client.get("/").text
    assert first in everything
    assert second in everything
    assert "2 af 2 sager" in everything
    referred = client.get("/?stage=referred").text
    assert second in referred
    assert first not in referred
    assert "1 af 1 sager" in client.get(f"/?q={second[-4:]}").text
    assert "0 af 0 sager" in client.get("/?overdue=1").text
    clock.advance(days=30)  # the referral decision and pre-meeting deadlines pass
    _log_in(client, "mette")  # (the session outlived its 8 hours)
    overdue = client.get("/?overdue=1").text
    assert "2 af 2 sager" in overdue
    assert "Overskredet" in overdue
    # Once the sweep has fired the deadlines (their escalations sent), the cases are still
    # overdue: until they leave the stage whose deadline passed.
    runtime.service.fire_due_timers(clock.now)
    overdue = client.get("/?overdue=1").text
    assert "2 af 2 sager" in overdue
    assert "Overskredet" in overdue
    # The deadline shown is the one that passed (in March; the sweep fired them on 1
    # April), not the next one running (the young person's 18th birthday, years ahead).
    shown = re.findall(r'data-label="Næste frist">([^<]*)<strong class="badge">', overdue)
    assert sorted(day.strip() for day in shown) == ["09.03.2026 09:00", "16.03.2026 09:00"]
    # The case page says the same of its deadlines (it listed only those still running,
    # the young person's birthdays, while the caseload said the case was overdue).
    page = client.get(f"/cases/{second}").text
    deadlines = page.split(">Frister<", 1)[1].split("</ul>", 1)[0]
    assert re.search(r'09:00 <strong class="badge">Overskredet</strong>', deadlines)
    with runtime.sessions() as session:
        searches = session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "search")
        ).all()
    assert {k: v for k, v in searches[1]["criteria"].items() if k != "offset"} == {
        "person": "cw-mette",
        "stage": "referred",
        "limit": 25,
    }


def test_reading_a_case_page_is_audited_with_who_and_why(
    client: TestClient, runtime: Runtime
) -> None:
    reference = _refer(runtime)
    _log_in(client, "mette")
    assert client.get(f"/cases/{reference}").status_code == 200
    with runtime.sessions() as session:
        reads = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "read", AuditEntry.object_id == reference)
        ).all()
    assert [(r.actor, r.purpose, r.details) for r in reads] == [
        ("caseworker:cw-mette", "sagsbehandling", {"via": "caseworker", "channel": "case page"})
    ]


def test_pages_speak_english_on_request(client: TestClient, runtime: Runtime) -> None:
    reference = _refer(runtime)
    _log_in(client, "mette")
    page = client.get(f"/cases/{reference}?lang=en")
    assert '<html lang="en"' in page.text
    assert "Next steps" in page.text
    assert "Pre-meeting" in page.text  # the definition's English stage name
    assert "kui_lang=en" in page.headers["set-cookie"]
    assert "Next steps" in client.get(f"/cases/{reference}").text  # remembered


def test_a_saml_or_oidc_proxy_can_name_the_user(runtime: Runtime) -> None:
    identity = TrustedHeader(runtime.accounts, "s3cret-key!", trusted=("testclient",))
    with TestClient(
        create_app(runtime, identity=identity),
        base_url="https://testserver",
        follow_redirects=False,
    ) as client:
        assert client.get("/", headers={"X-Remote-User": "mette"}).status_code == 200
        assert client.get("/", headers={"X-Remote-User": "ghost"}).status_code == 303
        assert client.get("/").status_code == 303
    untrusted = TrustedHeader(runtime.accounts, "s3cret-key!", trusted=("10.0.0.1",))
    with TestClient(
        create_app(runtime, identity=untrusted),
        base_url="https://testserver",
        follow_redirects=False,
    ) as client:
        assert client.get("/", headers={"X-Remote-User": "mette"}).status_code == 303


def test_a_form_sent_twice_takes_its_step_once(client: TestClient, runtime: Runtime) -> None:
    reference = _refer(runtime)
    _log_in(client, "mette")
    form = client.get(f"/cases/{reference}/steps/pause").text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form)
    assert key
    data = {
        "csrf_token": _csrf(form),
        "idempotency_key": key.group(1),
        "pause_reason": "treatment",
        "expected_resume": "2026-04-01",
    }
    first = client.post(f"/cases/{reference}/steps/pause", data=data)
    again = client.post(f"/cases/{reference}/steps/pause", data=data)  # a double click
    assert first.status_code == again.status_code == 303
    history = runtime.service.view(reference, Actor("caseworker", "cw-mette"), "test").history
    assert [h["event"] for h in history] == ["refer", "accept_referral", "consent_given", "pause"]


def test_a_manager_opens_a_case_through_a_legal_basis_only_with_a_purpose(
    client: TestClient, runtime: Runtime
) -> None:
    reference = _refer(runtime)
    runtime.accounts.create(
        "leif",
        PASSWORD,
        display_name="Leif",
        person_id="leder-leif",
        roles=["leader"],
        municipality_code="340",
    )
    _log_in(client, "leif")
    assert client.get(f"/cases/{reference}").status_code == 404  # no basis: no such case
    runtime.grants.grant("leder-leif", "340", "oversight", "Barnets Lov § 6", "operator:dpo")
    asked = client.get(f"/cases/{reference}")
    assert asked.status_code == 403
    assert "Formål med opslaget" in asked.text
    said = html.unescape(asked.text)  # the law in the municipality's words, not its code
    assert f"Du ser {reference} med hjemmel i Barnets Lov § 6, ikke som" in said
    assert "oversight" not in said
    assert f'action="/cases/{reference}"' in asked.text  # the purpose form comes back here
    # The purpose is posted with the form's CSRF token (a link cannot state one).
    purpose = {"purpose": "Tilsyn med frister", "csrf_token": _csrf(asked.text)}
    opened = client.post(f"/cases/{reference}", data=purpose)
    assert opened.status_code == 200
    assert "020210-xxxx" in opened.text  # the CPR number stays masked
    assert "0202104321" not in opened.text
    assert "Eksportér sagen" not in opened.text  # links for the case's own people
    assert "Tilføj opgave" not in opened.text  # a form that would only ask the purpose again
    with runtime.sessions() as session:
        read = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "read", AuditEntry.actor == "leader:leder-leif"
            )
        ).one()
    assert read.purpose == "Tilsyn med frister"
    assert read.details["via"] == "legal_basis"
    assert read.details["basis"] == "oversight: Barnets Lov § 6"


def _pre_meeting(runtime: Runtime, reference: str, coordinator: str) -> None:
    runtime.service.trigger(
        reference,
        "hold_pre_meeting",
        {
            "team": [{"department": "skole", "person": "laerer-anna"}],
            "coordinator": coordinator,
            "agenda": ["uddannelse"],
            "first_meeting_at": "2026-03-17T09:00",
            "meeting_room": "raadhuset_storskaerm",
        },
        Actor("caseworker", "cw-mette"),
    )


def test_an_account_role_gives_no_steps_on_a_case_the_person_is_not_on(
    client: TestClient, runtime: Runtime
) -> None:
    """A team member whose account also says 'caseworker' is offered only a team member's
    steps on this case, and cannot close it by claiming to be its caseworker."""
    runtime.accounts.create(
        "uffe",
        PASSWORD,
        display_name="Uffe UU",
        person_id="laerer-anna-2",
        roles=["caseworker", "team_member"],
        municipality_code="340",
    )
    reference = _refer(runtime)
    runtime.service.trigger(
        reference,
        "hold_pre_meeting",
        {
            "team": [{"department": "skole", "person": "laerer-anna-2"}],
            "coordinator": "tovholder-lise",
            "agenda": ["uddannelse"],
            "first_meeting_at": "2026-03-17T09:00",
            "meeting_room": "raadhuset_storskaerm",
        },
        Actor("caseworker", "cw-mette"),
    )
    _log_in(client, "uffe")
    page = client.get(f"/cases/{reference}").text
    assert f"/cases/{reference}/steps/age_out" not in page
    assert client.get(f"/cases/{reference}/steps/age_out").status_code == 404
    with pytest.raises(NotAllowedError, match=r"on the team of .* as skole, not its caseworker"):
        runtime.service.trigger(reference, "age_out", {}, Actor("caseworker", "laerer-anna-2"))


def test_a_person_with_two_standings_chooses_which_to_act_as(
    client: TestClient, runtime: Runtime
) -> None:
    """The caseworker who is also the chosen coordinator picks the role of a step both
    roles may take; the history names the chosen one."""
    runtime.accounts.create(
        "mette2",
        PASSWORD,
        display_name="Mette Begge",
        person_id="cw-begge",
        roles=["caseworker", "coordinator"],
        municipality_code="340",
    )
    result = runtime.service.refer(
        "soroe",
        PERSON,
        Actor("caseworker", "cw-begge"),
        {"source": "school", "caseworker": "cw-begge"},
    )
    reference = result.reference
    runtime.service.trigger(
        reference,
        "accept_referral",
        {"young_person_agrees": True, "consent": True},
        Actor("caseworker", "cw-begge"),
    )
    runtime.service.trigger(
        reference,
        "hold_pre_meeting",
        {
            "team": [{"department": "skole", "person": "laerer-anna"}],
            "coordinator": "cw-begge",
            "agenda": ["uddannelse"],
            "first_meeting_at": "2026-03-17T09:00",
            "meeting_room": "raadhuset_storskaerm",
        },
        Actor("caseworker", "cw-begge"),
    )
    _log_in(client, "mette2")
    form = client.get(f"/cases/{reference}/steps/pause")
    assert form.status_code == 200
    assert 'name="act_as"' in form.text
    # The expected resumption's picker starts today (the step refuses a day gone).
    assert re.search(
        r'id="expected_resume" name="expected_resume" value="" min="2026-03-02"', form.text
    )
    assert ">Koordinator<" in form.text
    assert ">Sagsbehandler<" in form.text
    sent = client.post(
        f"/cases/{reference}/steps/pause",
        data={
            "csrf_token": _csrf(form.text),
            "act_as": "coordinator",
            "pause_reason": "other",
            "pause_other": "Flytning",
        },
    )
    assert sent.status_code == 303, sent.text
    history = runtime.service.view(reference, Actor("caseworker", "cw-begge")).history
    assert history[-1]["actor"] == "coordinator:cw-begge"
    # The caseload by standing: the case is hers as caseworker and as coordinator.
    assert reference in client.get("/?standing=coordinator").text
    assert reference in client.get("/?standing=caseworker").text
    assert reference not in client.get("/?standing=team_member").text


def test_the_caseload_shows_cases_by_standing(client: TestClient, runtime: Runtime) -> None:
    mine = _refer(runtime)
    _pre_meeting(runtime, mine, "tovholder-lise")
    _log_in(client, "lise")
    as_coordinator = client.get("/?standing=coordinator").text
    assert mine in as_coordinator
    # In Sorø's word for the coordinator, as its case pages say it.
    assert 'aria-current="page">Som tovholder' in as_coordinator
    assert "Som koordinator" not in as_coordinator
    assert mine not in client.get("/?standing=caseworker").text


def test_only_staff_with_the_coordinator_role_can_be_chosen_as_coordinator(
    runtime: Runtime,
) -> None:
    reference = _refer(runtime)
    with pytest.raises(RejectedError) as refused:
        _pre_meeting(runtime, reference, "laerer-anna")  # a team member's account
    errors = {e.name: e.code for e in refused.value.rejection.field_errors}
    assert errors == {"coordinator": "not_qualified"}
    assert runtime.service.view(reference, Actor("caseworker", "cw-mette")).stage == "pre_meeting"


def test_the_case_page_shows_what_the_definition_displays(
    client: TestClient, runtime: Runtime
) -> None:
    """Copenhagen's young person's budget: what is spent and what remains (display:)."""
    runtime.accounts.create(  # a Copenhagen case has a Copenhagen caseworker
        "karl",
        PASSWORD,
        display_name="Karl",
        person_id="cw-karl",
        roles=["caseworker"],
        municipality_code="101",
    )
    karl = Actor("caseworker", "cw-karl")
    inputs = {"source": "school", "caseworker": "cw-karl", "age": 16}
    reference = runtime.service.refer("koebenhavn", PERSON, karl, inputs).reference
    runtime.service.trigger(
        reference, "accept_referral", {"young_person_agrees": True, "consent": True}, karl
    )
    assert _log_in(client, "karl") == "ok"
    page = client.get(f"/cases/{reference}").text
    shown = re.findall(r"<dt>([^<]+)</dt><dd data-testid=\"displayed\">([^<]+)</dd>", page)
    assert shown == [("Tilbage af dit budget", "10.000 kr."), ("Brugt af budgettet", "0 kr.")]


class RecordingTracers(trace.TracerProvider):
    """A configured tracer provider (as an OTEL exporter set up in the process would be)
    that notes who asks it for a tracer."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def get_tracer(self, instrumenting_module_name: str, *args: Any, **kwargs: Any) -> Any:
        self.asked.append(instrumenting_module_name)
        return trace.NoOpTracer()


def test_no_request_is_traced_even_when_the_process_has_a_tracer_provider(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FastAPI would trace every request (paths with case references, exception messages)
    # once a provider is configured: the apps switch its telemetry off.
    tracers = RecordingTracers()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: tracers)
    with TestClient(
        create_app(runtime), base_url="https://testserver", follow_redirects=False
    ) as client:
        assert _log_in(client, "mette") == "ok"
        assert client.get("/").status_code == 200
        assert client.get("/api/v1/cases").status_code == 200
        assert client.get("/ung/").status_code in (200, 303)
    assert tracers.asked == []


def test_a_team_member_refused_an_export_is_told_why_in_the_pages_language(
    client: TestClient, runtime: Runtime
) -> None:
    reference = _refer(runtime)
    _pre_meeting(runtime, reference, "tovholder-lise")
    _log_in(client, "anna")
    assert client.get(f"/cases/{reference}").status_code == 200  # on the team: she sees it
    for page in (f"/cases/{reference}/export", f"/cases/{reference}/access-log"):
        refused = client.get(page)
        assert refused.status_code == 403, page
        assert (
            f"Du kan se sagen {reference}, men ikke hente dens oplysninger ud eller se, hvem "
            "der har set den." in html.unescape(refused.text)
        ), page
        assert "you may see" not in refused.text
    english = client.get(f"/cases/{reference}/export?lang=en")
    assert f"You may see case {reference}, but not export it" in html.unescape(english.text)
    # Staff with no standing on the case: as a missing case, in the page's language.
    runtime.accounts.create(
        "bo",
        PASSWORD,
        display_name="Bo",
        person_id="cw-bo",
        roles=["caseworker"],
        municipality_code="340",
    )
    with TestClient(
        create_app(runtime), base_url="https://testserver", follow_redirects=False
    ) as other:
        _log_in(other, "bo")
        for page in (f"/cases/{reference}/export", f"/cases/{reference}/access-log"):
            missing = other.get(page)
            assert missing.status_code == 404, page
            assert "Der er ingen sag her, som du har adgang til." in html.unescape(missing.text)
            assert "no case" not in missing.text


def test_the_revealed_cpr_number_is_written_as_danes_write_it(
    client: TestClient, runtime: Runtime
) -> None:
    reference = _refer(runtime)  # stored as it was given: 0202104321
    _log_in(client, "mette")
    page = client.get(f"/cases/{reference}")
    shown = client.post(
        f"/cases/{reference}/cpr", data={"purpose": "Opslag i CPR", "csrf_token": _csrf(page.text)}
    )
    assert shown.status_code == 200
    assert '<p class="big" data-testid="cpr">020210-4321</p>' in shown.text


def test_an_address_the_app_does_not_have_keeps_the_logged_in_users_navigation(
    client: TestClient,
) -> None:
    missing = client.get("/national")  # before logging in: the page, without navigation
    assert missing.status_code == 404
    assert "Siden findes ikke" in missing.text
    assert "<nav" not in missing.text
    assert _log_in(client, "mette") == "ok"
    missing = client.get("/national")  # a shortened link (the page is /outcomes/national)
    assert missing.status_code == 404
    assert "Siden findes ikke" in missing.text
    assert "<nav" in missing.text  # the way back to the caseload, and who is logged in
    assert 'href="/"' in missing.text
    assert "Mette" in missing.text


def test_a_step_its_guard_refuses_on_the_case_as_it_is_is_not_offered(
    client: TestClient, runtime: Runtime, clock: Clock
) -> None:
    """ "Over aldersgrænsen" is not offered for a 16-year-old (Sorø's range is 14-29): its
    guard reads only the young person's age. Opened by its address anyway, the step is
    refused with the guard's message. Past the range it is offered."""
    reference = _refer(runtime)
    _log_in(client, "mette")
    page = client.get(f"/cases/{reference}").text
    assert f"/cases/{reference}/steps/pause" in page  # the caseworker's other steps are there
    assert f"/cases/{reference}/steps/age_out" not in page
    assert "<dt>Tovholder</dt>" in page  # the role as Sorø names it
    form = client.get(f"/cases/{reference}/steps/age_out")
    assert form.status_code == 200
    refused = client.post(
        f"/cases/{reference}/steps/age_out", data={"csrf_token": _csrf(form.text)}
    )
    assert "Den unge er ikke over aldersgrænsen" in refused.text
    older = runtime.service.refer(
        "soroe",
        YoungPersonDetails("Ole Ældre", "0106961234", date(1996, 6, 1)),  # 29
        Actor("caseworker", "cw-mette"),
        {"source": "school", "caseworker": "cw-mette"},
    ).reference
    assert f"/cases/{older}/steps/age_out" not in client.get(f"/cases/{older}").text
    clock.now = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)  # 30 since yesterday
    _log_in(client, "mette")
    assert f"/cases/{older}/steps/age_out" in client.get(f"/cases/{older}").text


def test_a_step_that_ends_the_course_says_what_saving_it_does(
    client: TestClient, runtime: Runtime
) -> None:
    """ "Den unge stopper forløbet" was a form of one button, "Gem", beside "Annullér":
    one click ended the course and cancelled its meetings, nothing said (a helper's
    report)."""
    reference = _refer(runtime)
    _log_in(client, "mette")
    page = client.get(f"/cases/{reference}/steps/withdraw").text
    said = page.split('data-testid="step-consequence">', 1)[1].split("</p>", 1)[0]
    assert said == (
        "Når du gemmer, afsluttes forløbet (Afbrudt af den unge), og alle på sagen får "
        "besked. Det kan ikke gøres om her; et nyt forløb kræver en ny henvisning."
    )
    assert ">Tilbage uden at gemme</a>" in page
    ordinary = client.get(f"/cases/{reference}/steps/hold_pre_meeting").text
    assert 'data-testid="step-consequence"' not in ordinary


def test_a_meeting_booked_while_the_course_is_paused_says_it_cannot_be_held(
    client: TestClient, runtime: Runtime
) -> None:
    """Paused with the first meeting booked: the case page showed the meeting as the next
    one and nothing else, though it cannot be held meanwhile; it can be moved or
    cancelled (the base allows both from a pause), and the page offers both."""
    reference = _refer(runtime)
    _pre_meeting(runtime, reference, "tovholder-lise")
    _log_in(client, "mette")
    assert 'data-testid="meeting-paused"' not in client.get(f"/cases/{reference}").text
    runtime.service.trigger(
        reference,
        "pause",
        {"pause_reason": "treatment", "expected_resume": "2026-03-16"},
        Actor("caseworker", "cw-mette"),
    )
    page = html.unescape(client.get(f"/cases/{reference}").text)
    assert 'data-testid="meeting-paused"' in page
    # Since when, by whom and why (the expected resumption was on her page only).
    note = page.split('data-testid="pause-note">', 1)[1].split("</p>", 1)[0]
    assert note == (
        "Forløbet er sat på pause 02.03.2026 af Mette (sagsbehandler). "
        "Hvorfor pause? Behandling eller indlæggelse. Forventet genoptagelse: "
        "mandag den 16. marts 2026."
    )
    assert "mødet kan ikke holdes, mens pausen varer" in page
    assert "så flyt eller aflys det, så alle får besked" in page
    assert f'href="/cases/{reference}/steps/move_meeting"' in page
    assert f'href="/cases/{reference}/steps/cancel_meeting"' in page
    # What the case allows, whoever reads: a team member (who may do neither) read that
    # it could not be moved, against her mail and the coordinator's page.
    runtime.consents.give(
        reference,
        Actor("caseworker", "cw-mette"),
        ConsentRequest(["skole"], ["education"], guardian=True),
    )
    client.cookies.clear()
    assert _log_in(client, "anna") == "ok"
    teams = html.unescape(client.get(f"/cases/{reference}").text)
    assert "så flyt eller aflys det, så alle får besked" in teams
    assert "/steps/move_meeting" not in teams
    # Why is the caseworker's to know (health information); the team reads when.
    note = teams.split('data-testid="pause-note">', 1)[1].split("</p>", 1)[0]
    assert "Forventet genoptagelse: mandag den 16. marts 2026." in note
    assert "Behandling" not in note
    assert "Hvorfor" not in note


def test_a_pause_for_another_reason_says_what_and_a_passed_resumption_says_so(
    client: TestClient, runtime: Runtime, clock: Clock
) -> None:
    """ "Andet" as the reason said nothing of what; it is asked now (beside its field when
    missing) and told to the caseworker, not the team. An expected resumption gone by
    stood on the page as if still to come."""
    reference = _refer(runtime)
    _pre_meeting(runtime, reference, "tovholder-lise")
    _log_in(client, "mette")
    form = client.get(f"/cases/{reference}/steps/pause").text
    refused = html.unescape(
        client.post(
            f"/cases/{reference}/steps/pause",
            data={"csrf_token": _csrf(form), "pause_reason": "other"},
        ).text
    )
    assert "Skriv kort, hvad anledningen til pausen er, når du har valgt Andet." in refused
    assert "Hvad er anledningen?" in refused
    runtime.service.trigger(
        reference,
        "pause",
        {"pause_reason": "other", "pause_other": "Flytning", "expected_resume": "2026-03-16"},
        Actor("caseworker", "cw-mette"),
    )

    def note_of(who: str) -> str:
        client.cookies.clear()
        _log_in(client, who)
        page = html.unescape(client.get(f"/cases/{reference}").text)
        return page.split('data-testid="pause-note">', 1)[1].split("</p>", 1)[0]

    mine = note_of("mette")
    assert "Hvorfor pause? Andet. Hvad er anledningen? Flytning." in mine
    assert "Forventet genoptagelse: mandag den 16. marts 2026." in mine
    assert "passeret" not in mine
    clock.now = datetime(2026, 3, 17, 9, 0, tzinfo=UTC)
    assert "mandag den 16. marts 2026 (dagen er passeret)." in note_of("mette")
    runtime.consents.give(
        reference,
        Actor("caseworker", "cw-mette"),
        ConsentRequest(["skole"], ["education"], guardian=True),
    )
    teams = note_of("anna")
    assert "Flytning" not in teams
    assert "(dagen er passeret)" in teams

    # Nor through the API: its history gave every step's answers to whoever read it.
    def paused_inputs(username: str) -> dict[str, Any]:
        token = client.post(
            "/api/v1/tokens",
            json={"username": username, "password": PASSWORD, "scopes": ["read"]},
        ).json()["token"]
        case = client.get(
            f"/api/v1/cases/{reference}", headers={"Authorization": f"Bearer {token}"}
        ).json()
        [paused] = [h for h in case["history"] if h["event"] == "pause"]
        return dict(paused["inputs"])

    assert paused_inputs("anna") == {"expected_resume": "2026-03-16"}
    assert paused_inputs("mette")["pause_other"] == "Flytning"


def test_the_case_page_names_the_custodial_parents_and_how_staff_reach_them(
    client: TestClient, runtime: Runtime
) -> None:
    """The parents of a minor are told and invited, and consent with her, but the case
    page never named them: the caseworker had to look elsewhere for whom to call. Their
    names to whoever reads the case, their mail and phone to those who hold it."""
    person = replace(
        PERSON,
        guardians=(
            GuardianDetails("Mette Mor", "020280-1234", email="mor@example.org"),
            GuardianDetails("Frank Far", "030380-1235", phone="+45 22 33 44 55"),
        ),
    )
    reference = runtime.service.refer(
        "soroe",
        person,
        Actor("caseworker", "cw-mette"),
        {"source": "school", "caseworker": "cw-mette"},
    ).reference
    runtime.consents.give(
        reference,
        Actor("caseworker", "cw-mette"),
        ConsentRequest(["skole"], ["education"], guardian=True),
    )
    _log_in(client, "mette")
    page = html.unescape(client.get(f"/cases/{reference}").text)
    parents = page.split('data-testid="guardians">', 1)[1].split("</dd>", 1)[0]
    assert "Forældremyndighed" in page
    assert "Mette Mor" in parents
    assert "Frank Far" in parents
    assert 'href="mailto:mor@example.org"' in parents
    assert 'href="tel:+4522334455">+45 22 33 44 55</a>' in parents
    assert "020280" not in page
    # An export of the case names them; their own mail and phone are theirs.
    token = client.post(
        "/api/v1/tokens",
        json={"username": "mette", "password": PASSWORD, "scopes": ["read"]},
    ).json()["token"]
    exported = client.get(
        f"/api/v1/cases/{reference}/export",
        headers={"Authorization": f"Bearer {token}"},
        params={"purpose": "Aktindsigt"},
    ).json()
    assert exported["case"]["guardians"] == [{"name": "Mette Mor"}, {"name": "Frank Far"}]
    runtime.service.trigger(
        reference,
        "accept_referral",
        {"young_person_agrees": True, "consent": True},
        Actor("caseworker", "cw-mette"),
    )
    _pre_meeting(runtime, reference, "tovholder-lise")
    client.cookies.clear()
    assert _log_in(client, "anna") == "ok"
    teams = html.unescape(client.get(f"/cases/{reference}").text)
    parents = teams.split('data-testid="guardians">', 1)[1].split("</dd>", 1)[0]
    assert "Mette Mor" in parents
    assert "mor@example.org" not in parents
    assert "+45" not in parents
    # The meeting's participants say the parents by name (they said "Forælder/værge").
    assert "Mette Mor og Frank Far (forælder/værge)" in teams


def test_pausing_and_resuming_say_what_saving_does(client: TestClient, runtime: Runtime) -> None:
    """ "Sæt forløbet på pause" and "Genoptag forløbet" were forms with a bare "Gem": what
    a pause does to deadlines, tasks and meetings, and where the course goes on, was said
    nowhere."""
    reference = _refer(runtime)
    _pre_meeting(runtime, reference, "tovholder-lise")
    _log_in(client, "mette")
    page = html.unescape(client.get(f"/cases/{reference}/steps/pause").text)
    said = page.split('data-testid="step-consequence">', 1)[1].split("</p>", 1)[0]
    assert said.startswith("Når du gemmer, sættes forløbet på pause: fristerne står stille")
    runtime.service.trigger(
        reference,
        "pause",
        {"pause_reason": "other", "pause_other": "Flytning"},
        Actor("caseworker", "cw-mette"),
    )
    runtime.service.trigger(
        reference, "move_meeting", {"moved_to": "2026-03-19T09:00"}, Actor("caseworker", "cw-mette")
    )  # a step in the pause: the course still goes on where it was paused
    page = html.unescape(client.get(f"/cases/{reference}/steps/resume").text)
    said = page.split('data-testid="step-consequence">', 1)[1].split("</p>", 1)[0]
    assert said.startswith("Når du gemmer, fortsætter forløbet i «Første samarbejdsmøde indkaldt»:")


def test_a_deadline_whose_own_step_moved_the_case_on_is_not_overdue(
    client: TestClient, runtime: Runtime, clock: Clock
) -> None:
    """ "Første møde ikke holdt" sends the case back to the pre-meeting when it falls due:
    done with it, the case page and the caseload's overdue filter still said the case
    was overdue on it (only a step after it cleared that)."""
    reference = _refer(runtime)
    _pre_meeting(runtime, reference, "tovholder-lise")  # the first meeting on 17 March
    clock.now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # two working days after it
    runtime.service.fire_due_timers(clock.now)
    _log_in(client, "mette")
    page = client.get(f"/cases/{reference}").text
    assert 'data-testid="stage">Formøde<' in page
    deadlines = page.split(">Frister<", 1)[1].split("</ul>", 1)[0]
    assert "Overskredet" not in deadlines
    assert reference not in client.get("/?overdue=1").text


def test_a_member_whose_consent_was_withdrawn_is_set_absent_at_the_meeting(
    client: TestClient, runtime: Runtime
) -> None:
    """Taken out of the meetings to come (sent the cancellation), the teacher was still
    listed as a participant, and meeting mode asked whether she came: she is set as
    absent there (left out of the form, she was recorded as present)."""
    reference = _refer(runtime)
    cw = Actor("caseworker", "cw-mette")
    runtime.consents.give(reference, cw, ConsentRequest(["skole"], ["education"], guardian=True))
    _pre_meeting(runtime, reference, "tovholder-lise")
    _log_in(client, "lise")
    form = client.get(f"/cases/{reference}/steps/hold_first_meeting?mode=meeting").text
    asked = form.split('data-testid="attendance"', 1)[1].split("</table>", 1)[0]
    assert 'value="laerer-anna"' in asked  # invited: who came is asked of her
    runtime.consents.withdraw(reference, cw, ["skole"])
    page = html.unescape(client.get(f"/cases/{reference}").text)
    listed = page.split("Deltagere: ", 1)[1].split("</p>", 1)[0]
    assert "(samtykket er trukket tilbage: ikke længere med)" in listed
    form = client.get(f"/cases/{reference}/steps/hold_first_meeting?mode=meeting").text
    asked = form.split('data-testid="attendance"', 1)[1].split("</table>", 1)[0]
    row = asked.split('value="laerer-anna"', 1)[1].split("</tr>", 1)[0]
    assert '<option value="absent" selected>' in row
    assert "(samtykket er trukket tilbage" in html.unescape(asked)


def test_a_name_is_not_said_in_the_municipalitys_word_for_the_coordinator(
    client: TestClient, runtime: Runtime
) -> None:
    """Sorø calls the coordinator "tovholder": the case's history says "af Karin
    Koordinator (tovholder)" — the role in Sorø's word, the name as it is (it said "Karin
    Tovholder (tovholder)")."""
    runtime.accounts.create(
        "karin",
        PASSWORD,
        display_name="Karin Koordinator",
        person_id="koordinator-karin",
        roles=["coordinator"],
        municipality_code="340",
    )
    reference = _refer(runtime)
    _pre_meeting(runtime, reference, "koordinator-karin")
    runtime.service.trigger(
        reference,
        "move_meeting",
        {"moved_to": "2026-03-19T09:00"},
        Actor("coordinator", "koordinator-karin"),
    )
    assert _log_in(client, "mette") == "ok"
    page = html.unescape(client.get(f"/cases/{reference}").text)
    assert "Karin Koordinator (tovholder)" in page
    assert "Karin Tovholder" not in page


def test_a_repeating_deadline_that_passed_is_shown_as_the_one_that_passed(
    client: TestClient, runtime: Runtime, clock: Clock
) -> None:
    """A paused course's review (every 8 weeks) fell due and was fired: it runs again,
    due 8 weeks on. The caseload showed that next time, in the future, marked overdue;
    it shows when the review fell due (as the sweep fired it: here a sweep a week late,
    on 4 May; one a minute, as deployed, fires it at its time)."""
    reference = _refer(runtime)
    runtime.service.trigger(
        reference, "pause", {"pause_reason": "treatment"}, Actor("caseworker", "cw-mette")
    )
    clock.advance(weeks=9)
    runtime.service.fire_due_timers(clock.now)
    _log_in(client, "mette")
    overdue = client.get("/?overdue=1").text
    shown = re.findall(r'data-label="Næste frist">([^<]*)<strong class="badge">', overdue)
    assert [day.strip() for day in shown] == ["04.05.2026 10:00"], shown  # not 22.06


def test_a_forms_address_opened_as_a_page_leads_to_its_page(
    client: TestClient, runtime: Runtime
) -> None:
    """After a refused form the address bar holds the form's address: reloaded, or its
    language link followed, it answered "Method Not Allowed" in English. It leads to the
    page the form belongs to (the language asked for kept); a form sent to a page's
    address is told so in the reader's language."""
    reference = _refer(runtime)
    _log_in(client, "mette")
    reloaded = client.get(f"/cases/{reference}/consents")
    assert reloaded.status_code == 303
    assert reloaded.headers["location"] == f"/cases/{reference}"
    english = client.get(f"/cases/{reference}/consents/withdraw?lang=en")
    assert english.status_code == 303
    assert english.headers["location"] == f"/cases/{reference}?lang=en"
    posted = client.post("/tasks", data={"csrf_token": "x"})
    assert posted.status_code == 405
    assert "Den adresse kan ikke åbnes som en side." in html.unescape(posted.text)
    assert "Method Not Allowed" not in posted.text


def test_the_search_fields_example_is_the_users_municipalitys_reference(
    client: TestClient, runtime: Runtime
) -> None:
    """Horsens' staff were shown Sorø's "SOR-2026-0042" as the example of a reference in
    the caseload's and the tasks' search fields."""
    runtime.accounts.create(
        "henrik",
        PASSWORD,
        display_name="Henrik",
        person_id="hor-henrik",
        roles=["caseworker"],
        municipality_code="615",
    )
    _log_in(client, "henrik")
    assert 'placeholder="HOR-2026-0042"' in client.get("/").text
    assert 'placeholder="HOR-2026-0042"' in client.get("/tasks").text
    client.cookies.clear()
    _log_in(client, "mette")
    assert 'placeholder="SOR-2026-0042"' in client.get("/").text
