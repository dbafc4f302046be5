"""The operator's view: a case's runs and artifacts in the Prefect UI, in real Chromium.

Takes the screenshots used by docs/operator-guide.md (docs/images/prefect-*.png) and
checks that the pages show what the guide says: runs named and tagged by the case
reference, the step's tasks, and the municipality's caseload table.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactCollectionFilter,
    ArtifactCollectionFilterKey,
    FlowRunFilter,
    FlowRunFilterName,
)

from tests.integration.conftest import Clock
from tests.integration.scripted import PERSON, play
from tests.support.browser import FLAGS, ensure_chromium
from tests.support.services import SmtpSink, run_async
from workflow.cases.model import StepResult
from workflow.engine.simulation import load_script
from workflow.orchestration.flows import publish_caseload, run_step
from workflow.runtime import Runtime

IMAGES = Path("docs/images")


async def _ui_targets(reference: str) -> tuple[str, str, str]:
    async with get_client() as client:
        runs = await client.read_flow_runs(
            # The referral's step: it has delivery tasks to show.
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[f"{reference}-step-1"]))
        )
        caseload = await client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(
                key=ArtifactCollectionFilterKey(any_=["caseload-340"])
            )
        )
        api = str(client.api_url).rstrip("/")
    return api.removesuffix("/api"), str(runs[0].id), str(caseload[0].latest_id)


def _shot(page: Page, url: str, name: str, *expect: str) -> str:
    """Open ``url``, wait until every text in ``expect`` has rendered, screenshot it."""
    page.goto(url, wait_until="networkidle")
    try:
        for text in expect:  # the UI loads tags, task runs and logs separately
            page.get_by_text(text, exact=False).first.wait_for(timeout=30_000)
        page.wait_for_timeout(500)
    finally:
        page.screenshot(path=str(IMAGES / name), full_page=False)
    return page.inner_text("body")


def test_operator_finds_a_case_in_the_prefect_ui(
    sqlite_runtime: Runtime, clock: Clock, smtp: SmtpSink, prefect_api: Path
) -> None:
    runtime = sqlite_runtime  # the UI is the same whatever store backs the cases
    chromium = ensure_chromium()
    steps: list[StepResult] = []

    def carry_out(result: StepResult) -> None:
        run_async(run_step(result))
        steps.append(result)

    play(runtime, clock, load_script("definitions/examples/soroe.yaml"), after_step=carry_out)
    run_async(publish_caseload())
    reference = steps[0].reference
    ui, run_id, caseload_id = asyncio.run(_ui_targets(reference))

    IMAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        runs = _shot(page, f"{ui}/runs", "prefect-runs.png", f"{reference}-step-")
        assert f"{reference}-step-1" in runs
        run_page = _shot(
            page,
            f"{ui}/runs/flow-run/{run_id}",
            "prefect-flow-run.png",
            f"case:{reference}",
            "notify-caseworker-",
        )
        assert "municipality:340" in run_page
        assert "notify-caseworker-" in run_page
        table = _shot(
            page,
            f"{ui}/artifacts/artifact/{caseload_id}",
            "prefect-caseload.png",
            "(overdue timers)",
        )
        assert "closed" in table
        for text in (runs, run_page, table):
            assert PERSON.name not in text
            assert PERSON.cpr not in text
        browser.close()
    for name in ("prefect-runs.png", "prefect-flow-run.png", "prefect-caseload.png"):
        assert (IMAGES / name).stat().st_size > 10_000
