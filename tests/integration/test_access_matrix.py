"""The access rule as a matrix, through the JSON API: people x consent states x actions.

Every cell of :data:`EXPECTED` is one request by one person on one case; the table is
written out by hand from the rule (see workflow.engine.access), never computed from it, so a
wrong rule — or a store query that disagrees with it — fails here.

One case is built per consent state (once for the module), each in the follow-up stage
with a team of one school teacher (skole) and one youth guidance counsellor (uu).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import Clock
from tests.support.case_api import (
    CASEWORKER,
    COORDINATOR,
    FIRST_MEETING,
    FOLLOW_UP,
    MISSING,
    PRE_MEETING,
    SOROE,
    bearer,
    create_staff,
    referred_case,
    step,
)
from tests.support.services import create_database
from workflow.cases.model import RejectedError
from workflow.engine.model import Actor
from workflow.errors import CaseNotFoundError
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime, build_runtime
from workflow.settings import Settings
from workflow.web.app import create_app

#: The consent states, each with its own case: (departments given, then withdrawn).
STATES: dict[str, tuple[list[str], list[str]]] = {
    "no consent": ([], []),
    "skole": (["skole"], []),
    "skole+uu": (["skole", "uu"], []),
    "skole withdrawn": (["skole", "uu"], ["skole"]),  # uu is still covered
}
ACTIONS = ("read", "trigger", "export", "caseload")
PURPOSE = "tilsyn med ungeindsatsen"

#: The people, each as (username, purpose stated on the request or None).
PEOPLE: dict[str, tuple[str, str | None]] = {
    "caseworker": ("mette", None),
    "coordinator": ("lise", None),
    "team member, skole": ("anna", None),
    "team member, uu": ("sara", None),
    "staff on no case (340)": ("bo", None),
    "leader, legal basis, purpose": ("lone", PURPOSE),
    "leader, legal basis, no purpose": ("lone", None),
    "leader, grant revoked": ("per", PURPOSE),
    "leader, legal basis in 101": ("karl", PURPOSE),
}

# What each letter means (one letter per action: read, trigger, export, caseload):
#   A  allowed by the access rule. A step counts as allowed when the answer is not 403/404:
#      200, or 422 'rejected' by the engine because the step is not this role's
#      (hold_follow_up is the coordinator's alone; the definition has no team member step).
#      In the caseload column: the case is listed in GET /api/v1/cases.
#   N  404 not_found — exactly as for a case that does not exist. Caseload: not listed.
#   F  403 forbidden: the person may see the case, but not do this.
#   P  403 purpose_required: a read or an export through a legal basis without a stated
#      purpose (?purpose=). The case's own people need not state one.
EXPECTED_TABLE = """
person                           | no consent | skole | skole+uu | skole withdrawn
caseworker                       | AAAA       | AAAA  | AAAA     | AAAA
coordinator                      | AAAA       | AAAA  | AAAA     | AAAA
team member, skole               | NNNN       | AAFA  | AAFA     | NNNN
team member, uu                  | NNNN       | NNNN  | AAFA     | AAFA
staff on no case (340)           | NNNN       | NNNN  | NNNN     | NNNN
leader, legal basis, purpose     | AFAN       | AFAN  | AFAN     | AFAN
leader, legal basis, no purpose  | PFPN       | PFPN  | PFPN     | PFPN
leader, grant revoked            | NNNN       | NNNN  | NNNN     | NNNN
leader, legal basis in 101       | NNNN       | NNNN  | NNNN     | NNNN
"""


def _expected() -> dict[tuple[str, str, str], str]:
    """The table above as {(person, state, action): letter}."""
    header, *rows = EXPECTED_TABLE.strip().splitlines()
    states = [cell.strip() for cell in header.split("|")[1:]]
    assert states == list(STATES), "the table's columns are the consent states"
    cells = {}
    for row in rows:
        person, *letters = [cell.strip() for cell in row.split("|")]
        assert person in PEOPLE, person
        for state, word in zip(states, letters, strict=True):
            assert len(word) == len(ACTIONS), (person, word)
            assert set(word) <= set("ANFP"), (person, word)
            cells.update({(person, state, a): w for a, w in zip(ACTIONS, word, strict=True)})
    assert {p for p, _, _ in cells} == set(PEOPLE), "every person has a row"
    return cells


EXPECTED = _expected()


@dataclass
class World:
    runtime: Runtime
    client: TestClient
    headers: dict[str, dict[str, str]]  # username -> Authorization header
    cases: dict[str, str]  # consent state -> case reference


def _case(runtime: Runtime, given: list[str], withdrawn: list[str]) -> str:
    """A case in follow-up, team skole + uu, with the consent state asked for."""
    reference = referred_case(runtime)
    if given:  # the young person is 16: a parent consents too
        request = ConsentRequest(given, ["education"], guardian=True)
        runtime.consents.give(reference, CASEWORKER, request)
    if withdrawn:
        assert runtime.consents.withdraw(reference, CASEWORKER, withdrawn) == withdrawn
    runtime.service.trigger(reference, "hold_pre_meeting", PRE_MEETING, CASEWORKER)
    runtime.service.trigger(reference, "hold_first_meeting", FIRST_MEETING, COORDINATOR)
    return reference


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    home: Path = tmp_path_factory.mktemp("access-matrix")
    url = (
        f"sqlite:///{home / 'workflow.db'}"
        if request.param == "sqlite"
        else create_database(request.getfixturevalue("pg_server"))
    )
    settings = Settings(database_url=url, home=home / "var", base_url="https://kui.example")
    runtime = build_runtime(settings, clock=Clock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC)))
    create_staff(runtime)
    cases = {state: _case(runtime, *consent) for state, consent in STATES.items()}

    grants = runtime.grants
    law = "Serviceloven § 146"
    grants.grant("leder-lone", SOROE, "oversight", law, "operator:dpo", ("read", "export"))
    grants.grant("leder-karl", "101", "oversight", law, "operator:dpo", ("read", "export"))
    grants.grant("leder-ulla", SOROE, "inspection", law, "operator:dpo", ("read", "trigger"))
    revoked = grants.grant("leder-per", SOROE, "oversight", law, "operator:dpo")
    some_case = cases["no consent"]
    before = runtime.service.view(some_case, Actor("leader", "leder-per"), PURPOSE)
    assert before.reference == some_case  # the grant worked while it lasted
    grants.revoke(revoked.id, "operator:dpo")

    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        usernames = {username for username, _ in PEOPLE.values()} | {"ulla"}
        headers = {username: bearer(client, username) for username in usernames}
        yield World(runtime, client, headers, cases)
    runtime.engine.dispose()


def _request(world: World, person: str, action: str, reference: str) -> httpx.Response:
    username, purpose = PEOPLE[person]
    headers = world.headers[username]
    params = {"purpose": purpose} if purpose else {}
    if action == "trigger":  # (the purpose is offered on the query too)
        return step(world.client, headers, reference, "hold_follow_up", FOLLOW_UP, **params)
    path = {"read": f"/api/v1/cases/{reference}", "export": f"/api/v1/cases/{reference}/export"}
    answer: httpx.Response = world.client.get(path[action], headers=headers, params=params)
    return answer


def _letter(action: str, answer: httpx.Response) -> str:
    """What an answer means for access (see the legend above the table)."""
    error = answer.json().get("error") if answer.status_code != 200 else None
    if answer.status_code == 200:
        return "A"
    if answer.status_code == 422 and action == "trigger" and error == "rejected":
        return "A"  # the access rule let the step through to the engine, which refused it
    if answer.status_code == 404 and error == "not_found":
        return "N"
    if answer.status_code == 403 and error == "forbidden":
        return "F"
    if answer.status_code == 403 and error == "purpose_required":
        return "P"
    return f"?{answer.status_code} {error}"  # anything else is wrong in every cell


def test_the_access_matrix(world: World) -> None:
    actual: dict[tuple[str, str, str], str] = {}
    detail: dict[tuple[str, str, str], str] = {}
    for person, (username, _) in PEOPLE.items():
        caseload = world.client.get("/api/v1/cases", headers=world.headers[username])
        assert caseload.status_code == 200, caseload.text
        listed = {c["reference"] for c in caseload.json()["cases"]}
        for state, reference in world.cases.items():
            for action in ACTIONS[:3]:
                answer = _request(world, person, action, reference)
                actual[person, state, action] = _letter(action, answer)
                detail[person, state, action] = f"{answer.status_code} {answer.text[:160]}"
            actual[person, state, "caseload"] = "A" if reference in listed else "N"
            detail[person, state, "caseload"] = f"listed: {sorted(listed)}"

    wrong = [
        f"  {person} | {state} | {action}: expected {EXPECTED[cell]}, got {actual[cell]}"
        f"  ({detail[cell]})"
        for cell in EXPECTED
        for person, state, action in [cell]
        if actual[cell] != EXPECTED[cell]
    ]
    table = "\n".join(
        f"  {person:34}| "
        + " | ".join("".join(actual[person, s, a] for a in ACTIONS) for s in STATES)
        for person in PEOPLE
    )
    assert not wrong, (
        f"{len(wrong)} of {len(EXPECTED)} cells differ from the rule:\n"
        + "\n".join(wrong)
        + f"\nThe whole matrix as answered ({' | '.join(STATES)}; R T E C):\n{table}"
    )
    # "Allowed" is not only the engine's refusal: the coordinator's step really is taken.
    assert [detail["coordinator", s, "trigger"][:4] for s in STATES] == ["200 "] * len(STATES)


def test_a_refused_case_looks_exactly_like_a_missing_one(world: World) -> None:
    """Every 404 of the matrix is the answer for a reference no case has, but for the
    reference itself: the same status, error code, message and fields."""
    compared = 0
    for (person, state, action), letter in EXPECTED.items():
        if letter != "N" or action == "caseload":
            continue
        reference = world.cases[state]
        refused = _request(world, person, action, reference)
        missing = _request(world, person, action, MISSING)
        assert missing.status_code == 404, missing.text
        assert refused.status_code == missing.status_code, (person, state, action)
        assert refused.json() == json.loads(missing.text.replace(MISSING, reference)), (
            person,
            state,
            action,
        )
        assert refused.headers["content-type"] == missing.headers["content-type"]
        compared += 1
    assert compared == 48  # the table's 404s for a case that exists (caseload aside)
    # The service layer answers the same way (CaseNotFoundError, same wording).
    with pytest.raises(CaseNotFoundError, match=f"^no case {world.cases['skole']}$"):
        world.runtime.service.view(world.cases["skole"], Actor("team_member", "vejleder-sara"))


# --- steps through a legal basis -------------------------------------------------------


def test_a_step_a_legal_basis_does_not_cover_is_forbidden(world: World) -> None:
    answer = step(
        world.client,
        world.headers["lone"],
        world.cases["skole"],
        "hold_follow_up",
        FOLLOW_UP,
        purpose=PURPOSE,
    )
    assert (answer.status_code, answer.json()["error"]) == (403, "forbidden")


def test_a_legal_basis_for_steps_lets_its_holder_take_one_through_the_api(world: World) -> None:
    reference = world.cases["no consent"]
    # The service layer lets the grant through to the engine (which refuses the role).
    with pytest.raises(RejectedError):
        world.runtime.service.trigger(
            reference, "hold_follow_up", FOLLOW_UP, Actor("leader", "leder-ulla")
        )
    answer = step(
        world.client,
        world.headers["ulla"],
        reference,
        "hold_follow_up",
        FOLLOW_UP,
        purpose=PURPOSE,
    )
    assert _letter("trigger", answer) == "A", answer.text
