"""The consent trap (issue 17): the consent given when the course starts is a consent record,
withheld invitations go out when consent arrives later (if still relevant), and the form
warns before saving a team person whose department no consent covers.

Through the real app's pages and the real SMTP delivery; the Sorø definition, a
16-year-old (so a custodial parent consents too).
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.integration.conftest import Clock, settings_for
from tests.support.pages import log_in, page_client
from tests.support.services import SmtpSink
from workflow.cases.model import YoungPersonDetails
from workflow.engine.model import Actor
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime, build_runtime
from workflow.store.tables import AuditEntry, OutboxRow

PASSWORD = "korrekt-hest-batteri-stald"
CASEWORKER = Actor("caseworker", "cw-mette")
PERSON = YoungPersonDetails("Sofie Samtykke", "0202104321", date(2010, 2, 2))
SKOLE, UU = "skole@soroe.example", "uu@soroe.example"
#: The pre-meeting's form: a teacher (skole) and a youth guidance counsellor (uu); the
#: first meeting on a Tuesday two weeks after the tests' clock (2 March 2026).
PRE_MEETING = {
    "team.0.department": "skole",
    "team.0.person": "laerer-anna",
    "team.1.department": "uu",
    "team.1.person": "vejleder-sara",
    "coordinator": "tovholder-lise",
    "agenda": ["uddannelse"],
    "first_meeting_at": "2026-03-17T09:00",
    "meeting_room": "raadhuset_storskaerm",
}
PRE_MEETING_INPUTS = {
    "team": [
        {"department": "skole", "person": "laerer-anna"},
        {"department": "uu", "person": "vejleder-sara"},
    ],
    "coordinator": "tovholder-lise",
    "agenda": ["uddannelse"],
    "first_meeting_at": "2026-03-17T09:00:00",
    "meeting_room": "raadhuset_storskaerm",
}


@pytest.fixture
def runtime(sqlite_runtime: Runtime) -> Runtime:
    for username, person, roles, name in (
        ("mette", "cw-mette", ["caseworker"], "Mette Sagsbehandler"),
        ("lise", "tovholder-lise", ["coordinator"], "Lise Tovholder"),
        ("anna", "laerer-anna", ["team_member"], "Anna Lærer"),
        ("sara", "vejleder-sara", ["team_member"], "Sara Vejleder"),
    ):
        sqlite_runtime.accounts.create(
            username,
            PASSWORD,
            display_name=name,
            person_id=person,
            roles=roles,
            municipality_code="340",
        )
    return sqlite_runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with page_client(runtime) as test_client:
        yield test_client


def _referred(runtime: Runtime) -> str:
    return runtime.service.refer(
        "soroe", PERSON, CASEWORKER, {"source": "school", "caseworker": "cw-mette"}
    ).reference


def _accepted(runtime: Runtime, departments: list[str] | None = None) -> str:
    """A case at the pre-meeting; with a consent for ``departments`` when given."""
    reference = _referred(runtime)
    runtime.service.trigger(
        reference, "accept_referral", {"young_person_agrees": True, "consent": True}, CASEWORKER
    )
    if departments:
        runtime.consents.give(
            reference, CASEWORKER, ConsentRequest(departments, ["education"], guardian=True)
        )
    return reference


def _team_rows(runtime: Runtime, reference: str) -> dict[str, tuple[str, str]]:
    """{department: (state, last error)} of the case's rows to team members."""
    with runtime.sessions() as session:
        rows = session.scalars(select(OutboxRow).order_by(OutboxRow.id)).all()
        return {
            str(r.recipient["id"]): (r.state, r.last_error or "")
            for r in rows
            if r.recipient["kind"] == "team_member"
        }


def test_starting_the_course_records_a_consent_and_the_team_is_then_invited(
    runtime: Runtime, client: TestClient, smtp: SmtpSink
) -> None:
    """Before: the ticked box recorded no consent, and the invitations were withheld."""
    reference = _referred(runtime)
    csrf = log_in(client, "mette", PASSWORD)
    form = client.get(f"/cases/{reference}/steps/accept_referral").text
    assert 'data-testid="consent-scope"' in form  # the form asks what the consent covers
    assert 'name="consent_scope.departments" value="skole"' in form
    assert 'name="consent_scope.categories" value="education"' in form
    answer = client.post(
        f"/cases/{reference}/steps/accept_referral",
        data={
            "csrf_token": csrf,
            "young_person_agrees": "true",
            "consent": "true",
            "consent_scope.departments": ["skole", "uu"],
            "consent_scope.categories": ["education", "family"],
            "consent_scope.guardian": "1",
        },
    )
    assert answer.status_code == 303, answer.text[:2000]
    view = runtime.service.view(reference, CASEWORKER, "kontrol")
    assert view.stage == "pre_meeting"
    assert len(view.consents) == 1
    consent = view.consents[0]
    assert sorted(d["department"] for d in consent["departments"]) == ["skole", "uu"]
    assert consent["categories"] == ["education", "family"]
    assert consent["given_by"] == ["young_person", "guardian"]
    assert consent["recorded_by"] == "caseworker:cw-mette"
    assert "consent_given" in view.milestones
    with runtime.sessions() as session:
        audited = session.scalars(
            select(AuditEntry).where(
                AuditEntry.object_type == "consent", AuditEntry.object_id == reference
            )
        ).all()
    assert [(a.actor, a.action, a.purpose, a.details["given"]) for a in audited] == [
        ("caseworker:cw-mette", "change", "samtykke", ["skole", "uu"])
    ]

    # The pre-meeting names a team the consent covers: no warning, and the invitations go.
    saved = client.post(
        f"/cases/{reference}/steps/hold_pre_meeting", data=PRE_MEETING | {"csrf_token": csrf}
    )
    assert saved.status_code == 303, saved.text[:2000]
    runtime.deliverer.drain()
    assert _team_rows(runtime, reference) == {"skole": ("sent", ""), "uu": ("sent", "")}
    told = Counter(to for to, _ in smtp.messages())
    assert told[SKOLE] == 1
    assert told[UU] == 1


def test_a_start_without_the_consents_departments_saves_nothing(
    runtime: Runtime, client: TestClient
) -> None:
    reference = _referred(runtime)
    csrf = log_in(client, "mette", PASSWORD)
    answer = client.post(
        f"/cases/{reference}/steps/accept_referral",
        data={"csrf_token": csrf, "young_person_agrees": "true", "consent": "true"},
    )
    assert answer.status_code == 422
    assert "Samtykket kan ikke registreres, så intet er gemt." in answer.text
    assert "Vælg mindst én afdeling, som samtykket gælder." in answer.text
    # A 16-year-old: the parent's consent is asked for beside its box.
    assert "forældremyndighedsindehaveren skal også give samtykke" in answer.text
    view = runtime.service.view(reference, CASEWORKER, "kontrol")
    assert (view.stage, view.consents) == ("referred", [])


def test_a_start_refused_for_its_consent_says_the_steps_other_errors_at_once(
    runtime: Runtime, client: TestClient
) -> None:
    """Without the consent's departments and without the young person's yes, the form
    said the consent's errors first, and "the course starts only when the young person
    wants it" only after they were mended."""
    reference = _referred(runtime)
    csrf = log_in(client, "mette", PASSWORD)
    answer = client.post(
        f"/cases/{reference}/steps/accept_referral",
        data={"csrf_token": csrf, "consent": "true"},
    )
    assert answer.status_code == 422
    said = html.unescape(answer.text)
    assert "Samtykket kan ikke registreres, så intet er gemt." in said
    assert "Vælg mindst én afdeling, som samtykket gælder." in said
    assert "Forløbet starter kun, når den unge vil, og samtykket er givet." in said
    view = runtime.service.view(reference, CASEWORKER, "kontrol")
    assert (view.stage, view.consents) == ("referred", [])


def test_a_withheld_invitation_is_sent_when_consent_is_recorded_before_the_meeting(
    runtime: Runtime, smtp: SmtpSink
) -> None:
    """Before: a withheld row stayed withheld for good, even once consent was recorded."""
    reference = _accepted(runtime)  # started, but no consent record yet
    runtime.service.trigger(reference, "hold_pre_meeting", PRE_MEETING_INPUTS, CASEWORKER)
    runtime.deliverer.drain()
    withheld = "no consent covers department {}: withheld"
    assert _team_rows(runtime, reference) == {
        "skole": ("withheld", withheld.format("skole")),
        "uu": ("withheld", withheld.format("uu")),
    }

    # Consent for the school only: its invitation is released and delivered; uu's is not.
    runtime.consents.give(
        reference, CASEWORKER, ConsentRequest(["skole"], ["education"], guardian=True)
    )
    assert _team_rows(runtime, reference)["skole"] == ("pending", "")
    runtime.deliverer.drain()
    assert _team_rows(runtime, reference) == {
        "skole": ("sent", ""),
        "uu": ("withheld", withheld.format("uu")),
    }
    assert [to for to, _ in smtp.messages()].count(SKOLE) == 1
    assert UU not in [to for to, _ in smtp.messages()]
    with runtime.sessions() as session:
        given = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "consent")).one()
    assert (given.details["released"], given.details["still_withheld"]) == (1, 0)


def test_a_withheld_invitation_to_a_meeting_that_has_passed_stays_withheld_with_why(
    runtime: Runtime, clock: Clock, smtp: SmtpSink
) -> None:
    reference = _accepted(runtime)
    runtime.service.trigger(reference, "hold_pre_meeting", PRE_MEETING_INPUTS, CASEWORKER)
    runtime.deliverer.drain()
    clock.now = datetime(2026, 3, 18, 9, 0, tzinfo=clock.now.tzinfo)  # the day after it
    runtime.consents.give(
        reference, CASEWORKER, ConsentRequest(["skole", "uu"], ["education"], guardian=True)
    )
    runtime.deliverer.drain()
    reason = (
        "no consent covers department {}: withheld; not released by the consent of "
        "2026-03-18: the meeting it is about has started or passed"
    )
    assert _team_rows(runtime, reference) == {
        "skole": ("withheld", reason.format("skole")),
        "uu": ("withheld", reason.format("uu")),
    }
    assert not {SKOLE, UU} & {to for to, _ in smtp.messages()}


def test_choosing_a_team_person_without_consent_warns_before_saving(
    runtime: Runtime, client: TestClient
) -> None:
    """Before: the step was saved at once, and uu's invitation silently withheld."""
    reference = _accepted(runtime, ["skole"])  # the school is covered, youth guidance not
    csrf = log_in(client, "mette", PASSWORD)
    first = client.post(
        f"/cases/{reference}/steps/hold_pre_meeting", data=PRE_MEETING | {"csrf_token": csrf}
    )
    assert first.status_code == 200, first.text[:2000]
    assert 'data-testid="withheld-warning"' in first.text
    assert "Ikke dækket af den unges samtykke" in first.text
    assert "Sara Vejleder (UU Sorø)" in first.text
    warning = first.text.split('data-testid="withheld-warning"', 1)[1].split("</ul>", 1)[0]
    assert "Anna Lærer" not in warning  # the school is covered
    assert 'name="confirm_withheld"' in first.text
    # Nothing is saved yet, and the form keeps what was filled in.
    assert runtime.service.view(reference, CASEWORKER, "kontrol").stage == "pre_meeting"
    assert 'value="vejleder-sara"' in first.text

    # The form's other errors come with the question, not one round after it.
    wrong = PRE_MEETING | {"csrf_token": csrf, "coordinator": "lise"}
    both = client.post(f"/cases/{reference}/steps/hold_pre_meeting", data=wrong)
    assert both.status_code == 422
    assert 'data-testid="withheld-warning"' in both.text
    assert "er ikke en medarbejders id" in html.unescape(both.text)
    assert runtime.service.view(reference, CASEWORKER, "kontrol").stage == "pre_meeting"
    # A team row without its department is said in words, not by the field's code.
    no_department = PRE_MEETING | {"csrf_token": csrf, "team.0.department": ""}
    row = client.post(f"/cases/{reference}/steps/hold_pre_meeting", data=no_department)
    assert row.status_code == 422
    assert "række 1: afdelingen skal udfyldes" in row.text
    assert "department skal udfyldes" not in row.text

    confirmed = client.post(
        f"/cases/{reference}/steps/hold_pre_meeting",
        data=PRE_MEETING | {"csrf_token": csrf, "confirm_withheld": "1"},
    )
    assert confirmed.status_code == 303, confirmed.text[:2000]
    assert runtime.service.view(reference, CASEWORKER, "kontrol").stage == "awaiting_first_meeting"


def test_the_warning_speaks_english(runtime: Runtime, client: TestClient) -> None:
    reference = _accepted(runtime, ["skole"])
    csrf = log_in(client, "mette", PASSWORD)
    client.get("/?lang=en")
    answer = client.post(
        f"/cases/{reference}/steps/hold_pre_meeting?lang=en",
        data=PRE_MEETING | {"csrf_token": csrf},
    )
    assert answer.status_code == 200
    assert "Not covered by the young person&#39;s consent" in answer.text
    assert "Save anyway" in answer.text


@pytest.fixture
def store(store_url: str, smtp: SmtpSink, clock: Clock, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime on SQLite and on PostgreSQL (the release is one of the store's updates)."""
    built = build_runtime(settings_for(store_url, smtp, tmp_path / "var"), clock=clock)
    yield built
    built.engine.dispose()


def test_the_release_on_both_stores(store: Runtime, smtp: SmtpSink) -> None:
    reference = _accepted(store)
    store.service.trigger(reference, "hold_pre_meeting", PRE_MEETING_INPUTS, CASEWORKER)
    store.deliverer.drain()
    assert {state for state, _ in _team_rows(store, reference).values()} == {"withheld"}
    store.consents.give(
        reference, CASEWORKER, ConsentRequest(["skole", "uu"], ["education"], guardian=True)
    )
    store.deliverer.drain()
    assert _team_rows(store, reference) == {"skole": ("sent", ""), "uu": ("sent", "")}
    assert {SKOLE, UU} <= {to for to, _ in smtp.messages()}


# --- the same rule through the JSON API (issue 17: one rule on every way in) -----------

SCOPE = {"departments": ["skole", "uu"], "categories": ["education"], "guardian": True}


def _api_headers(client: TestClient) -> dict[str, str]:
    body = {"username": "mette", "password": PASSWORD, "scopes": ["read", "act"]}
    answer = client.post("/api/v1/tokens", json=body)
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _api_step(
    client: TestClient, headers: dict[str, str], reference: str, event: str, body: dict[str, Any]
) -> Any:
    return client.post(f"/api/v1/cases/{reference}/events/{event}", json=body, headers=headers)


def test_starting_the_course_through_the_api_records_its_consent_and_the_team_is_invited(
    runtime: Runtime, client: TestClient, smtp: SmtpSink
) -> None:
    """Before: the API took the step with no consent record; the invitations were withheld."""
    reference = _referred(runtime)
    headers = _api_headers(client)
    accept = {"inputs": {"young_person_agrees": True, "consent": True}, "consent": SCOPE}
    answer = _api_step(client, headers, reference, "accept_referral", accept)
    assert answer.status_code == 200, answer.text
    assert answer.json()["to_stage"] == "pre_meeting"
    view = runtime.service.view(reference, CASEWORKER, "kontrol")
    assert [c["id"] for c in view.consents] == [answer.json()["consent"]]
    consent = view.consents[0]
    assert sorted(d["department"] for d in consent["departments"]) == ["skole", "uu"]
    assert (consent["categories"], consent["given_by"]) == (
        ["education"],
        ["young_person", "guardian"],
    )
    assert "consent_given" in view.milestones

    held = _api_step(client, headers, reference, "hold_pre_meeting", {"inputs": PRE_MEETING_INPUTS})
    assert held.status_code == 200, held.text
    runtime.deliverer.drain()
    assert _team_rows(runtime, reference) == {"skole": ("sent", ""), "uu": ("sent", "")}
    told = Counter(to for to, _ in smtp.messages())
    assert (told[SKOLE], told[UU]) == (1, 1)


@pytest.mark.parametrize(
    ("scope", "fields"),
    [
        (None, ["consent"]),  # no scope: refused, saying what to send
        (SCOPE | {"departments": ["skole", "bibliotek"]}, ["consent.departments"]),
        (SCOPE | {"categories": ["shoe_size"]}, ["consent.categories"]),
        (SCOPE | {"guardian": False}, ["consent.guardian"]),  # a 16-year-old
        ({"departments": [], "categories": []}, ["body.consent.departments"]),
    ],
)
def test_a_start_through_the_api_with_a_bad_or_missing_consent_saves_nothing(
    runtime: Runtime, client: TestClient, scope: dict[str, Any] | None, fields: list[str]
) -> None:
    reference = _referred(runtime)
    headers = _api_headers(client)
    body: dict[str, Any] = {"inputs": {"young_person_agrees": True, "consent": True}}
    if scope is not None:
        body["consent"] = scope
    answer = _api_step(client, headers, reference, "accept_referral", body)
    assert answer.status_code == 422, answer.text
    assert [f["field"] for f in answer.json()["fields"]] == fields
    view = runtime.service.view(reference, CASEWORKER, "kontrol")
    assert (view.stage, view.consents, view.milestones) == ("referred", [], [])
    with runtime.sessions() as session:
        consent_audit = session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "consent")
        ).all()
    assert consent_audit == []


def test_a_consent_with_a_step_that_records_none_is_refused(
    runtime: Runtime, client: TestClient
) -> None:
    reference = _accepted(runtime, ["skole"])
    headers = _api_headers(client)
    body = {"inputs": PRE_MEETING_INPUTS, "consent": SCOPE}
    answer = _api_step(client, headers, reference, "hold_pre_meeting", body)
    assert answer.status_code == 422, answer.text
    assert [f["field"] for f in answer.json()["fields"]] == ["consent"]
    assert "records no consent" in answer.json()["fields"][0]["message"]
    assert runtime.service.view(reference, CASEWORKER, "kontrol").stage == "pre_meeting"
