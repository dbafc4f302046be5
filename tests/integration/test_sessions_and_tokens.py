"""Sessions and identity (issue 17): throttled logins instead of a lockout, sessions and
tokens that a password change ends, that can be listed and revoked and carry scopes,
deactivated accounts, and the single sign-on header mode's CSRF and peer checks.

Everything goes through the real app (FastAPI's test client; uvicorn for the peer
address) on a real SQLite store. Client addresses come from ``X-Forwarded-For`` through
a local-accounts identity that trusts the test client as its proxy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import re
import statistics
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select
from typer.testing import CliRunner

from workflow.cli.main import app as cli
from workflow.privacy import passwords
from workflow.runtime import Runtime
from workflow.store.tables import AuditEntry, WebSession
from workflow.web.app import create_app
from workflow.web.identity import CSRF_COOKIE, LocalSessions, TrustedHeader
from workflow.web.server import serve_in_thread

PASSWORD = "korrekt-hest-batteri"
NEW_PASSWORD = "blaa-cykel-over-broen"
REFERRAL = {
    "definition": "soroe",
    "young_person": {"name": "Freja Testesen", "cpr": "010110-4321", "birth_date": "2010-01-01"},
    "inputs": {"source": "school", "caseworker": "cw-mette"},
}


@pytest.fixture
def runtime(sqlite_runtime: Runtime) -> Runtime:
    sqlite_runtime.accounts.create(
        "mette",
        PASSWORD,
        display_name="Mette Sagsbehandler",
        person_id="cw-mette",
        roles=["caseworker"],
        municipality_code="340",
    )
    return sqlite_runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    # The test client stands for a proxy: each request names its client in X-Forwarded-For.
    identity = LocalSessions(runtime.accounts, trusted=("testclient",))
    with TestClient(
        create_app(runtime, identity=identity),
        base_url="https://testserver",
        follow_redirects=False,
    ) as test_client:
        yield test_client


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def _token(
    client: TestClient,
    username: str = "mette",
    password: str = PASSWORD,
    address: str = "10.0.0.2",
    **extra: Any,
) -> httpx.Response:
    body = {"username": username, "password": password, **extra}
    return client.post("/api/v1/tokens", json=body, headers=_from(address))


def _bearer(client: TestClient, **extra: Any) -> dict[str, str]:
    answer = _token(client, **extra)
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def _web_login(
    client: TestClient, username: str, password: str = PASSWORD, address: str = "10.0.0.2"
) -> httpx.Response:
    token = _csrf(client.get("/login", headers=_from(address)).text)
    form = {"username": username, "password": password, "csrf_token": token, "next": "/"}
    return client.post("/login", data=form, headers=_from(address))


def _audit_actions(runtime: Runtime) -> list[str]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_type == "account")
                .order_by(AuditEntry.id)
            )
        )


def _without_tokens(html: str) -> str:
    return re.sub(r'value="[^"]{20,}"', 'value=""', html)


# --- 1. throttled logins: no denial of service, no oracle ----------------------------


def test_an_unknown_and_an_existing_username_get_the_same_replies(client: TestClient) -> None:
    real = [_token(client, "mette", "wrong-password-1", "10.0.0.66") for _ in range(6)]
    ghost = [_token(client, "ghost", "wrong-password-1", "10.0.0.67") for _ in range(6)]
    assert [a.status_code for a in real] == [a.status_code for a in ghost] == [401] * 5 + [429]
    assert [a.json() for a in real] == [a.json() for a in ghost]
    assert real[5].json()["error"] == "throttled"
    assert "try again in 1 minute" in real[5].json()["message"]
    # The pages alike: the same words, the same status.
    pages = [_web_login(client, name, "wrong-password-1", "10.0.0.68") for name in ("mette",) * 6]
    ghost_pages = [_web_login(client, "ghost", "wrong-password-1", "10.0.0.69") for _ in range(6)]
    assert [p.status_code for p in pages] == [p.status_code for p in ghost_pages]
    assert pages[5].status_code == 429
    assert "Prøv igen om 1 min." in pages[5].text
    shown = [re.sub(r"mette|ghost", "X", _without_tokens(p.text)) for p in pages]
    assert shown == [re.sub(r"mette|ghost", "X", _without_tokens(p.text)) for p in ghost_pages]


def test_an_unknown_username_costs_a_password_check_like_a_wrong_password(
    client: TestClient,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    # Argon2 at the production cost, as a real installation has it (the suite's cheap
    # hashes take well under a millisecond: the times would compare the requests' other
    # work, not the password checks). An account made with it, and the dummy hash anew.
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher())
    passwords.dummy_hash.cache_clear()
    request.addfinalizer(passwords.dummy_hash.cache_clear)  # the next tests' cheap one
    runtime.accounts.create(
        "jens",
        PASSWORD,
        display_name="Jens Sagsbehandler",
        person_id="cw-jens",
        roles=["caseworker"],
        municipality_code="340",
    )
    checked: list[str] = []
    verify = passwords.verify

    def counting(stored: str, password: str) -> bool:
        checked.append(stored)
        return verify(stored, password)

    monkeypatch.setattr(passwords, "verify", counting)
    timings: dict[str, list[float]] = {"jens": [], "ghost": []}
    for attempt in range(3):
        for name in timings:
            started = time.perf_counter()
            answer = _token(client, name, "wrong-password-1", f"10.1.{attempt}.{len(name)}")
            timings[name].append(time.perf_counter() - started)
            assert answer.status_code == 401
    assert len(checked) == 6  # one argon2 verification per attempt, known user or not
    assert checked.count(passwords.dummy_hash()) == 3
    known, unknown = statistics.median(timings["jens"]), statistics.median(timings["ghost"])
    assert unknown > known / 3, (known, unknown)  # no fast path for an unknown username


def test_spraying_one_password_over_many_usernames_from_one_address_is_throttled(
    client: TestClient,
) -> None:
    answers = [_token(client, f"user{n}", "Sommer2026!!", "10.0.0.99") for n in range(21)]
    assert [a.status_code for a in answers] == [401] * 20 + [429]
    # Another address is not slowed by it.
    assert _token(client, "user0", "Sommer2026!!", "10.0.0.98").status_code == 401
    assert _token(client, address="10.0.0.98").status_code == 201


def test_the_real_user_logs_in_from_elsewhere_while_an_attacker_waits(
    client: TestClient,
) -> None:
    for _ in range(5):
        assert _token(client, "mette", "guess-guess-1", "203.0.113.9").status_code == 401
    assert _token(client, "mette", PASSWORD, "203.0.113.9").status_code == 429
    # Mette at her desk (a new address to the app) is not locked out.
    assert _token(client, address="10.0.0.2").status_code == 201
    assert _web_login(client, "mette", address="10.0.0.3").status_code == 303


def test_an_attack_spread_over_many_addresses_slows_new_addresses_but_not_known_ones(
    client: TestClient,
) -> None:
    assert _token(client, address="10.0.0.2").status_code == 201  # her usual address
    for n in range(20):
        assert _token(client, "mette", "guess-guess-1", f"198.51.100.{n}").status_code == 401
    assert _token(client, "mette", PASSWORD, "198.51.100.200").status_code == 429
    assert _token(client, address="10.0.0.2").status_code == 201


def test_many_failures_alert_the_operators_once(
    client: TestClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="workflow.privacy.accounts")
    for n in range(23):
        _token(client, "mette", "guess-guess-1", f"198.51.100.{n}")
    assert _audit_actions(runtime).count("login_alert") == 1
    with runtime.sessions() as session:
        alert = session.scalars(select(AuditEntry).where(AuditEntry.action == "login_alert")).one()
    assert (alert.object_id, alert.details["kind"], alert.details["failures"]) == (
        "mette",
        "account",
        20,
    )
    warnings = [r.getMessage() for r in caplog.records if "login alert" in r.getMessage()]
    assert len(warnings) == 1
    assert "20 failed logins" in warnings[0]
    assert "mette" not in warnings[0]
    assert "guess" not in caplog.text  # never a password


def test_a_wrong_password_keeps_the_username_in_the_field_escaped(client: TestClient) -> None:
    page = _web_login(client, 'mette"><b>x', "wrong-password-1")
    assert page.status_code == 401
    assert 'value="mette&#34;&gt;&lt;b&gt;x"' in page.text
    assert "<b>x" not in page.text
    assert "wrong-password-1" not in page.text


# --- 2. a password change ends the other sessions and tokens -------------------------


def test_changing_ones_password_ends_every_other_session_and_token(
    client: TestClient, runtime: Runtime
) -> None:
    assert _web_login(client, "mette").status_code == 303
    cookie = client.cookies.get("kui_session")
    assert cookie
    changer, other = _bearer(client), _bearer(client)
    answer = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=changer,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ended": 2}
    assert client.get("/api/v1/me", headers=changer).status_code == 200  # goes on
    assert client.get("/api/v1/me", headers=other).status_code == 401
    client.cookies.set("kui_session", cookie)
    assert client.get("/").status_code == 303  # the old browser session is over
    assert _token(client, password=PASSWORD).status_code == 401
    assert _token(client, password=NEW_PASSWORD).status_code == 201
    assert "change" in _audit_actions(runtime)


def test_a_wrong_current_password_changes_nothing_and_says_which_field(
    client: TestClient,
) -> None:
    headers = _bearer(client)
    answer = client.post(
        "/api/v1/me/password",
        json={"current_password": "not-my-password", "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert answer.status_code == 422
    assert answer.json()["fields"][0]["field"] == "body.current_password"
    weak = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "            "},
        headers=headers,
    )
    assert weak.status_code == 422
    assert weak.json()["fields"][0]["field"] == "body.new_password"
    assert _token(client).status_code == 201


def test_the_password_page_keeps_this_browser_and_ends_the_rest(client: TestClient) -> None:
    token = _bearer(client)
    assert _web_login(client, "mette").status_code == 303
    form = client.get("/account/password")
    assert form.status_code == 200
    data = {
        "csrf_token": _csrf(form.text),
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "repeat_password": NEW_PASSWORD,
    }
    changed = client.post("/account/password", data=data)
    assert changed.status_code == 200
    assert "Adgangskoden er skiftet. 1 andre" in changed.text
    assert client.get("/").status_code == 200  # this browser goes on
    assert client.get("/api/v1/me", headers=token).status_code == 401


def test_an_operators_password_reset_ends_every_session_and_token(
    client: TestClient, runtime: Runtime
) -> None:
    headers = _bearer(client)
    result = CliRunner().invoke(
        cli, ["account", "password", "mette"], input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "1 sessions and API tokens ended" in result.output
    assert client.get("/api/v1/me", headers=headers).status_code == 401


# --- 3. list and revoke tokens; deactivate an account --------------------------------


def test_a_person_lists_and_revokes_their_tokens(client: TestClient, runtime: Runtime) -> None:
    mine = _bearer(client, name="kalender")
    other = _token(client, scopes=["read"], name="rapport").json()
    listed = client.get("/api/v1/tokens", headers=mine)
    assert listed.status_code == 200
    tokens = {t["name"]: t for t in listed.json()}
    assert tokens["kalender"]["current"] is True
    assert tokens["rapport"] == {
        "id": other["id"],
        "kind": "api",
        "name": "rapport",
        "scopes": ["read"],
        "created_at": tokens["rapport"]["created_at"],
        "expires_at": tokens["rapport"]["expires_at"],
        "current": False,
    }
    assert other["token"] not in listed.text  # ids, never tokens
    assert client.delete(f"/api/v1/tokens/{other['id']}", headers=mine).status_code == 204
    gone = client.get("/api/v1/me", headers={"Authorization": f"Bearer {other['token']}"})
    assert gone.status_code == 401
    again = client.delete(f"/api/v1/tokens/{other['id']}", headers=mine)
    assert again.status_code == 404
    assert "GET /api/v1/tokens" in again.json()["message"]
    assert "logout" in _audit_actions(runtime)


def test_an_operator_lists_revokes_deactivates_and_reactivates(
    client: TestClient, runtime: Runtime
) -> None:
    first = _token(client, name="integration").json()
    second = _bearer(client)
    runner = CliRunner()
    listed = runner.invoke(cli, ["account", "tokens", "mette"])
    assert listed.exit_code == 0, listed.output
    assert first["id"] in listed.output
    assert "integration" in listed.output
    assert first["token"] not in listed.output
    revoked = runner.invoke(cli, ["account", "revoke-token", "mette", first["id"]])
    assert revoked.exit_code == 0, revoked.output
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {first['token']}"}).status_code
        == 401
    )
    unknown = runner.invoke(cli, ["account", "revoke-token", "mette", "0123456789abcdef"])
    assert unknown.exit_code == 1
    assert "workflow account tokens mette" in unknown.output

    deactivated = runner.invoke(cli, ["account", "deactivate", "mette"])
    assert deactivated.exit_code == 0, deactivated.output
    assert "1 sessions and API tokens ended" in deactivated.output
    assert client.get("/api/v1/me", headers=second).status_code == 401
    refused, ghost = _token(client), _token(client, "ghost")
    assert refused.status_code == ghost.status_code == 401
    assert refused.json() == ghost.json()  # the same generic refusal

    assert runner.invoke(cli, ["account", "reactivate", "mette"]).exit_code == 0
    assert _token(client).status_code == 201
    with runtime.sessions() as session:
        changes = [
            e.details.get("change")
            for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "change"))
        ]
    assert changes == ["deactivated", "reactivated"]
    assert runner.invoke(cli, ["account", "tokens", "nobody"]).exit_code == 1


# --- 4. token scopes -----------------------------------------------------------------


def test_a_token_does_only_what_its_scopes_allow(client: TestClient) -> None:
    default = _bearer(client)
    opened = client.post("/api/v1/cases", json=REFERRAL, headers=default)
    assert opened.status_code == 201, opened.text
    reference = opened.json()["reference"]
    assert client.get(f"/api/v1/cases/{reference}", headers=default).status_code == 200
    reveal = {"purpose": "Journalisering af henvendelse"}
    refused = client.post(f"/api/v1/cases/{reference}/cpr", json=reveal, headers=default)
    assert refused.status_code == 403
    assert refused.json()["error"] == "scope"
    assert "'cpr' scope" in refused.json()["message"]

    reader = _bearer(client, scopes=["read"])
    assert client.get(f"/api/v1/cases/{reference}", headers=reader).status_code == 200
    step = client.post(
        f"/api/v1/cases/{reference}/events/accept_referral",
        json={"inputs": {"young_person_agrees": True, "consent": True}},
        headers=reader,
    )
    assert step.status_code == 403
    assert "'act' scope" in step.json()["message"]

    revealer = _bearer(client, scopes=["read", "cpr"])
    shown = client.post(f"/api/v1/cases/{reference}/cpr", json=reveal, headers=revealer)
    assert shown.status_code == 200, shown.text
    assert shown.json()["cpr"] == "010110-4321"

    bad = _token(client, scopes=["admin"])
    assert bad.status_code == 422
    assert bad.json()["fields"][0]["field"].startswith("body.scopes")


# --- 5. the single sign-on header mode -----------------------------------------------


def test_a_direct_client_claiming_the_proxys_address_is_not_the_user(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # uvicorn would believe anyone
    identity = TrustedHeader(runtime.accounts, "a-long-random-secret-key", trusted=("10.0.0.1",))
    app = create_app(runtime, identity=identity)
    port = _free_port()
    server = serve_in_thread(app, "127.0.0.1", port)
    try:
        forged = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/me",
            headers={"X-Forwarded-For": "10.0.0.1", "X-Remote-User": "mette"},
        )
        assert forged.status_code == 401
    finally:
        server.should_exit = True
    trusting = TrustedHeader(runtime.accounts, "a-long-random-secret-key", trusted=("127.0.0.1",))
    port = _free_port()
    server = serve_in_thread(create_app(runtime, identity=trusting), "127.0.0.1", port)
    try:
        proxied = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/me", headers={"X-Remote-User": "mette"}
        )
        assert proxied.status_code == 200
        assert proxied.json()["person_id"] == "cw-mette"
    finally:
        server.should_exit = True


def _free_port() -> int:
    from workflow.web.server import free_local_port

    return free_local_port()


def _header_mode(runtime: Runtime) -> Runtime:
    """The runtime with the settings of a municipality behind a SAML/OIDC proxy (the test
    client's address is the proxy's; the secret key is the development default)."""
    settings = runtime.settings.model_copy(
        update={"identity": "header", "trusted_proxies": ["testclient"]}
    )
    return dataclasses.replace(runtime, settings=settings)


def test_the_header_modes_csrf_token_is_random_per_browser_session(runtime: Runtime) -> None:
    header_runtime = _header_mode(runtime)
    secret = header_runtime.settings.secret_key.get_secret_value()
    assert secret == "dev-secret-change-me"  # the known default: nothing may follow from it
    as_mette = {"X-Remote-User": "mette"}
    with TestClient(create_app(header_runtime), base_url="https://testserver") as client:
        # The old scheme's token, computable by anyone who knows the default secret.
        old = hmac.new(secret.encode(), b"csrf:mette", hashlib.sha256).hexdigest()
        forged = client.post(
            "/api/v1/cases", json=REFERRAL, headers={**as_mette, "X-CSRF-Token": old}
        )
        assert forged.status_code == 403
        assert forged.json()["error"] == "csrf"

        # The first request of a browser session is given its token, in a cookie.
        cookie = forged.headers["set-cookie"]
        assert cookie.startswith(f"{CSRF_COOKIE}=")
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        token = client.cookies[CSRF_COOKIE].split(".")[0]
        page = client.get("/", headers=as_mette)
        assert page.status_code == 200
        assert page.headers.get("set-cookie") is None  # kept for the browser session
        sent = client.post(
            "/api/v1/cases", json=REFERRAL, headers={**as_mette, "X-CSRF-Token": token}
        )
        assert sent.status_code == 201, sent.text

        # Another browser session gets another token; the first one's does not serve it.
        with TestClient(create_app(header_runtime), base_url="https://testserver") as second:
            second.get("/", headers=as_mette)
            assert second.cookies[CSRF_COOKIE].split(".")[0] != token
        # A cookie signed for mette does not serve another user.
        runtime.accounts.create(
            "lise",
            PASSWORD,
            display_name="Lise",
            person_id="tovholder-lise",
            roles=["coordinator"],
            municipality_code="340",
        )
        as_lise = {"X-Remote-User": "lise", "X-CSRF-Token": token}
        borrowed = client.post("/api/v1/cases", json=REFERRAL, headers=as_lise)
        assert borrowed.status_code == 403, borrowed.text


# --- the store: sessions and tokens from before keep working ------------------------


def test_sessions_and_tokens_from_before_upgrade_with_ids_and_scopes(store_url: str) -> None:
    """A browser session keeps its account's rights; an old API token gets read and act,
    not cpr; each gets an id; the lockout columns go (both stores)."""
    from tests.integration.test_migrations import _at_revision
    from workflow.store.database import make_engine, migrate

    engine = make_engine(store_url)
    account = (
        "INSERT INTO accounts (id, username, display_name, person_id, roles, locale,"
        " failed_logins, active, created_at) VALUES (1, 'mette', 'Mette', 'cw-mette',"
        " '[\"caseworker\"]', 'da', 3, true, '2026-01-01')"
    )
    session = (
        "INSERT INTO web_sessions (token_hash, account_id, kind, csrf_token, created_at,"
        " expires_at) VALUES ('{hash}', 1, '{kind}', 'c', '2026-01-01', '2026-02-01')"
    )
    try:
        _at_revision(
            engine,
            "0010",
            [
                account,
                session.format(hash="a" * 64, kind="browser"),
                session.format(hash="b" * 64, kind="api"),
            ],
        )
        migrate(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                select(WebSession.public_id, WebSession.kind, WebSession.scopes).order_by(
                    WebSession.public_id
                )
            ).all()
            columns = {c["name"] for c in inspect(connection).get_columns("accounts")}
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("a" * 16, "browser", ["read", "act", "cpr"]),
        ("b" * 16, "api", ["read", "act"]),
    ]
    assert not {"failed_logins", "locked_until"} & columns
