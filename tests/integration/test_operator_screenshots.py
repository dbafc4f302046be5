"""The operator's journey in the Prefect UI, in real Chromium: find a case by its
reference, see every step of it (the timer-fired ones too), see a failed delivery red with
its department code, put it back in line with `workflow outbox retry`, see it delivered.

Takes the screenshots used by docs/operator-guide.md (docs/images/prefect-*.png) and
checks that the pages show what the guide says.
"""

from __future__ import annotations

import asyncio
import contextvars
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactCollectionFilter,
    ArtifactCollectionFilterKey,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterName,
    FlowRunFilterTags,
)
from sqlalchemy import select

from tests.integration.conftest import Clock, process_env
from tests.integration.scripted import PERSON, play
from tests.support.browser import FLAGS, ensure_chromium
from tests.support.prefect_scan import prefect_contents
from tests.support.services import SmtpSink, run_async, wait_until
from workflow.cases.model import StepResult
from workflow.engine.simulation import load_script
from workflow.orchestration.flows import run_step
from workflow.orchestration.sweep import publish_caseload, run_sweep
from workflow.runtime import Runtime
from workflow.store.tables import Case, HistoryEvent, OutboxRow

IMAGES = Path("docs/images")
#: The department whose mail server refuses everything during the demo (SMTP 550).
BROKEN = "uu@soroe.example"


async def _runs(reference: str, since: datetime) -> dict[str, tuple[str, str, list[str]]]:
    """The case's flow runs since the test began: name -> (id, state name, tags)."""
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=[f"case:{reference}"]),
                expected_start_time=FlowRunFilterExpectedStartTime(after_=since),
            )
        )
    return {r.name: (str(r.id), str(r.state_name), sorted(r.tags)) for r in runs}


async def _caseload_id() -> tuple[str, str]:
    async with get_client() as client:
        caseload = await client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(
                key=ArtifactCollectionFilterKey(any_=["caseload-340"])
            )
        )
        api = str(client.api_url).rstrip("/")
    return api.removesuffix("/api"), str(caseload[0].latest_id)


async def _run_state(name: str) -> str | None:
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name]))
        )
    return str(runs[0].state_name) if runs else None


def _shot(page: Page, url: str | None, name: str, *expect: str) -> str:
    """Open ``url`` (None: stay), wait until every text in ``expect`` has rendered,
    screenshot it."""
    if url is not None:
        page.goto(url, wait_until="networkidle")
    try:
        for text in expect:  # the UI loads tags, task runs and logs separately
            page.get_by_text(text, exact=False).first.wait_for(timeout=30_000)
        page.wait_for_timeout(500)
    finally:
        page.screenshot(path=str(IMAGES / name), full_page=False)
    return page.inner_text("body")


def _outside_the_browser(coroutine: Any) -> Any:
    """Run a coroutine to its end from inside the sync Playwright block (which keeps an
    event loop in this thread): in a thread of its own, with this thread's context (the
    Prefect server's address is a context variable)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(contextvars.copy_context().run, asyncio.run, coroutine).result()


def _seqs(runtime: Runtime, reference: str) -> list[int]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(HistoryEvent.seq)
                .join(Case)
                .where(Case.reference == reference)
                .order_by(HistoryEvent.seq)
            )
        )


def _dead(runtime: Runtime) -> list[int]:
    with runtime.sessions() as session:
        return list(session.scalars(select(OutboxRow.id).where(OutboxRow.state == "dead")))


def _states(runtime: Runtime, ids: list[int]) -> set[str]:
    with runtime.sessions() as session:
        return set(session.scalars(select(OutboxRow.state).where(OutboxRow.id.in_(ids))))


def _dead_steps(runtime: Runtime) -> list[int]:
    """The step numbers whose rows were given up."""
    with runtime.sessions() as session:
        return sorted(
            set(
                session.scalars(
                    select(HistoryEvent.seq)
                    .join(OutboxRow, OutboxRow.history_id == HistoryEvent.id)
                    .where(OutboxRow.state == "dead")
                )
            )
        )


def test_operator_finds_a_case_sees_a_red_delivery_retries_it_and_sees_it_delivered(
    sqlite_runtime: Runtime,
    clock: Clock,
    smtp: SmtpSink,
    prefect_api: Path,
    task_worker: subprocess.Popen[bytes],
) -> None:
    runtime = sqlite_runtime  # the UI is the same whatever store backs the cases
    started = datetime.now(UTC)
    chromium = ensure_chromium()
    steps: list[StepResult] = []
    smtp.refusing.add(BROKEN)  # youth guidance's mail server refuses: given up at once

    def carry_out(result: StepResult) -> None:
        run_async(run_step(result))
        steps.append(result)

    def time_passes(moment: datetime) -> list[StepResult]:
        run_async(run_sweep(moment.isoformat()))  # the timers it fires: runs of their own
        return []

    # The steps the system takes (the consent recorded): runs of their own too.
    runtime.service.system_steps.append(lambda result: run_async(run_step(result, "system")))
    play(
        runtime,
        clock,
        load_script("definitions/examples/soroe.yaml"),
        after_step=carry_out,
        fire_timers=time_passes,
    )
    run_async(publish_caseload())
    reference = steps[0].reference
    dead = _dead(runtime)
    assert dead, "the broken department's notifications were given up"
    redelivered = [f"{reference}-step-{seq}-redelivery" for seq in _dead_steps(runtime)]
    runs = asyncio.run(_runs(reference, started))
    seqs = _seqs(runtime, reference)
    assert {f"{reference}-step-{seq}" for seq in seqs} <= set(runs)  # no gap
    timer_fired = sorted(n for n, (_, _, tags) in runs.items() if "trigger:timer" in tags)
    assert timer_fired
    red = sorted(n for n, (_, state, _) in runs.items() if state == "Failed")
    assert red
    red_id = runs[red[0]][0]
    ui, caseload_id = asyncio.run(_caseload_id())

    IMAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        # 1. Runs, searched by the case reference: every step, the timer-fired ones too.
        page.goto(f"{ui}/runs", wait_until="networkidle")
        page.set_viewport_size({"width": 1400, "height": 1800})  # the case's runs in view
        page.locator("input[placeholder*='run name']:visible").first.fill(reference)
        page.wait_for_timeout(2500)  # the search applies after a pause in typing
        listed = _shot(page, None, "prefect-runs.png", timer_fired[0], red[0])
        assert f"{reference}-step-1" in listed
        assert "Failed" in listed
        assert "\nsweep\n" not in listed  # only the case's runs are listed
        page.set_viewport_size({"width": 1400, "height": 900})
        # 2. The red run: the failed delivery's task, named by its department code.
        run_page = _shot(
            page,
            f"{ui}/runs/flow-run/{red_id}",
            "prefect-flow-run.png",
            f"case:{reference}",
            "-uu-",
        )
        assert "municipality:340" in run_page
        assert "given up" in run_page
        table = _shot(
            page,
            f"{ui}/artifacts/artifact/{caseload_id}",
            "prefect-caseload.png",
            "(failed deliveries)",
        )
        assert f"{reference} (outbox {dead[0]})" in table

        # 3. The cause is fixed; the operator puts the rows back in line.
        smtp.refusing.clear()
        asked = time.monotonic()
        retry = subprocess.run(
            [
                sys.executable,
                "-m",
                "workflow.cli.main",
                "outbox",
                "retry",
                "--case",
                reference,
                "--by",
                "drift-ole",
            ],
            env=process_env(runtime, prefect_api),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        took = time.monotonic() - asked
        assert retry.returncode == 0, retry.stderr
        assert "handed to a worker now" in retry.stdout, retry.stdout
        assert not _dead(runtime)  # back in line at once
        for name in redelivered:  # each step's rows, by a worker, as a run of its own
            wait_until(
                lambda name=name: _outside_the_browser(_run_state(name)) == "Completed",
                f"{name} to complete ({retry.stdout}; the command took {took:.1f} s)",
                90,
            )
        # Task reminders belong to no step: the next sweep delivers them (the operator's
        # clock: the rows were put back in line now, on the real one).
        clock.now = datetime.now(UTC) + timedelta(minutes=1)
        _outside_the_browser(run_sweep(clock.now.isoformat()))
        assert _states(runtime, dead) == {"sent"}
        again = _outside_the_browser(_runs(reference, started))
        # 4. The redelivery: a run of its own, tagged, green.
        redelivery_page = _shot(
            page,
            f"{ui}/runs/flow-run/{again[redelivered[0]][0]}",
            "prefect-redelivery.png",
            "trigger:redelivery",
            "-uu-",
        )
        assert "Completed" in redelivery_page
        for text in (listed, run_page, table, redelivery_page):
            assert PERSON.name not in text
            assert PERSON.cpr not in text
        browser.close()
    # After all of this — steps, timers, a red run, an event, a redelivery by a worker —
    # nothing that identifies the young person is anywhere Prefect keeps things: its
    # database (runs, parameters, tags, logs, artifacts, events), its log, the result
    # storage where the hand-offs' parameters travel (decoded).
    time.sleep(2)  # let the API log handler flush
    kept, decoded = prefect_contents(prefect_api)
    assert decoded > 0  # the hand-offs' stored parameters were read
    assert reference.encode() in kept  # the scan reads the right data
    for secret in (PERSON.name, PERSON.cpr, f"{PERSON.cpr[:6]}-{PERSON.cpr[6:]}", "Testesen"):
        assert secret.encode() not in kept, f"{secret!r} is kept by Prefect"
    for name in (
        "prefect-runs.png",
        "prefect-flow-run.png",
        "prefect-caseload.png",
        "prefect-redelivery.png",
    ):
        assert (IMAGES / name).stat().st_size > 10_000
