"""The demo, bulk intake and webhooks against real servers."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.logging.handlers import PrefectConsoleHandler
from sqlalchemy import select

from tests.integration.conftest import Clock
from tests.support.services import SmtpSink, free_port, run_async
from workflow.delivery.channels import WebhookChannel
from workflow.delivery.message import Address, OutgoingMessage
from workflow.orchestration.demo import DEMO_PEOPLE, DemoClock, demo_played, run_demo
from workflow.orchestration.intake import intake, stage_intake_file
from workflow.runtime import Runtime, build_runtime, use_runtime
from workflow.store.tables import Case


def _secrets() -> list[str]:
    found = ["Venter"]  # the surname of the cases the demo leaves open
    for person in DEMO_PEOPLE.values():
        found += [
            person.name,
            person.name.split()[-1],
            person.cpr,
            f"{person.cpr[:6]}-{person.cpr[6:]}",
        ]
    return found


async def _artifact_keys() -> set[str]:
    async with get_client() as client:
        # The newest version of each key (all versions would pass the API's page size).
        return {a.key for a in await client.read_latest_artifacts(limit=200) if a.key}


def test_demo_runs_every_municipality_and_no_personal_data_reaches_prefect_or_mail(
    sqlite_runtime: Runtime,
    smtp: SmtpSink,
    prefect_api: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The personal-data scan: Prefect's database (runs, tasks, parameters, tags, logs,
    artifacts), every application log record, every mail and every letter."""
    caplog.set_level(logging.DEBUG)  # every logger of the application, Prefect's included
    # That lowers the root logger, whose Prefect console handler would then render every
    # DEBUG record (httpx, SQLAlchemy) for a console nobody reads: about a tenth of this
    # test's time. It keeps Prefect's default, WARNING; caplog still gets every record.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler):
            monkeypatch.setattr(handler, "level", logging.WARNING)
    runtime = sqlite_runtime  # the e2e test covers PostgreSQL
    clock = DemoClock(runtime.uow.clock())
    demo_runtime = build_runtime(runtime.settings, clock=clock)
    use_runtime(demo_runtime)
    played = run_demo(demo_runtime, clock, Path("definitions/examples"), report=lambda _: None)
    assert sorted(case.definition for case in played) == sorted(DEMO_PEOPLE)
    assert {case.steps[-1].to_stage for case in played} == {"closed"}
    codes = {"740", "340", "746", "615", "101", "151", "265"}
    with runtime.sessions() as session:  # and one case per municipality left to take on
        waiting = list(
            session.scalars(select(Case.municipality_code).where(Case.stage != "closed"))
        )
    assert sorted(waiting) == sorted(codes)
    assert demo_played(runtime)  # noted in the store: `workflow up --demo` plays it once
    keys = asyncio.run(_artifact_keys())
    assert {f"caseload-{code}" for code in codes} <= keys
    assert {f"step-{case.reference.lower()}" for case in played} <= keys

    time.sleep(2)  # let the API log handler flush
    database = b"".join(p.read_bytes() for p in prefect_api.glob("prefect.db*"))
    assert played[0].reference.encode() in database  # the scan reads the right data
    mails = [raw for _, raw in smtp.received]
    letters = [p.read_bytes() for p in runtime.settings.home.parent.rglob("*.eml")]
    assert len(mails) > 50
    logs = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records
    ).encode()
    assert played[0].reference.encode() in logs  # the records were captured
    for secret in _secrets():
        needle = secret.encode()
        assert needle not in database, f"{secret!r} in Prefect's database"
        assert needle not in logs, f"{secret!r} in the application's logs"
        for body in mails + letters:
            assert needle not in body, f"{secret!r} in a notification"
    use_runtime(runtime)
    demo_runtime.engine.dispose()


def test_intake_opens_cases_from_csv_in_chunks(
    runtime: Runtime, prefect_api: Path, tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "henvisninger.csv"
    rows: list[dict[str, Any]] = [
        {
            "definition": "soroe",
            "name": f"Ung Nummer{i}",
            "cpr": f"010110{4000 + i:04d}",  # 7th digit 4: born in 2010
            "birth_date": "2010-01-01",
            "source": "school",
            "caseworker": "cw",
            "key": f"r{i}",
        }
        for i in range(25)
    ]
    bad = [
        {**rows[0], "key": "bad-date", "birth_date": "2010-13-01"},
        {**rows[0], "key": "too-old", "cpr": "0101801234", "birth_date": "1980-01-01"},
        {**rows[0], "key": "nowhere", "definition": "atlantis"},
    ]
    refused_path = tmp_path / "med-fejl.csv"
    for target, written in ((path, rows), (refused_path, rows + bad)):
        with target.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(written)
    # A bad date, an age outside the input's bounds, an unknown municipality definition:
    # the file is refused as a whole (its refused rows are listed), and no case is opened.
    refused = run_async(intake(stage_intake_file(refused_path)))
    assert refused == {"refused": 3, "not opened": 25}
    summary = run_async(intake(stage_intake_file(path)))
    assert summary == {"opened": 25}
    again = run_async(intake(stage_intake_file(path)))  # the same file: no case twice
    assert again["already opened"] == 25
    assert "opened" not in again
    from sqlalchemy import func, select

    from workflow.store.tables import Case

    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 25


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_webhook_is_signed_and_carries_the_dedupe_key() -> None:
    server = HTTPServer(("127.0.0.1", free_port()), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        channel = WebhookChannel("a-shared-secret")
        message = OutgoingMessage(
            dedupe_key="SOR-2026-0001:3:1:department:skole",
            reference="SOR-2026-0001",
            subject="Indkaldelse",
            text="Mødet er tirsdag.",
            html="<p>Mødet</p>",
            recipient={"kind": "department", "id": "skole"},
            addresses=(),
            ics=None,
        )
        url = f"http://127.0.0.1:{server.server_port}/hook"
        channel.send(message, Address("webhook", url))
        headers, body = _Receiver.received[-1]
        expected = hmac.new(b"a-shared-secret", body, hashlib.sha256).hexdigest()
        assert headers["X-Workflow-Signature"] == f"sha256={expected}"
        assert headers["Idempotency-Key"] == message.dedupe_key
        assert json.loads(body)["case"] == "SOR-2026-0001"
    finally:
        server.shutdown()
