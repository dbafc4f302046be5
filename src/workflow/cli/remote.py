"""The CLI's remote mode: the case commands against a server's JSON API (``/api/v1``).

A thin client: it sends what the command line was given and returns the JSON answer.
Every failure (refusals, a wrong token, an unreachable server) becomes a
:class:`RemoteError` with the server's message and its per-field problems.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from workflow.errors import WorkflowError

API = "/api/v1"
TIMEOUT = 30.0


class RemoteError(WorkflowError):
    """The server refused a request, or could not be reached."""

    def __init__(self, message: str, problems: list[str] | None = None, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []
        self.code = code


class Remote:
    """A workflow server's JSON API, logged in with a token (or about to log in)."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = TIMEOUT) -> None:
        base = url.strip().rstrip("/")
        if base.endswith(API):
            base = base[: -len(API)]
        if not base.startswith(("http://", "https://")):
            raise RemoteError(f"'{url}' is not a server address; write e.g. https://kui.example")
        self.base = base
        self.headers = {"Authorization": f"Bearer {token.strip()}"} if token else {}
        self.timeout = timeout

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            with httpx.Client(
                base_url=self.base + API, headers=self.headers, timeout=self.timeout
            ) as client:
                response = client.request(method, path, **kwargs)
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:
            raise RemoteError(f"cannot reach {self.base} ({type(exc).__name__})") from None
        if not response.is_success:
            raise _error(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise RemoteError(f"{self.base} did not answer like a workflow server") from None

    def login(self, username: str, password: str) -> dict[str, Any]:
        """A new API token: ``{"token": ..., "expires_at": ...}``."""
        answer: dict[str, Any] = self._call(
            "POST", "/tokens", json={"username": username, "password": password}
        )
        return answer

    def refer(
        self,
        definition: str,
        person: dict[str, Any],
        inputs: dict[str, Any],
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        """Open a case; the step's result (reference, to_stage, ...)."""
        body = {
            "definition": definition,
            "young_person": person,
            "inputs": inputs,
            "idempotency_key": idempotency_key,
        }
        answer: dict[str, Any] = self._call("POST", "/cases", json=body)
        return answer

    def trigger(
        self,
        reference: str,
        event: str,
        inputs: dict[str, Any],
        idempotency_key: str | None,
        consent: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Take a step (with the consent it gives, if any); its result (from_stage,
        to_stage, repeated, ...)."""
        body: dict[str, Any] = {"inputs": inputs, "idempotency_key": idempotency_key}
        if consent is not None:
            body["consent"] = consent
        answer: dict[str, Any] = self._call(
            "POST", f"/cases/{_segment(reference)}/events/{_segment(event)}", json=body
        )
        return answer

    def show(self, reference: str, purpose: str) -> dict[str, Any]:
        """A case as the API gives it (see CaseDetail in the OpenAPI schema)."""
        answer: dict[str, Any] = self._call(
            "GET", f"/cases/{_segment(reference)}", params={"purpose": purpose} if purpose else {}
        )
        return answer


def _segment(text: str) -> str:
    """A path segment, so a reference like 'a/b' is sent as itself (and refused)."""
    return quote(text, safe="")


def _error(response: httpx.Response) -> RemoteError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return RemoteError(f"the server answered {response.status_code} {response.reason_phrase}")
    problems = [
        f"{p.get('field', '?')}: {p.get('message', '')}"
        for p in body.get("fields") or []
        if isinstance(p, dict)
    ]
    return RemoteError(body["message"], problems, str(body.get("error", "")))
