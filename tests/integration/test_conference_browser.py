"""A Horsens case conference held on the big screen, and Ballerup's pool, in headless
Chromium (Debian's, via Playwright: no browser is downloaded).

Ten Horsens cases are taken to follow-up in-process (five caseworkers, two cases each);
one caseworker plans the session and puts her cases forward in the browser, the others'
are put forward through the service. The coordinator holds the session on the big-screen
agenda, recording each case's professions, wish, goal and next concrete action; each
caseworker then has the next action as a task ("Mine opgaver" in the browser for one,
the task service's worklist for all). Ballerup's programme manager books a deposit and
reads the pool's ledger. Takes docs/images/conference-agenda.png and
docs/images/pool-ledger.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.integration.conftest import Clock
from tests.integration.test_conference_pages import (
    BALLERUP,
    PASSWORD,
    PLANNED,
    RECORD,
    STAFF,
    ballerup_case_in_follow_up,
    create_staff,
    follow_up_cases,
    staff_accounts,
)
from tests.support.browser import FLAGS, ensure_chromium
from workflow.engine.model import Actor
from workflow.runtime import Runtime
from workflow.web.app import create_app
from workflow.web.server import free_local_port, serve_in_thread

IMAGES = Path("docs/images")
#: Five Horsens caseworkers, two cases each (username -> name, staff id).
CASEWORKERS = {
    "anne": ("Anne Sagsbehandler", "cw-anne"),
    "bjarke": ("Bjarke Sagsbehandler", "cw-bjarke"),
    "camilla": ("Camilla Sagsbehandler", "cw-camilla"),
    "dennis": ("Dennis Sagsbehandler", "cw-dennis"),
    "emma": ("Emma Sagsbehandler", "cw-emma"),
}
#: The concrete next step each case leaves the conference with (one per case).
NEXT_ACTIONS = [
    "Ring til tømrerfirmaet om en snuse-praktik",
    "Følg den unge til første samtale hos UU",
    "Aftal en prøvetime i bokseklubben med mentor",
    "Book en tid hos egen læge om søvnen",
    "Hjælp med at søge ungdomsboliger på nettet",
    "Tag med til jobcentrets åbne værksted",
    "Skriv til skolen om nedsat skema i to uger",
    "Find en fritidsjob-annonce sammen med den unge",
    "Aftal møde med SSP om vennerne fra klubben",
    "Ring til misbrugscentret og bestil en samtale",
]


#: The accounts of these tests: the caseworkers besides the other tests' staff.
ACCOUNTS = STAFF | {u: (n, p, ["caseworker"], "615") for u, (n, p) in CASEWORKERS.items()}


@pytest.fixture
def site(sqlite_runtime: Runtime) -> Iterator[str]:
    port = free_local_port()
    server = serve_in_thread(create_app(sqlite_runtime), "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True


@pytest.fixture
def browser() -> Iterator[Browser]:
    chromium = ensure_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=FLAGS)
        yield launched
        launched.close()


def _log_in(browser: Browser, url: str, username: str, big: bool = False) -> Page:
    size = {"width": 1920, "height": 1080} if big else {"width": 1280, "height": 900}
    page = browser.new_page(viewport=size, locale="da-DK")
    page.goto(f"{url}/login")
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    expect(page.get_by_role("heading", name="Mine sager")).to_be_visible()
    return page


def _shot(page: Page, name: str, full_page: bool = True) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / name), full_page=full_page)


def test_ten_cases_on_the_big_screen_each_leave_a_task_for_their_caseworker(
    site: str, browser: Browser, sqlite_runtime: Runtime, clock: Clock
) -> None:
    runtime, url = sqlite_runtime, site
    staff_accounts(runtime)
    create_staff(runtime, *CASEWORKERS, "sofie", staff=ACCOUNTS)
    caseworkers = [person for _, person in CASEWORKERS.values()] * 2
    references = follow_up_cases(runtime, clock, caseworkers)
    clock.now = PLANNED

    # Anne plans the session and puts her two cases forward on the sessions page.
    page = _log_in(browser, url, "anne")
    page.goto(f"{url}/conferences")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tværfaglig sagskonference")
    page.get_by_role("button", name="Planlæg næste sagskonference").click()
    expect(page.get_by_role("status")).to_have_text("Den næste sagskonference er planlagt.")
    session = page.locator("[data-session]").first
    expect(session.get_by_role("heading")).to_have_text("onsdag 18.03.2026 kl. 09:00")
    session_id = int(session.get_attribute("data-session") or "0")
    for reference in references[0], references[5]:
        session.get_by_label("Sæt en sag på dagsordenen (sagsnummer)").fill(reference)
        session.get_by_role("button", name="Sæt på dagsordenen").click()
        expect(page.get_by_role("status")).to_have_text(f"Sag {reference} er sat på dagsordenen.")
    # A case that is not hers is refused beside the field.
    session = page.locator(f"#session-{session_id}")
    session.get_by_label("Sæt en sag på dagsordenen (sagsnummer)").fill(references[1])
    session.get_by_role("button", name="Sæt på dagsordenen").click()
    expect(session.locator(".field-error")).to_have_text(
        f"Der er ingen sag {references[1]}, som du kan se."
    )
    page.close()
    # The others put theirs forward (through the service), in the order of the cases.
    order = [references[0], references[5]]
    for reference, caseworker in zip(references, caseworkers, strict=True):
        if reference not in order:
            runtime.conferences.put_forward(session_id, reference, Actor("caseworker", caseworker))
            order.append(reference)

    # The session: the coordinator holds it on the meeting room's big screen.
    clock.now = datetime(2026, 3, 18, 8, 2, tzinfo=UTC)
    screen = _log_in(browser, url, "sofie", big=True)
    screen.goto(f"{url}/conferences")
    screen.get_by_role("link", name="Åbn dagsordenen på storskærm").click()
    expect(screen.get_by_test_id("progress")).to_have_text("0 af 10 sager er behandlet")
    expect(screen.get_by_test_id("agenda").locator("li")).to_have_count(10)
    expect(screen.get_by_test_id("agenda-item-10")).to_contain_text("18:00–19:00")
    actions = dict(zip(references, NEXT_ACTIONS, strict=True))
    for position, reference in enumerate(order, start=1):
        expect(screen.get_by_test_id("current-case")).to_have_text(reference)
        form = screen.get_by_test_id("record-form")
        for profession in RECORD["conference_professions"]:
            form.locator(f"input[name=conference_professions][value={profession}]").check()
        form.get_by_label("Hvad ønsker den unge?").fill(str(RECORD["conference_wish"]))
        form.get_by_label("Hvad er målet?").fill(str(RECORD["conference_goal"]))
        form.get_by_label("Næste konkrete skridt, som sagsbehandleren afprøver").fill(
            actions[reference]
        )
        if position == 4:  # the big screen mid-session: three done, the fourth filled in
            screen.evaluate("window.scrollTo(0, 0)")
            _shot(screen, "conference-agenda.png", full_page=False)
        form.get_by_role("button", name="Gem og gå til næste sag").click()
        expect(screen.get_by_role("status")).to_have_text(
            f"Sag {reference} er behandlet. Næste skridt er nu sagsbehandlerens opgave."
        )
        done = screen.get_by_test_id(f"agenda-item-{position}")
        expect(done).to_contain_text("Behandlet")
        expect(done).to_contain_text(actions[reference])
    expect(screen.get_by_test_id("progress")).to_have_text("10 af 10 sager er behandlet")
    expect(screen.get_by_role("heading", name="Alle sager er behandlet")).to_be_visible()
    for reference in references:
        expect(screen.get_by_test_id("summary")).to_contain_text(actions[reference])
    # Nothing on the big screen names a young person.
    assert "Nummer" not in screen.content()
    screen.close()

    # Each caseworker leaves with the next action as a task: Bjarke finds his in the browser.
    page = _log_in(browser, url, "bjarke")
    page.get_by_role("link", name="Mine opgaver").click()
    tasks = page.get_by_test_id("my-tasks")
    for reference in references[1], references[6]:
        row = tasks.locator("tr", has_text=reference).filter(has_text="sagskonferencen")
        expect(row).to_contain_text("Næste konkrete skridt fra sagskonferencen")
        expect(row).to_contain_text(actions[reference])
    page.close()
    for caseworker in {person for _, person in CASEWORKERS.values()}:
        found = {
            t.reference: t.details
            for t in runtime.tasks.worklist(caseworker)
            if t.title == "Næste konkrete skridt fra sagskonferencen"
        }
        mine = [r for r, c in zip(references, caseworkers, strict=True) if c == caseworker]
        assert found == {r: actions[r] for r in mine}, caseworker
    assert runtime.conferences.sessions("615", Actor("caseworker", "cw-anne"))[0]["state"] == "held"


def test_the_programme_manager_keeps_the_pool_in_the_browser(
    site: str, browser: Browser, sqlite_runtime: Runtime, clock: Clock
) -> None:
    runtime, url = sqlite_runtime, site
    staff_accounts(runtime)
    create_staff(runtime, "birgit", "line")
    manager = Actor("leader", "programleder-birgit")
    runtime.pool.deposit(BALLERUP, "social", 40_000, manager)
    clock.advance(hours=2)
    runtime.pool.deposit(BALLERUP, "sundhed", 15_000, manager)
    reference = ballerup_case_in_follow_up(runtime, clock)
    clock.advance(hours=1)
    grant = {"grant_amount": 12_000, "grant_solution": "bolig", "grant_departments": ["social"]}
    runtime.service.trigger(
        reference, "grant_from_pool", grant, Actor("coordinator", "kontaktperson-line")
    )
    clock.advance(days=1)

    page = _log_in(browser, url, "birgit")
    page.goto(f"{url}/pool")
    expect(page.get_by_test_id("balance")).to_have_text("Saldo 43.000 kr.")
    form = page.get_by_test_id("deposit-form")
    form.get_by_label("Beløb i kroner").fill("mange")
    form.get_by_role("button", name="Bogfør indbetalingen").click()
    expect(page.locator("#amount-error")).to_have_text(
        "Skriv et helt antal kroner fra 1 til 10.000.000 kr."
    )
    expect(page.locator("#department-error")).to_have_text("Vælg en af kommunens afdelinger.")
    form.get_by_label("Afdeling").select_option("jobcenter")
    form.get_by_label("Beløb i kroner").fill("25.000")
    form.get_by_role("button", name="Bogfør indbetalingen").click()
    expect(page.get_by_role("status")).to_have_text(
        "Indbetalingen er bogført: 25.000 kr. fra Beskæftigelse (Jobcenter Ballerup)."
    )
    expect(page.get_by_test_id("balance")).to_have_text("Saldo 68.000 kr.")
    rows = page.get_by_test_id("ledger").locator("tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(2)).to_contain_text(f"Bevilling {reference} −12.000 kr. 43.000 kr.")
    expect(rows.nth(3)).to_contain_text("25.000 kr. 68.000 kr. Birgit Programleder")
    _shot(page, "pool-ledger.png")
