"""What the case service takes and gives: referrals, step results, and its refusal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from workflow.engine.model import Actor, Rejection
from workflow.errors import WorkflowError


class RejectedError(WorkflowError):
    """The engine refused the event; nothing was changed."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.text("en"))
        self.rejection = rejection


@dataclass(frozen=True)
class GuardianDetails:
    """A custodial parent of a minor: who they are and how to reach them."""

    name: str
    cpr: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class YoungPersonDetails:
    """Personal data given at referral; stored only in the young person's own table
    (and the guardians' table)."""

    name: str
    cpr: str
    birth_date: date
    #: The young person's own channels: invitations, their plan and reminders go here.
    email: str | None = None
    phone: str | None = None
    guardians: tuple[GuardianDetails, ...] = ()


@dataclass(frozen=True)
class Referral:
    """A request to open a case."""

    definition_id: str
    person: YoungPersonDetails
    actor: Actor
    inputs: dict[str, Any]
    idempotency_key: str | None = None
    purpose: str = "referral"


@dataclass(frozen=True)
class StepResult:
    """What a call changed: the case, the step (history sequence) and what it produced."""

    reference: str
    event: str
    from_stage: str | None
    to_stage: str
    seq: int
    notifications: int
    municipality: str
    repeated: bool = False
    effects: list[dict[str, Any]] = field(default_factory=list)
    #: Events the system raises on the case right after this step (e.g. a no-show).
    raises: list[str] = field(default_factory=list)
    #: The consent record the step gave (see :mod:`workflow.cases.consent_at_start`).
    consent: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-compatible form (kept for idempotent replies)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "repeated"}


def storable_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Inputs as JSON for the history (dates and times as ISO text)."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return {k: plain(v) for k, v in inputs.items()}
