"""The JSON API as its clients use it: tokens, referral, steps, refusals, CSRF, the remote CLI.

Everything runs on a real SQLite store; the CLI test talks to a real uvicorn server.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.integration.conftest import Clock
from tests.support.services import free_port
from workflow.cli.main import app as cli
from workflow.runtime import Runtime
from workflow.web.app import create_app

PASSWORD = "correct horse battery"
#: The consent the start step gives (a 16-year-old: a custodial parent consents too).
SCOPE = {"departments": ["skole", "uu"], "categories": ["education"], "guardian": True}
GUARD = "Forløbet starter kun, når den unge vil, og samtykket er givet."
REFERRAL = {
    "definition": "soroe",
    "young_person": {"name": "Freja Testesen", "cpr": "010110-4321", "birth_date": "2010-01-01"},
    "inputs": {"source": "school", "caseworker": "cw-mette"},
}


@pytest.fixture
def api_runtime(sqlite_runtime: Runtime) -> Runtime:
    accounts = sqlite_runtime.accounts
    accounts.create(
        "mette",
        PASSWORD,
        display_name="Mette Sagsbehandler",
        person_id="cw-mette",
        roles=["caseworker"],
        municipality_code="340",
    )
    accounts.create(
        "kbh",
        PASSWORD,
        display_name="Karl København",
        person_id="cw-karl",
        roles=["caseworker"],
        municipality_code="101",
    )
    return sqlite_runtime


@pytest.fixture
def client(api_runtime: Runtime) -> Iterator[TestClient]:
    # https, so the browser session cookie (Secure) is sent back.
    with TestClient(create_app(api_runtime), base_url="https://testserver") as test_client:
        yield test_client


def login(client: TestClient, username: str = "mette") -> dict[str, str]:
    response = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def refer(client: TestClient, headers: dict[str, str]) -> str:
    response = client.post("/api/v1/cases", json=REFERRAL, headers=headers)
    assert response.status_code == 201, response.text
    reference: str = response.json()["reference"]
    return reference


def step(
    client: TestClient, headers: dict[str, str], reference: str, event: str, **body: Any
) -> httpx.Response:
    return client.post(f"/api/v1/cases/{reference}/events/{event}", json=body, headers=headers)


def test_a_token_for_the_right_password_and_a_wait_after_five_wrong(
    client: TestClient, clock: Clock
) -> None:
    me = client.get("/api/v1/me", headers=login(client))
    assert me.status_code == 200
    assert me.json()["person_id"] == "cw-mette"
    assert me.json()["roles"] == ["caseworker"]

    wrong = {"username": "mette", "password": "not the password"}
    answers = [client.post("/api/v1/tokens", json=wrong) for _ in range(6)]
    assert [a.status_code for a in answers] == [401] * 5 + [429]
    assert [a.json()["error"] for a in answers] == ["not_authenticated"] * 5 + ["throttled"]
    assert answers[0].json()["message"] == "wrong username or password"
    assert 1 <= int(answers[5].headers["retry-after"]) <= 60
    # Throttled, even the right password waits: the answer tells nothing about it.
    right = {"username": "mette", "password": PASSWORD}
    assert client.post("/api/v1/tokens", json=right).status_code == 429


def test_refer_read_refuse_and_take_a_step(client: TestClient) -> None:
    headers = login(client)
    opened = client.post("/api/v1/cases", json=REFERRAL, headers=headers)
    assert opened.status_code == 201
    result = opened.json()
    assert (result["reference"], result["event"]) == ("SOR-2026-0001", "refer")
    assert (result["from_stage"], result["to_stage"], result["seq"]) == (None, "referred", 1)
    assert result["repeated"] is False
    reference = opened.json()["reference"]

    case = client.get(f"/api/v1/cases/{reference}", headers=headers)
    assert case.status_code == 200
    detail = case.json()
    assert detail["stage"] == "referred"
    assert detail["young_person"] == {
        "name": "Freja Testesen",
        "birth_date": "2010-01-01",
        "cpr": "010110-xxxx",
    }
    assert "1234" not in case.text
    assert detail["caseworker"] == "cw-mette"
    assert detail["timezone"] == "Europe/Copenhagen"
    steps = {s["event"]: s for s in detail["next_steps"]}
    assert {"accept_referral", "decline_referral"} <= set(steps)
    accept_inputs = [i["name"] for i in steps["accept_referral"]["inputs"]]
    assert accept_inputs == ["young_person_agrees", "consent"]

    refused = step(
        client,
        headers,
        reference,
        "accept_referral",
        inputs={"young_person_agrees": True, "consent": False},
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == "rejected"
    assert refused.json()["message"] == GUARD

    missing = step(client, headers, reference, "accept_referral", inputs={})
    assert missing.status_code == 422
    assert missing.json()["error"] == "rejected"
    problems = {f["field"]: f["message"] for f in missing.json()["fields"]}
    assert problems == {
        "inputs.young_person_agrees": "skal udfyldes",
        "inputs.consent": "skal udfyldes",
    }
    assert client.get(f"/api/v1/cases/{reference}", headers=headers).json()["stage"] == "referred"

    agreed = {"young_person_agrees": True, "consent": True}
    # The step records the young person's consent: without its scope it is refused.
    unscoped = step(client, headers, reference, "accept_referral", inputs=agreed)
    assert unscoped.status_code == 422
    assert [f["field"] for f in unscoped.json()["fields"]] == ["consent"]
    assert "consent.departments" in unscoped.json()["fields"][0]["message"]
    first = step(
        client,
        headers,
        reference,
        "accept_referral",
        inputs=agreed,
        consent=SCOPE,
        idempotency_key="k1",
    )
    assert first.status_code == 200
    assert (first.json()["from_stage"], first.json()["to_stage"]) == ("referred", "pre_meeting")
    assert first.json()["repeated"] is False
    assert isinstance(first.json()["consent"], int)
    again = step(
        client,
        headers,
        reference,
        "accept_referral",
        inputs=agreed,
        consent=SCOPE,
        idempotency_key="k1",
    )
    assert again.status_code == 200
    assert again.json() == first.json() | {"repeated": True}

    after = client.get(f"/api/v1/cases/{reference}", headers=headers).json()
    assert after["stage"] == "pre_meeting"
    assert [h["event"] for h in after["history"]] == ["refer", "accept_referral", "consent_given"]

    reused = step(client, headers, reference, "withdraw", inputs={}, idempotency_key="k1")
    assert reused.status_code == 409
    assert [f["field"] for f in reused.json()["fields"]] == ["body.idempotency_key"]
    unknown_step = step(client, headers, reference, "no_such_step", inputs={})
    assert unknown_step.status_code == 404
    assert unknown_step.json()["error"] == "not_found"


def test_refusals_of_a_referral(client: TestClient) -> None:
    headers = login(client)
    mismatch = REFERRAL | {
        "young_person": REFERRAL["young_person"] | {"birth_date": "2010-01-02"},
    }
    answer = client.post("/api/v1/cases", json=mismatch, headers=headers)
    assert answer.status_code == 422
    assert [f["field"] for f in answer.json()["fields"]] == ["young_person.cpr"]

    too_young = REFERRAL | {
        "young_person": {"name": "Lille", "cpr": "010120-4321", "birth_date": "2020-01-01"},
    }
    answer = client.post("/api/v1/cases", json=too_young, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"] == "rejected"
    # The refusal says the definition's own age range (Sorø: 14-29), not "see the rules":
    assert "mellem 14 og 29 år" in answer.json()["message"], answer.json()

    answer = client.post(
        "/api/v1/cases", json=REFERRAL | {"definition": "nowhere"}, headers=headers
    )
    assert answer.status_code == 404

    answer = client.post("/api/v1/cases", json=REFERRAL | {"typo": 1}, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid"
    assert [f["field"] for f in answer.json()["fields"]] == ["body.typo"]

    nul = REFERRAL | {"inputs": {"source": "school", "caseworker": "cw\x00mette"}}
    answer = client.post("/api/v1/cases", json=nul, headers=headers)
    assert answer.status_code == 422
    assert [f["field"] for f in answer.json()["fields"]] == ["body.inputs"]


def test_unknown_cases_other_municipalities_and_missing_tokens(client: TestClient) -> None:
    headers = login(client)
    reference = refer(client, headers)

    unknown = client.get("/api/v1/cases/SOR-2026-9999", headers=headers)
    assert unknown.status_code == 404
    assert unknown.json() == {
        "error": "not_found",
        "message": "no case SOR-2026-9999 you have access to",
        "fields": [],
    }
    elsewhere = client.get(f"/api/v1/cases/{reference}", headers=login(client, "kbh"))
    assert elsewhere.status_code == 404
    # A newline in the path slips past the API's mount (found by the schema fuzz): the
    # answer is still the API's JSON, not a page.
    odd = client.post(
        f"/api/v1/cases/{reference}/events/a%0Ab", json={"inputs": {}}, headers=headers
    )
    assert odd.status_code == 404
    assert odd.headers["content-type"].startswith("application/json")
    assert odd.json()["error"] == "not_found"
    typo = client.get("/api/v1/cases", params={"stag": "referred"}, headers=headers)
    assert typo.status_code == 422
    assert [f["field"] for f in typo.json()["fields"]] == ["query.stag"]
    listed = client.get("/api/v1/cases", params={"stage": "referred"}, headers=headers)
    assert [c["reference"] for c in listed.json()["cases"]] == [reference]

    no_token = client.get(f"/api/v1/cases/{reference}")
    assert no_token.status_code == 401
    assert no_token.json()["error"] == "not_authenticated"
    bad_token = client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad_token.status_code == 401

    client.delete("/api/v1/tokens/current", headers=headers)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_session_cookie_needs_the_csrf_header_to_change_anything(client: TestClient) -> None:
    form = client.get("/login")
    login_csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert login_csrf is not None
    assert client.cookies.get("kui_login_csrf") == login_csrf.group(1)
    signed_in = client.post(
        "/login",
        data={
            "username": "mette",
            "password": PASSWORD,
            "csrf_token": login_csrf.group(1),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    assert client.cookies.get("kui_session")

    assert client.get("/api/v1/me").status_code == 200  # reading needs no CSRF token
    forged = client.post("/api/v1/cases", json=REFERRAL)
    assert forged.status_code == 403
    assert forged.json()["error"] == "csrf"
    wrong = client.post("/api/v1/cases", json=REFERRAL, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403

    page_csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
    assert page_csrf is not None
    allowed = client.post(
        "/api/v1/cases", json=REFERRAL, headers={"X-CSRF-Token": page_csrf.group(1)}
    )
    assert allowed.status_code == 201


# --- the CLI's remote mode against a real server ----------------------------------


@pytest.fixture
def server(api_runtime: Runtime) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(api_runtime), host="127.0.0.1", port=port, log_level="warning"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield url
    running.should_exit = True
    thread.join(timeout=10)


def test_the_cli_remote_mode_against_a_server(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WORKFLOW_REMOTE", "WORKFLOW_API_TOKEN", "PREFECT_API_URL"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    wrong = runner.invoke(cli, ["login", server, "--username", "mette"], input="nope\n")
    assert wrong.exit_code == 1
    # (The hidden password is not echoed here, so the prompt's line goes on.)
    assert wrong.stderr.endswith(":Error: wrong username or password\n")

    logged_in = runner.invoke(cli, ["login", server, "--username", "mette"], input=f"{PASSWORD}\n")
    assert logged_in.exit_code == 0, logged_in.output
    token = logged_in.stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", token)
    assert PASSWORD not in logged_in.output

    env = {"WORKFLOW_REMOTE": server, "WORKFLOW_API_TOKEN": token}
    opened = runner.invoke(
        cli,
        [
            "case",
            "refer",
            "soroe",
            "--name",
            "Freja Testesen",
            "--cpr",
            "0101104321",
            "--birth-date",
            "2010-01-01",
            "--input",
            "source=school",
            "--input",
            "caseworker=cw-mette",
        ],
        env=env,
    )
    assert opened.exit_code == 0, opened.output
    assert opened.stdout == "SOR-2026-0001: opened in referred\n"

    refused = runner.invoke(
        cli,
        [
            "case",
            "trigger",
            "SOR-2026-0001",
            "accept_referral",
            "--input",
            "young_person_agrees=true",
            "--input",
            "consent=false",
        ],
        env=env,
    )
    assert refused.exit_code == 1
    assert refused.stderr == f"Refused: {GUARD}\n"
    assert "Traceback" not in refused.output

    missing = runner.invoke(cli, ["case", "trigger", "SOR-2026-0001", "accept_referral"], env=env)
    assert missing.exit_code == 1
    assert missing.stderr.splitlines()[1:] == [
        "  inputs.young_person_agrees: skal udfyldes",
        "  inputs.consent: skal udfyldes",
    ]

    accept = [
        "case",
        "trigger",
        "SOR-2026-0001",
        "accept_referral",
        "--input",
        "young_person_agrees=true",
        "--input",
        "consent=true",
        "--idempotency-key",
        "cli-1",
    ]
    # Without the consent's scope the server refuses the step, naming what to send.
    unscoped = runner.invoke(cli, accept, env=env)
    assert unscoped.exit_code == 1
    assert "consent.departments" in unscoped.stderr
    accept += ["--consent-department", "skole", "--consent-category", "education"]
    accept += ["--parent-consent"]
    taken = runner.invoke(cli, accept, env=env)
    assert taken.exit_code == 0, taken.output
    assert taken.stdout == "SOR-2026-0001: referred -> pre_meeting\n"
    repeated = runner.invoke(cli, accept, env=env)
    assert repeated.stdout == (
        "SOR-2026-0001: referred -> pre_meeting (repeated request: first result)\n"
    )

    shown = runner.invoke(cli, ["case", "show", "SOR-2026-0001", "--remote", server], env=env)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == "SOR-2026-0001  (soroe v7)  stage: pre_meeting"
    assert lines[1] == "Timeline:"
    # Times in the process's zone (Copenhagen), as the local mode prints them.
    assert lines[2].split()[:6] == ["1", "2026-03-02", "09:00", "refer", "(new)", "->"]
    assert lines[3].split()[:7] == [
        "2",
        "2026-03-02",
        "09:00",
        "accept_referral",
        "referred",
        "->",
        "pre_meeting",
    ]
    assert any(line.startswith("Timer pre_meeting_due: due ") for line in lines)

    unknown = runner.invoke(cli, ["case", "show", "SOR-2026-9999"], env=env)
    assert unknown.exit_code == 1
    assert unknown.stderr == "Error: no case SOR-2026-9999 you have access to\n"

    no_token = runner.invoke(
        cli, ["case", "show", "SOR-2026-0001"], env={**env, "WORKFLOW_API_TOKEN": ""}
    )
    assert no_token.exit_code == 1
    assert no_token.stderr.startswith("Error: no API token: log in with `workflow login")

    expired = runner.invoke(
        cli, ["case", "show", "SOR-2026-0001"], env={**env, "WORKFLOW_API_TOKEN": "stale"}
    )
    assert expired.exit_code == 1
    assert expired.stderr.startswith("Error: not logged in, or the token has expired")

    down = runner.invoke(
        cli,
        ["case", "show", "SOR-2026-0001"],
        env={**env, "WORKFLOW_REMOTE": f"http://127.0.0.1:{free_port()}"},
    )
    assert down.exit_code == 1
    assert down.stderr.startswith("Error: cannot reach http://127.0.0.1:")
    assert "Traceback" not in down.output
