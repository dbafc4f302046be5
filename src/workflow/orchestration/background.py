"""Carrying out committed steps in the background, so a web request never waits for Prefect.

The step is already committed when it is submitted here; if its flow run cannot start
(the Prefect server is down), its notifications wait in the outbox for the next sweep.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from workflow.orchestration.flows import run_step
from workflow.services import StepResult

_log = logging.getLogger(__name__)


class BackgroundSteps:
    """Runs each submitted step's `case-step` flow on a small worker pool."""

    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="case-step")

    def submit(self, result: StepResult) -> None:
        """Start the step's flow run soon; returns at once."""
        self._pool.submit(self._run, result)

    @staticmethod
    def _run(result: StepResult) -> None:
        try:
            asyncio.run(run_step(result))
        except Exception as exc:  # the outbox keeps the work; the sweep delivers it
            # Only the case reference and the error type: never the exception's text.
            _log.warning(
                "flow run for %s step %s did not start (%s); the sweep delivers it",
                result.reference,
                result.seq,
                type(exc).__name__,
            )
