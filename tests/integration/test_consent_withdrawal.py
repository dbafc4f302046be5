"""Withdrawing consent mid-case stops both access and notifications — and keeps the record.

Through the JSON API, with real delivery to a real SMTP server: a team of a teacher
(skole) and a youth guidance counsellor (uu), consent for both; uu is withdrawn after
the first meeting was held but before its notifications went out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.integration.conftest import Clock
from tests.support.case_api import (
    CASEWORKER,
    FIRST_MEETING,
    FOLLOW_UP,
    MISSING,
    PRE_MEETING,
    bearer,
    create_staff,
    referred_case,
    step,
)
from tests.support.services import SmtpSink
from workflow.runtime import Runtime
from workflow.store.tables import AuditEntry, OutboxRow
from workflow.web.app import create_app

SKOLE, UU = "skole@soroe.example", "uu@soroe.example"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    create_staff(runtime, ["mette", "lise", "anna", "sara"])
    with TestClient(create_app(runtime), base_url="https://testserver") as test_client:
        yield test_client


def _consented_case(runtime: Runtime, client: TestClient, caseworker: dict[str, str]) -> str:
    """A referred Sorø case whose young person (and parent) consented to the school and
    youth guidance, recorded through the API by its caseworker."""
    reference = referred_case(runtime)
    given = client.post(
        f"/api/v1/cases/{reference}/consents",
        json={"departments": ["skole", "uu"], "categories": ["education"], "guardian": True},
        headers=caseworker,
    )
    assert given.status_code == 201, given.text
    return reference


def _deliver(runtime: Runtime, rows: list[int]) -> dict[str, str]:
    """Deliver rows now; {department of a team row: outcome} for the team rows."""
    outcomes = {o.row_id: o.status for o in runtime.deliverer.deliver_many(rows)}
    with runtime.sessions() as session:
        team_rows = session.scalars(
            select(OutboxRow).where(
                OutboxRow.id.in_(rows), OutboxRow.recipient["kind"].as_string() == "team_member"
            )
        ).all()
        assert all(outcomes[r.id] == r.state for r in team_rows)
        return {str(r.recipient["id"]): outcomes[r.id] for r in team_rows}


def _rows_by_state(runtime: Runtime, reference_rows: list[int]) -> list[tuple[str, str, str]]:
    with runtime.sessions() as session:
        rows = session.scalars(select(OutboxRow).where(OutboxRow.id.in_(reference_rows))).all()
        return sorted(
            (str(r.recipient["id"]), r.state, r.last_error or "")
            for r in rows
            if r.recipient["kind"] == "team_member"
        )


def test_withdrawing_uu_stops_its_access_and_its_mail_and_keeps_the_record(
    runtime: Runtime, client: TestClient, smtp: SmtpSink, clock: Clock
) -> None:
    mette, lise = bearer(client, "mette"), bearer(client, "lise")
    anna, sara = bearer(client, "anna"), bearer(client, "sara")
    reference = _consented_case(runtime, client, mette)

    # The pre-meeting invites the team: both departments are sent their mail.
    invited = step(client, mette, reference, "hold_pre_meeting", PRE_MEETING)
    assert invited.status_code == 200, invited.text
    rows = runtime.deliverer.rows_of_step(reference, invited.json()["seq"])
    assert _deliver(runtime, rows) == {"skole": "sent", "uu": "sent"}
    assert Counter(to for to, _ in smtp.messages()) == Counter(
        {SKOLE: 1, UU: 1, "tovholdere@soroe.example": 1}
    )
    for who in (anna, sara):
        assert client.get(f"/api/v1/cases/{reference}", headers=who).status_code == 200
        listed = client.get("/api/v1/cases", headers=who).json()["cases"]
        assert [(c["reference"], c["relations"]) for c in listed] == [(reference, ["team_member"])]

    # The first meeting is held; its notifications wait in the outbox...
    clock.advance(days=15)  # (API tokens last hours, not days: log in again)
    mette, lise = bearer(client, "mette"), bearer(client, "lise")
    anna, sara = bearer(client, "anna"), bearer(client, "sara")
    held = step(client, lise, reference, "hold_first_meeting", FIRST_MEETING)
    assert held.status_code == 200, held.text
    before = runtime.deliverer.rows_of_step(reference, held.json()["seq"])
    assert {d for d, _, _ in _rows_by_state(runtime, before)} == {"skole", "uu"}

    # ...when the young person withdraws consent for youth guidance.
    clock.advance(hours=1)
    withdrawn_at = clock.now
    answer = client.post(
        f"/api/v1/cases/{reference}/consents/withdraw", json={"departments": ["uu"]}, headers=mette
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"withdrawn": ["uu"]}

    # The uu member no longer sees the case: refused as if it did not exist.
    refused = client.get(f"/api/v1/cases/{reference}", headers=sara)
    missing = client.get(f"/api/v1/cases/{MISSING}", headers=sara)
    assert refused.status_code == missing.status_code == 404
    assert refused.json() == {
        "error": "not_found",
        "message": f"no case {reference} you have access to",
        "fields": [],
    }
    assert missing.json() == refused.json() | {"message": f"no case {MISSING} you have access to"}
    assert client.get("/api/v1/cases", headers=sara).json()["cases"] == []
    assert client.get("/api/v1/cases", headers=sara).json()["total"] == 0
    assert client.get(f"/api/v1/cases/{reference}", headers=anna).status_code == 200

    # The next step notifies the team again.
    clock.advance(days=40)
    lise = bearer(client, "lise")
    followed = step(client, lise, reference, "hold_follow_up", FOLLOW_UP)
    assert followed.status_code == 200, followed.text
    after = runtime.deliverer.rows_of_step(reference, followed.json()["seq"])

    # Delivered now: uu's rows are withheld — the one written before the withdrawal too.
    assert _deliver(runtime, before) == {"skole": "sent", "uu": "withheld"}
    assert _deliver(runtime, after) == {"skole": "sent", "uu": "withheld"}
    reason = "no consent covers department uu: withheld"
    assert _rows_by_state(runtime, before + after) == [
        ("skole", "sent", ""),
        ("skole", "sent", ""),
        ("uu", "withheld", reason),
        ("uu", "withheld", reason),
    ]
    due = set(runtime.deliverer.due_rows(100))
    assert not due & set(before + after)  # nothing is left to try again later
    assert Counter(to for to, _ in smtp.messages()) == Counter(
        {SKOLE: 3, UU: 1, "tovholdere@soroe.example": 3}
    )
    told = [str(m["Subject"]) for to, m in smtp.messages() if to == "tovholdere@soroe.example"]
    # Chosen as coordinator, then each next meeting's booking ("Nyt møde"), for its calendar.
    assert [subject.split()[0] for subject in told] == ["Du", "Nyt", "Nyt"], told
    uu_mail = [m for to, m in smtp.messages() if to == UU]
    assert ["Indkaldelse" in str(m["Subject"]) for m in uu_mail] == [True]  # only the invitation

    # The consent is kept, its uu part marked withdrawn; skole is still shared.
    view = runtime.service.view(reference, CASEWORKER, "kontrol af samtykke")
    assert len(view.consents) == 1
    consent = view.consents[0]
    assert consent["given_by"] == ["young_person", "guardian"]
    assert consent["withdrawn_at"] is None  # skole is still covered
    assert {d["department"]: d["withdrawn_at"] for d in consent["departments"]} == {
        "skole": None,
        "uu": withdrawn_at,
    }

    # The withdrawal is in the audit log: who, when, what.
    with runtime.sessions() as session:
        changes = session.scalars(
            select(AuditEntry).where(
                AuditEntry.object_type == "consent", AuditEntry.object_id == reference
            )
        ).all()
    assert [(c.actor, c.action, c.purpose) for c in changes] == [
        ("caseworker:cw-mette", "change", "samtykke"),
        ("caseworker:cw-mette", "change", "samtykke trukket tilbage"),
    ]
    # (no meeting of this case lies ahead: no one to take out of one; the counsellor's
    # task of the plan ends with the consent)
    assert changes[1].details == {"withdrawn": ["uu"], "uninvited": 0, "tasks_closed": 1}


def test_a_goal_given_to_a_department_outside_the_team_and_the_consent_is_refused(
    runtime: Runtime, client: TestClient, clock: Clock
) -> None:
    """A plan's goal given to psychiatry — not on the team, no consent — was saved: the
    school then read in the plan that psychiatry helps the young person, and psychiatry
    was told nothing. Refused beside the goal, through the API as on the page; nothing is
    saved; the plan goes through once the goal names a department of the team."""
    mette = bearer(client, "mette")
    reference = _consented_case(runtime, client, mette)
    assert step(client, mette, reference, "hold_pre_meeting", PRE_MEETING).status_code == 200
    clock.advance(days=15)
    lise = bearer(client, "lise")
    goal = {"text": "Jeg vil tale med nogen om mine tanker", "theme": "uddannelse"}
    plan = [*FIRST_MEETING["plan"], goal | {"department": "psykiatri"}]
    refused = step(client, lise, reference, "hold_first_meeting", FIRST_MEETING | {"plan": plan})
    assert refused.status_code == 422, refused.text
    assert refused.json()["fields"] == [
        {
            "field": "inputs.plan",
            "message": "mål 2: afdelingen er ikke i den unges team, og den unges samtykke "
            "dækker den ikke (eller er trukket tilbage); vælg en afdeling fra teamet eller "
            "ingen, eller registrér samtykke til den først (kortet Samtykke)",
        }
    ]
    case = client.get(f"/api/v1/cases/{reference}", headers=lise).json()
    assert case["stage"] == "awaiting_first_meeting"
    assert case["plan"] == []
    plan = [*FIRST_MEETING["plan"], goal | {"department": "uu"}]
    held = step(client, lise, reference, "hold_first_meeting", FIRST_MEETING | {"plan": plan})
    assert held.status_code == 200, held.text
