"""Carrying out committed steps in the background, so a web request never waits for Prefect.

The step is already committed when it is submitted here; if its flow run cannot start
(the Prefect server is down), its notifications wait in the outbox for the next sweep.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from workflow.cases.model import StepResult
from workflow.orchestration.flows import run_step

_log = logging.getLogger(__name__)


class BackgroundSteps:
    """Runs each submitted step's `case-step` flow on a small worker pool.

    Each run sees the context the runner was created in (Prefect's settings, such as
    the API URL, live in context variables, which worker threads do not inherit).
    """

    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="case-step")
        self._context = contextvars.copy_context()
        self._lock = threading.Lock()
        self._unfinished = 0

    @property
    def unfinished(self) -> int:
        """Steps submitted whose run has not ended yet (waiting, or running)."""
        return self._unfinished

    def submit(self, result: StepResult) -> None:
        """Start the step's flow run soon; returns at once."""
        with self._lock:
            self._unfinished += 1
        self._pool.submit(self._context.copy().run, self._run_counted, result)

    def close(self) -> None:
        """Wait for the submitted steps' runs to end (each ends, or gives up to the sweep)."""
        self._pool.shutdown(wait=True)

    def _run_counted(self, result: StepResult) -> None:
        try:
            self._run(result)
        finally:
            with self._lock:
                self._unfinished -= 1

    @staticmethod
    def _run(result: StepResult) -> None:
        try:
            asyncio.run(run_step(result))
        except Exception as exc:  # the outbox keeps the work; the sweep delivers it
            # Only the case reference and the error type: never the exception's text.
            _log.warning(
                "flow run for %s step %s did not complete (%s); the sweep delivers what is left",
                result.reference,
                result.seq,
                type(exc).__name__,
            )
