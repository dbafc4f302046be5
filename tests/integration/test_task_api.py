"""The JSON API's task endpoints as a client uses them, on a real SQLite store.

My worklist (open, done, by case and stage), marking a task done and its refusals
(someone else's: 403 without naming the case; twice: 409; unknown: 404; a bad note: 422
on ``body.note``), a case's tasks with the assignee's name, adding a task (201, or 422 on
``body.assignee``), CSRF for a session cookie, and the OpenAPI schema. Every refusal
leaves the store as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.integration.conftest import Clock
from tests.support.pages import log_in, page_client
from workflow.cases.model import YoungPersonDetails
from workflow.engine.model import Actor
from workflow.errors import InvalidRequestError
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime
from workflow.store.tables import CaseTask
from workflow.web.app import create_app

PASSWORD = "correct horse battery"
CASEWORKER = Actor("caseworker", "cw-mette")


@pytest.fixture
def runtime(sqlite_runtime: Runtime) -> Runtime:
    for username, name, person, role in (
        ("mette", "Mette Sagsbehandler", "cw-mette", "caseworker"),
        ("lise", "Lise Tovholder", "tovholder-lise", "coordinator"),
        ("anna", "Anna Lærer", "laerer-anna", "team_member"),
        ("bo", "Bo Jobcenter", "jc-bo", "team_member"),
    ):
        sqlite_runtime.accounts.create(
            username,
            PASSWORD,
            display_name=name,
            person_id=person,
            roles=[role],
            municipality_code="340",
        )
    return sqlite_runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), base_url="https://testserver") as test_client:
        yield test_client


@pytest.fixture
def reference(runtime: Runtime) -> str:
    """A Sorø case with Anna (school) on the team and Lise as coordinator."""
    opened = runtime.service.refer(
        "soroe",
        YoungPersonDetails("Freja Testesen", "0101104321", date(2010, 1, 1)),
        CASEWORKER,
        {"source": "school", "caseworker": "cw-mette"},
    )
    ref = opened.reference
    runtime.service.trigger(
        ref, "accept_referral", {"young_person_agrees": True, "consent": True}, CASEWORKER
    )
    runtime.consents.give(ref, CASEWORKER, ConsentRequest(["skole"], ["education"], guardian=True))
    runtime.service.trigger(
        ref,
        "hold_pre_meeting",
        {
            "team": [{"department": "skole", "person": "laerer-anna"}],
            "coordinator": "tovholder-lise",
            "agenda": ["uddannelse"],
            "first_meeting_at": "2026-03-17T09:00",
            "meeting_room": "raadhuset_storskaerm",
        },
        CASEWORKER,
    )
    return ref


def login(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def stored(runtime: Runtime) -> list[tuple[Any, ...]]:
    """Every task row as it is stored (to show a refusal changed nothing)."""
    with runtime.sessions() as session:
        rows = session.scalars(select(CaseTask).order_by(CaseTask.id)).all()
        return [(t.id, t.title, t.state, t.closed_at, t.closed_by, t.note) for t in rows]


def test_my_worklist_open_done_and_filtered(
    client: TestClient, runtime: Runtime, reference: str, clock: Clock
) -> None:
    early = runtime.tasks.add(  # due today (a day gone by is refused): overdue tomorrow
        reference, CASEWORKER, assignee="laerer-anna", title="Send skemaet", due=date(2026, 3, 2)
    )
    late = runtime.tasks.add(reference, CASEWORKER, assignee="laerer-anna", title="Ring")
    runtime.tasks.add(reference, CASEWORKER, assignee="tovholder-lise", title="Book lokalet")
    clock.advance(days=1)
    anna = login(client, "anna")

    answer = client.get("/api/v1/tasks", headers=anna)
    assert answer.status_code == 200
    tasks = answer.json()["tasks"]
    ids = [t["id"] for t in tasks]
    assert ids[0] == early.id  # open, overdue first
    assert late.id in ids
    first = tasks[0]
    assert first["reference"] == reference
    assert first["stage"] == "awaiting_first_meeting"
    assert first["assignee"] == "laerer-anna"
    assert first["assignee_name"] == "Anna Lærer"
    assert first["state"] == "open"
    assert first["overdue"] is True
    assert datetime.fromisoformat(first["due_at"]) == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

    assert client.get("/api/v1/tasks?done=true", headers=anna).json()["tasks"] == []
    other = client.get("/api/v1/tasks?reference=SOR-2026-9999", headers=anna)
    assert other.json()["tasks"] == []
    by_stage = client.get("/api/v1/tasks?stage=follow_up", headers=anna)
    assert by_stage.json()["tasks"] == []
    unknown = client.get("/api/v1/tasks?owner=someone", headers=anna)
    assert unknown.status_code == 422  # an unknown parameter is an error, not ignored
    assert client.get("/api/v1/tasks").status_code == 401


def test_marking_a_task_done_once_and_the_refusals(
    client: TestClient, runtime: Runtime, reference: str
) -> None:
    task = runtime.tasks.add(reference, CASEWORKER, assignee="laerer-anna", title="Send skemaet")
    anna, lise, bo = login(client, "anna"), login(client, "lise"), login(client, "bo")
    before = stored(runtime)

    # Someone else's task: refused without telling whose it is or which case (on the case:
    # forbidden; not on it: as for a task that is not there).
    for headers, status in ((lise, 403), (bo, 404)):
        refused = client.post(f"/api/v1/tasks/{task.id}/done", json={}, headers=headers)
        assert refused.status_code == status
        assert refused.json()["error"] == ("forbidden" if status == 403 else "not_found")
        assert reference not in refused.json()["message"]
        assert "laerer-anna" not in refused.json()["message"]
    bad_note = client.post(f"/api/v1/tasks/{task.id}/done", json={"note": "a\u0007b"}, headers=anna)
    assert bad_note.status_code == 422
    assert bad_note.json()["fields"][0]["field"].startswith("body")
    missing = client.post("/api/v1/tasks/99999/done", json={}, headers=anna)
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    assert stored(runtime) == before

    done = client.post(
        f"/api/v1/tasks/{task.id}/done", json={"note": "Sendt\ntil Lise"}, headers=anna
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["state"], body["closed_by"], body["note"]) == (
        "done",
        "laerer-anna",
        "Sendt\ntil Lise",
    )
    after = stored(runtime)

    again = client.post(f"/api/v1/tasks/{task.id}/done", json={"note": "igen"}, headers=anna)
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"
    assert again.json()["fields"] == [
        {"field": "task_id", "message": again.json()["fields"][0]["message"]}
    ]
    assert "already done" in again.json()["fields"][0]["message"]
    assert stored(runtime) == after

    (listed,) = client.get("/api/v1/tasks?done=true", headers=anna).json()["tasks"]
    assert listed["id"] == task.id


def test_a_withdrawn_consent_takes_the_departments_tasks_from_its_members(
    client: TestClient, runtime: Runtime, reference: str
) -> None:
    """After the school's consent was withdrawn, Anna's worklist still listed the case's
    tasks (their titles may name the young person) and she could mark one done with a
    note written into the case; the caseworker could still give her a new one."""
    task = runtime.tasks.add(reference, CASEWORKER, assignee="laerer-anna", title="Send skemaet")
    anna = login(client, "anna")
    assert task.id in [t["id"] for t in client.get("/api/v1/tasks", headers=anna).json()["tasks"]]
    offered = '<option value="laerer-anna">'  # an assignee the case page offers
    with page_client(runtime) as pages:
        log_in(pages, "mette", PASSWORD)
        assert offered in pages.get(f"/cases/{reference}").text
        runtime.consents.withdraw(reference, CASEWORKER, ["skole"])
        before = stored(runtime)
        assert offered not in pages.get(f"/cases/{reference}").text

    assert client.get("/api/v1/tasks", headers=anna).json()["tasks"] == []
    refused = client.post(f"/api/v1/tasks/{task.id}/done", json={"note": "x"}, headers=anna)
    assert refused.status_code == 404  # as for a task that is not there: nothing told
    assert reference not in refused.text
    with pytest.raises(InvalidRequestError, match="no consent covers their department"):
        runtime.tasks.add(reference, CASEWORKER, assignee="laerer-anna", title="Ring")
    assert stored(runtime) == before


def test_a_cases_tasks_and_adding_one(client: TestClient, runtime: Runtime, reference: str) -> None:
    lise, bo = login(client, "lise"), login(client, "bo")
    added = client.post(
        f"/api/v1/cases/{reference}/tasks",
        json={"assignee": "laerer-anna", "title": "Tal med klasselæreren", "due": "2026-03-13"},
        headers=lise,
    )
    assert added.status_code == 201, added.text
    task = added.json()
    assert (task["assignee"], task["assignee_name"], task["state"]) == (
        "laerer-anna",
        "Anna Lærer",
        "open",
    )
    due = datetime.fromisoformat(task["due_at"])
    assert due == datetime(2026, 3, 13, 15, 0, tzinfo=UTC)  # 16:00 in Copenhagen

    listed = client.get(f"/api/v1/cases/{reference}/tasks", headers=lise)
    assert listed.status_code == 200
    tasks = listed.json()["tasks"]
    states = [t["state"] for t in tasks]
    assert states == sorted(states, key=lambda s: s != "open")  # open first
    assert {"Tal med klasselæreren", "Aftal formøde med den unge"} <= {t["title"] for t in tasks}
    closed = next(t for t in tasks if t["state"] == "cancelled")
    assert closed["closed_by"] == "system"
    assert closed["assignee_name"] == "Mette Sagsbehandler"

    before = stored(runtime)
    stranger = client.post(
        f"/api/v1/cases/{reference}/tasks",
        json={"assignee": "jc-bo", "title": "Ring"},
        headers=lise,
    )
    assert stranger.status_code == 422
    assert stranger.json()["fields"][0]["field"] == "body.assignee"
    blank = client.post(
        f"/api/v1/cases/{reference}/tasks",
        json={"assignee": "laerer-anna", "title": "   "},
        headers=lise,
    )
    assert blank.status_code == 422
    assert blank.json()["fields"][0]["field"] == "body.title"
    # Bo is not on the case: it does not exist for him.
    assert client.get(f"/api/v1/cases/{reference}/tasks", headers=bo).status_code == 404
    not_on_it = client.post(
        f"/api/v1/cases/{reference}/tasks",
        json={"assignee": "laerer-anna", "title": "Ring"},
        headers=bo,
    )
    assert not_on_it.status_code == 404
    unknown = client.get("/api/v1/cases/SOR-2026-9999/tasks", headers=lise)
    assert unknown.status_code == 404
    assert stored(runtime) == before


def test_a_session_cookie_needs_the_csrf_header_to_mark_a_task_done(
    client: TestClient, runtime: Runtime, reference: str
) -> None:
    task = runtime.tasks.add(reference, CASEWORKER, assignee="laerer-anna", title="Send skemaet")
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login",
        data={"username": "anna", "password": PASSWORD, "csrf_token": token, "next": "/"},
    )
    refused = client.post(f"/api/v1/tasks/{task.id}/done", json={})
    assert refused.status_code == 403
    assert refused.json()["error"] == "csrf"
    assert stored(runtime)[-1][2] == "open"


def test_the_task_endpoints_are_in_the_openapi_schema(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    paths = schema["paths"]
    assert set(paths["/api/v1/tasks"]) == {"get"}
    assert set(paths["/api/v1/tasks/{task_id}/done"]) == {"post"}
    assert set(paths["/api/v1/cases/{reference}/tasks"]) == {"get", "post"}
    done = paths["/api/v1/tasks/{task_id}/done"]["post"]
    assert {"403", "404", "409", "422"} <= set(done["responses"])
    assert {"TaskOut", "TaskList", "TaskIn", "TaskDoneIn"} <= set(schema["components"]["schemas"])


def test_a_step_that_names_a_booked_meeting_offers_the_cases_booked_meetings(
    client: TestClient, runtime: Runtime, reference: str
) -> None:
    lise = login(client, "lise")
    case = client.get(f"/api/v1/cases/{reference}", headers=lise).json()
    move = next(s for s in case["next_steps"] if s["id"] == "move_meeting")
    meeting = next(i for i in move["inputs"] if i["name"] == "meeting")
    assert (meeting["type"], meeting["choices"]) == ("booked_meeting", ["1"])
    moved = client.post(
        f"/api/v1/cases/{reference}/events/move_meeting",
        json={"inputs": {"meeting": 1, "moved_to": "2026-03-19T10:00"}},
        headers=lise,
    )
    assert moved.status_code == 200, moved.text
    cancel = client.post(
        f"/api/v1/cases/{reference}/events/cancel_meeting", json={"inputs": {}}, headers=lise
    )
    assert cancel.status_code == 200, cancel.text
    case = client.get(f"/api/v1/cases/{reference}", headers=lise).json()
    # No meeting booked: moving or cancelling one is no longer offered ...
    offered = {s["id"] for s in case["next_steps"]}
    assert not offered & {"move_meeting", "cancel_meeting"}, offered
    # ... and moving the cancelled one anyway is refused beside the field, in words.
    refused = client.post(
        f"/api/v1/cases/{reference}/events/move_meeting",
        json={"inputs": {"meeting": 1, "moved_to": "2026-03-19T10:00"}},
        headers=lise,
    )
    assert refused.status_code == 422
    assert refused.json()["fields"] == [
        {"field": "inputs.meeting", "message": "mødet kan ikke ændres, det er aflyst"}
    ]


def test_the_coordinator_is_offered_by_the_municipalitys_name_for_the_role(
    runtime: Runtime, reference: str
) -> None:
    """The task picker said "Koordinator" where Sorø's case page says "Tovholder"."""
    with page_client(runtime) as pages:
        log_in(pages, "mette", PASSWORD)
        page = pages.get(f"/cases/{reference}").text
    assert '<option value="tovholder-lise">Lise Tovholder – Tovholder</option>' in page


def test_a_meetings_confirmations_follow_it_when_it_moves(runtime: Runtime, reference: str) -> None:
    """A first meeting moved left the departments' confirmations due (and overdue) on
    the old date (a helper's report: "03.11.2026 Overskredet" after
    the meeting had moved to December)."""

    def confirmations() -> set[datetime | None]:
        with runtime.sessions() as session:
            due = session.scalars(
                select(CaseTask.due_at).where(
                    CaseTask.key == "confirm_participation", CaseTask.state == "open"
                )
            ).all()
        return {d.astimezone(UTC) if d else None for d in due}

    # Three working days from the pre-meeting (2 March), before the meeting (17 March).
    assert confirmations() == {datetime(2026, 3, 5, 8, 0, tzinfo=UTC)}
    coordinator = Actor("coordinator", "tovholder-lise")
    runtime.service.trigger(
        reference, "move_meeting", {"moved_to": "2026-03-03T09:00"}, coordinator
    )  # sooner than the confirmations were due: due when it begins
    assert confirmations() == {datetime(2026, 3, 3, 8, 0, tzinfo=UTC)}
    runtime.service.trigger(
        reference, "move_meeting", {"moved_to": "2026-03-19T09:00"}, coordinator
    )  # later: due when it now begins (they were due when it began)
    assert confirmations() == {datetime(2026, 3, 19, 8, 0, tzinfo=UTC)}


def test_a_cpr_number_is_not_written_into_a_tasks_note_or_title(
    client: TestClient, runtime: Runtime, reference: str
) -> None:
    """A note "Ring til moren, cpr 010110-4321" was saved in plain text, shown to the
    whole team and in exports; the CPR number is kept encrypted in its own column."""
    task = runtime.tasks.add(reference, CASEWORKER, assignee="laerer-anna", title="Ring")
    anna = login(client, "anna")
    before = stored(runtime)
    for note in ("Ring til moren, cpr 010110-4321", "cpr: 0101104321."):
        refused = client.post(f"/api/v1/tasks/{task.id}/done", json={"note": note}, headers=anna)
        assert refused.status_code == 422, refused.text
        assert "CPR number" in refused.text
    with pytest.raises(InvalidRequestError, match="the title holds a CPR number"):
        runtime.tasks.add(reference, CASEWORKER, assignee="laerer-anna", title="Ring 0101104321")
    assert stored(runtime) == before
    # Ten digits that are no CPR number (a phone number and a date's digits) are fine.
    fine = client.post(
        f"/api/v1/tasks/{task.id}/done", json={"note": "Ring 4512345678 kl. 10"}, headers=anna
    )
    assert fine.status_code == 200, fine.text
