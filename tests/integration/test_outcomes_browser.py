"""The outcome pages and a young person's progression chart, in headless Chromium.

Testby's leader opens "Resultater" (17 young people played through the service layer),
sees the figures with small cells hidden as "< 5", downloads the CSV, opens the national
comparison (Småby's two young people hidden); the coordinator sees a case's progression
chart on the case page and in meeting mode; a caseworker is refused the outcome page.
Every chart is an image the browser actually draws (the page's CSP allows data: images
only). Takes docs/images/outcomes-municipality.png, outcomes-national.png and
outcomes-case-progress.png (docs/outcomes.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.integration.conftest import Clock, runtime_of
from tests.integration.test_outcome_figures import (
    FILES,
    PASSWORD,
    create_accounts,
    local,
    play_smaaby,
    play_testby,
)
from tests.support.browser import FLAGS, ensure_chromium
from tests.support.services import SmtpSink
from workflow.runtime import Runtime
from workflow.web.app import create_app
from workflow.web.server import free_local_port, serve_in_thread

IMAGES = Path("docs/images")


@pytest.fixture
def played(smtp: SmtpSink, clock: Clock, tmp_path: Path) -> Iterator[Runtime]:
    url = f"sqlite:///{tmp_path / 'workflow.db'}"
    with runtime_of(url, smtp, clock, tmp_path, FILES) as runtime:
        create_accounts(runtime)
        play_testby(runtime, clock, extra=10)
        play_smaaby(runtime, clock)
        clock.now = local(date(2026, 12, 1))
        yield runtime


@pytest.fixture
def site(played: Runtime) -> Iterator[str]:
    port = free_local_port()
    server = serve_in_thread(create_app(played), "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True


@pytest.fixture
def browser() -> Iterator[Browser]:
    chromium = ensure_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=FLAGS)
        yield launched
        launched.close()


def _log_in(browser: Browser, url: str, username: str) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="da-DK")
    page.goto(f"{url}/login")
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    expect(page.get_by_role("heading", name="Mine sager")).to_be_visible()
    return page


def _charts_drawn(page: Page) -> int:
    """How many chart images the browser decoded (a broken image has no width)."""
    widths = page.locator("img.chart").evaluate_all("els => els.map(e => e.naturalWidth)")
    assert widths
    assert all(w > 0 for w in widths), widths
    return len(widths)


def test_a_leader_reads_the_figures_exports_them_and_compares_nationally(
    site: str, browser: Browser, tmp_path: Path
) -> None:
    page = _log_in(browser, site, "leder-testby")
    page.get_by_role("link", name="Resultater").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Resultater – Testby Kommune")
    # 16 of the 17 young people reached the pre-meeting; the median and the 90th
    # percentile in days, the share within the deadlines (one was late).
    pre = page.get_by_test_id("outcome-pre_meeting")
    expect(pre.locator('tr[data-code="median_days"] td')).to_have_text("3")
    expect(pre.locator('tr[data-code="within_deadlines"] td')).to_have_text("94 %")
    # One young person still waits: a hidden cell, explained on hover.
    waiting = pre.locator('tr[data-code="waiting"] td abbr')
    expect(waiting).to_have_text("< 5 unge")
    expect(waiting).to_have_attribute("title", "Skjult: færre end 5 unge")
    goals = page.get_by_test_id("outcome-goals")
    expect(goals.locator('tr[data-code="2"] th')).to_have_text("2. møde")
    assert _charts_drawn(page) >= 4  # months, goals, progression, endings
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "outcomes-municipality.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Hent som CSV").click()
    saved = tmp_path / "figures.csv"
    download.value.save_as(saved)
    lines = saved.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "section,code,label,value,hidden"
    assert "pre_meeting,median_days,Median (dage),3,False" in lines
    assert "pre_meeting,waiting,Venter stadig (henvist i året),,True" in lines

    page.get_by_role("link", name="Landstal").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Landstal – kommunerne side om side")
    table = page.get_by_test_id("national")
    small = table.locator("tr", has_text="Småby Kommune")
    expect(small.locator('td[data-code="referred"]')).to_have_text("< 5 unge")
    # With Småby's cell hidden, Testby's is hidden too (else: the country minus Testby).
    testby = table.locator("tr", has_text="Testby Kommune")
    expect(testby.locator('td[data-code="referred"]')).to_have_text("< 5 unge")
    expect(table.locator("tr.total td[data-code='referred']")).to_have_text("19")
    page.screenshot(path=str(IMAGES / "outcomes-national.png"), full_page=True)


def test_the_progression_chart_on_the_case_page_and_in_meeting_mode(
    site: str, browser: Browser
) -> None:
    page = _log_in(browser, site, "tovholder-lise")
    page.goto(f"{site}/cases/TBY-2026-0004")
    progress = page.get_by_test_id("progress")
    expect(progress.get_by_role("heading")).to_have_text("Progression møde for møde")
    rows = progress.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Formøde")
    expect(rows.nth(0)).to_contain_text("Kontaktparat")
    expect(rows.nth(2)).to_contain_text("2. møde")
    expect(rows.nth(2)).to_contain_text("1 af 2 mål nået")
    assert _charts_drawn(page) == 1
    progress.screenshot(path=str(IMAGES / "outcomes-case-progress.png"))
    page.goto(f"{site}/cases/TBY-2026-0004/steps/hold_follow_up?mode=meeting")
    expect(page.get_by_test_id("progress").locator("tbody tr")).to_have_count(3)
    assert _charts_drawn(page) == 1


def test_a_caseworker_is_refused_the_outcome_page(site: str, browser: Browser) -> None:
    page = _log_in(browser, site, "cw-mette")
    expect(page.get_by_role("link", name="Resultater")).to_have_count(0)
    response = page.goto(f"{site}/outcomes")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("main")).to_contain_text("kommunens ledere")
