"""The pure lifecycle engine: ``decide(definition, case, event, now)``.

No I/O, no clock, no Prefect or database: adapters carry out the effects it returns.
"""

from workflow.engine.decide import decide, open_case, recipients
from workflow.engine.firing import due_timers, fire_timer
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
from workflow.engine.steps import acting_role, next_steps

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
    "acting_role",
    "decide",
    "due_timers",
    "fire_timer",
    "next_steps",
    "open_case",
    "recipients",
]
