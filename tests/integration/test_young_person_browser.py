"""The young person's and guardian's own pages in headless Chromium on a phone (390x844).

The real app is served with uvicorn and the login goes through the local OpenID Connect
provider's own pages (standing in for MitID through NemLog-in), clicked in the browser.
A Sorø case: the young person prepares the first meeting, gives feedback after it, and
withdraws a department's consent; the guardian follows the course without the young
person's own words and gives the parental consent. A Roskilde case goes through all the
young person's steps before and after its two meetings. Every citizen page is checked
with axe-core (no serious or critical violation) and photographed for
docs/young-person-guide.md (docs/images/young-person-*.png).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.integration.conftest import Clock
from tests.support.browser import FLAGS, ensure_chromium
from tests.support.case_api import ACCEPT, CASEWORKER, COORDINATOR, FIRST_MEETING, PRE_MEETING
from tests.support.case_api import PASSWORD as STAFF_PASSWORD
from tests.support.oidc import CLIENT_ID, CLIENT_SECRET
from tests.support.services import free_port
from workflow.cases.model import GuardianDetails, YoungPersonDetails
from workflow.runtime import Runtime, build_runtime, use_runtime
from workflow.settings import Settings
from workflow.web.app import create_app
from workflow.web.dev_oidc import PROVIDER_FOLDER, ensure_installed, running_provider
from workflow.web.server import serve_in_thread

#: The first meeting still to come (the young person's page shows it as their next).
UPCOMING = PRE_MEETING | {"first_meeting_at": "2026-03-17T09:00:00"}
#: The first meeting held, the next one still to come.
HELD = FIRST_MEETING | {
    "plan": [
        {"text": "Jeg skal møde op i skole 3 dage om ugen", "theme": "uddannelse"},
        {"text": "Jeg vil lære at lave mad", "theme": "uddannelse", "department": "skole"},
    ],
    "next_meeting_at": "2026-04-28T09:00:00",
    "progression": "activity_ready",
}

IMAGES = Path("docs/images")
AXE_FOLDER = PROVIDER_FOLDER.parent / "axe"
AXE = AXE_FOLDER / "node_modules" / "axe-core" / "axe.min.js"
PHONE: ViewportSize = {"width": 390, "height": 844}
PEOPLE = {
    "emma": {"name": "Emma Ung", "cpr": "0101104321"},  # 16 in 2026: a minor
    "mor": {"name": "Mette Mor", "cpr": "0202801234"},  # Emma's mother
    "jonas": {"name": "Jonas Andersen", "cpr": "0303054321"},  # 21, in Roskilde
}
EMMA = YoungPersonDetails(
    "Emma Ung",
    "010110-4321",
    date(2010, 1, 1),
    email="emma@example.org",
    guardians=(GuardianDetails("Mette Mor", "020280-1234", email="mor@example.org"),),
)
JONAS = YoungPersonDetails("Jonas Andersen", "030305-4321", date(2005, 3, 3))
#: person id -> (username, display name, roles); names the young person sees on the page.
STAFF = {
    "cw-mette": ("mette", "Mette Sagsbehandler", ["caseworker"]),
    "tovholder-lise": ("lise", "Lise Tovholder", ["coordinator"]),
    "laerer-anna": ("anna", "Anna Lærer", ["team_member"]),
    "vejleder-sara": ("sara", "Sara Vejleder", ["team_member"]),
}
#: The axe rules' findings below "serious", page by page (printed with -s; not failures).
FINDINGS: list[str] = []


@dataclass
class Site:
    url: str
    runtime: Runtime
    clock: Clock


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The real app on 127.0.0.1 (one runtime for the module) and its OIDC provider."""
    ensure_installed(PROVIDER_FOLDER)
    ensure_installed(AXE_FOLDER)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    home = tmp_path_factory.mktemp("young-person-browser")
    clock = Clock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    with running_provider(
        port=free_port(),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[f"{url}/ung/callback"],
        accounts=PEOPLE,
    ) as provider:
        settings = Settings(
            database_url=f"sqlite:///{home / 'workflow.db'}",
            home=home / "var",
            base_url=url,
            citizen_oidc_issuer=provider.issuer,
            citizen_oidc_client_id=CLIENT_ID,
            citizen_oidc_client_secret=CLIENT_SECRET,
        )
        runtime = build_runtime(settings, clock=clock)
        use_runtime(runtime)
        for person, (username, name, roles) in STAFF.items():
            runtime.accounts.create(
                username, STAFF_PASSWORD, display_name=name, person_id=person, roles=roles
            )
        server = serve_in_thread(create_app(runtime), "127.0.0.1", port)
        try:
            yield Site(url, runtime, clock)
        finally:
            server.should_exit = True
            use_runtime(None)
            runtime.engine.dispose()
    if FINDINGS:
        print("\naxe, below serious:\n" + "\n".join(FINDINGS))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = ensure_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=FLAGS)
        yield launched
        launched.close()


def _phone(browser: Browser) -> BrowserContext:
    # bypass_csp: our pages allow only script-src 'self'; axe is injected by the test.
    return browser.new_context(viewport=PHONE, locale="da-DK", bypass_csp=True)


def _axe(page: Page, name: str) -> None:
    """axe-core on the page as shown (WCAG 2.2 A and AA, and axe's best practices): no
    serious or critical violation."""
    page.add_script_tag(path=str(AXE))
    found: dict[str, Any] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: [
                'wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}});
            return {passes: result.passes.length, violations: result.violations.map(v => (
                {id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.map(n => n.target.join(' '))}))};
        }"""
    )
    assert found["passes"] > 10, f"axe did not check {name}"  # it ran: contrast, labels...
    violations: list[dict[str, Any]] = found["violations"]
    serious = [v for v in violations if v["impact"] in {"serious", "critical"}]
    assert not serious, f"axe on {name}: {serious}"
    FINDINGS.extend(
        f"{name}: {v['impact']} {v['id']} ({v['help']}) {v['nodes']}" for v in violations
    )


def _shot(page: Page, name: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / f"young-person-{name}.png"), full_page=True)


def _log_in(browser: Browser, site: Site, login: str, shot: bool = False) -> Page:
    """Through the front page and the provider's own login and consent pages."""
    page = _phone(browser).new_page()
    page.goto(f"{site.url}/ung/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Velkommen til dit forløb")
    if shot:
        _axe(page, "login")
        _shot(page, "login")
    page.get_by_role("link", name="Log ind med MitID").click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any")  # required by the form, ignored
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(site.url)}/ung/cases/[A-Z]{{3}}-2026-\d+$"))
    return page


def _step(page: Page, name: str) -> None:
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def _send(page: Page) -> None:
    page.get_by_role("button", name="Send").click()
    # Told by whom it is heard: the coordinator (in the municipality's word: Sorø's
    # "tovholder", Roskilde's "ungekoordinator"), or the caseworker before one is chosen.
    expect(page.get_by_role("status")).to_have_text(
        re.compile(
            r"Tak! Det er gemt, og din (tovholder|ungekoordinator|sagsbehandler) får besked\."
        )
    )


def _section(page: Page, heading: str) -> Locator:
    return page.locator("section").filter(has=page.get_by_role("heading", name=heading))


def test_the_young_person_and_guardian_follow_a_soroe_course(site: Site, browser: Browser) -> None:
    rt, clock = site.runtime, site.clock
    clock.now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    ref = rt.service.refer(
        "soroe", EMMA, CASEWORKER, {"source": "school", "caseworker": "cw-mette"}
    ).reference
    rt.service.trigger(ref, "accept_referral", ACCEPT, CASEWORKER)
    rt.service.trigger(ref, "hold_pre_meeting", UPCOMING, CASEWORKER)

    # The day before the first meeting Emma logs in with MitID and sees her course.
    clock.now = datetime(2026, 3, 16, 15, 0, tzinfo=UTC)
    page = _log_in(browser, site, "emma", shot=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mit forløb")
    meeting = _section(page, "Mit næste møde")
    # As the letters say it, with the weekday, and which meeting it is.
    expect(meeting).to_contain_text("tirsdag den 17. marts 2026 kl. 09.00")
    expect(meeting).to_contain_text("Første samarbejdsmøde")
    expect(meeting.get_by_role("link", name="Sæt i min kalender")).to_be_visible()
    team = _section(page, "Mit team")
    expect(team).to_contain_text("Min tovholder: Lise Tovholder")
    expect(team).to_contain_text("Min sagsbehandler: Mette Sagsbehandler")
    expect(team).to_contain_text("Anna Lærer – Skole (skoleleder/lærer)")
    expect(team).to_contain_text("Sara Vejleder – UU Sorø")
    expect(_section(page, "Min plan")).to_contain_text("Planen skrives sammen med dig")
    # No consent recorded yet: her own yes is asked for (under 18, her parent's too), and
    # her team card says who gets nothing until then.
    expect(_section(page, "Mit samtykke")).to_contain_text(
        "Ingen afdelinger deler oplysninger om dit forløb lige nu."
    )
    expect(page.get_by_test_id("consent-ask")).to_contain_text(
        "Disse i dit team får ikke oplysninger om dit forløb, før du har sagt ja: "
        "Skole (skoleleder/lærer), UU Sorø."
    )
    expect(team).to_contain_text("Anna Lærer – Skole (skoleleder/lærer) · får ikke oplysninger")
    _axe(page, "case page")
    _shot(page, "case")

    # Before the meeting: her own themes for the agenda, and her own words.
    _step(page, "Jeg har forberedt mig til mødet")
    topics = page.get_by_role("group", name="Det vil jeg tale om på mødet")
    topics.get_by_label("Uddannelse").check()
    topics.get_by_label("Bolig").check()
    page.get_by_label("Det vil jeg gerne sige på mødet").fill(
        "Jeg vil gerne tale om at flytte hjemmefra\nOg om min fritid"
    )
    _axe(page, "prepare step")
    _shot(page, "prepare")
    _send(page)
    words = _section(page, "Det har jeg skrevet")
    expect(words).to_contain_text("Det vil jeg tale om: Uddannelse, Bolig")
    # Her words keep the lines she wrote them in (they were run together on one line).
    expect(words.locator("p.words")).to_have_text(
        "Jeg vil gerne tale om at flytte hjemmefra\nOg om min fritid", use_inner_text=True
    )
    assert rt.service.view(ref, COORDINATOR).data["my_topics"] == ["uddannelse", "bolig"]
    page.context.close()

    # The first meeting is held; the coordinator of record writes the plan.
    clock.now = datetime(2026, 3, 17, 10, 0, tzinfo=UTC)
    rt.service.trigger(ref, "hold_first_meeting", HELD, COORDINATOR)

    # After it, Emma (a new login: a day's session is long gone) gives her feedback.
    page = _log_in(browser, site, "emma")
    expect(_section(page, "Mit næste møde")).to_contain_text("tirsdag den 28. april 2026 kl. 09.00")
    plan = _section(page, "Min plan")
    expect(plan).to_contain_text("Jeg skal møde op i skole 3 dage om ugen")
    expect(plan).to_contain_text("I gang")
    expect(plan).to_contain_text("hjælp fra Anna Lærer, Skole (skoleleder/lærer)")
    # Her progression meeting by meeting: on the phone a card a meeting, nothing wider
    # than the screen (its table stuck out of the page by 40 px).
    progression = page.get_by_test_id("progress")
    expect(progression).to_contain_text("Aktivitetsparat")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    row = progression.get_by_role("row").nth(1)  # a card, however long its words
    assert row.evaluate("r => getComputedStyle(r).display") == "block"
    # The chart is the one drawn for a phone (the wide one, scaled to the screen, had
    # labels 7 pixels high): shown at about the size it was drawn, so its text is legible.
    chart = progression.locator("img.progress-chart")
    drawn = chart.evaluate("i => i.complete && [i.naturalWidth, i.getBoundingClientRect().width]")
    assert drawn[0] == 340, drawn
    assert drawn[1] >= 0.85 * drawn[0], drawn
    _step(page, "Min feedback på mødet")
    page.get_by_role("group", name="Blev jeg hørt på mødet?").get_by_label("Delvist").check()
    page.get_by_label("Det vil jeg sige om mødet").fill("Jeg fik ikke sagt det om bolig")
    _axe(page, "feedback step")
    _shot(page, "feedback")
    _send(page)
    expect(_section(page, "Det har jeg skrevet")).to_contain_text(
        "Min feedback: Jeg fik ikke sagt det om bolig"
    )
    assert rt.service.view(ref, COORDINATOR).data["felt_heard"] == "delvist"

    # Her mother logs in: the course, the plan and the team, not Emma's own words.
    parent = _log_in(browser, site, "mor")
    expect(parent.get_by_role("heading", level=1)).to_have_text("Den unges forløb")
    expect(_section(parent, "Den unges plan")).to_contain_text(
        "Jeg skal møde op i skole 3 dage om ugen"
    )
    expect(_section(parent, "Den unges team")).to_contain_text("Lise Tovholder")
    expect(parent.get_by_text("flytte hjemmefra")).to_have_count(0)
    expect(parent.get_by_text("om bolig")).to_have_count(0)
    expect(parent.get_by_role("heading", name="Det har jeg skrevet")).to_have_count(0)
    # Of the steps only ending the course, which a guardian may do too; none of Emma's own.
    expect(_section(parent, "Det kan du gøre nu").get_by_role("link")).to_have_text(
        ["Jeg vil stoppe forløbet"]
    )
    expect(_section(parent, "Samtykke til deling")).to_contain_text(
        "Dit samtykke som forælder mangler, før disse afdelinger må få oplysninger om "
        "forløbet: Skole (skoleleder/lærer), UU Sorø."
    )
    _axe(parent, "guardian's case page")
    _shot(parent, "guardian")
    parent.get_by_role("button", name="Giv mit samtykke som forælder").click()
    expect(parent.get_by_role("status")).to_have_text(
        "Dit ja er gemt. Det gælder, når alle de nødvendige ja er givet."
    )
    expect(parent.get_by_role("button", name="Giv mit samtykke som forælder")).to_have_count(0)
    # The parent's yes is the parent's: nothing is recorded as Emma's, nothing is shared.
    assert rt.service.view(ref, CASEWORKER).consents == []
    parent.context.close()

    # Emma is told her parent said yes, and gives her own: then the consent is recorded.
    page.reload()
    expect(page.get_by_test_id("consent-ask")).to_contain_text(
        "Din forælder har sagt ja til at dele med: Skole (skoleleder/lærer), UU Sorø."
    )
    page.get_by_role("button", name="Giv mit samtykke").click()
    expect(page.get_by_role("status")).to_have_text(
        "Dit samtykke er gemt. Afdelingerne må nu få oplysninger om forløbet."
    )
    consents = rt.service.view(ref, CASEWORKER).consents
    assert [(c["given_by"], c["recorded_by"][:13]) for c in consents] == [
        (["young_person", "guardian"], "young_person:")
    ]
    assert sorted(d["department"] for d in consents[0]["departments"]) == ["skole", "uu"]

    # Emma sees the consent, and takes back the school's; youth guidance keeps its.
    consent = _section(page, "Mit samtykke")
    expect(consent.get_by_role("listitem")).to_have_text(
        [
            "Skole (skoleleder/lærer) Træk tilbage – Skole (skoleleder/lærer)",
            "UU Sorø Træk tilbage – UU Sorø",
        ]
    )
    consent.get_by_role("button", name="Træk tilbage – Skole (skoleleder/lærer)").click()
    # She is asked first, with the department by name (issue 17: it was one click).
    expect(page.get_by_role("heading", name="Vil du trække samtykket tilbage?")).to_be_visible()
    expect(page.get_by_test_id("withdraw-confirm")).to_contain_text("Skole (skoleleder/lærer)")
    page.get_by_role("button", name="Ja, træk det tilbage").click()
    expect(page.get_by_role("status")).to_have_text(
        "Samtykket er trukket tilbage. Afdelingen får ikke længere oplysninger om forløbet."
    )
    expect(consent.locator("ul.consents > li")).to_have_text(["UU Sorø Træk tilbage – UU Sorø"])
    # ... and the school's listed as withdrawn, when and by her.
    expect(consent.get_by_test_id("consent-taken-back")).to_have_text(
        "Skole (skoleleder/lærer): samtykket blev trukket tilbage tirsdag den 17. marts 2026 af dig"
    )
    # Her plan no longer names the school's teacher as helping (the team card says why).
    plan = _section(page, "Min plan")
    expect(plan).to_contain_text("Skole (skoleleder/lærer) er ikke længere med i forløbet")
    expect(plan).not_to_contain_text("hjælp fra Anna Lærer")
    _shot(page, "consent-withdrawn")
    withdrawn = {
        d["department"]: d["withdrawn_at"]
        for c in rt.service.view(ref, CASEWORKER).consents
        for d in c["departments"]
    }
    assert withdrawn["skole"] is not None
    assert withdrawn["uu"] is None

    # Who has read her course and why: roles, never names.
    page.get_by_role("link", name="Se hvem og hvorfor").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Hvem har læst mit forløb – og hvorfor"
    )
    log = page.locator("ul.log")
    expect(log).to_contain_text("Din forælder/værge")
    expect(log).to_contain_text("Du selv")
    expect(log).not_to_contain_text("Mette")
    expect(log).not_to_contain_text("cw-mette")
    _axe(page, "access log")
    _shot(page, "log")
    page.context.close()

    for name in ("login", "case", "prepare", "feedback", "consent-withdrawn", "log", "guardian"):
        assert (IMAGES / f"young-person-{name}.png").stat().st_size > 10_000


def test_a_roskilde_case_through_the_young_persons_steps_in_the_browser(
    site: Site, browser: Browser
) -> None:
    """Roskilde: the young person prepares before each meeting and gives feedback after
    it; the meetings are registered only then, by the coordinator of record."""
    rt, clock = site.runtime, site.clock
    clock.now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    ref = rt.service.refer(
        "roskilde", JONAS, CASEWORKER, {"source": "school", "caseworker": "cw-mette"}
    ).reference
    rt.service.trigger(ref, "accept_referral", ACCEPT, CASEWORKER)
    page = _log_in(browser, site, "jonas")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mit forløb")
    expect(page.get_by_text("Unges beslutningskraft – Roskilde Kommune")).to_be_visible()
    expect(_section(page, "Mit næste møde")).to_contain_text("Der er ikke aftalt et møde endnu.")

    def prepare(topic: str, wishes: str) -> None:
        _step(page, "Jeg har forberedt mig til mødet")
        page.get_by_role("group", name="Det vil jeg tale om på mødet").get_by_label(topic).check()
        page.get_by_label("Det vil jeg gerne have ud af mødet").fill(wishes)
        page.get_by_role("group", name="Hvem fremlægger?").get_by_label(
            "Jeg fremlægger selv"
        ).check()
        _send(page)
        expect(_section(page, "Det har jeg skrevet")).to_contain_text(wishes)

    def feedback(heard: str, words: str) -> None:
        _step(page, "Min feedback på mødet")
        page.get_by_role("group", name="Blev jeg hørt på mødet?").get_by_label(heard).check()
        page.get_by_role("group", name="Var det mig, der bestemte?").get_by_label("Ja").check()
        page.get_by_label("Det vil jeg sige om mødet").fill(words)
        _send(page)
        expect(_section(page, "Det har jeg skrevet")).to_contain_text(f"Min feedback: {words}")
        # Her answers too, with the questions (only her words were shown).
        expect(_section(page, "Det har jeg skrevet")).to_contain_text(
            f"Blev jeg hørt på mødet? {heard}"
        )

    # Before the pre-meeting: prepared (a theme is needed: the form says so where it is
    # missing); then staff register the pre-meeting.
    _step(page, "Jeg har forberedt mig til mødet")
    page.get_by_label("Det vil jeg gerne have ud af mødet").fill("Jeg vil vælge mit team selv")
    page.get_by_role("group", name="Hvem fremlægger?").get_by_label("Jeg fremlægger selv").check()
    page.get_by_role("button", name="Send").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Det er ikke sendt endnu. Ret dette:")
    expect(alert.get_by_role("link")).to_have_text("Det vil jeg tale om på mødet: vælg mindst én")
    topics = page.get_by_role("group", name="Det vil jeg tale om på mødet")
    expect(topics).to_have_attribute("aria-describedby", "my_topics-err")
    expect(page.locator("#my_topics-err")).to_be_visible()
    expect(page.get_by_label("Det vil jeg gerne have ud af mødet")).to_have_value(
        "Jeg vil vælge mit team selv"
    )  # what he wrote is kept
    _axe(page, "step form with an error")
    page.get_by_role("link", name="Tilbage").click()
    prepare("Uddannelse", "Jeg vil vælge mit team selv")
    pre_meeting = {k: v for k, v in UPCOMING.items() if k != "meeting_room"}
    rt.service.trigger(ref, "hold_pre_meeting", pre_meeting, CASEWORKER)
    page.reload()
    expect(page.locator("p.small strong")).to_have_text("Første samarbejdsmøde indkaldt")
    expect(_section(page, "Mit næste møde")).to_contain_text("tirsdag den 17. marts 2026 kl. 09.00")
    expect(_section(page, "Mit team")).to_contain_text("Min ungekoordinator: Lise Tovholder")

    # After the pre-meeting: feedback, then preparing the first meeting.
    feedback("Ja", "Jeg valgte selv Anna og Sara")
    prepare("Bolig", "Jeg vil have en plan for skolen")
    page.context.close()

    # The first meeting: the coordinator chosen at the pre-meeting registers it.
    clock.now = datetime(2026, 3, 17, 10, 0, tzinfo=UTC)
    assert rt.service.view(ref, COORDINATOR).coordinator == COORDINATOR.id
    rt.service.trigger(
        ref, "hold_first_meeting", HELD | {"young_person_decided": True}, COORDINATOR
    )
    page = _log_in(browser, site, "jonas")
    expect(page.locator("p.small strong")).to_have_text("Opfølgning")
    expect(_section(page, "Min plan")).to_contain_text("Jeg skal møde op i skole 3 dage om ugen")
    expect(_section(page, "Mit næste møde")).to_contain_text("tirsdag den 28. april 2026 kl. 09.00")
    feedback("Delvist", "Jeg bestemte planen, men det gik stærkt")
    view = rt.service.view(ref, COORDINATOR)
    assert view.stage == "follow_up"
    assert view.data["felt_heard"] == "delvist"
    assert view.data["decided_myself"] == "ja"
    assert [h["event"] for h in view.history if h["event"].startswith("young_person_")] == [
        "young_person_prepared",
        "young_person_feedback",
        "young_person_prepared",
        "young_person_feedback",
    ]
    page.context.close()
