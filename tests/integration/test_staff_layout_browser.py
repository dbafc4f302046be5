"""The staff pages' layout and words in headless Chromium (Debian's, via Playwright).

The caseworker's daily defects of issue 17: at phone width (390 px) no page scrolls
sideways and no word is broken in the middle; the focus ring has 3:1 contrast against
what is around it (WCAG 1.4.11); people are named by name, not staff id; the exceptional
steps (ending the course, pausing it) are set apart after the main step; English mode
shows the definition's task titles in English; a refused step form keeps the team rows
the user had (no extra blank row each time, blank rows not marked red); the language
link keeps the page (and ``next``); and axe-core finds no serious or critical violation
on the caseload, the case page, a step form (blank and refused) and the tasks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.integration.conftest import Clock
from tests.support.axe import check_axe, ensure_axe
from tests.support.browser import FLAGS, ensure_chromium
from tests.support.case_api import ACCEPT, CASEWORKER, COORDINATOR
from tests.support.services import free_port
from workflow.cases.model import YoungPersonDetails
from workflow.engine.model import Actor
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime, build_runtime, use_runtime
from workflow.settings import Settings
from workflow.web.app import create_app
from workflow.web.server import serve_in_thread

PASSWORD = "korrekt-hest-batteri"
PHONE = 390
#: username -> (display name, staff id, roles)
STAFF = {
    "mette": ("Mette Sagsbehandler", "cw-mette", ["caseworker"]),
    "lise": ("Lise Tovholder", "tovholder-lise", ["coordinator"]),
    "anna": ("Anna Lærer", "laerer-anna", ["team_member"]),
    "sara": ("Sara Vejleder", "vejleder-sara", ["team_member"]),
}
#: A Horsens caseworker: its departments have long names ("Ungecentret – børne- og
#: ungerådgivning"), which made its team and plan forms scroll sideways at phone width.
HORSENS_STAFF = ("henrik", "Henrik Sagsbehandler", "hor-henrik")
PRE_MEETING = {
    "team": [
        {"department": "skole", "person": "laerer-anna"},
        {"department": "uu", "person": "vejleder-sara"},
    ],
    "coordinator": "tovholder-lise",
    "agenda": ["uddannelse", "fritid"],
    "first_meeting_at": "2026-02-24T09:00:00",  # a Tuesday before the clock: held at once
    "meeting_room": "raadhuset_storskaerm",
}
FIRST_MEETING = {
    "plan": [
        {
            "text": "Jeg skal møde op i skole 3 dage om ugen",
            "theme": "uddannelse",
            "owner": "laerer-anna",
            "department": "skole",
            "deadline": "2026-04-30",
        },
        {"text": "Jeg vil prøve en fritidsaktivitet i klubben", "theme": "fritid"},
    ],
    "next_meeting_at": "2026-04-28T09:00:00",
}
#: Staff ids and actor labels that must not show where a name belongs.
IDS = ("laerer-anna", "cw-mette", "tovholder-lise", "vejleder-sara", "caseworker:", "coordinator:")
#: The steps that end or pause the course from any stage (not the main path).
EXCEPTIONAL = (
    "Den unge stopper forløbet",
    "Flyttet til anden kommune",
    "Sæt forløbet på pause",
)
#: Sorø's main step at the pre-meeting.
MAIN_STEP = "Formøde holdt – den unge har valgt"
FINDINGS: list[str] = []


@dataclass
class Site:
    url: str
    runtime: Runtime
    #: At the pre-meeting (the caseworker's task "Aftal formøde med den unge" open).
    starting: str
    #: In follow-up, with a two-goal plan (one goal Anna's).
    following: str
    #: A Horsens case at its pre-meeting.
    horsens: str = ""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    ensure_axe()
    home = tmp_path_factory.mktemp("staff-layout")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=f"sqlite:///{home / 'workflow.db'}", home=home / "var", base_url=url
    )
    runtime = build_runtime(settings, clock=Clock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC)))
    use_runtime(runtime)
    for username, (name, person, roles) in STAFF.items():
        runtime.accounts.create(
            username,
            PASSWORD,
            display_name=name,
            person_id=person,
            roles=roles,
            municipality_code="340",
        )
    referral = {"source": "school", "caseworker": "cw-mette"}
    service = runtime.service
    starting = service.refer(
        "soroe",
        YoungPersonDetails("Freja Andersen", "0101104321", date(2010, 1, 1)),
        CASEWORKER,
        referral,
    ).reference
    service.trigger(starting, "accept_referral", ACCEPT, CASEWORKER)
    # Consent for the school and youth guidance: the team chosen on the form is covered.
    consent = ConsentRequest(["skole", "uu"], ["education"], guardian=True)
    runtime.consents.give(starting, CASEWORKER, consent)
    following = service.refer(
        "soroe",
        YoungPersonDetails("Oliver Jensen", "0202104321", date(2010, 2, 2)),
        CASEWORKER,
        referral,
    ).reference
    service.trigger(following, "accept_referral", ACCEPT, CASEWORKER)
    runtime.consents.give(following, CASEWORKER, consent)  # the plan's goal is the school's
    service.trigger(following, "hold_pre_meeting", PRE_MEETING, CASEWORKER)
    service.trigger(following, "hold_first_meeting", FIRST_MEETING, COORDINATOR)
    username, name, person = HORSENS_STAFF
    runtime.accounts.create(
        username,
        PASSWORD,
        display_name=name,
        person_id=person,
        roles=["caseworker"],
        municipality_code="615",
    )
    horsens_worker = Actor("caseworker", person)
    horsens = service.refer(
        "horsens",
        YoungPersonDetails("Ida Nielsen", "0303104321", date(2010, 3, 3)),
        horsens_worker,
        {"source": "ssp", "caseworker": person},
    ).reference
    service.trigger(horsens, "accept_referral", ACCEPT, horsens_worker)
    server = serve_in_thread(create_app(runtime), "127.0.0.1", port)
    try:
        yield Site(url, runtime, starting, following, horsens)
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


def _context(browser: Browser, width: int = 1280) -> BrowserContext:
    # bypass_csp: the pages allow only script-src 'self'; axe is injected by the test.
    return browser.new_context(
        viewport={"width": width, "height": 900}, locale="da-DK", bypass_csp=True
    )


def _log_in(browser: Browser, site: Site, username: str, width: int = 1280) -> Page:
    page = _context(browser, width).new_page()
    page.goto(f"{site.url}/login")
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    expect(page.get_by_role("heading", name="Mine sager")).to_be_visible()
    return page


# Words split over two lines inside one text node: [word, first line's text].
_WIDE = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .map(el => el.tagName + '.' + el.className + ' ' + (el.innerText || '').slice(0, 30))
  .slice(0, 8)"""

_BROKEN_WORDS = """() => {
  const broken = [];
  const skip = 'SCRIPT, STYLE, TEXTAREA, SELECT, OPTION, DATALIST, .visually-hidden';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip) || parent.closest('[hidden]')) continue;
    for (const match of node.data.matchAll(/[^\\s\\/\\-\\u2013\\u2014,.:;()]+/g)) {
      if (match[0].length < 2) continue;
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
                                                      .map(r => Math.round(r.top)));
      if (tops.size > 1) broken.push(match[0]);
    }
  }
  return broken;
}"""


def _fits_the_phone(page: Page, name: str) -> None:
    # Measured once the page has loaded with its stylesheet: the caseload reached after
    # the login form's redirect was once measured unstyled (431 px, no element wide).
    page.wait_for_load_state("load")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    wide = [] if width <= PHONE else page.evaluate(_WIDE)
    assert width <= PHONE, f"{name} scrolls sideways at {PHONE} px: {width} px wide: {wide}"
    broken = page.evaluate(_BROKEN_WORDS)
    assert not broken, f"{name} breaks words mid-word at {PHONE} px: {broken}"


def test_at_phone_width_no_page_scrolls_sideways_and_no_word_breaks_at_any_width(
    site: Site, browser: Browser
) -> None:
    page = _log_in(browser, site, "mette", width=PHONE)
    expect(page.locator("table.cases")).to_be_visible()
    _fits_the_phone(page, "the caseload")
    page.goto(f"{site.url}/cases/{site.following}")
    expect(page.get_by_test_id("plan")).to_contain_text("Jeg skal møde op i skole")
    _fits_the_phone(page, "the case page with a plan")
    page.goto(f"{site.url}/cases/{site.starting}")
    _fits_the_phone(page, "the case page at the pre-meeting")
    page.goto(f"{site.url}/cases/{site.starting}/steps/hold_pre_meeting")
    _fits_the_phone(page, "the pre-meeting's form")
    page.goto(f"{site.url}/tasks")
    expect(page.get_by_test_id("my-tasks")).to_be_visible()
    _fits_the_phone(page, "the tasks")
    page.context.close()
    page = _log_in(browser, site, "lise", width=PHONE)  # the coordinator holds the meetings
    page.goto(f"{site.url}/cases/{site.following}/steps/hold_follow_up")
    expect(page.get_by_test_id("attendance")).to_be_visible()
    _fits_the_phone(page, "the follow-up meeting's form (its attendance)")
    page.context.close()
    page = _log_in(browser, site, HORSENS_STAFF[0], width=PHONE)
    page.goto(f"{site.url}/cases/{site.horsens}/steps/hold_pre_meeting")
    expect(page.locator("select").first).to_be_visible()
    _fits_the_phone(page, "Horsens' pre-meeting form (long department names)")
    page.context.close()
    page = _log_in(browser, site, "mette")  # a desktop: the case page's narrow cards
    for reference in (site.starting, site.following):
        page.goto(f"{site.url}/cases/{reference}")
        broken = page.evaluate(_BROKEN_WORDS)
        assert not broken, f"the case page breaks words mid-word: {broken}"
    page.context.close()


def _luminance(colour: tuple[float, ...]) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(c) for c in colour[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _contrast(first: tuple[float, ...], second: tuple[float, ...]) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _rgb(css: str) -> tuple[float, ...]:
    found = re.findall(r"[\d.]+", css)
    assert len(found) >= 3, css
    return tuple(float(v) for v in found[:3])


# The focused element's ring and the colour around it: the first opaque background of
# its parents (the ring is drawn outside the element, at an offset).
_FOCUS_RING = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  let around = el.parentElement, background = 'rgb(255, 255, 255)';
  for (; around; around = around.parentElement) {
    const bg = getComputedStyle(around).backgroundColor;
    if (bg && bg !== 'transparent' && !/rgba\\(.*, 0\\)$/.test(bg)) { background = bg; break; }
  }
  return {tag: el.tagName, text: (el.innerText || el.name || el.id || '').slice(0, 40),
          style: style.outlineStyle, width: parseFloat(style.outlineWidth),
          colour: style.outlineColor, background};
}"""


def test_the_focus_ring_has_three_to_one_contrast_wherever_it_is(
    site: Site, browser: Browser
) -> None:
    page = _log_in(browser, site, "mette")
    page.goto(f"{site.url}/cases/{site.starting}")
    seen: set[str] = set()
    for _ in range(30):  # the header's links, the case page's buttons, links and fields
        page.keyboard.press("Tab")
        ring: dict[str, Any] = page.evaluate(_FOCUS_RING)
        if ring["tag"] == "BODY":
            continue
        where = f"{ring['tag']} {ring['text']!r} on {ring['background']}"
        assert ring["style"] != "none", f"no focus ring: {where}"
        assert ring["width"] >= 2, f"a thin focus ring: {where}"
        ratio = _contrast(_rgb(ring["colour"]), _rgb(ring["background"]))
        assert ratio >= 3, f"focus ring {ring['colour']} has {ratio:.2f}:1 contrast: {where}"
        seen.add(ring["background"])
    assert len(seen) >= 2, f"only one background checked: {seen}"  # the header and the page
    page.context.close()


def test_people_are_named_by_name_and_role_not_by_staff_id(site: Site, browser: Browser) -> None:
    page = _log_in(browser, site, "mette")
    page.goto(f"{site.url}/cases/{site.following}")
    plan = page.get_by_test_id("plan")
    expect(plan).to_contain_text("Anna Lærer")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("af Mette Sagsbehandler (sagsbehandler)")
    # In Sorø's word for the coordinator, as the rest of its pages say it.
    expect(timeline).to_contain_text("af Lise Tovholder (tovholder)")
    shown = page.locator("main").inner_text()
    assert not [i for i in IDS if i in shown], [i for i in IDS if i in shown]
    page.goto(f"{site.url}/cases/{site.following}?lang=en")
    expect(page.get_by_test_id("timeline")).to_contain_text("by Mette Sagsbehandler (caseworker)")
    page.context.close()


def test_the_exceptional_steps_come_after_the_main_step_and_look_different(
    site: Site, browser: Browser
) -> None:
    page = _log_in(browser, site, "mette")
    page.goto(f"{site.url}/cases/{site.starting}")
    steps = page.locator("#steps-h + *, #steps-h ~ *").locator("a")
    names = [n.strip() for n in steps.all_inner_texts()]
    assert MAIN_STEP in names, names
    assert all(e in names for e in EXCEPTIONAL), names
    first_exception = min(names.index(e) for e in EXCEPTIONAL)
    assert names.index(MAIN_STEP) < first_exception, names
    main = page.get_by_role("link", name=MAIN_STEP, exact=True)
    main_colour = main.evaluate("el => getComputedStyle(el).backgroundColor")
    exceptional = page.get_by_test_id("exceptional-steps")
    for name in EXCEPTIONAL:
        link = exceptional.get_by_role("link", name=name, exact=True)
        expect(link).to_be_visible()
        colour = link.evaluate("el => getComputedStyle(el).backgroundColor")
        assert colour != main_colour, f"{name} looks like the main step"
    expect(exceptional.get_by_role("link", name="Formøde holdt")).to_have_count(0)
    # Not offered for a young person inside the age range (its guard would refuse it).
    assert "Over aldersgrænsen" not in names, names
    page.context.close()


def test_english_mode_shows_the_definitions_task_titles_in_english(
    site: Site, browser: Browser
) -> None:
    page = _log_in(browser, site, "mette")
    page.goto(f"{site.url}/tasks?lang=en")
    mine = page.get_by_test_id("my-tasks")
    expect(mine).to_contain_text("Arrange the pre-meeting with the young person")
    expect(mine).not_to_contain_text("Aftal formøde")
    page.goto(f"{site.url}/cases/{site.starting}?lang=en")
    expect(page.get_by_test_id("open-tasks")).to_contain_text(
        "Arrange the pre-meeting with the young person"
    )
    page.goto(f"{site.url}/cases/{site.starting}?lang=da")
    expect(page.get_by_test_id("open-tasks")).to_contain_text("Aftal formøde med den unge")
    page.context.close()


def test_a_refused_step_form_keeps_the_team_rows_the_user_had(site: Site, browser: Browser) -> None:
    page = _log_in(browser, site, "mette")
    page.goto(f"{site.url}/cases/{site.starting}/steps/hold_pre_meeting")
    rows = page.locator("[data-rows=team] .row")
    before = rows.count()
    assert before >= 2
    page.locator("[name='team.0.department']").select_option("skole")
    page.locator("[name='team.0.person']").fill("laerer-anna")
    page.get_by_label("Tovholder").fill("tovholder-lise")
    page.get_by_label("Uddannelse", exact=True).check()
    page.get_by_label("Mødelokale med storskærm").select_option("raadhuset_storskaerm")
    page.get_by_label("Første samarbejdsmøde (fast mødedag)").fill("2026-03-18T09:00")  # a Wed
    for _ in range(3):
        page.get_by_role("button", name="Gem").click()
        expect(page.get_by_role("alert")).to_contain_text("faste mødedage")
        assert rows.count() == before, f"{before} rows became {rows.count()}"
        assert page.locator("[name='team.0.person']").input_value() == "laerer-anna"

    # Without any team: the team's error is said, but its blank rows are not marked red.
    page.locator("[name='team.0.department']").select_option("")
    page.locator("[name='team.0.person']").fill("")
    page.get_by_role("button", name="Gem").click()
    expect(page.get_by_role("alert")).to_contain_text("Den unges team")
    assert rows.count() == before
    bad = page.evaluate("""() => [...document.querySelectorAll('[data-rows=team] .row')]
        .flatMap(row => [...row.querySelectorAll('input, select')])
        .filter(el => el.getAttribute('aria-invalid') === 'true'
                      || getComputedStyle(el).borderTopColor === 'rgb(164, 22, 26)')
        .map(el => el.name)""")
    assert not bad, f"blank team rows shown as errors: {bad}"
    page.context.close()


def test_the_language_link_keeps_the_page_and_next(site: Site, browser: Browser) -> None:
    page = _context(browser).new_page()
    target = f"/cases/{site.starting}"
    page.goto(f"{site.url}{target}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Username").fill("mette")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{site.url}{target}")
    page.goto(f"{site.url}/?standing=caseworker")
    page.get_by_role("link", name="Dansk").click()
    expect(page).to_have_url(re.compile(r"/\?standing=caseworker&lang=da$"))
    expect(page.get_by_role("heading", name="Mine sager")).to_be_visible()
    page.context.close()


def test_axe_finds_no_serious_violation_on_the_staff_pages(site: Site, browser: Browser) -> None:
    for width in (1280, PHONE):
        page = _log_in(browser, site, "mette", width=width)
        FINDINGS.extend(check_axe(page, f"caseload ({width})"))
        page.goto(f"{site.url}/cases/{site.following}")
        FINDINGS.extend(check_axe(page, f"case page ({width})"))
        page.goto(f"{site.url}/cases/{site.starting}")
        FINDINGS.extend(check_axe(page, f"case page, pre-meeting ({width})"))
        page.goto(f"{site.url}/cases/{site.starting}/steps/hold_pre_meeting")
        FINDINGS.extend(check_axe(page, f"step form ({width})"))
        page.get_by_role("button", name="Gem").click()
        expect(page.get_by_role("alert")).to_be_visible()
        FINDINGS.extend(check_axe(page, f"step form, refused ({width})"))
        page.goto(f"{site.url}/tasks")
        FINDINGS.extend(check_axe(page, f"tasks ({width})"))
        page.context.close()
