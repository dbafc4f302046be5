"""The JSON API's request and response bodies (they make its OpenAPI schema)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_PLAIN = r"^[^\x00-\x1f\x7f]*$"  # no control characters


class ApiModel(BaseModel):
    """Strict about unknown fields, so a typo is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class FieldProblem(ApiModel):
    field: str = Field(description="The input or body field, e.g. 'inputs.plan' or 'body.cpr'.")
    message: str


class ApiError(ApiModel):
    """Every error the API gives: a stable code, a sentence, and per-field problems."""

    error: str = Field(
        description="not_authenticated, csrf, not_found, conflict, rejected, invalid, locked"
    )
    message: str
    fields: list[FieldProblem] = Field(default_factory=list)


class TokenRequest(ApiModel):
    username: str = Field(min_length=1, max_length=64, pattern=_PLAIN)
    password: str = Field(min_length=1, max_length=1024)


class TokenResponse(ApiModel):
    token: str = Field(description="Send as 'Authorization: Bearer <token>'.")
    expires_at: datetime


class Me(ApiModel):
    username: str
    display_name: str
    person_id: str
    roles: list[str]
    municipality_code: str | None
    locale: str


class CaseSummary(ApiModel):
    reference: str
    municipality_code: str
    stage: str
    stage_name: str
    opened_at: datetime
    closed_at: datetime | None
    relations: list[str] = Field(description="coordinator, caseworker, team_member")
    next_due: datetime | None
    overdue: bool


class Caseload(ApiModel):
    total: int
    limit: int
    offset: int
    cases: list[CaseSummary]


class InputInfo(ApiModel):
    name: str
    type: str
    label: str
    required: bool
    choices: list[str] = Field(default_factory=list)


class StepInfo(ApiModel):
    id: str
    event: str
    name: str
    inputs: list[InputInfo]


class YoungPersonOut(ApiModel):
    name: str
    birth_date: date
    cpr: str = Field(description="Masked: only the birth date part (e.g. 010203-xxxx).")


class CaseDetail(ApiModel):
    reference: str
    definition: str
    definition_version: int
    version: int = Field(description="The definition version the case is pinned to.")
    stage: str
    stage_name: str
    opened_at: datetime
    closed_at: datetime | None
    young_person: YoungPersonOut | None
    coordinator: str | None
    caseworker: str | None
    team: list[dict[str, Any]]
    plan_version: int | None
    plan: list[dict[str, Any]]
    meetings: list[dict[str, Any]]
    timers: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    milestones: list[str]
    history: list[dict[str, Any]]
    next_steps: list[StepInfo]


class YoungPersonIn(ApiModel):
    name: str = Field(min_length=1, max_length=200, pattern=_PLAIN)
    cpr: str = Field(pattern=r"^\d{6}-?\d{4}$", description="10 digits, e.g. 010203-1234")
    birth_date: date


class ReferRequest(ApiModel):
    definition: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    young_person: YoungPersonIn
    inputs: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(default=None, max_length=100, pattern=_PLAIN)


class TriggerRequest(ApiModel):
    inputs: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(
        default=None,
        max_length=100,
        pattern=_PLAIN,
        description="Send the same key again (e.g. after a timeout) to get the first result.",
    )


class StepResponse(ApiModel):
    reference: str
    event: str
    from_stage: str | None
    to_stage: str
    seq: int
    notifications: int
    repeated: bool


class DefinitionInfo(ApiModel):
    id: str
    version: int
    title: str
    municipality_code: str
    referral_inputs: list[InputInfo]
