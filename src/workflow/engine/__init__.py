"""The pure lifecycle engine: ``decide(definition, case, event, now)``.

What lives here: the decider (``decide``), what a definition's effects produce
(``effects``), timers firing (``firing``) and their timing (``timing``), validating a
step's inputs (``inputs``), the next steps a role can take (``steps``), the access rule
(``access``), planning a migration of running cases (``migration_plan``), the
in-memory simulator (``simulation``) and the kinds of recipient an effect is for
(``vocabulary``).

No I/O, no clock, no Prefect or database: adapters carry out the effects it returns.
May import: ``definitions``, ``errors``, ``texts`` and the standard library only.
"""

from workflow.engine.decide import decide, open_case
from workflow.engine.effects import recipients
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
