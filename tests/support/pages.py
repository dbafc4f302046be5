"""Helpers for tests that use the web pages through FastAPI's TestClient."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient

from tests.support.case_api import PASSWORD
from workflow.runtime import Runtime
from workflow.web.app import create_app


@contextmanager
def page_client(runtime: Runtime) -> Iterator[TestClient]:
    """A client of the app over ``runtime``, on https, not following redirects."""
    with TestClient(
        create_app(runtime), base_url="https://testserver", follow_redirects=False
    ) as client:
        yield client


def csrf(html: str) -> str:
    """The CSRF token of a page's forms."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form (any earlier login forgotten); returns the CSRF token of
    the session's forms."""
    client.cookies.clear()
    token = csrf(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
    )
    assert answer.status_code == 303, answer.text
    return csrf(client.get("/").text)
