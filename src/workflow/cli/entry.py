"""The ``workflow`` command's entry point.

The operator's quick commands (``workflow outbox ...``, ``workflow machinery REF``) load
only what they need — the store, not the definitions, the web app or Prefect — so they
answer in well under a second; every other command loads the whole CLI.
"""

from __future__ import annotations

import logging
import os
import sys

#: Commands answered by the small app (see :func:`workflow.cli.outbox.quick_app`).
QUICK = frozenset({"outbox", "machinery"})


def main() -> None:
    """Run ``workflow`` with the arguments it was given.

    A store that cannot be opened (any command that needs it), or that stops answering
    while a command works (a server restarted or failed over), is one line saying which
    store and what to do, and exit status 1 — not a traceback."""
    from workflow.errors import StoreUnavailableError

    logging.getLogger("psycopg").addFilter(_second_errors)
    try:
        _run()
    except StoreUnavailableError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except Exception as exc:
        from workflow.store.database import lost_store

        lost = lost_store(exc)
        if lost is None:  # a fault of the command itself: its traceback is the report
            raise
        print(f"Error: {lost}", file=sys.stderr)
        raise SystemExit(1) from None


def _second_errors(record: logging.LogRecord) -> bool:
    """Drop psycopg's "error ignored terminating/exiting/in rollback ..." warnings.

    psycopg logs them when cleaning up after an error fails too (a pipeline or a
    rollback on a connection the server closed); the first error is the one raised, and
    the command reports it — a lost store as its one line. Every other psycopg record
    passes."""
    return not str(record.msg).startswith("error ignored ")


def _run() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command in QUICK:
        # As the whole CLI does (workflow.cli.main): Prefect's telemetry off, should a
        # retry hand its steps to Prefect.
        os.environ.update({"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
        from workflow.cli.outbox import quick_app

        quick_app()()
        return
    from workflow.cli.main import app

    app()
