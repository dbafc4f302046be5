"""Hostile input at every door: every API operation and every staff form, fuzzed.

Hypothesis draws request bodies, form fields, field names, dates and text from the cases
the red-team pass reproduced (issue 17): control characters, NUL, line separators, bidi
overrides, digits that are not ASCII (``²``), dates in the years 1, 1900 and 9999, lists
where text belongs, thousands of items, paths and mail addresses as person ids, template
and SQL syntax, CPR-like numbers in values and in field names. Every answer must be a
clean refusal or a success — never a server error — and the app's log must hold no
traceback and no personal data (no CPR-like number, not the young person's name).

The API operations are read from the app's own OpenAPI schema, the forms from the staff
pages as rendered (every ``<form method="post">`` with its fields), so a new operation
or form is fuzzed without touching this test.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote_plus

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.scripted import PERSON
from tests.support.case_api import PASSWORD, create_staff, referred_case
from tests.support.pages import log_in
from workflow.runtime import Runtime
from workflow.web.app import create_app

#: The values that broke or slipped through before (issue 17), and their neighbours.
HOSTILE_TEXT = [
    "",
    " ",
    "            ",
    "a\x00b",
    "Freja\u2028Testesen",
    "\u202eI gang",
    "\u2066x\u2069",
    "²",
    "١٢",
    "9999-12-31T23:30",
    "9999-12-31",
    "0001-01-01",
    "1900-01-01T00:00",
    "2026-02-30",
    "-1",
    "999",
    "1e308",
    "NaN",
    "0101101234",
    "311299-9999",
    "../../../tmp/evil@x",
    "/tmp/evil@x",
    "nobody-yet-9",
    "cw-bo@evil.example",
    "laerer-anna",
    "{{ 7 * 7 }}",
    "{% for x in range(100000) %}{% endfor %}",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "x" * 1000,
    "\ud800",
    "Efter sommerferien vil jeg starte på HF",
    "I skal sørge for at Freja møder op",
]
HOSTILE_NAMES = [
    "team.².person",
    "team.0101101234.person",
    "team.99999999999999999999.person",
    "team.-1.person",
    "plan.0.text.__class__",
    "__proto__",
    "inputs[0]",
    "0101101234",
    "a\x00b",
    "x" * 300,
]

texts = st.sampled_from(HOSTILE_TEXT) | st.text(max_size=40)
scalars = texts | st.integers(min_value=-(10**20), max_value=10**20) | st.booleans() | st.none()
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
#: A long list now and then: a team of thousands, a plan of thousands of goals.
long_lists = st.integers(min_value=101, max_value=3000).map(
    lambda n: [
        {"person": f"p{i}@x.example", "department": "skole", "text": "Jeg vil"} for i in range(n)
    ]
)

CPR_LIKE = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")
PERSON_NAME = "Freja"

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class _Log(logging.Handler):
    """Every record the app (and the libraries under it) log while the test runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def app_log() -> Iterator[_Log]:
    handler = _Log()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@dataclass
class Doors:
    runtime: Runtime
    client: TestClient
    reference: str
    token: str
    log: _Log
    forms: list[Form] = field(default_factory=list)

    def answered(self, method: str, path: str, status: int) -> None:
        """No server error, and nothing in the log that should not be there."""
        assert status < 500, f"{method} {path} answered {status}"
        text = "\n".join(self.log.lines)
        assert "Traceback" not in text, text[-3000:]
        assert not CPR_LIKE.search(text), CPR_LIKE.search(text)
        assert PERSON_NAME not in text, text[-3000:]


@pytest.fixture
def doors(runtime: Runtime, app_log: _Log) -> Iterator[Doors]:
    create_staff(runtime, ["mette", "lise", "anna", "sara", "bo"])
    reference = referred_case(runtime)
    app = create_app(runtime)
    with TestClient(
        app, base_url="https://testserver", follow_redirects=False, raise_server_exceptions=False
    ) as client:
        token = client.post(
            "/api/v1/tokens", json={"username": "mette", "password": PASSWORD}
        ).json()["token"]
        found = Doors(runtime, client, reference, token, app_log)
        found.forms = _staff_forms(client, reference)
        client.cookies.clear()
        yield found


# --- the API -----------------------------------------------------------------------------


def _operations(client: TestClient) -> list[tuple[str, str, list[str]]]:
    """(method, path, the body's top-level field names) of every operation in the schema."""
    schema = client.get("/api/openapi.json").json()
    components = schema.get("components", {}).get("schemas", {})
    found = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            names: list[str] = []
            if body is not None:
                ref = body["schema"].get("$ref", "")
                names = list(components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}))
            found.append((method.upper(), path, names))
    return found


def _fill(path: str, draw: Any, reference: str) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "reference":
            return str(draw(st.sampled_from([reference, "SOR-2026-9999", "../x", "²"])))
        return str(draw(st.sampled_from(["accept_referral", "pre_meeting_held", "1", "x²"])))

    return re.sub(r"\{([^}]+)\}", one, path)


def test_every_api_operation_answers_hostile_input_cleanly(doors: Doors) -> None:
    operations = _operations(doors.client)
    assert len(operations) >= 10, operations

    @FUZZ
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        method, template, names = data.draw(st.sampled_from(operations))
        path = _fill(template, data.draw, doors.reference)
        body: Any = None
        if method in ("POST", "PUT", "PATCH"):
            keys = (
                st.sampled_from(names + HOSTILE_NAMES) if names else st.sampled_from(HOSTILE_NAMES)
            )
            body = data.draw(
                st.dictionaries(keys, values | long_lists, max_size=6)
                | st.fixed_dictionaries(
                    {"inputs": st.dictionaries(st.sampled_from(HOSTILE_NAMES) | texts, values)}
                )
            )
        headers = {"Authorization": f"Bearer {doors.token}"}
        if method == "DELETE":  # logging out ends the token: the fuzz keeps its own
            headers = {"Authorization": "Bearer not-a-token"}
        answer = doors.client.request(
            method,
            path,
            content=None if body is None else json.dumps(body),
            headers={**headers, "Content-Type": "application/json"},
        )
        doors.answered(method, path, answer.status_code)

    fuzz()


# --- the staff forms -----------------------------------------------------------------------


@dataclass
class Form:
    action: str
    fields: dict[str, str]


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form" and found.get("method", "get").lower() == "post":
            self.forms.append(Form(found.get("action", ""), {}))
        elif tag in ("input", "select", "textarea") and self.forms and found.get("name"):
            self.forms[-1].fields.setdefault(found["name"], found.get("value", ""))


def _staff_forms(client: TestClient, reference: str) -> list[Form]:
    """Every post form on the staff pages a caseworker, coordinator and team member see."""
    pages = ["/", "/refer", f"/cases/{reference}", "/tasks", "/pool", "/conferences"]
    forms: dict[str, Form] = {}
    for username in ("mette", "lise"):
        log_in(client, username)
        case_page = client.get(f"/cases/{reference}").text
        steps = set(re.findall(rf'href="(/cases/{reference}/steps/[^"?]+)"', case_page))
        for page in [*pages, *sorted(steps)]:
            answer = client.get(page)
            if answer.status_code != 200:
                continue
            parser = _Forms()
            parser.feed(answer.text)
            for form in parser.forms:
                if form.action and form.action not in forms and "logout" not in form.action:
                    forms[form.action] = form
    assert len(forms) >= 5, sorted(forms)
    return list(forms.values())


def _post_form(client: TestClient, action: str, fields: dict[str, str]) -> Any:
    """Post the fields as bytes, the way an attacker can: a lone surrogate becomes bytes
    that are not UTF-8 at all."""

    def quoted(text: str) -> str:
        return quote_plus(text.encode("utf-8", "surrogatepass"))

    body = "&".join(f"{quoted(name)}={quoted(value)}" for name, value in fields.items())
    return client.post(
        action, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )


def test_every_staff_form_answers_hostile_input_cleanly(doors: Doors) -> None:
    csrf = log_in(doors.client, "mette")
    forms = doors.forms

    @FUZZ
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        form = data.draw(st.sampled_from(forms))
        # A step that succeeds may close the case: every example gets a case of its own.
        action = form.action.replace(doors.reference, referred_case(doors.runtime))
        fields = dict(form.fields)
        for name in data.draw(st.lists(st.sampled_from(sorted(fields) + HOSTILE_NAMES))):
            if name != "csrf_token":
                fields[name] = data.draw(texts)
        fields["csrf_token"] = csrf
        answer = _post_form(doors.client, action, fields)
        doors.answered("POST", action, answer.status_code)

    fuzz()


def test_the_inputs_that_broke_before_are_refused_cleanly(doors: Doors) -> None:
    """The red-team's reproduced cases, each sent once whatever Hypothesis draws."""
    referral = {
        "definition": "soroe",
        "young_person": {"name": "Fr\x00eja", "cpr": "010110-4321", "birth_date": "2010-01-01"},
        "inputs": {"source": "school", "caseworker": "cw-mette", "0101101234": "x"},
    }
    answer = doors.client.post(
        "/api/v1/cases", json=referral, headers={"Authorization": f"Bearer {doors.token}"}
    )
    assert answer.status_code == 422, answer.text
    doors.answered("POST", "/api/v1/cases", answer.status_code)

    csrf = log_in(doors.client, "mette")
    by_action = {form.action: form for form in doors.forms}
    refer = dict(by_action["/refer"].fields)
    refer.update(person_name="Fr\x00eja", person_cpr="0101104321", csrf_token=csrf)
    refer["person_birth_date"] = "2010-01-01"
    answer = doors.client.post("/refer", data=refer)
    assert answer.status_code == 422, answer.text[:500]
    doors.answered("POST", "/refer", answer.status_code)

    csrf = log_in(doors.client, "mette")
    pre_meeting = next(action for action in by_action if action.endswith("/hold_pre_meeting"))
    fields = dict(by_action[pre_meeting].fields)
    fields.update({"team.².person": "laerer-anna", "csrf_token": csrf})
    fields["first_meeting_at"] = "9999-12-31T23:30"
    answer = doors.client.post(pre_meeting, data=fields)
    assert answer.status_code in (400, 403, 422), answer.status_code
    doors.answered("POST", pre_meeting, answer.status_code)


def test_every_citizen_form_answers_hostile_input_cleanly(doors: Doors) -> None:
    """The young person's own pages (logged in as the OIDC callback would)."""
    started = doors.runtime.citizen_logins.login(PERSON.cpr, "fuzz-subject")
    doors.client.cookies.set("kui_ung", started.token)
    pages = ["/ung/", f"/ung/cases/{doors.reference}"]
    case_page = doors.client.get(pages[1]).text
    pages += sorted(
        set(re.findall(rf'href="(/ung/cases/{doors.reference}/steps/[^"?]+)"', case_page))
    )
    forms: dict[str, Form] = {}
    for page in pages:
        parser = _Forms()
        parser.feed(doors.client.get(page).text)
        forms.update({f.action: f for f in parser.forms if f.action and "logout" not in f.action})
    assert len(forms) >= 2, sorted(forms)
    csrf = started.citizen.csrf_token

    @FUZZ
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        form = data.draw(st.sampled_from(list(forms.values())))
        fields = dict(form.fields)
        for name in data.draw(st.lists(st.sampled_from(sorted(fields) + HOSTILE_NAMES))):
            if name != "csrf_token":
                fields[name] = data.draw(texts)
        fields["csrf_token"] = csrf
        answer = _post_form(doors.client, form.action, fields)
        doors.answered("POST", form.action, answer.status_code)

    fuzz()
