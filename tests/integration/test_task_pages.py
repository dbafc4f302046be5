"""The task and meeting pages through FastAPI's test client, on a real SQLite store.

"Mine opgaver" (a person's open tasks across cases, overdue first, filters, marking one
done, the done tab), the refusals of marking a task done (someone else's, twice, a note
too long, no CSRF token) with nothing stored changed, a case's tasks by name and the
"add a task" form, and a case's meetings: the next one is a booked or moved one that has
not ended, the move step's form names the booked meetings, and the held meeting's form
asks who came.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.integration.conftest import Clock
from tests.support.pages import csrf, log_in, page_client
from workflow.cases.model import YoungPersonDetails
from workflow.engine.model import Actor
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime
from workflow.store.tables import CaseTask
from workflow.web.meetings import next_meeting

PASSWORD = "korrekt-hest-batteri"
STAFF = {
    "mette": ("Mette Sagsbehandler", "cw-mette", ["caseworker"], "340"),
    "lise": ("Lise Tovholder", "tovholder-lise", ["coordinator"], "340"),
    "anna": ("Anna Lærer", "laerer-anna", ["team_member"], "340"),
    "bo": ("Bo Jobcenter", "jc-bo", ["team_member"], "340"),
    "hanne": ("Hanne Horsens", "cw-hanne", ["caseworker"], "615"),
    # Horsens's own teacher and coordinator (staff ids are checked per municipality).
    "anna-h": ("Anna Lærer", "laerer-anna-h", ["team_member"], "615"),
    "lise-h": ("Lise Tovholder", "tovholder-lise-h", ["coordinator"], "615"),
}
CASEWORKER = Actor("caseworker", "cw-mette")
COORDINATOR = Actor("coordinator", "tovholder-lise")
FIRST_MEETING = "2026-03-17T09:00"  # a Tuesday, 09:00 in Copenhagen


@pytest.fixture
def runtime(sqlite_runtime: Runtime) -> Runtime:
    for username, (name, person, roles, municipality) in STAFF.items():
        sqlite_runtime.accounts.create(
            username,
            PASSWORD,
            display_name=name,
            person_id=person,
            roles=roles,
            municipality_code=municipality,
        )
    return sqlite_runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with page_client(runtime) as test_client:
        yield test_client


def _soroe_case(runtime: Runtime, name: str = "Sofie Sidetest", cpr: str = "0202104321") -> str:
    """A Sorø case with its team (Anna from school), coordinator (Lise) and first meeting."""
    opened = runtime.service.refer(
        "soroe",
        YoungPersonDetails(name, cpr, date(2010, 2, 2)),
        CASEWORKER,
        {"source": "school", "caseworker": "cw-mette"},
    )
    reference = opened.reference
    runtime.service.trigger(
        reference, "accept_referral", {"young_person_agrees": True, "consent": True}, CASEWORKER
    )
    runtime.consents.give(
        reference, CASEWORKER, ConsentRequest(["skole"], ["education"], guardian=True)
    )
    runtime.service.trigger(
        reference,
        "hold_pre_meeting",
        {
            "team": [{"department": "skole", "person": "laerer-anna"}],
            "coordinator": "tovholder-lise",
            "agenda": ["uddannelse"],
            "first_meeting_at": FIRST_MEETING,
            "meeting_room": "raadhuset_storskaerm",
        },
        CASEWORKER,
    )
    return reference


def _task(runtime: Runtime, task_id: int) -> CaseTask:
    with runtime.sessions() as session:
        found = session.get(CaseTask, task_id)
        assert found is not None
        session.expunge(found)
        return found


def _find(pattern: str, html: str, group: int = 0) -> str:
    found = re.search(pattern, html, re.S)
    assert found, f"not on the page: {pattern}"
    return found.group(group)


def _main(html: str) -> str:
    return html[html.index("<main") :]


#: The tasks these tests give (a process may give its own too, e.g. confirming the meeting).
OURS = {"Send skemaet", "Tal med klasselæreren", "Find fraværstallene", "Book", "Ring"}


def _titles(rows: list[str], ours: bool = True) -> list[str]:
    """The task titles of rows, in order (only the tests' own tasks, unless ``ours`` is
    False)."""
    titles = [row.split(" SOR-")[0] for row in rows]
    return [t for t in titles if t in OURS or not ours]


def _row(rows: list[str], title: str) -> str:
    found = [r for r in rows if r.startswith(title)]
    assert len(found) == 1, (title, rows)
    return found[0]


def _rows(html: str, testid: str) -> list[str]:
    """The task rows of a table: each row's text, tags stripped."""
    table = re.search(rf'data-testid="{testid}".*?</table>', html, re.S)
    assert table, f"no table {testid}"
    rows = re.findall(r'<tr data-task="\d+".*?</tr>', table.group(0), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


# --- Mine opgaver ------------------------------------------------------------------


def test_my_tasks_lists_my_open_tasks_overdue_first_with_case_stage_and_due(
    client: TestClient, runtime: Runtime, clock: Clock
) -> None:
    first = _soroe_case(runtime)
    second = _soroe_case(runtime, "Karl Andensen", "0202104322")
    tasks = runtime.tasks
    later = tasks.add(
        first,
        CASEWORKER,
        assignee="laerer-anna",
        title="Tal med klasselæreren",
        due=date(2026, 3, 20),
    )
    no_due = tasks.add(second, CASEWORKER, assignee="laerer-anna", title="Find fraværstallene")
    overdue = tasks.add(  # due today (a day gone by is refused), overdue in five days
        second, CASEWORKER, assignee="laerer-anna", title="Send skemaet", due=date(2026, 3, 2)
    )
    tasks.add(first, CASEWORKER, assignee="tovholder-lise", title="Book lokalet")  # not Anna's
    clock.advance(days=5)

    log_in(client, "anna", PASSWORD)
    caseload = client.get("/").text
    assert '<a href="/tasks" >Mine opgaver</a>' in caseload  # the navigation links to it
    page = client.get("/tasks")
    assert page.status_code == 200
    rows = _rows(page.text, "my-tasks")
    assert _titles(rows) == ["Send skemaet", "Tal med klasselæreren", "Find fraværstallene"]
    assert _titles(rows, ours=False)[0] == "Send skemaet"  # the overdue one first of all
    overdue_row = _row(rows, "Send skemaet")
    assert "02.03.2026 Overskredet" in overdue_row  # overdue, and marked
    assert "Overskredet" not in _row(rows, "Tal med klasselæreren")
    assert f"{second} Første samarbejdsmøde indkaldt" in overdue_row  # case and stage by name
    assert f'href="/cases/{second}">{second}</a>' in page.text
    assert f'<tr data-task="{overdue.id}" class="overdue">' in page.text
    assert "Book lokalet" not in page.text
    assert f"Opgaver i alt: {len(rows)}" in page.text

    by_case = client.get(f"/tasks?reference={first}").text
    assert _titles(_rows(by_case, "my-tasks")) == ["Tal med klasselæreren"]
    assert all(f">{first}</a>" in row or first in row for row in _rows(by_case, "my-tasks"))
    assert f'value="{first}"' in by_case  # the filter is kept
    by_stage = client.get("/tasks?stage=awaiting_first_meeting").text
    assert len(_titles(_rows(by_stage, "my-tasks"))) == 3
    assert '<option value="awaiting_first_meeting" selected>' in by_stage
    assert "Du har ingen åbne opgaver." in client.get("/tasks?stage=follow_up").text
    english = client.get("/tasks?lang=en").text
    assert "My tasks" in english
    assert "Overdue" in english
    assert later.id != no_due.id


def test_marking_my_task_done_moves_it_to_done_with_the_note(
    client: TestClient, runtime: Runtime, clock: Clock
) -> None:
    reference = _soroe_case(runtime)
    task = runtime.tasks.add(
        reference, CASEWORKER, assignee="laerer-anna", title="Send skemaet", due=date(2026, 3, 6)
    )
    log_in(client, "anna", PASSWORD)
    page = client.get("/tasks").text
    clock.advance(hours=2)
    done = client.post(
        f"/tasks/{task.id}/done", data={"csrf_token": csrf(page), "note": "Sendt til Lise"}
    )
    assert done.status_code == 303
    after = client.get(done.headers["location"]).text
    assert "Opgaven er markeret som løst: Send skemaet." in after
    assert f'data-task="{task.id}"' not in after  # no longer among the open tasks

    stored = _task(runtime, task.id)
    assert (stored.state, stored.closed_by, stored.note) == (
        "done",
        "laerer-anna",
        "Sendt til Lise",
    )

    done_tab = client.get("/tasks?done=1").text
    (row,) = _rows(done_tab, "done-tasks")  # the only one done
    assert "Send skemaet" in row
    assert "Løst af Anna Lærer 02.03.2026 11:00" in row  # 10:00 UTC, in Copenhagen
    assert "Sendt til Lise" in row
    assert 'action="/tasks/' not in _main(done_tab)  # nothing left to mark done


def test_marking_a_task_done_twice_is_refused_and_changes_nothing(
    client: TestClient, runtime: Runtime, clock: Clock
) -> None:
    reference = _soroe_case(runtime)
    task = runtime.tasks.add(reference, CASEWORKER, assignee="laerer-anna", title="Send skemaet")
    log_in(client, "anna", PASSWORD)
    token = csrf(client.get("/tasks").text)
    assert client.post(f"/tasks/{task.id}/done", data={"csrf_token": token}).status_code == 303
    first = _task(runtime, task.id)

    clock.advance(hours=1)
    again = client.post(f"/tasks/{task.id}/done", data={"csrf_token": token, "note": "igen"})
    assert again.status_code == 409
    assert "Opgaven er ikke markeret som løst – intet er ændret." in again.text
    assert "Opgaven er allerede markeret som løst." in again.text
    second = _task(runtime, task.id)
    assert (second.state, second.closed_at, second.closed_by, second.note) == (
        first.state,
        first.closed_at,
        first.closed_by,
        None,
    )


def test_marking_someone_elses_task_done_is_refused_and_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    reference = _soroe_case(runtime)
    task = runtime.tasks.add(reference, CASEWORKER, assignee="laerer-anna", title="Send skemaet")
    # On the case: told it is not hers; not on it at all: as for a task that is not there.
    for who, status, said in (
        ("lise", 403, "Opgaven er ikke din"),
        ("bo", 404, "Opgaven findes ikke på din liste."),
    ):
        log_in(client, who, PASSWORD)
        token = csrf(client.get("/tasks").text)
        refused = client.post(f"/tasks/{task.id}/done", data={"csrf_token": token})
        assert refused.status_code == status, who
        assert said in refused.text
        assert reference not in refused.text  # nothing about the case is told
        stored = _task(runtime, task.id)
        assert (stored.state, stored.closed_at, stored.closed_by) == ("open", None, None)
    log_in(client, "anna", PASSWORD)
    token = csrf(client.get("/tasks").text)
    missing = client.post("/tasks/99999/done", data={"csrf_token": token})
    assert missing.status_code == 404
    assert "Opgaven findes ikke på din liste." in missing.text


def test_a_refused_note_is_shown_beside_the_task_and_kept(
    client: TestClient, runtime: Runtime
) -> None:
    reference = _soroe_case(runtime)
    task = runtime.tasks.add(reference, CASEWORKER, assignee="laerer-anna", title="Send skemaet")
    log_in(client, "anna", PASSWORD)
    token = csrf(client.get("/tasks").text)
    note = "x" * 5001
    refused = client.post(f"/tasks/{task.id}/done", data={"csrf_token": token, "note": note})
    assert refused.status_code == 400
    html = refused.text
    assert f'id="task-error-{task.id}">Noten må højst være 5000 tegn.</p>' in html
    assert re.search(rf'id="note-{task.id}"[^>]*aria-invalid="true"', html)
    assert _task(runtime, task.id).state == "open"
    bad = client.post(f"/tasks/{task.id}/done", data={"csrf_token": token, "note": "a\x00b"})
    assert bad.status_code == 400
    assert "Noten indeholder et tegn, der ikke kan bruges." in bad.text
    assert _task(runtime, task.id).state == "open"


def test_marking_done_without_the_csrf_token_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    reference = _soroe_case(runtime)
    task = runtime.tasks.add(reference, CASEWORKER, assignee="laerer-anna", title="Send skemaet")
    log_in(client, "anna", PASSWORD)
    answer = client.post(f"/tasks/{task.id}/done", data={"note": "x"})
    assert answer.status_code == 403
    assert _task(runtime, task.id).state == "open"


def test_a_department_task_is_on_the_worklist_of_its_team_member(
    client: TestClient, runtime: Runtime, clock: Clock
) -> None:
    """Horsens (the base process): each department on the team confirms the first meeting;
    when all have, the coordinator is told (the case's own event)."""
    hanne = Actor("caseworker", "cw-hanne")
    opened = runtime.service.refer(
        "horsens",
        YoungPersonDetails("Sofie Horsensen", "0202104321", date(2010, 2, 2)),
        hanne,
        {"source": "school", "caseworker": "cw-hanne", "age": 16},
    )
    reference = opened.reference
    runtime.service.trigger(
        reference, "accept_referral", {"young_person_agrees": True, "consent": True}, hanne
    )
    runtime.consents.give(reference, hanne, ConsentRequest(["skole"], ["education"], guardian=True))
    runtime.service.trigger(
        reference,
        "hold_pre_meeting",
        {
            "team": [{"department": "skole", "person": "laerer-anna-h"}],
            "coordinator": "tovholder-lise-h",
            "agenda": ["uddannelse"],
            "first_meeting_at": "2026-03-18T09:00",
        },
        hanne,
    )
    log_in(client, "anna-h", PASSWORD)
    page = client.get("/tasks").text
    _row(_rows(page, "my-tasks"), "Bekræft deltagelse med mandat i første samarbejdsmøde")
    task_id = int(_find(r'action="/tasks/(\d+)/done"', page, 1))
    done = client.post(f"/tasks/{task_id}/done", data={"csrf_token": csrf(page)})
    assert done.status_code == 303
    history = runtime.service.view(reference, hanne, "test").history
    assert history[-1]["event"] == "team_confirmed"

    log_in(client, "hanne", PASSWORD)
    case_page = client.get(f"/cases/{reference}").text
    closed = next(r for r in _rows(case_page, "closed-tasks") if r.startswith("Bekræft"))
    # A department's task is the department's, by name; closed by the one who did it.
    assert "Ungecentret – skole og uddannelse – hele afdelingen" in closed
    assert "Løst af Anna Lærer" in closed


# --- the case page: tasks ----------------------------------------------------------


def test_the_case_page_names_who_has_each_task_and_who_closed_it(
    client: TestClient, runtime: Runtime, clock: Clock
) -> None:
    reference = _soroe_case(runtime)
    open_task = runtime.tasks.add(
        reference, CASEWORKER, assignee="laerer-anna", title="Send skemaet", due=date(2026, 3, 2)
    )
    done_task = runtime.tasks.add(reference, CASEWORKER, assignee="tovholder-lise", title="Book")
    runtime.tasks.complete(done_task.id, COORDINATOR, "Lokale 2")
    clock.advance(days=1)  # the task due yesterday is overdue

    log_in(client, "mette", PASSWORD)
    page = client.get(f"/cases/{reference}").text
    row = _row(_rows(page, "open-tasks"), "Send skemaet")
    assert row == "Send skemaet Anna Lærer 02.03.2026 Overskredet Åben"
    closed = _rows(page, "closed-tasks")
    assert _row(closed, "Book") == (
        "Book Lise Tovholder – Løst Løst af Lise Tovholder 02.03.2026 09:00 Lokale 2"
    )
    # The caseworker's own task from accepting the referral ended with its stage.
    ended = _row(closed, "Aftal formøde med den unge")
    assert ended.startswith("Aftal formøde med den unge Mette Sagsbehandler")
    assert (
        "Lukket af systemet 02.03.2026 09:00, da sagen forlod det trin, opgaven hørte til" in ended
    )
    tasks_html = _find(r'data-testid="case-tasks".*?</section>', page)
    for staff_id in ("laerer-anna", "tovholder-lise", "cw-mette"):
        assert f">{staff_id}" not in tasks_html  # never a bare staff id as text
    # Anna's own task links to her list, where she marks it done.
    log_in(client, "anna", PASSWORD)
    mine = client.get(f"/cases/{reference}").text
    assert f'href="/tasks?reference={reference}">Markér som løst</a>' in mine
    assert open_task.id


def test_adding_a_task_on_the_case_page(client: TestClient, runtime: Runtime) -> None:
    reference = _soroe_case(runtime)
    log_in(client, "lise", PASSWORD)
    page = client.get(f"/cases/{reference}").text
    form = _find(r'data-testid="add-task".*?</form>', page)
    assert re.findall(r'<option value="([^"]+)"', form) == [
        "cw-mette",
        "tovholder-lise",
        "laerer-anna",
    ]
    assert ">Anna Lærer – Skole (skoleleder/lærer)</option>" in form
    # The due date's picker starts today (a day gone is refused on saving).
    assert 'id="task-due" name="due" type="date" value="" min="2026-03-02"' in form
    added = client.post(
        f"/cases/{reference}/tasks",
        data={
            "csrf_token": csrf(page),
            "assignee": "laerer-anna",
            "title": "Tal med klasselæreren",
            "due": "2026-03-13",
        },
    )
    assert added.status_code == 303
    assert added.headers["location"].startswith(f"/cases/{reference}?task_added=")
    after = client.get(added.headers["location"]).text
    assert "Opgaven er tilføjet: Tal med klasselæreren." in after
    row = _row(_rows(after, "open-tasks"), "Tal med klasselæreren")
    assert row == "Tal med klasselæreren Anna Lærer 13.03.2026 Åben"
    (item,) = [t for t in runtime.tasks.worklist("laerer-anna") if t.title in OURS]
    assert (item.title, item.assignee) == ("Tal med klasselæreren", "laerer-anna")


def test_a_refused_task_is_shown_beside_the_form_and_nothing_is_stored(
    client: TestClient, runtime: Runtime
) -> None:
    reference = _soroe_case(runtime)
    with runtime.sessions() as session:
        before = session.scalars(select(CaseTask.title).order_by(CaseTask.id)).all()
    log_in(client, "lise", PASSWORD)
    token = csrf(client.get(f"/cases/{reference}").text)

    def add(**fields: str) -> str:
        answer = client.post(f"/cases/{reference}/tasks", data={"csrf_token": token, **fields})
        assert answer.status_code == 400, answer.text
        return answer.text

    stranger = add(assignee="jc-bo", title="Ring", due="")
    assert 'id="task-error-assignee">vælg en person med en rolle på sagen' in stranger
    assert "Opgaven er ikke tilføjet. Ret dette:" in stranger
    no_title = add(assignee="laerer-anna", title="  ")
    assert 'id="task-error-title">skriv, hvad der skal gøres' in no_title
    assert '<option value="laerer-anna" selected>' in no_title  # what was chosen is kept
    empty = add(assignee="", title="", due="")  # every missing field at once, listed
    summary = _find(r'id="task-errors">(.*?)</div>', empty, 1)
    assert '<a href="#task-assignee">' in summary
    assert '<a href="#task-title">' in summary
    assert 'id="task-error-assignee">' in empty
    assert 'id="task-error-title">skriv, hvad der skal gøres' in empty
    past = add(assignee="laerer-anna", title="Ring", due="2026-03-01")  # the clock: 2 March
    assert 'id="task-error-due">fristen er passeret; vælg i dag eller en senere dag</p>' in past
    bad_day = add(assignee="laerer-anna", title="Ring", due="13-03-2026")
    assert 'id="task-error-due">skal være en dato (ÅÅÅÅ-MM-DD)</p>' in bad_day
    assert 'value="Ring"' in bad_day
    with runtime.sessions() as session:
        titles = session.scalars(select(CaseTask.title).order_by(CaseTask.id)).all()
    assert titles == before  # only the steps' own tasks
    answer = client.post(
        f"/cases/{reference}/tasks", data={"assignee": "laerer-anna", "title": "Ring"}
    )
    assert answer.status_code == 403  # no CSRF token


# --- the case page and step forms: meetings ----------------------------------------


def test_moving_the_meeting_through_its_form_changes_the_next_meeting(
    client: TestClient, runtime: Runtime, clock: Clock
) -> None:
    reference = _soroe_case(runtime)
    log_in(client, "lise", PASSWORD)
    form = client.get(f"/cases/{reference}/steps/move_meeting").text
    select_html = _find(r'<select id="meeting".*?</select>', form)
    assert '<option value="1" selected>Første samarbejdsmøde – 17.03.2026 09:00</option>' in (
        select_html
    )
    assert 'type="datetime-local" id="moved_to"' in form

    # A Saturday before opening: refused beside the field, in Danish; nothing changes.
    refused = client.post(
        f"/cases/{reference}/steps/move_meeting",
        data={"csrf_token": csrf(form), "meeting": "1", "moved_to": "2026-03-21T07:00"},
    )
    assert refused.status_code == 422
    assert re.search(
        r'id="error-moved_to">mødet skal ligge på en af de faste mødedage \(tirsdag og torsdag\); '
        r"mødet kan tidligst begynde kl\. 08:00</p>",
        refused.text,
    )
    # A time gone by: refused with the time now, as the pages write times.
    past = client.post(
        f"/cases/{reference}/steps/move_meeting",
        data={"csrf_token": csrf(form), "meeting": "1", "moved_to": "2026-02-26T10:00"},
    )
    assert past.status_code == 422
    assert "nu er det 02.03.2026 09:00" in past.text
    view = runtime.service.view(reference, COORDINATOR, "test")
    assert [(m["state"], m["starts_at"]) for m in view.meetings] == [
        ("booked", datetime(2026, 3, 17, 8, 0, tzinfo=UTC))
    ]

    moved = client.post(
        f"/cases/{reference}/steps/move_meeting",
        data={"csrf_token": csrf(form), "meeting": "1", "moved_to": "2026-03-19T10:00"},
    )
    assert moved.status_code == 303
    page = client.get(moved.headers["location"]).text
    next_html = _find(r'data-testid="next-meeting">(.*?)</p>', page, 1)
    assert "19.03.2026 10:00" in next_html
    assert "(flyttet)" in next_html
    assert "Deltagere: Sofie Sidetest (den unge), Forælder/værge, Lise Tovholder, Anna Lærer" in (
        page
    )
    assert 'data-meeting="1" data-state="moved"' in page

    cancel = client.get(f"/cases/{reference}/steps/cancel_meeting").text
    cancelled = client.post(
        f"/cases/{reference}/steps/cancel_meeting",
        data={"csrf_token": csrf(cancel), "meeting": ""},  # blank: the earliest booked
    )
    assert cancelled.status_code == 303
    page = client.get(f"/cases/{reference}").text
    assert 'data-testid="next-meeting">Intet møde er aftalt.</p>' in page
    assert 'data-meeting="1" data-state="cancelled"' in page
    assert "<s>19.03.2026 10:00</s>" in page
    # The timeline says which meeting each step changed, and to when.
    changes = re.findall(r'data-testid="meeting-change">([^<]*)</span>', page)
    assert "· Første samarbejdsmøde flyttet til 19.03.2026 10:00" in changes
    assert "· Første samarbejdsmøde 19.03.2026 10:00 aflyst" in changes
    assert "· Første samarbejdsmøde booket til 17.03.2026 09:00" in changes
    again = client.get(f"/cases/{reference}/steps/move_meeting").text
    # A cancelled meeting is not offered, and a form with nothing to act on is not shown.
    assert 'data-testid="nothing-booked">Sagen har ingen bookede møder' in again
    assert "Book et møde fra sagen først." in again
    assert 'class="step-form' not in again
    assert ">Gem</button>" not in again
    assert 'id="moved_to"' not in again


def test_a_held_meeting_is_never_the_next_one_and_its_form_asks_who_came(
    client: TestClient, runtime: Runtime, clock: Clock
) -> None:
    hanne = Actor("caseworker", "cw-hanne")
    opened = runtime.service.refer(
        "horsens",
        YoungPersonDetails("Sofie Horsensen", "0202104321", date(2010, 2, 2)),
        hanne,
        {"source": "school", "caseworker": "cw-hanne", "age": 16},
    )
    reference = opened.reference
    runtime.service.trigger(
        reference, "accept_referral", {"young_person_agrees": True, "consent": True}, hanne
    )
    runtime.consents.give(reference, hanne, ConsentRequest(["skole"], ["education"], guardian=True))
    runtime.service.trigger(
        reference,
        "hold_pre_meeting",
        {
            "team": [{"department": "skole", "person": "laerer-anna-h"}],
            "coordinator": "tovholder-lise-h",
            "agenda": ["uddannelse"],
            "first_meeting_at": "2026-03-18T09:00",
        },
        hanne,
    )
    clock.now = datetime(2026, 3, 18, 8, 15, tzinfo=UTC)  # during the meeting
    log_in(client, "lise-h", PASSWORD)
    form = client.get(f"/cases/{reference}/steps/hold_first_meeting").text
    table = _find(r'data-testid="attendance".*?</table>', form)
    names = re.findall(r'<label for="attendance\.\d\.status">([^<]+)</label>', table)
    assert names == ["Sofie Horsensen (den unge)", "Forælder/værge", "Lise Tovholder", "Anna Lærer"]
    assert "Fremmøde til Første samarbejdsmøde – 18.03.2026 09:00" in form
    assert ">Afbud</option>" in table
    assert ">Udeblevet</option>" in table
    ids = re.findall(r'name="(attendance\.\d)\.id" value="([^"]+)"', table)
    fields = {
        "csrf_token": csrf(form),
        "plan.0.text": "Jeg vil gå i skole tre dage om ugen",
        "plan.0.department": "skole",
        "plan.0.theme": "uddannelse",
        "next_meeting_at": "2026-04-01T09:00",
        **{f"{row}.id": who for row, who in ids},
        **{f"{row}.status": "present" for row, _ in ids},
    }
    # Someone not invited (a tampered form) is refused beside the field.
    tampered = {**fields, "attendance.3.id": "jc-bo", "attendance.3.status": "absent"}
    refused = client.post(f"/cases/{reference}/steps/hold_first_meeting", data=tampered)
    assert refused.status_code == 422
    assert 'id="error-attendance">&#39;jc-bo&#39; er ikke inviteret til mødet</p>' in refused.text
    assert runtime.service.view(reference, hanne, "test").stage == "awaiting_first_meeting"

    fields["attendance.3.status"] = "absent"  # Anna sent her apologies
    held = client.post(f"/cases/{reference}/steps/hold_first_meeting", data=fields)
    assert held.status_code == 303, held.text
    view = runtime.service.view(reference, hanne, "test")
    first, follow_up = view.meetings
    assert (first["state"], first["attendance"]) == ("held", {"absent": ["laerer-anna-h"]})
    page = client.get(f"/cases/{reference}").text
    next_html = _find(r'data-testid="next-meeting">(.*?)</p>', page, 1)
    assert "01.04.2026 09:00" in next_html  # the follow-up, not the meeting just held
    assert "Opfølgningsmøde" in next_html
    assert 'data-meeting="1" data-state="held"' in page
    assert "Afbud: Anna Lærer" in page
    assert follow_up["state"] == "booked"
    # The plan written at the meeting names who took part: not Anna, who sent apologies.
    plan_line = _find(r"(Version 1, skrevet på mødet [^<]*)</p>", page, 1)
    assert "Deltagere:" in plan_line
    assert "Anna Lærer" not in plan_line


def test_the_next_meeting_is_a_booked_or_moved_one_that_has_not_ended() -> None:
    """The rule the case page and the young person's page share."""
    now = datetime(2026, 3, 18, 10, 0, tzinfo=UTC)

    def meeting(key: int, state: str, hours: float) -> dict[str, object]:
        start = now + timedelta(hours=hours)
        return {
            "key": key,
            "state": state,
            "starts_at": start,
            "ends_at": start + timedelta(hours=1),
        }

    cancelled = meeting(1, "cancelled", 1)
    held = meeting(2, "held", -0.5)
    running = meeting(3, "booked", -0.5)  # started half an hour ago, not ended
    moved = meeting(4, "moved", 48)
    assert next_meeting([cancelled, held, moved, running], now) is running
    assert next_meeting([cancelled, held, moved], now) is moved
    assert next_meeting([cancelled, held, meeting(5, "booked", -2)], now) is None
    assert next_meeting([], now) is None


def test_the_young_persons_own_words_are_on_the_case_page_and_in_meeting_mode(
    client: TestClient, runtime: Runtime
) -> None:
    """What the young person wrote before the meeting (on their own page) is read by the
    people who hold it: the case page and meeting mode show it, themes by their names."""
    from workflow.engine.access import young_person_actor

    reference = _soroe_case(runtime)
    log_in(client, "lise", PASSWORD)
    assert 'data-testid="own-words"' not in client.get(f"/cases/{reference}").text
    runtime.service.trigger(
        reference,
        "young_person_prepared",
        {
            "my_topics": ["uddannelse", "bolig"],
            "my_wishes": "Min mor skal ikke være med hele tiden",
        },
        Actor("young_person", young_person_actor(reference)),
    )
    for address in (
        f"/cases/{reference}",
        f"/cases/{reference}/steps/hold_first_meeting?mode=meeting",
    ):
        page = client.get(address).text
        words = _find(r'data-testid="own-words">(.*?)</dl>', page, 1)
        assert (
            'Det vil jeg tale om på mødet</dt><dd lang="da" class="words">Uddannelse, Bolig</dd>'
            in words
        )
        assert "Min mor skal ikke være med hele tiden" in words


def test_a_follow_up_meeting_cancelled_cannot_be_recorded_as_held(
    runtime: Runtime, clock: Clock
) -> None:
    """With its only follow-up cancelled, 'Opfølgningsmøde holdt' is refused: it would
    write the plan on the meeting before (a new one is booked first)."""
    from workflow.cases.model import RejectedError
    from workflow.engine.model import RejectionReason

    reference = _soroe_case(runtime)
    clock.now = datetime(2026, 3, 17, 8, 15, tzinfo=UTC)  # during the first meeting
    plan = [{"text": "Jeg vil gå i skole tre dage om ugen", "theme": "uddannelse"}]
    held = {"plan": plan, "next_meeting_at": "2026-03-19T10:00"}  # a Thursday
    runtime.service.trigger(reference, "hold_first_meeting", held, COORDINATOR)
    runtime.service.trigger(reference, "cancel_meeting", {}, COORDINATOR)
    clock.now = datetime(2026, 3, 19, 9, 30, tzinfo=UTC)
    follow_up = {"reviews": [{"goal": 1, "status": "met"}], "plan": plan}
    follow_up |= {"next_meeting_at": "2026-03-24T10:00"}
    with pytest.raises(RejectedError) as refused:
        runtime.service.trigger(reference, "hold_follow_up", follow_up, COORDINATOR)
    assert refused.value.rejection.reason is RejectionReason.NO_MEETING
    view = runtime.service.view(reference, COORDINATOR, "test")
    assert [m["state"] for m in view.meetings] == ["held", "cancelled"]


def test_a_meeting_past_but_not_recorded_is_said_where_the_next_meeting_would_be(
    client: TestClient, runtime: Runtime, clock: Clock
) -> None:
    reference = _soroe_case(runtime)  # the first meeting: 17 March, 09:00
    clock.now = datetime(2026, 3, 18, 9, 0, tzinfo=UTC)
    log_in(client, "lise", PASSWORD)
    page = client.get(f"/cases/{reference}").text
    said = _find(r'data-testid="next-meeting">(.*?)</p>', page, 1)
    assert said == (
        "Intet nyt møde er aftalt. Første samarbejdsmøde 17.03.2026 09:00 er ikke registreret "
        "som holdt endnu."
    )
