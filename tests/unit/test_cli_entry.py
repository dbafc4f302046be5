"""The ``workflow`` entry point: psycopg's clean-up warnings after a lost store are not
printed beside the command's one error line (seen in CI: a pipeline closed on a
connection the server had ended logged "error ignored terminating ...")."""

from __future__ import annotations

import logging

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
