"""A busy store: how it is recognised, and the one retry policy for it.

SQLite lets one writer through at a time; a transaction that cannot get the write lock
within ``busy_timeout``, or whose snapshot another commit overtook, fails with "database
is locked" (or "busy"). Such a refusal is not a conflict with another person: the same
call is tried again after a short, growing pause, a few times.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError

from workflow.errors import ConflictError

T = TypeVar("T")

#: How often a call refused by a busy store is tried in all.
BUSY_ATTEMPTS = 8
#: The pause after the first refusal; the n-th pause is n times as long.
BUSY_PAUSE = 0.005


def is_busy(exc: BaseException) -> bool:
    """Whether a database error is SQLite's 'database is locked' (or 'busy') refusal."""
    if not isinstance(exc, OperationalError):
        return False
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return "locked" in text or "busy" in text


def pause_when_busy(exc: OperationalError, attempt: int) -> None:
    """Re-raise ``exc`` unless the store was busy; else wait before attempt ``attempt + 1``."""
    if not is_busy(exc):
        raise exc
    time.sleep(BUSY_PAUSE * (attempt + 1))


def retry_when_busy(call: Callable[[], T], attempts: int = BUSY_ATTEMPTS) -> T:
    """``call()``, tried again while the store is busy; ConflictError when it stays busy."""
    for attempt in range(attempts):
        try:
            return call()
        except OperationalError as exc:
            pause_when_busy(exc, attempt)
    raise ConflictError("the case store is busy; try again in a moment")
