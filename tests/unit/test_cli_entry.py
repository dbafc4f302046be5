"""The ``workflow`` entry point: psycopg's clean-up warnings after a lost store are not
printed beside the command's one error line (seen in CI: a pipeline closed on a
connection the server had ended logged "error ignored terminating ...")."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from workflow.cli import entry


def test_psycopg_clean_up_warnings_are_dropped_and_its_other_records_kept(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def run() -> None:
        log = logging.getLogger("psycopg")
        log.warning("error ignored terminating %r: %s", "<Pipeline>", "the connection is lost")
        log.warning("error ignored in rollback on %s: %s", "<Connection>", "lost")
        log.warning("the server said: %s", "a notice the operator should see")

    monkeypatch.setattr(entry, "_run", run)
    caplog.set_level(logging.WARNING, logger="psycopg")
    try:
        entry.main()
    finally:
        logging.getLogger("psycopg").removeFilter(entry._second_errors)
    assert [r.getMessage() for r in caplog.records] == [
        "the server said: a notice the operator should see"
    ]


def test_every_command_uses_the_stores_prefect_home_when_a_server_is_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`PREFECT_API_URL=... workflow outbox retry` said "handed to a worker now", and no
    run came: the hand-off was written under ~/.prefect, the worker reads var/prefect."""
    from typer.testing import CliRunner

    from workflow.cli import operations
    from workflow.cli.main import app
    from workflow.settings import Settings

    monkeypatch.setattr(operations, "get_settings", lambda: Settings(home=tmp_path / "var"))
    monkeypatch.delenv("PREFECT_HOME", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert CliRunner().invoke(app, ["schema"]).exit_code == 0
    assert "PREFECT_HOME" not in os.environ  # no server: nothing of Prefect's is set
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert CliRunner().invoke(app, ["schema"]).exit_code == 0
    assert os.environ["PREFECT_HOME"] == str((tmp_path / "var" / "prefect").resolve())
    monkeypatch.setenv("PREFECT_HOME", "/srv/prefect")  # set by the operator: kept
    assert CliRunner().invoke(app, ["schema"]).exit_code == 0
    assert os.environ["PREFECT_HOME"] == "/srv/prefect"
