"""Helpers for tests that drive Sorø cases through the JSON API with several staff accounts.

Used by the access-matrix, consent-withdrawal and audit-completeness tests: staff
accounts, bearer tokens, and valid inputs for each step of a Sorø case.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.integration.scripted import PERSON
from workflow.engine.model import Actor
from workflow.runtime import Runtime

PASSWORD = "korrekt-hest-batteri-stald"
SOROE = "340"
MISSING = "SOR-2026-9999"  # a reference no case has (same length as the tests' own)

CASEWORKER = Actor("caseworker", "cw-mette")
COORDINATOR = Actor("coordinator", "tovholder-lise")
REFERRAL_INPUTS = {"source": "school", "caseworker": "cw-mette"}
ACCEPT = {"young_person_agrees": True, "consent": True}
#: The consent the start step gives through the API (``consent`` beside the inputs): the
#: seeded young person is a minor, so a custodial parent consents too.
START_CONSENT = {"departments": ["skole", "uu"], "categories": ["education"], "guardian": True}
#: The young person chooses a team member from the school and one from youth guidance.
PRE_MEETING = {
    "team": [
        {"department": "skole", "person": "laerer-anna"},
        {"department": "uu", "person": "vejleder-sara"},
    ],
    "coordinator": "tovholder-lise",
    "agenda": ["uddannelse", "fritid"],
    # A Tuesday (a Sorø meeting day) before the tests' clock (2 March), so the meeting
    # can be recorded as held at once: a meeting is never held before it starts.
    "first_meeting_at": "2026-02-24T09:00:00",
    "meeting_room": "raadhuset_storskaerm",
}
FIRST_MEETING = {
    "plan": [{"text": "Jeg skal møde op i skole 3 dage om ugen", "theme": "uddannelse"}],
    "next_meeting_at": "2026-02-26T09:00:00",  # a Thursday, held in the follow-up
}
FOLLOW_UP = {
    "reviews": [{"goal": 1, "status": "met"}],
    "plan": [{"text": "Jeg skal møde op i skole 4 dage om ugen", "theme": "uddannelse"}],
    "next_meeting_at": "2026-02-26T13:00:00",
}
HANDOVER = {"networks": [{"name": "Sorø Fodboldklub", "kind": "leisure"}]}
CLOSE = {"outcome": "education"}

#: username -> (staff id, roles, municipality)
STAFF: dict[str, tuple[str, list[str], str]] = {
    "mette": ("cw-mette", ["caseworker"], SOROE),
    "lise": ("tovholder-lise", ["coordinator"], SOROE),
    "anna": ("laerer-anna", ["team_member"], SOROE),
    "sara": ("vejleder-sara", ["team_member"], SOROE),
    "bo": ("cw-bo", ["caseworker"], SOROE),  # a caseworker on none of these cases
    "lone": ("leder-lone", ["leader"], SOROE),  # oversight through a legal basis
    "per": ("leder-per", ["leader"], SOROE),  # had a legal basis; it was revoked
    "karl": ("leder-karl", ["leader"], "101"),  # a legal basis in Copenhagen only
    "ulla": ("leder-ulla", ["leader"], SOROE),  # a legal basis that allows taking steps
}


def create_staff(runtime: Runtime, usernames: list[str] | None = None) -> None:
    """Local accounts for the staff in :data:`STAFF` (all of them by default)."""
    for username in usernames or list(STAFF):
        person_id, roles, municipality = STAFF[username]
        runtime.accounts.create(
            username,
            PASSWORD,
            display_name=f"{username.title()} Testansat",
            person_id=person_id,
            roles=roles,
            municipality_code=municipality,
        )


def bearer(client: TestClient, username: str) -> dict[str, str]:
    """An API token for the user with every scope (CPR reveals too), as the header."""
    body = {"username": username, "password": PASSWORD, "scopes": ["read", "act", "cpr"]}
    answer = client.post("/api/v1/tokens", json=body)
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def step(
    client: TestClient,
    headers: dict[str, str],
    reference: str,
    event: str,
    inputs: dict[str, Any],
    consent: dict[str, Any] | None = None,
    **params: str,
) -> httpx.Response:
    """POST an event through the API (with the consent a start step gives)."""
    answer: httpx.Response = client.post(
        f"/api/v1/cases/{reference}/events/{event}",
        json={"inputs": inputs} | ({"consent": consent} if consent else {}),
        headers=headers,
        params=params,
    )
    return answer


def referred_case(runtime: Runtime) -> str:
    """A new Sorø case for the seeded (minor) young person, accepted: at the pre-meeting."""
    opened = runtime.service.refer("soroe", PERSON, CASEWORKER, REFERRAL_INPUTS)
    runtime.service.trigger(opened.reference, "accept_referral", ACCEPT, CASEWORKER)
    return opened.reference
