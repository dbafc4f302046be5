"""The web app's door against large bodies (issue 17), through a real uvicorn server.

A 200 MB body to ``POST /api/v1/tokens`` once took the app from 235 to 918 MB before its
422, and an anonymous ``POST /api/v1/cases`` read the whole body before its 401. Now a
declared length over the limit is refused before the body is read, a streamed body stops
being read at the limit, and an API change without any credential is refused at once.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.services import free_port
from workflow.runtime import Runtime
from workflow.web.app import create_app
from workflow.web.server import serve_in_thread

PASSWORD = "correct horse battery"
MB = 1 << 20
LIMIT = MB  # the default WORKFLOW_WEB_MAX_BODY


@pytest.fixture
def server(sqlite_runtime: Runtime) -> Iterator[str]:
    sqlite_runtime.accounts.create(
        "mette",
        PASSWORD,
        display_name="Mette Sagsbehandler",
        person_id="cw-mette",
        roles=["caseworker"],
        municipality_code="340",
    )
    port = free_port()
    running = serve_in_thread(create_app(sqlite_runtime), "127.0.0.1", port)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        running.should_exit = True


@dataclass
class Exchange:
    status: int
    headers: str
    body: bytes
    sent: int  # body bytes the server took before it answered
    seconds: float


def exchange(address: str, head: str, body: Iterable[bytes] = (), timeout: float = 20) -> Exchange:
    """Send a request's head, then its body while no answer has come; read the answer."""
    host, port = address.split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
        sent = 0
        for chunk in body:
            if select.select([sock], [], [], 0)[0]:
                break  # the answer is there: stop sending
            try:
                sock.sendall(chunk)
            except OSError:  # the server closed the connection
                break
            sent += len(chunk)
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except ConnectionResetError:
            pass
    head_part, _, content = answer.partition(b"\r\n\r\n")
    status_line, _, headers = head_part.decode("latin-1").partition("\r\n")
    status = int(status_line.split()[1]) if status_line else 0
    return Exchange(status, headers.lower(), content, sent, time.monotonic() - started)


def chunked(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A chunked body of ``total`` bytes, chunk by chunk (never all in memory)."""
    piece = b"x" * size
    for _ in range(total // size):
        yield b"%x\r\n%s\r\n" % (size, piece)
    yield b"0\r\n\r\n"


def rss() -> int:
    """This process's resident memory now (the server runs in a thread of it), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def token(address: str) -> str:
    response = httpx.post(
        f"http://{address}/api/v1/tokens", json={"username": "mette", "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    value: str = response.json()["token"]
    return value


def test_a_declared_200_mb_body_is_refused_before_it_is_sent(server: str) -> None:
    answer = exchange(
        server,
        f"POST /api/v1/tokens HTTP/1.1\nHost: {server}\nContent-Type: application/json\n"
        f"Content-Length: {200 * MB}\n",
    )
    assert answer.status == 413
    assert answer.seconds < 10  # the body would take far longer: it is never waited for
    assert json.loads(answer.body) == {
        "error": "too_large",
        "message": "the request body is larger than the limit of 1,048,576 bytes",
        "fields": [],
    }
    assert "connection: close" in answer.headers
    assert "content-security-policy" in answer.headers


def test_a_streamed_200_mb_body_stops_being_read_at_the_limit(server: str) -> None:
    bearer = token(server)
    before = rss()
    answer = exchange(
        server,
        f"POST /api/v1/cases HTTP/1.1\nHost: {server}\nContent-Type: application/json\n"
        f"Authorization: Bearer {bearer}\nTransfer-Encoding: chunked\n",
        chunked(200 * MB),
    )
    assert answer.status == 413
    assert json.loads(answer.body)["error"] == "too_large"
    # The limit, and what the sockets' buffers held on the way: far from 200 MB.
    assert answer.sent < 32 * MB
    assert rss() - before < 100 * MB  # it was 700 MB


def test_a_page_form_over_the_limit_is_answered_with_a_page(server: str) -> None:
    answer = exchange(
        server,
        f"POST /login HTTP/1.1\nHost: {server}\nContent-Type: application/x-www-form-urlencoded\n"
        f"Content-Length: {LIMIT + 1}\n",
    )
    assert answer.status == 413
    assert "text/html" in answer.headers
    assert "Det sendte er for stort (højst 1 MB)" in answer.body.decode()


def test_a_streamed_form_over_the_limit_is_answered_with_a_page(server: str) -> None:
    answer = exchange(
        server,
        f"POST /login HTTP/1.1\nHost: {server}\nContent-Type: application/x-www-form-urlencoded\n"
        "Transfer-Encoding: chunked\n",
        chunked(8 * MB),
    )
    assert answer.status == 413
    assert "Det sendte er for stort" in answer.body.decode()


def test_an_anonymous_api_change_is_refused_before_its_body_is_read(server: str) -> None:
    """No credential at all: 401 at once, though the declared body never comes."""
    answer = exchange(
        server,
        f"POST /api/v1/cases HTTP/1.1\nHost: {server}\nContent-Type: application/json\n"
        f"Content-Length: {200 * MB}\n",
    )
    assert answer.status == 401
    assert answer.seconds < 10  # the body would take far longer: it is never waited for
    assert json.loads(answer.body)["error"] == "not_authenticated"
    # A body under the limit, too: nothing is read without a credential.
    answer = exchange(
        server,
        f"POST /api/v1/cases/K-1/events/accept_referral HTTP/1.1\nHost: {server}\n"
        "Content-Type: application/json\nContent-Length: 100000\n",
    )
    assert answer.status == 401


def test_bodies_under_the_limit_work_as_before(server: str) -> None:
    bearer = {"Authorization": f"Bearer {token(server)}"}
    referral = {
        "definition": "soroe",
        "young_person": {
            "name": "Freja Testesen",
            "cpr": "010110-4321",
            "birth_date": "2010-01-01",
        },
        "inputs": {"source": "school", "caseworker": "cw-mette", "note": "x" * 100_000},
    }
    response = httpx.post(f"http://{server}/api/v1/cases", json=referral, headers=bearer)
    assert response.status_code in (201, 422), response.text  # read and judged, not refused
    assert response.json()["error" if response.status_code == 422 else "reference"]
    # An invalid token is a credential to check: the route refuses it.
    response = httpx.post(
        f"http://{server}/api/v1/cases", json=referral, headers={"Authorization": "Bearer x"}
    )
    assert response.status_code == 401
