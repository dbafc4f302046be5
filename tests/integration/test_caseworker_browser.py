"""A whole Sorø case through the web app in headless Chromium (Debian's, via Playwright).

Log in, refer, record the young person's pre-meeting choices, book the first meeting,
write a three-goal plan in meeting mode, follow up, hand over and close, asserting what
each page shows. Takes the screenshots docs/caseworker-guide.md uses (docs/images/web-*).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.integration.conftest import Clock
from tests.support.browser import FLAGS, ensure_chromium
from workflow.cases.model import StepResult
from workflow.runtime import Runtime
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def site(sqlite_runtime: Runtime) -> Iterator[tuple[str, list[StepResult]]]:
    for username, (name, person, roles) in STAFF.items():
        sqlite_runtime.accounts.create(
            username,
            PASSWORD,
            display_name=name,
            person_id=person,
            roles=roles,
            municipality_code="340",
        )
    steps: list[StepResult] = []
    port = _free_port()
    server = serve_in_thread(create_app(sqlite_runtime, on_step=steps.append), "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}", steps
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
    page.goto(f"{url}/")
    expect(page).to_have_url(f"{url}/login?next=/")
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    expect(page.get_by_role("heading", name="Mine sager")).to_be_visible()
    return page


def _shot(page: Page, name: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / name), full_page=True)


def _stage(page: Page) -> str:
    return page.get_by_test_id("stage").inner_text()


def test_a_soroe_case_from_referral_to_closed_in_the_browser(
    site: tuple[str, list[StepResult]], browser: Browser, clock: Clock
) -> None:
    url, steps = site
    clock.now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday

    # A wrong password is refused without saying whether the user exists.
    page = browser.new_page(locale="da-DK")
    page.goto(f"{url}/login")
    page.get_by_label("Brugernavn").fill("mette")
    page.get_by_label("Adgangskode").fill("forkert-kode-123")
    page.get_by_role("button", name="Log ind").click()
    expect(page.get_by_role("alert")).to_have_text("Forkert brugernavn eller adgangskode.")
    _shot(page, "web-login.png")
    page.close()

    # The caseworker refers the young person.
    page = _log_in(browser, url, "mette")
    expect(page.get_by_text("0 af 0 sager")).to_be_visible()
    page.get_by_role("link", name="Ny henvisning").click()
    page.locator("#person_name").fill("Freja Browsersen")
    page.locator("#person_cpr").fill("010110-4321")
    page.get_by_label("Fødselsdato").fill("2010-01-01")
    page.get_by_label("Hvem henviser?").select_option("school")
    page.get_by_label("Ansvarlig sagsbehandler").fill("cw-mette")
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_role("status")).to_contain_text("er oprettet")
    reference = page.get_by_role("heading", level=1).inner_text().split()[0]
    assert reference.startswith("SOR-2026-")
    assert _stage(page) == "Henvist"
    expect(page.get_by_text("010110-xxxx")).to_be_visible()  # the CPR number is masked
    expect(page.get_by_text("010110-4321")).to_have_count(0)

    # Starting the course needs the young person's wish and her consent — recorded as a
    # consent, with what it covers (issue 17: a ticked box alone shared nothing).
    page.get_by_role("link", name="Start forløbet").click()
    page.get_by_label("Den unge vil gerne starte forløbet").check()
    page.get_by_label("Samtykke til deling mellem afdelinger er givet").check()
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_role("alert")).to_contain_text("Samtykket kan ikke registreres")
    scope = page.get_by_test_id("consent-scope")
    expect(scope).to_contain_text("Vælg mindst én afdeling")
    expect(scope).to_contain_text("forældremyndighedsindehaveren skal også give samtykke")
    for department in ("skole", "born_familie", "uu"):
        scope.locator(f"input[name='consent_scope.departments'][value={department}]").check()
    scope.locator("input[name='consent_scope.categories'][value=education]").check()
    scope.get_by_label("Forældremyndighedsindehaveren har også givet samtykke").check()
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_role("status").first).to_contain_text("Skridtet er gemt: Start forløbet")
    assert _stage(page) == "Formøde"

    # The consent is on the Samtykke card: the departments, and (she is 16) her parent too.
    consents = page.get_by_test_id("consents")
    expect(consents).to_contain_text("den unge + forældremyndighedsindehaver (alder 16)")
    expect(consents).to_contain_text("Skole, uddannelse og beskæftigelse")
    _shot(page, "web-consent.png")

    # The whole CPR number only on purpose, and logged.
    page.get_by_label("Formål (logges)").fill("Opslag i Ungedatabasen")
    page.get_by_role("button", name="Vis hele CPR-nummeret").click()
    expect(page.get_by_test_id("cpr")).to_have_text("010110-4321")
    page.go_back()

    # Pre-meeting: the young person's own choices of team, coordinator and agenda.
    page.get_by_role("link", name="Formøde holdt – den unge har valgt").click()
    for row, (department, person) in enumerate(
        [("skole", "laerer-anna"), ("born_familie", "raadgiver-bo"), ("uu", "vejleder-sara")]
    ):
        page.locator(f"[name='team.{row}.department']").select_option(department)
        page.locator(f"[name='team.{row}.person']").fill(person)
    # Each row says its number, as an error names it ("række 2: ..."); a row added is
    # numbered on, for the eye and when read out (its labels said "(række 1)" again).
    rows = page.locator("[data-rows='team'] .row")
    shown = rows.count()
    expect(rows.nth(1).locator(".row-no")).to_have_text("Række 2")
    page.get_by_role("button", name="Tilføj en række mere").first.click()
    expect(rows).to_have_count(shown + 1)
    expect(rows.last.locator(".row-no")).to_have_text(f"Række {shown + 1}")
    expect(page.get_by_label(f"Person (række {shown + 1})")).to_have_value("")
    expect(page.locator(f"[name='team.{shown}.department']")).to_be_focused()
    page.get_by_label("Tovholder").fill("tovholder-lise")
    page.get_by_label("Uddannelse", exact=True).check()
    page.get_by_label("Fritid og fællesskaber").check()
    page.get_by_label("Første samarbejdsmøde (fast mødedag)").fill("2026-03-18T09:00")  # Wed
    page.get_by_label("Mødelokale med storskærm").select_option("raadhuset_storskaerm")
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_role("alert")).to_contain_text("Skridtet er ikke gemt")
    expect(page.get_by_role("alert")).to_contain_text("faste mødedage (tirsdag og torsdag)")
    assert page.locator("[name='team.1.person']").input_value() == "raadgiver-bo"  # kept
    _shot(page, "web-step-refused.png")
    page.get_by_label("Første samarbejdsmøde (fast mødedag)").fill("2026-03-17T09:00")  # Tue
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_role("status")).to_contain_text("Formøde holdt")
    assert _stage(page) == "Første samarbejdsmøde indkaldt"
    expect(page.get_by_test_id("team")).to_contain_text("Bo Rådgiver")
    expect(page.get_by_test_id("team")).to_contain_text("Anna Lærer")  # a staff account
    expect(page.get_by_test_id("coordinator")).to_have_text("Lise Tovholder")
    expect(page.get_by_test_id("agenda")).to_have_text("Uddannelse, Fritid og fællesskaber")
    expect(page.get_by_test_id("next-meeting")).to_contain_text("17.03.2026 09:00")
    expect(page.get_by_test_id("next-meeting")).to_contain_text("Rådhuset, lokale med storskærm")
    _shot(page, "web-case.png")
    page.close()

    # The first meeting: the coordinator writes the plan live on the big screen.
    clock.now = datetime(2026, 3, 17, 10, 0, tzinfo=UTC)
    page = _log_in(browser, url, "lise", big=True)
    expect(page.get_by_role("link", name=reference)).to_be_visible()
    _shot(page, "web-caseload.png")
    page.get_by_role("link", name=reference).click()
    page.get_by_role("link", name="Mødetilstand (storskærm)").click()
    expect(page.locator("ul.agenda").first).to_contain_text("Uddannelse")
    # Sorø: a goal's theme is one the young person chose for the agenda; only those are
    # offered (and a blank to choose from).
    offered = page.locator("[name='plan.0.theme'] option").evaluate_all(
        "options => options.map(o => o.value).filter(v => v)"
    )
    assert sorted(offered) == ["fritid", "uddannelse"], offered
    goals = [
        ("Jeg skal møde op i skole 3 dage om ugen", "skole", "uddannelse"),
        ("Jeg vil prøve en fritidsaktivitet i klubben", "uu", "fritid"),
        ("Min mor og jeg skal have hjælp om morgenen", "born_familie", "uddannelse"),
    ]
    # The second row left blank; the goals in the third and fourth not in first person.
    for row, (text, department, theme) in zip((0, 2, 3), goals, strict=True):
        page.locator(f"[name='plan.{row}.text']").fill(text)
        page.locator(f"[name='plan.{row}.department']").select_option(department)
        page.locator(f"[name='plan.{row}.theme']").select_option(theme)
    page.locator("[name='plan.2.text']").fill("Klubben finder en aktivitet")
    page.locator("[name='plan.3.text']").fill("Skolen hjælper med morgenen")
    page.get_by_label("Næste møde (fast mødedag)").fill("2026-04-28T09:00")
    _shot(page, "web-meeting-mode.png")
    page.get_by_role("button", name="Gem").click()
    # Both told at once, numbered as the page now shows them (the blank row gone).
    expect(page.locator("#error-plan")).to_contain_text(
        "mål 2 er ikke skrevet i jeg-form; skriv det, som den unge siger det: 'Jeg skal ...'; "
        "mål 3 er ikke skrevet i jeg-form"
    )
    expect(page.locator("[name='plan.1.text']")).to_have_value("Klubben finder en aktivitet")
    expect(page.locator("[name='plan.2.text']")).to_have_value("Skolen hjælper med morgenen")
    expect(page.locator("[name='plan.2.theme']")).to_have_value("uddannelse")
    page.locator("[name='plan.1.text']").fill(goals[1][0])
    page.locator("[name='plan.2.text']").fill(goals[2][0])
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_role("status")).to_contain_text("Første samarbejdsmøde holdt")
    assert _stage(page) == "Opfølgning"
    plan = page.get_by_test_id("plan")
    for text, _department, _theme in goals:
        expect(plan).to_contain_text(text)
    written = page.get_by_text("Version 1, skrevet på mødet 17.03.2026")
    expect(written).to_be_visible()
    expect(written).not_to_contain_text("young-person/")  # people by name, never by id
    expect(written).to_contain_text("(den unge)")
    _shot(page, "web-plan.png")
    page.close()

    # The follow-up meeting: each goal marked, the next period's plan written.
    clock.now = datetime(2026, 4, 28, 10, 0, tzinfo=UTC)
    page = _log_in(browser, url, "lise", big=True)
    page.goto(f"{url}/cases/{reference}/steps/hold_follow_up?mode=meeting")
    for number, status in ((1, "Nået"), (2, "Delvist nået"), (3, "Ikke nået")):
        page.get_by_label(f"Mål {number}: {status}").check()
    page.locator("[name='plan.0.text']").fill("Jeg skal møde op i skole 4 dage om ugen")
    page.locator("[name='plan.0.theme']").select_option("uddannelse")  # the young person's own
    page.locator("[name='plan.1.text']").fill("Jeg går til fodbold hver onsdag")
    page.locator("[name='plan.1.theme']").select_option("fritid")
    page.get_by_label("Næste opfølgningsmøde").fill("2026-06-09T09:00")
    _shot(page, "web-follow-up.png")
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_role("status")).to_contain_text("Opfølgningsmøde holdt")
    expect(page.get_by_text("Version 2, skrevet på mødet 28.04.2026")).to_be_visible()
    expect(page.get_by_test_id("plan")).to_contain_text("Jeg går til fodbold hver onsdag")
    reviewed = page.get_by_test_id("reviewed")
    expect(reviewed).to_contain_text("1. Jeg skal møde op i skole 3 dage om ugen: Nået")
    expect(reviewed).to_contain_text("2. Jeg vil prøve en fritidsaktivitet i klubben: Delvist nået")
    expect(reviewed).to_contain_text("Ikke nået")

    # Handover to the networks the young person goes on with, then close.
    page.get_by_role("link", name="Start overdragelse til netværk").click()
    page.locator("[name='networks.0.name']").fill("Sorø Fodboldklub")
    page.locator("[name='networks.0.kind']").select_option("leisure")
    page.locator("[name='networks.1.name']").fill("Mentor fra frivilligcentret")
    page.locator("[name='networks.1.kind']").select_option("mentor")
    page.get_by_role("button", name="Gem").click()
    assert _stage(page) == "Overdragelse til netværk"
    expect(page.get_by_test_id("networks")).to_contain_text("Sorø Fodboldklub (Fritid)")
    page.get_by_role("link", name="Afslut forløbet").click()
    page.get_by_label("Status ved afslutning").select_option("education")
    page.get_by_role("button", name="Gem").click()
    assert _stage(page) == "Afsluttet"
    expect(page.get_by_text("Der er ingen skridt, du kan tage i denne fase.")).to_be_visible()
    expect(page.get_by_test_id("timeline")).to_contain_text("Afslut forløbet")
    _shot(page, "web-closed.png")

    # English is one click away.
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=2, name="Next steps")).to_be_visible()
    assert _stage(page) == "Closed"
    page.close()

    # Every step went through the service layer and on to the flows (on_step).
    assert [s.to_stage for s in steps] == [
        "referred",
        "pre_meeting",
        "awaiting_first_meeting",
        "follow_up",
        "follow_up",
        "handover",
        "closed",
    ]
    for name in ("login", "caseload", "case", "meeting-mode", "plan", "closed"):
        assert (IMAGES / f"web-{name}.png").stat().st_size > 10_000
