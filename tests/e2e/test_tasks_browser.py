"""Tasks and a moved meeting in headless Chromium (Debian's, driven by Playwright).

The coordinator gives a team member a task from the case page; the team member opens
"Mine opgaver", sees her tasks (the overdue one first, marked), marks one done with a
note and finds it under done; the coordinator moves the first meeting through the
"Flyt mødet" form (a Saturday is refused beside the field) and sees the new "Næste
møde" on the case page. Takes docs/images/tasks-mine-opgaver.png,
docs/images/tasks-case-page.png and docs/images/meeting-moved.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.integration.conftest import Clock, settings_for
from tests.support.browser import FLAGS, ensure_chromium
from tests.support.services import free_port, smtp_sink
from workflow.cases.model import YoungPersonDetails
from workflow.engine.model import Actor
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime, build_runtime, use_runtime
from workflow.web.app import create_app
from workflow.web.server import serve_in_thread

IMAGES = Path("docs/images")
PASSWORD = "korrekt-hest-batteri"
STAFF = {
    "mette": ("Mette Sagsbehandler", "cw-mette", ["caseworker"]),
    "lise": ("Lise Tovholder", "tovholder-lise", ["coordinator"]),
    "anna": ("Anna Lærer", "laerer-anna", ["team_member"]),
    # Team members the young person chooses (the service checks staff ids against accounts).
    "bo": ("Bo Rådgiver", "raadgiver-bo", ["team_member"]),
    "sara": ("Sara Vejleder", "vejleder-sara", ["team_member"]),
}
CASEWORKER = Actor("caseworker", "cw-mette")


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # a Monday, 09:00 in Sorø


@pytest.fixture
def runtime(clock: Clock, tmp_path: Path) -> Iterator[Runtime]:
    with smtp_sink() as smtp:
        settings = settings_for(f"sqlite:///{tmp_path / 'workflow.db'}", smtp, tmp_path / "var")
        built = build_runtime(settings, clock=clock)
        use_runtime(built)
        for username, (name, person, roles) in STAFF.items():
            built.accounts.create(
                username,
                PASSWORD,
                display_name=name,
                person_id=person,
                roles=roles,
                municipality_code="340",
            )
        yield built
        use_runtime(None)
        built.engine.dispose()


@pytest.fixture
def url(runtime: Runtime) -> Iterator[str]:
    port = free_port()
    server = serve_in_thread(create_app(runtime), "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True


@pytest.fixture
def browser() -> Iterator[Browser]:
    chromium = ensure_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=FLAGS)
        yield launched
        launched.close()


def _case(runtime: Runtime, name: str, cpr: str) -> str:
    """A Sorø case whose team (Anna, school) and coordinator (Lise) are chosen, and whose
    first collaboration meeting is booked for Tuesday 17 March at 09:00."""
    reference = runtime.service.refer(
        "soroe",
        YoungPersonDetails(name, cpr, date(2010, 2, 2)),
        CASEWORKER,
        {"source": "school", "caseworker": "cw-mette"},
    ).reference
    runtime.service.trigger(
        reference, "accept_referral", {"young_person_agrees": True, "consent": True}, CASEWORKER
    )
    runtime.consents.give(
        reference, CASEWORKER, ConsentRequest(["skole", "uu"], ["education"], guardian=True)
    )
    runtime.service.trigger(
        reference,
        "hold_pre_meeting",
        {
            "team": [
                {"department": "skole", "person": "laerer-anna"},
                {"department": "uu", "person": "vejleder-sara"},
            ],
            "coordinator": "tovholder-lise",
            "agenda": ["uddannelse", "fritid"],
            "first_meeting_at": "2026-03-17T09:00",
            "meeting_room": "raadhuset_storskaerm",
        },
        CASEWORKER,
    )
    return reference


def _log_in(browser: Browser, url: str, username: str) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="da-DK")
    page.goto(f"{url}/")
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    expect(page.get_by_role("heading", name="Mine sager")).to_be_visible()
    return page


def _shot(page: Page, name: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / name), full_page=True)


def test_a_team_member_does_her_task_and_the_coordinator_moves_the_meeting(
    runtime: Runtime, url: str, browser: Browser, clock: Clock
) -> None:
    reference = _case(runtime, "Freja Browsersen", "0202104321")
    other = _case(runtime, "Oliver Andersen", "0202104322")
    runtime.tasks.add(
        other,
        CASEWORKER,
        assignee="laerer-anna",
        title="Send fraværsoversigten for februar",
        due=date(2026, 3, 2),  # today: overdue when Anna looks tomorrow
    )
    runtime.tasks.add(other, CASEWORKER, assignee="laerer-anna", title="Find en praktikplads")

    # The coordinator gives Anna a task from the case page.
    page = _log_in(browser, url, "lise")
    page.goto(f"{url}/cases/{reference}")
    tasks = page.get_by_test_id("case-tasks")
    tasks.locator("summary", has_text="Tilføj opgave").click()
    form = page.get_by_test_id("add-task")
    form.get_by_label("Hvem skal løse den?").select_option(
        label="Anna Lærer – Skole (skoleleder/lærer)"
    )
    form.get_by_label("Hvad skal gøres?").fill("Tal med klasselæreren om morgenerne")
    form.get_by_label("Frist (valgfri)").fill("2026-03-13")
    form.get_by_role("button", name="Tilføj opgave").click()
    expect(page.get_by_role("status")).to_have_text(
        "Opgaven er tilføjet: Tal med klasselæreren om morgenerne."
    )
    expect(page.get_by_test_id("open-tasks")).to_contain_text(
        "Tal med klasselæreren om morgenerne Anna Lærer 13.03.2026 Åben"
    )
    page.close()

    # Anna opens "Mine opgaver": the overdue task first, marked; every task's case linked.
    clock.now = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
    page = _log_in(browser, url, "anna")
    page.get_by_role("link", name="Mine opgaver").click()
    expect(page.get_by_role("heading", name="Mine opgaver", level=1)).to_be_visible()
    mine = page.get_by_test_id("my-tasks")
    first = mine.locator("tbody tr").first
    expect(first).to_contain_text("Send fraværsoversigten for februar")
    expect(first).to_contain_text("Overskredet")
    expect(first.get_by_role("link", name=other)).to_be_visible()
    expect(mine).to_contain_text("Tal med klasselæreren om morgenerne")
    expect(mine).to_contain_text("Find en praktikplads")
    _shot(page, "tasks-mine-opgaver.png")

    # She marks the coordinator's task done with a note, and finds it under done.
    row = mine.locator("tr", has_text="Tal med klasselæreren om morgenerne")
    row.get_by_label("Note (valgfri)").fill("Aftalt: hun ringer hjem kl. 8 de næste to uger")
    row.get_by_role("button", name="Markér som løst").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Opgaven er markeret som løst: Tal med klasselæreren om morgenerne."
    )
    still_open = page.get_by_test_id("my-tasks")
    expect(still_open.locator("tr", has_text="Tal med klasselæreren")).to_have_count(0)
    page.get_by_role("link", name="Løste", exact=True).first.click()
    done = page.get_by_test_id("done-tasks")
    expect(done).to_contain_text("Tal med klasselæreren om morgenerne")
    expect(done).to_contain_text("Løst af Anna Lærer 03.03.2026 10:30")
    expect(done).to_contain_text("Aftalt: hun ringer hjem kl. 8 de næste to uger")
    page.close()

    # The coordinator moves the first meeting: a Saturday is refused beside the field.
    page = _log_in(browser, url, "lise")
    page.goto(f"{url}/cases/{reference}")
    expect(page.get_by_test_id("next-meeting")).to_contain_text("17.03.2026 09:00")
    expect(page.get_by_test_id("closed-tasks")).to_contain_text("Løst af Anna Lærer")
    _shot(page, "tasks-case-page.png")
    page.get_by_role("link", name="Flyt mødet").click()
    which = page.get_by_label("Hvilket møde?")
    expect(which.locator("option:checked")).to_have_text("Første samarbejdsmøde – 17.03.2026 09:00")
    page.get_by_label("Nyt tidspunkt").fill("2026-03-21T09:00")
    page.get_by_role("button", name="Gem").click()
    expect(page.locator("#error-moved_to")).to_have_text(
        "mødet skal ligge på en af de faste mødedage (tirsdag og torsdag)"
    )
    page.get_by_label("Nyt tidspunkt").fill("2026-03-19T10:00")
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_role("status")).to_contain_text("Skridtet er gemt: Flyt mødet")
    next_meeting = page.get_by_test_id("next-meeting")
    expect(next_meeting).to_contain_text("19.03.2026 10:00")
    expect(next_meeting).to_contain_text("Første samarbejdsmøde")
    expect(next_meeting).to_contain_text("(flyttet)")
    expect(page.locator("tr[data-meeting='1']")).to_contain_text("Flyttet")
    _shot(page, "meeting-moved.png")
    page.close()

    view = runtime.service.view(reference, CASEWORKER, "test")
    (meeting,) = view.meetings
    assert (meeting["state"], meeting["sequence"]) == ("moved", 1)
    assert meeting["starts_at"] == datetime(2026, 3, 19, 9, 0, tzinfo=UTC)
