"""What the service layer takes and gives: requests, results and its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import OperationalError

from workflow.engine import Actor, Rejection
from workflow.errors import Problem, WorkflowError


class CaseNotFoundError(WorkflowError):
    """No case with that reference (or the user may not know it exists)."""


class ConflictError(WorkflowError):
    """Someone else changed the case at the same moment; reload and try again."""


class NotAllowedError(WorkflowError):
    """The person may see the case, but not do this with it."""


class PurposeRequiredError(WorkflowError):
    """Opening a case through a legal basis needs a stated purpose (kept in the audit log)."""

    def __init__(self, reference: str, basis: str) -> None:
        super().__init__(
            f"you see {reference} through a legal basis ({basis}), not as one of its team: "
            "state the purpose of opening it"
        )
        self.reference, self.basis = reference, basis


class InvalidRequestError(WorkflowError):
    """Input the service refuses, field by field; nothing was changed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class IdempotencyKeyReusedError(WorkflowError):
    """An idempotency key came back with a different request."""


class RejectedError(WorkflowError):
    """The engine refused the event; nothing was changed."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.text("en"))
        self.rejection = rejection


@dataclass(frozen=True)
class YoungPersonDetails:
    """Personal data given at referral; stored only in the young person's own table."""

    name: str
    cpr: str
    birth_date: date


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

    def as_dict(self) -> dict[str, Any]:
        """JSON-compatible form (kept for idempotent replies)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "repeated"}


def cpr_matches_birth_date(cpr: str, birth_date: date) -> bool:
    """Whether a CPR number's first six digits are the birth date (DDMMYY)."""
    return cpr.replace("-", "")[:6] == birth_date.strftime("%d%m%y")


def actor_label(actor: Actor) -> str:
    """How the audit log and the history name an actor: ``role:staff-id``."""
    return f"{actor.role}:{actor.id or '-'}"


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on a day."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


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


def busy(exc: OperationalError) -> bool:
    """SQLite's refusal to write from a snapshot another commit overtook (or a busy lock)."""
    return "locked" in str(exc).lower() or "busy" in str(exc).lower()
