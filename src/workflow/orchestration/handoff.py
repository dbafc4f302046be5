"""Handing committed steps to Prefect's task workers (``workflow worker``).

A step is committed in the store first; what it set in motion (its notifications, its
timers) is then carried out by a ``case-step`` flow run. The process that committed the
step (the web app, the sweep, an operator's retry) does not run that flow: it hands the
step to Prefect as a *background task* (``carry-out-step``) and any number of
``workflow worker`` processes, on any machine that reaches the Prefect server and the
store, pick it up over a websocket and run it at once (measured: ~0.5 s from hand-off
to start; see docs/operations.md for the other ways measured and why this one).

Nothing is lost when no worker is up or Prefect is down: the step's rows stay in the
outbox and the sweep carries the step out later, exactly once (rows are claimed with a
lease and a compare-and-set; a second hand-off finds them taken: "Skipped").

Only codes travel: the case reference, the step number and the run's tags.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import tags, task
from prefect.client.orchestration import get_client

from workflow.cases.model import StepResult
from workflow.orchestration.flows import case_step, result_labels

_log = logging.getLogger(__name__)

#: Hand-offs waiting in the web process for the submitter thread; beyond this the step is
#: left to the sweep (its rows are in the outbox) rather than holding a request.
WAITING_MAX = 1000
#: How long an answer "a worker is listening" is trusted before asking the server again.
PRESENCE_TTL = 10.0


@dataclass(frozen=True)
class StepToCarryOut:
    """A committed step, by codes only: what a worker needs to carry it out."""

    reference: str
    seq: int
    labels: tuple[str, ...]

    @classmethod
    def of(cls, result: StepResult, trigger: str = "caseworker") -> StepToCarryOut:
        return cls(result.reference, result.seq, tuple(result_labels(result, trigger)))


@task(name="carry-out-step", task_run_name="carry-out-{reference}-step-{seq}")
def carry_out_step(reference: str, seq: int, labels: list[str], trigger: str) -> str:
    """Run the step's ``case-step`` flow here, in the worker (a run of its own, tagged
    with the case reference, step number and trigger); returns its final state's name."""
    with tags(*labels):
        return asyncio.run(_case_step(reference, seq, trigger))


async def _case_step(reference: str, seq: int, trigger: str) -> str:
    state = await case_step(reference, seq, trigger, return_state=True)
    return str(state.name)


def trigger_of(labels: tuple[str, ...]) -> str:
    """The ``trigger:`` tag's value."""
    return next((t.split(":", 1)[1] for t in labels if t.startswith("trigger:")), "caseworker")


def hand_off(step: StepToCarryOut) -> None:
    """Give one step to the task workers (a call to the Prefect API: 0.1-0.3 s)."""
    carry_out_step.delay(step.reference, step.seq, list(step.labels), trigger_of(step.labels))


class WorkerPresence:
    """Whether a ``workflow worker`` is listening for steps, asked of the Prefect server
    (``/task_workers/filter``); a yes is trusted for a few seconds.

    Asked before every hand-off: with no worker listening, Prefect's server keeps the
    background task in a queue in its memory (lost on restart) and, once 1,000 wait,
    blocks the call that hands off. The sweep does the step instead.
    """

    def __init__(self, ttl: float = PRESENCE_TTL) -> None:
        self._ttl = ttl
        self._known: tuple[float, bool] | None = None

    def __call__(self) -> bool:
        """Whether one listens; raises if the Prefect server cannot be asked. Only a yes
        is trusted for a while: a worker that comes up is used at once."""
        now = time.monotonic()
        if self._known is not None and now - self._known[0] < self._ttl:
            return self._known[1]
        present = _ask_for_workers()
        self._known = (now, present) if present else None
        return present


def _ask_for_workers() -> bool:
    with get_client(sync_client=True) as client:
        answer = client.request(
            "POST",
            "/task_workers/filter",
            json={"task_worker_filter": {"task_keys": [carry_out_step.task_key]}},
        )
        answer.raise_for_status()
        return bool(answer.json())


def workers_listening() -> bool:
    """Whether the Prefect server has a task worker subscribed to ``carry-out-step``
    (False if the server cannot be asked: the sweep carries the step out later)."""
    try:
        return _ask_for_workers()
    except Exception as exc:
        _log.info("Prefect not reachable for a hand-off (%s)", type(exc).__name__)
        return False


class StepHandoff:
    """The web process's hand-off: ``submit`` returns at once (the request never waits
    for Prefect); one thread hands the steps to the workers in the order committed.

    A step is only logged (its reference and the error's type) when it cannot be handed
    off: no worker listening, Prefect down, or too many waiting. Its rows are in the
    outbox; the sweep delivers them.
    """

    def __init__(self, waiting_max: int = WAITING_MAX, presence_ttl: float = PRESENCE_TTL) -> None:
        self._queue: queue.Queue[StepToCarryOut | None] = queue.Queue(maxsize=waiting_max)
        self._presence = WorkerPresence(presence_ttl)
        self._context = contextvars.copy_context()  # Prefect's settings live in context vars
        self._lock = threading.Lock()
        self._waiting = 0  # submitted, not yet handed off or left
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(
            target=self._context.run, args=(self._loop,), name="step-handoff", daemon=True
        )
        self._thread.start()
        self.handed_off = 0
        self.left_to_sweep = 0

    def submit(self, result: StepResult, trigger: str = "caseworker") -> None:
        """Hand the committed step to the workers soon."""
        step = StepToCarryOut.of(result, trigger)
        with self._lock:
            self._waiting += 1
            self._idle.clear()
        try:
            self._queue.put_nowait(step)
        except queue.Full:
            self._left(step, "QueueFull")
            self._done()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every step submitted was handed off (or left to the sweep)."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Hand off what is waiting, then stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout=60)

    def _loop(self) -> None:
        while (step := self._queue.get()) is not None:
            try:
                if self._presence():
                    hand_off(step)
                    self.handed_off += 1
                else:
                    self._left(step, "NoWorker")
            except Exception as exc:
                self._left(step, type(exc).__name__)
            finally:
                self._done()

    def _done(self) -> None:
        with self._lock:
            self._waiting -= 1
            if self._waiting == 0:
                self._idle.set()

    def _left(self, step: StepToCarryOut, why: str) -> None:
        self.left_to_sweep += 1
        _log.warning(
            "%s step %s not handed to a worker (%s); the sweep delivers it",
            step.reference,
            step.seq,
            why,
        )


#: Stored parameters and results of hand-offs older than this are removed by the sweep.
STORAGE_KEPT_DAYS = 7


def prune_storage(now: float | None = None, kept_days: float = STORAGE_KEPT_DAYS) -> int:
    """Remove this process's Prefect result storage files (hand-offs' parameters and
    results, ~7 KB a step) older than ``kept_days``; how many were removed. The step's
    story is in the flow run and the outbox; these files are only the hand-off's luggage."""
    from prefect.settings import get_current_settings

    folder = Path(get_current_settings().results.local_storage_path)
    if not folder.is_dir():
        return 0
    oldest = (now if now is not None else time.time()) - kept_days * 86_400
    removed = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file() and path.stat().st_mtime < oldest:
                path.unlink()
                removed += 1
        except OSError:  # taken by another process meanwhile
            continue
    return removed


def serve_steps(limit: int) -> None:
    """Be a task worker: carry out handed-off steps, ``limit`` at a time, until stopped."""
    from prefect import task_worker

    from workflow.orchestration.prefect_env import with_own_settings

    with_own_settings(task_worker)
    task_worker.serve(carry_out_step, limit=limit)


def carry_out(steps: list[StepToCarryOut], presence: Any = workers_listening) -> bool:
    """Hand several steps off (the sweep, an operator's retry) if a worker listens;
    False (nothing handed off) if none does."""
    if not steps or not presence():
        return False
    for step in steps:
        hand_off(step)
    return True
