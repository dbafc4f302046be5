"""The operators are told of a dead delivery: a Prefect automation POSTs the event's codes.

Against a real Prefect server: the automation `workflow up`/`deploy` create reaches a
receiver on 127.0.0.1 when a sweep gives a notification up (the SMTP server refuses it
for good); what it receives names the row, the case and the recipient by their codes.
The sweep deployment takes one run at a time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, cast

import pytest
from prefect.client.orchestration import get_client
from pydantic import SecretStr
from sqlalchemy import select

import workflow.orchestration.sweep as sweep_module
from tests.integration.conftest import Clock, settings_for
from tests.integration.scripted import PERSON
from tests.support.services import SmtpSink, run_async, wait_until
from workflow.cases.model import Referral, StepResult
from workflow.engine.model import Actor
from workflow.orchestration.alerts import AUTOMATION, ensure_dead_delivery_automation
from workflow.orchestration.sweep import run_sweep
from workflow.orchestration.workpool import deploy_to_pool
from workflow.runtime import Runtime, build_runtime, use_runtime
from workflow.settings import Settings
from workflow.store.tables import OutboxRow

CASEWORKERS = "sagsbehandling@soroe.example"


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        self.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    bodies: list[dict[str, Any]] = []
    handler = type("Receiver", (_Receiver,), {"bodies": bodies})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/kui-alerts", bodies
    server.shutdown()
    server.server_close()


@pytest.fixture
def one_try_settings(smtp: SmtpSink, tmp_path: Path) -> Settings:
    settings = settings_for(f"sqlite:///{tmp_path / 'workflow.db'}", smtp, tmp_path / "var")
    return settings.model_copy(update={"delivery_attempts": 1})


def _automations() -> list[Any]:
    async def read() -> list[Any]:
        async with get_client() as client:
            return list(await client.read_automations_by_name(AUTOMATION))

    return cast(list[Any], run_async(read()))


def test_a_dead_delivery_reaches_the_operators_webhook(
    one_try_settings: Settings,
    receiver: tuple[str, list[dict[str, Any]]],
    smtp: SmtpSink,
    clock: Clock,
    prefect_api: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, bodies = receiver
    # No step worker here: the sweep runs the referral's step itself. (The tests' Prefect
    # server is shared; a worker another test started may still count as listening, and
    # then the sweep leaves the fresh step to it: failed once in CI.)
    monkeypatch.setattr(sweep_module, "workers_listening", lambda: False)
    assert "no automation" in ensure_dead_delivery_automation(one_try_settings)
    assert _automations() == []

    settings = one_try_settings.model_copy(update={"operator_alert_url": SecretStr(url)})
    assert ensure_dead_delivery_automation(settings).startswith(f"Automation {AUTOMATION}:")
    assert "updated" in ensure_dead_delivery_automation(settings)  # again: still one
    assert len(_automations()) == 1

    runtime: Runtime = build_runtime(settings, clock=clock)
    use_runtime(runtime)
    try:
        (opened,) = runtime.service.refer_many(
            [
                Referral(
                    "soroe",
                    PERSON,
                    Actor("caseworker", "cw"),
                    {"source": "school", "caseworker": "cw"},
                )
            ]
        )
        assert isinstance(opened, StepResult)
        reference = opened.reference
        smtp.refusing.add(CASEWORKERS)
        summary = run_async(run_sweep())
        assert summary["delivered"] == {"dead": 1}
        # The referral's own run (the sweep's, no worker listening) gave it up and told.
        assert (summary["step_runs"], summary["announced"]) == (1, 0)
        with runtime.sessions() as session:
            (row_id,) = session.scalars(select(OutboxRow.id).where(OutboxRow.state == "dead"))

        wait_until(lambda: bool(bodies), "the operators' webhook", 30)
        assert len(bodies) == 1
        body = bodies[0]
        assert body["event"] == "kui.delivery.dead"
        assert body["outbox"] == f"kui.outbox.{row_id}"
        assert body["case"] == f"kui.case.{reference}"
        assert body["municipality"] == "kui.municipality.340"
        assert body["recipient"] == "kui.role.caseworker"
        assert body["template"].startswith("kui.template.referral")
        text = json.dumps(body)
        for private in (PERSON.name, PERSON.cpr, CASEWORKERS, "@"):
            assert private not in text

        assert run_async(run_sweep())["announced"] == 0  # announced once
    finally:
        use_runtime(None)
        runtime.engine.dispose()


def test_the_sweep_deployment_runs_one_at_a_time(prefect_api: Path) -> None:
    deploy_to_pool("kui-test-limit")

    async def read() -> Any:
        async with get_client() as client:
            return await client.read_deployment_by_name("sweep/sweep")

    deployment = run_async(read())
    assert deployment.global_concurrency_limit is not None
    assert deployment.global_concurrency_limit.limit == 1
    assert deployment.concurrency_options.collision_strategy.value == "CANCEL_NEW"
    assert not deployment.schedules  # none without sweep_every
