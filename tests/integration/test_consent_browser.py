"""Consent in headless Chromium (issue 17): the start form asks what the consent covers,
the pre-meeting form warns before saving a team person no consent covers, and a
withdrawal asks for confirmation, naming the department."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import date

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.browser import FLAGS, ensure_chromium
from workflow.cases.model import YoungPersonDetails
from workflow.engine.model import Actor
from workflow.runtime import Runtime
from workflow.web.app import create_app
from workflow.web.server import serve_in_thread

PASSWORD = "korrekt-hest-batteri-stald"
CASEWORKER = Actor("caseworker", "cw-mette")
STAFF = {
    "mette": ("Mette Sagsbehandler", "cw-mette", ["caseworker"]),
    "lise": ("Lise Tovholder", "tovholder-lise", ["coordinator"]),
    "anna": ("Anna Lærer", "laerer-anna", ["team_member"]),
    "sara": ("Sara Vejleder", "vejleder-sara", ["team_member"]),
}


@pytest.fixture
def site(sqlite_runtime: Runtime) -> Iterator[tuple[str, str]]:
    for username, (name, person, roles) in STAFF.items():
        sqlite_runtime.accounts.create(
            username,
            PASSWORD,
            display_name=name,
            person_id=person,
            roles=roles,
            municipality_code="340",
        )
    reference = sqlite_runtime.service.refer(
        "soroe",
        YoungPersonDetails("Freja Samtykke", "0101104321", date(2010, 1, 1)),
        CASEWORKER,
        {"source": "school", "caseworker": "cw-mette"},
    ).reference
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = serve_in_thread(create_app(sqlite_runtime), "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}", reference
    server.should_exit = True


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(
            executable_path=str(ensure_chromium()), args=FLAGS
        )
        yield browser.new_page(viewport={"width": 1280, "height": 900}, locale="da-DK")
        browser.close()


def test_consent_at_the_start_the_team_warning_and_a_confirmed_withdrawal(
    site: tuple[str, str], page: Page
) -> None:
    url, reference = site
    page.goto(f"{url}/login")
    page.get_by_label("Brugernavn").fill("mette")
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    expect(page.get_by_role("heading", name="Mine sager")).to_be_visible()

    # Start the course: the consent covers the school only (and the parent consented).
    page.goto(f"{url}/cases/{reference}/steps/accept_referral")
    page.get_by_label("Den unge vil gerne starte forløbet").check()
    page.get_by_label("Samtykke til deling mellem afdelinger er givet").check()
    scope = page.get_by_test_id("consent-scope")
    expect(page.get_by_role("group", name="Samtykkets omfang")).to_be_visible()
    scope.get_by_label("Skole (skoleleder/lærer)").check()
    scope.get_by_label("Skole, uddannelse og beskæftigelse").check()
    scope.get_by_label("Forældremyndighedsindehaveren har også givet samtykke").check()
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_text("Skridtet er gemt: Start forløbet")).to_be_visible()
    expect(page.get_by_test_id("consents")).to_contain_text("Skole (skoleleder/lærer)")

    # The pre-meeting: the young person also wants her youth guidance counsellor.
    page.goto(f"{url}/cases/{reference}/steps/hold_pre_meeting")
    for row, (department, person) in enumerate([("skole", "laerer-anna"), ("uu", "vejleder-sara")]):
        page.locator(f"[name='team.{row}.department']").select_option(department)
        page.locator(f"[name='team.{row}.person']").fill(person)
    page.get_by_label("Tovholder").fill("tovholder-lise")
    page.get_by_label("Uddannelse", exact=True).check()
    page.get_by_label("Første samarbejdsmøde (fast mødedag)").fill("2026-03-17T09:00")
    page.get_by_label("Mødelokale med storskærm").select_option("raadhuset_storskaerm")
    page.get_by_role("button", name="Gem").click()
    warning = page.get_by_test_id("withheld-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Ikke dækket af den unges samtykke")
    expect(warning.get_by_role("listitem")).to_have_text(["Sara Vejleder (UU Sorø)"])
    assert page.locator("[name='team.1.person']").input_value() == "vejleder-sara"  # kept
    warning.get_by_label("Gem alligevel – jeg ved, at de ikke får besked nu").check()
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_text("Skridtet er gemt: Formøde holdt")).to_be_visible()

    # Withdrawing asks first, naming the department and its data; then it is done.
    consents = page.get_by_test_id("consents")
    consents.get_by_role("button", name="Træk tilbage").first.click()
    expect(page.get_by_role("heading", name="Træk samtykket tilbage?")).to_be_visible()
    confirm = page.get_by_test_id("withdraw-confirm")
    expect(confirm.get_by_role("listitem")).to_have_text(["Skole (skoleleder/lærer)"])
    expect(confirm).to_contain_text("Skole, uddannelse og beskæftigelse")
    expect(confirm).to_contain_text("Intet slettes")
    confirm.get_by_role("button", name="Ja, træk samtykket tilbage").click()
    expect(
        page.get_by_text("Samtykket er trukket tilbage for: Skole (skoleleder/lærer).")
    ).to_be_visible()
