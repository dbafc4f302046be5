"""A server error leaves the exception's type and code location in the log, never its
message (issue 17: a CPR-like number from a bad field name reached the app log through
uvicorn's traceback; docs/privacy.md: "by type and path only").

A real uvicorn server, with a route of this test's own that fails with personal data in
its exception's message and in its local values.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from tests.support.services import free_port
from workflow.runtime import Runtime
from workflow.web.app import create_app
from workflow.web.private_logs import PrivateTracebacks, private_traceback
from workflow.web.server import serve_in_thread

CPR = "0101101234"
NAME = "Freja Testesen"


def fail_with_personal_data() -> None:
    person = {"name": NAME, "cpr": CPR}  # a local value a full traceback could show
    raise ValueError(f"bad field team.{person['cpr']}.person for {person['name']}")


FAILING_LINE = fail_with_personal_data.__code__.co_firstlineno + 2


def failing_route() -> None:
    try:
        fail_with_personal_data()
    except ValueError as error:  # a chained exception: both are left out
        raise RuntimeError(f"could not read the form of {NAME}") from error


@pytest.fixture
def failing_app(sqlite_runtime: Runtime) -> FastAPI:
    app = create_app(sqlite_runtime)
    app.add_api_route("/test-only/fail", failing_route)
    return app


@pytest.fixture
def server_log(failing_app: FastAPI) -> Iterator[tuple[str, io.StringIO]]:
    port = free_port()
    server = serve_in_thread(failing_app, "127.0.0.1", port)
    stream = io.StringIO()
    # The server's own handler (its formatter as configured), written to a buffer here.
    [handler] = logging.getLogger("uvicorn").handlers
    assert isinstance(handler, logging.StreamHandler)
    assert isinstance(handler.formatter, PrivateTracebacks)
    previous = handler.setStream(stream)
    try:
        yield f"http://127.0.0.1:{port}", stream
    finally:
        handler.setStream(previous)
        server.should_exit = True


def test_a_server_error_is_logged_by_type_and_location_without_its_message(
    server_log: tuple[str, io.StringIO], caplog: pytest.LogCaptureFixture
) -> None:
    url, stream = server_log
    with caplog.at_level(logging.INFO):
        # A generous timeout: on a loaded machine (CI beside other work) the first answer
        # of a fresh server took more than httpx's 5 s.
        response = httpx.get(f"{url}/test-only/fail", timeout=60)
    assert response.status_code == 500
    assert CPR not in response.text
    assert NAME not in response.text

    # uvicorn's "Exception in ASGI application", with its traceback: logged once the
    # error has been answered (the 500 may reach the client first).
    deadline = time.monotonic() + 10
    while "Exception in ASGI application" not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    server = stream.getvalue()
    assert "Exception in ASGI application" in server
    assert "RuntimeError (message left out)" in server
    assert "ValueError (message left out)" in server
    where = f"tests/integration/test_app_log_privacy.py:{FAILING_LINE} in fail_with_personal_data"
    assert where in server
    # The app's own record of the error: by type, location and path.
    [record] = [r for r in caplog.records if r.name == "workflow.web.error_answers"]
    assert record.exc_info is None
    message = record.getMessage()
    assert message.startswith("unexpected RuntimeError at tests/integration/test_app_log_privacy")
    assert "in failing_route (from workflow/" in message  # and the last frame of ours
    assert message.endswith(" on GET /test-only/fail")

    everything = server + "\n".join(r.getMessage() for r in caplog.records)
    for secret in (CPR, NAME, "bad field", "team."):
        assert secret not in everything, secret


def test_a_private_traceback_names_frames_and_types_only() -> None:
    try:
        failing_route()
    except RuntimeError as error:
        text = private_traceback(error)
    assert text.splitlines()[0].startswith("Traceback (messages and values left out")
    assert "RuntimeError (message left out)" in text
    assert f"test_app_log_privacy.py:{FAILING_LINE} in fail_with_personal_data" in text
    assert CPR not in text
    assert NAME not in text
