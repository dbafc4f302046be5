"""Delivery through real servers: a crash between commit and delivery, SMTP outages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from tests.integration.conftest import Clock
from tests.support.services import SmtpSink, run_async
from workflow.orchestration.flows import sweep
from workflow.runtime import Runtime
from workflow.store.tables import OutboxRow


def test_a_process_killed_after_commit_loses_nothing_and_the_sweep_sends_once(
    runtime: Runtime, smtp: SmtpSink, prefect_api: Path, tmp_path: Path, clock: Clock
) -> None:
    env = {
        **os.environ,
        "WORKFLOW_DATABASE_URL": runtime.settings.store_url,
        "WORKFLOW_SMTP_HOST": "127.0.0.1",
        "WORKFLOW_SMTP_PORT": str(smtp.port),
        "WORKFLOW_HOME": str(tmp_path / "crash-var"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.crash_after_commit"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 137, done.stderr
    step = json.loads(done.stdout.splitlines()[-1])
    assert step["reference"] == "SOR-2026-0001"
    assert smtp.received == []  # nothing was sent before the kill
    clock.now = datetime.now(UTC)  # the crashed process ran on the real clock

    with runtime.sessions() as session:
        pending = session.scalars(select(OutboxRow).where(OutboxRow.state == "pending")).all()
    # referral to the caseworker, two team members, the coordinator, the guardian (minor)
    assert len(pending) == 5

    summary = run_async(sweep())
    assert summary["delivered"] == {"sent": 5}
    mails = sorted(to for to, _ in smtp.messages())
    assert mails == [
        "sagsbehandling@kommune.example",
        "skole@soroe.example",
        "tovholdere@soroe.example",
        "uu@soroe.example",
    ]
    assert len({m["Message-ID"] for _, m in smtp.messages()}) == 4
    letters = list((tmp_path / "var" / "digital-post").glob("*.eml"))  # the guardian, by file
    assert len(letters) == 1

    again = run_async(sweep())
    assert again["delivered"] == {}
    assert len(smtp.received) == 4  # exactly once


def test_smtp_down_then_back_sends_each_mail_once(
    runtime: Runtime, smtp: SmtpSink, clock: Clock
) -> None:
    from tests.integration.scripted import PERSON
    from workflow.engine import Actor

    smtp.down = True
    opened = runtime.service.refer(
        "soroe", PERSON, Actor("caseworker", "cw"), {"source": "school", "caseworker": "cw"}
    )
    rows = runtime.deliverer.due_rows(10)
    assert len(rows) == 1
    first = runtime.deliverer.deliver(rows[0])
    assert first.status == "retry"
    assert "421" in str(first.error)
    assert runtime.deliverer.due_rows(10) == []  # backing off
    clock.advance(seconds=3)
    smtp.down = False
    assert [runtime.deliverer.deliver(r).status for r in runtime.deliverer.due_rows(10)] == ["sent"]
    assert runtime.deliverer.deliver(rows[0]).status == "skipped"
    assert [to for to, _ in smtp.messages()] == ["sagsbehandling@kommune.example"]
    with runtime.sessions() as session:
        row = session.get(OutboxRow, rows[0])
        assert row is not None
        assert (row.state, row.attempts, row.last_error) == ("sent", 2, None)
    assert opened.notifications == 1
