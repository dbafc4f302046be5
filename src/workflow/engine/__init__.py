"""The pure lifecycle engine: ``decide(definition, case, event, now)``.

No I/O, no clock, no Prefect or database: adapters carry out the effects it returns.
"""

from workflow.engine.decide import decide, due_timers, fire_timer, open_case, recipients
from workflow.engine.model import (
    Actor,
    CancelTimer,
    CaseState,
    CreateTask,
    Decision,
    Effect,
    Event,
    FieldError,
    Notify,
    Recipient,
    RecordMilestone,
    Rejection,
    RejectionReason,
    StartTimer,
    TimerFired,
)

__all__ = [
    "Actor",
    "CancelTimer",
    "CaseState",
    "CreateTask",
    "Decision",
    "Effect",
    "Event",
    "FieldError",
    "Notify",
    "Recipient",
    "RecordMilestone",
    "Rejection",
    "RejectionReason",
    "StartTimer",
    "TimerFired",
    "decide",
    "due_timers",
    "fire_timer",
    "open_case",
    "recipients",
]
