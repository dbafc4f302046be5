"""The web app's event loop stays free while a login is hashing a password.

argon2 takes tens of milliseconds of CPU by design, and the store is reached through
synchronous sessions: a handler that did either on the event loop would stall every
other request of the process meanwhile. Here the password check of one login is held
(observably) until a second request has been answered, under a real uvicorn server:
the second answer can only come while the first login is still hashing if the login
runs off the event loop. A login handler that ran on the loop makes the second request
time out, and the test fail (never hang: every wait is bounded).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.support.services import free_port
from workflow.privacy import passwords
from workflow.runtime import Runtime
from workflow.web.app import create_app
from workflow.web.login_pages import LOGIN_CSRF_COOKIE
from workflow.web.server import serve_in_thread

PASSWORD = "correct horse battery"
#: How long the held password check waits for the second answer (then goes on, so
#: nothing hangs); longer than the second request's own timeout.
HOLD_SECONDS = 10.0
#: Well inside the hold (a blocked loop answers only after it), and long enough for a
#: loaded CI machine to render the login page (4 s timed out once under full load).
SECOND_REQUEST_TIMEOUT = 8.0


@dataclass
class HeldHashing:
    """Wraps the account service's password check: it says when it starts, then waits."""

    started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    released_in_time: list[bool] = field(default_factory=list)

    def wrap(self, verify: Callable[[str, str], bool]) -> Callable[[str, str], bool]:
        def held(stored: str, password: str) -> bool:
            self.started.set()
            self.released_in_time.append(self.release.wait(HOLD_SECONDS))
            return verify(stored, password)

        return held


@pytest.fixture
def site(
    sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, HeldHashing]]:
    """The app under uvicorn on 127.0.0.1, with every password check held."""
    accounts = sqlite_runtime.accounts
    accounts.create(
        "mette",
        PASSWORD,
        display_name="Mette Sagsbehandler",
        person_id="cw-mette",
        roles=["caseworker"],
        municipality_code="340",
    )
    hashing = HeldHashing()
    monkeypatch.setattr(passwords, "verify", hashing.wrap(passwords.verify))
    port = free_port()
    server = serve_in_thread(create_app(sqlite_runtime), "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}", hashing
    hashing.release.set()
    server.should_exit = True


def _login_form(client: httpx.Client) -> httpx.Response:
    page = client.get("/login")
    assert page.status_code == 200, page.text
    token = page.cookies[LOGIN_CSRF_COOKIE]
    form = {"username": "mette", "password": PASSWORD, "next": "/", "csrf_token": token}
    # The cookie is Secure (the site's base URL is https), so the client would not send
    # it back over this plain-http test connection by itself.
    return client.post("/login", data=form, headers={"Cookie": f"{LOGIN_CSRF_COOKIE}={token}"})


def _api_token(client: httpx.Client) -> httpx.Response:
    return client.post("/api/v1/tokens", json={"username": "mette", "password": PASSWORD})


@pytest.mark.parametrize(
    ("log_in", "logged_in"),
    [(_login_form, 303), (_api_token, 201)],
    ids=["login-form", "api-token"],
)
def test_a_request_is_answered_while_a_login_is_hashing(
    site: tuple[str, HeldHashing],
    log_in: Callable[[httpx.Client], httpx.Response],
    logged_in: int,
) -> None:
    url, hashing = site
    answers: list[httpx.Response] = []
    with httpx.Client(base_url=url, timeout=30) as first:
        login = threading.Thread(target=lambda: answers.append(log_in(first)), daemon=True)
        login.start()
        try:
            assert hashing.started.wait(10), "the login did not reach the password check"
            with httpx.Client(base_url=url, timeout=SECOND_REQUEST_TIMEOUT) as second:
                try:
                    health = second.get("/healthz")
                    page = second.get("/login")
                except httpx.TimeoutException:
                    pytest.fail("no answer while a login was hashing: it blocks the event loop")
            still_hashing = not hashing.release.is_set() and login.is_alive()
        finally:
            hashing.release.set()
            login.join(HOLD_SECONDS + 10)
    assert still_hashing, "the second request was answered only after the login"
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert page.status_code == 200
    assert hashing.released_in_time == [True]  # released by the test, not by its timeout
    assert [a.status_code for a in answers] == [logged_in], answers[0].text if answers else ""
