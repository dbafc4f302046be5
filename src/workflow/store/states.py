"""The states a stored row moves through: timers, outbox rows, tasks.

Each is a ``StrEnum`` whose values are the words stored in the row's ``state`` column;
the tables refuse any other word with a CHECK constraint built from the same enum
(``workflow.store.tables``), and code compares and writes with the members. A word is
never renamed: rows hold it. Adding one needs a migration that widens the constraint.
"""

from __future__ import annotations

from enum import StrEnum


class TimerState(StrEnum):
    """A case's timer: running until it fires or is cancelled; a fired one may start again."""

    RUNNING = "running"
    FIRED = "fired"
    CANCELLED = "cancelled"


class OutboxState(StrEnum):
    """An outbox row on its way to the recipient.

    Pending (waiting, or to be retried at ``available_at``) -> sending (claimed by a
    worker until its lease runs out) -> sent, dead (given up) or withheld (no consent
    covers the department).
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"
    WITHHELD = "withheld"


#: Who closed a task that ended with its stage or its case (``tasks.closed_by``).
SYSTEM_CLOSER = "system"
#: Who closed a task a step ended by name (``cancel_tasks:``, e.g. a meeting cancelled).
STEP_CLOSER = "system:step"
#: Who closed a task of a department whose consent was withdrawn (it no longer takes
#: part: it cannot even see the task).
CONSENT_CLOSER = "system:consent"


class TaskState(StrEnum):
    """A task given by a step: open until done or cancelled."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class MeetingState(StrEnum):
    """A meeting of a case: booked, moved (any number of times), then held or cancelled."""

    BOOKED = "booked"
    MOVED = "moved"
    CANCELLED = "cancelled"
    HELD = "held"
