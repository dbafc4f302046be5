"""Reads that state a purpose are posted with a CSRF token, and refused attempts are
audited (issue 17).

Before: the purpose of a legal-basis read was a GET parameter, so a cross-site link
wrote "Politiet har anmodet om sagen" into the log the citizen reads; an attempt by
someone with no standing to open a case or reveal its CPR number left no trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.integration.scripted import PERSON
from workflow.engine.model import Actor
from workflow.errors import CaseNotFoundError
from workflow.runtime import Runtime
from workflow.store.tables import AuditEntry
from workflow.web.app import create_app

PASSWORD = "korrekt-hest-batteri-stald"
CW = Actor("caseworker", "cw-mette")
FAKE = "Politiet har anmodet om sagen"


@pytest.fixture
def runtime(sqlite_runtime: Runtime) -> Runtime:
    for username, person, roles in (
        ("mette", "cw-mette", ["caseworker"]),
        ("leif", "leder-leif", ["leader"]),
        ("bo", "cw-bo", ["caseworker"]),  # a caseworker on none of these cases
    ):
        sqlite_runtime.accounts.create(
            username,
            PASSWORD,
            display_name=username.title(),
            person_id=person,
            roles=roles,
            municipality_code="340",
        )
    sqlite_runtime.grants.grant("leder-leif", "340", "oversight", "Barnets Lov § 6", "operator:x")
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


def _log_in(client: TestClient, username: str) -> None:
    token = _csrf(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
    )
    assert answer.status_code == 303, answer.text


def _entries(runtime: Runtime, actor: str) -> list[AuditEntry]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.actor == actor).order_by(AuditEntry.id)
            )
        )


def test_a_purpose_in_a_link_is_not_taken_only_a_posted_one_is(
    client: TestClient, runtime: Runtime
) -> None:
    reference = runtime.service.refer(
        "soroe", PERSON, CW, {"source": "school"} | {"caseworker": "cw-mette"}
    ).reference
    _log_in(client, "leif")
    for path in (
        f"/cases/{reference}",
        f"/cases/{reference}/export",
        f"/cases/{reference}/access-log",
    ):
        linked = client.get(path, params={"purpose": FAKE})  # a cross-site navigation
        assert linked.status_code == 403, path
        assert "Formål med opslaget" in linked.text
        assert '<form method="post"' in linked.text
        assert f'action="{path}"' in linked.text  # the form posts to the read itself
    assert not [e for e in _entries(runtime, "leader:leder-leif") if e.purpose == FAKE]

    asked = client.get(f"/cases/{reference}")
    forged = client.post(f"/cases/{reference}", data={"purpose": FAKE})  # no CSRF token
    assert forged.status_code == 403
    assert not [e for e in _entries(runtime, "leader:leder-leif") if e.purpose == FAKE]

    posted = client.post(
        f"/cases/{reference}",
        data={"purpose": "Tilsyn med frister", "csrf_token": _csrf(asked.text)},
    )
    assert posted.status_code == 200
    [read] = [e for e in _entries(runtime, "leader:leder-leif") if e.action == "read"]
    assert (read.object_type, read.purpose) == ("case", "Tilsyn med frister")

    exported = client.post(
        f"/cases/{reference}/export", data={"purpose": "Tilsyn", "csrf_token": _csrf(asked.text)}
    )
    assert exported.status_code == 200
    assert exported.json()["case"]["reference"] == reference


def test_a_step_page_asking_a_purpose_posts_it_to_the_case_page(
    client: TestClient, runtime: Runtime
) -> None:
    reference = runtime.service.refer(
        "soroe", PERSON, CW, {"source": "school", "caseworker": "cw-mette"}
    ).reference
    _log_in(client, "leif")
    asked = client.get(f"/cases/{reference}/steps/accept_referral")
    assert asked.status_code == 403
    assert f'action="/cases/{reference}"' in asked.text  # never the step's own form


def test_the_api_takes_a_purpose_from_a_browser_session_only_with_the_csrf_header(
    client: TestClient, runtime: Runtime
) -> None:
    reference = runtime.service.refer(
        "soroe", PERSON, CW, {"source": "school", "caseworker": "cw-mette"}
    ).reference
    _log_in(client, "leif")  # the session cookie, as a browser sends it by itself
    answer = client.get(f"/api/v1/cases/{reference}", params={"purpose": FAKE})
    assert answer.status_code == 403
    assert answer.json()["error"] == "csrf"
    assert not [e for e in _entries(runtime, "leader:leder-leif") if e.purpose == FAKE]

    token = client.post("/api/v1/tokens", json={"username": "leif", "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {token.json()['token']}"}
    fresh = TestClient(client.app, base_url="https://testserver")  # no cookie: a program
    answer = fresh.get(f"/api/v1/cases/{reference}", params={"purpose": "Tilsyn"}, headers=bearer)
    assert answer.status_code == 200, answer.text


def test_refused_attempts_are_audited_and_shown_to_the_citizen_as_refused(
    client: TestClient, runtime: Runtime
) -> None:
    reference = runtime.service.refer(
        "soroe", PERSON, CW, {"source": "school", "caseworker": "cw-mette"}
    ).reference
    bo = Actor("caseworker", "cw-bo")
    _log_in(client, "bo")
    assert client.get(f"/cases/{reference}").status_code == 404  # no standing: no such case
    with pytest.raises(CaseNotFoundError):
        runtime.service.reveal_cpr(reference, bo, FAKE)
    with pytest.raises(CaseNotFoundError):
        runtime.audit.export(reference, bo, FAKE)

    refused = _entries(runtime, "caseworker:cw-bo")
    assert [(e.action, e.object_type, e.object_id) for e in refused if e.action != "login"] == [
        ("refused", "case", reference),
        ("refused", "cpr", reference),
        ("refused", "case_export", reference),
    ]
    assert refused[-1].details == {"reason": "CaseNotFoundError", "role": "caseworker"}
    assert refused[-2].purpose == FAKE  # what they claimed, kept for the auditors

    # The citizen's access log: attempts that were refused, never reads of their data,
    # and without the purpose a stranger stated.
    shown = runtime.audit.access_log(reference, CW, None)
    attempts = [e for e in shown if e.action == "refused"]
    assert [(e.what, e.purpose) for e in attempts] == [
        ("case", ""),
        ("cpr", ""),
        ("case_export", ""),
    ]
    assert not [e for e in shown if FAKE in e.purpose]
    with TestClient(
        client.app, base_url="https://testserver", follow_redirects=False
    ) as caseworker:
        _log_in(caseworker, "mette")
        page = caseworker.get(f"/cases/{reference}/access-log").text
    assert page.count("Forsøg afvist") == 3
    assert FAKE not in page
