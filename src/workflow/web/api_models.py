"""The JSON API's request and response bodies (they make its OpenAPI schema)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PLAIN = r"^[^\x00-\x1f\x7f]*$"  # no control characters
#: How deep the values of a step's inputs may nest (a list of records is 3).
MAX_INPUT_DEPTH = 6
REFERENCE = r"^[A-Za-z0-9-]+$"
IDENTIFIER = r"^[a-z0-9_]+$"  # a process, step or stage id


class ApiModel(BaseModel):
    """Strict about unknown fields, so a typo is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


def check_inputs(value: Any, depth: int = 0) -> None:
    """Step inputs the store can keep: no NUL characters, not nested without end.

    (PostgreSQL refuses a NUL in text and JSON; the engine checks everything else.)
    """
    if depth > MAX_INPUT_DEPTH:
        raise ValueError(f"nested deeper than {MAX_INPUT_DEPTH} levels")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("contains a NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_inputs(key, depth + 1)
            check_inputs(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_inputs(item, depth + 1)


class FieldProblem(ApiModel):
    field: str = Field(description="The input or body field, e.g. 'inputs.plan' or 'body.cpr'.")
    message: str


class ApiError(ApiModel):
    """Every error the API gives: a stable code, a sentence, and per-field problems."""

    error: str = Field(
        description="not_authenticated, throttled, csrf, scope, not_found, conflict, rejected, "
        "invalid"
    )
    message: str
    fields: list[FieldProblem] = Field(default_factory=list)


#: What an API token may do: read cases, act on them, reveal CPR numbers.
Scope = Literal["read", "act", "cpr"]


class TokenRequest(ApiModel):
    username: str = Field(min_length=1, max_length=64, pattern=PLAIN)
    password: str = Field(min_length=1, max_length=1024)
    scopes: list[Scope] = Field(
        default=["read", "act"],
        min_length=1,
        max_length=3,
        description="What the token may do: 'read' cases, 'act' on them (steps, referrals, "
        "consents, tasks), reveal 'cpr' numbers. Default read and act; cpr only if asked.",
    )
    name: str | None = Field(
        None, min_length=1, max_length=64, pattern=PLAIN, description="What the token is for."
    )


class TokenResponse(ApiModel):
    token: str = Field(description="Send as 'Authorization: Bearer <token>'.")
    expires_at: datetime
    id: str = Field(description="The token's id in GET /api/v1/tokens (not the token).")
    scopes: list[Scope]


class TokenOut(ApiModel):
    """A live session or API token of yours (never the token itself)."""

    id: str
    kind: Literal["browser", "api"]
    name: str | None
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime
    current: bool = Field(description="Whether this request was made with it.")


class PasswordChange(ApiModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class PasswordChanged(ApiModel):
    ended: int = Field(description="How many of your other sessions and tokens ended.")


class Me(ApiModel):
    username: str
    display_name: str
    person_id: str
    roles: list[str]
    municipality_code: str | None
    locale: str


class CaseloadParams(ApiModel):
    """The caseload's query parameters (an unknown one is an error, not ignored)."""

    stage: str | None = Field(None, max_length=64, pattern=r"^[a-z0-9_]*$")
    overdue: bool = False
    q: str | None = Field(None, max_length=32, pattern=PLAIN, description="Part of a reference")
    standing: Literal["caseworker", "coordinator", "team_member"] | None = Field(
        None,
        description="Only the cases where the caller is the caseworker, the coordinator "
        "or on the team",
    )
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


class CaseParams(ApiModel):
    """The query parameters of reading a case."""

    purpose: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        pattern=PLAIN,
        description=(
            "Why you look at the case (kept in the audit log). Required when you see the "
            "case through a legal basis rather than as one of its team."
        ),
    )


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
    timezone: str = Field(description="The process calendar's time zone, e.g. Europe/Copenhagen.")
    opened_at: datetime
    closed_at: datetime | None
    young_person: YoungPersonOut | None
    coordinator: str | None
    caseworker: str | None
    team: list[dict[str, Any]]
    plan_version: int | None
    reviewed: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The previous plan's goals as the last follow-up marked them.",
    )
    plan: list[dict[str, Any]]
    meetings: list[dict[str, Any]]
    timers: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    milestones: list[str]
    history: list[dict[str, Any]]
    next_steps: list[StepInfo]


#: E-mail addresses and phone numbers are checked by the service (the same words and
#: rule on every way in: a Danish mobile, the first digit 2-9), refused beside the field.


class GuardianIn(ApiModel):
    name: str = Field(min_length=1, max_length=200, pattern=PLAIN)
    cpr: str = Field(pattern=r"^\d{6}-?\d{4}$", description="10 digits, e.g. 010110-4321")
    email: str | None = Field(None, max_length=200, description="Own e-mail.")
    phone: str | None = Field(
        None, max_length=32, description="Danish mobile: 8 digits, the first 2-9 (+45 allowed)."
    )


class YoungPersonIn(ApiModel):
    name: str = Field(min_length=1, max_length=200, pattern=PLAIN)
    cpr: str = Field(pattern=r"^\d{6}-?\d{4}$", description="10 digits, e.g. 010110-4321")
    birth_date: date
    email: str | None = Field(
        None, max_length=200, description="Own e-mail: invitations and the plan."
    )
    phone: str | None = Field(
        None, max_length=32, description="Danish mobile (SMS): 8 digits, the first 2-9."
    )
    guardians: list[GuardianIn] = Field(
        default_factory=list, max_length=2, description="Custodial parents of a minor."
    )


class ReferRequest(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "definition": "soroe",
                    "young_person": {
                        "name": "Freja Testesen",
                        "cpr": "010110-4321",
                        "birth_date": "2010-01-01",
                    },
                    "inputs": {"source": "school", "caseworker": "cw-mette"},
                    "idempotency_key": "referral-2026-0001",
                }
            ]
        }
    )

    definition: str = Field(min_length=1, max_length=64, pattern=IDENTIFIER)
    young_person: YoungPersonIn
    inputs: dict[str, Any] = Field(
        default_factory=dict, description="The referral's inputs (see GET /definitions)."
    )
    idempotency_key: str | None = Field(default=None, max_length=100, pattern=PLAIN)

    @field_validator("inputs")
    @classmethod
    def _storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_inputs(value)
        return value


#: The roles a person can hold on a case (their standing on it).
CaseRoleName = Literal[
    "caseworker", "coordinator", "team_member", "young_person", "guardian", "leader"
]


class TriggerRequest(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "inputs": {"young_person_agrees": True, "consent": True},
                    "consent": {
                        "departments": ["skole", "uu"],
                        "categories": ["education"],
                        "guardian": True,
                    },
                    "idempotency_key": "accept-2026-0001",
                }
            ]
        }
    )

    inputs: dict[str, Any] = Field(
        default_factory=dict, description="The step's inputs (see next_steps of the case)."
    )
    idempotency_key: str | None = Field(
        default=None,
        max_length=100,
        pattern=PLAIN,
        description="Send the same key again (e.g. after a timeout) to get the first result.",
    )
    act_as: CaseRoleName | None = Field(
        default=None,
        description="The role to act in, when the caller has two on the case (e.g. caseworker "
        "and coordinator); default: the first one the step allows. A role the caller does not "
        "hold on this case is refused (403) with what they are on it instead.",
    )
    consent: ConsentIn | None = Field(
        default=None,
        description="The consent a step that records the young person's consent gives (such "
        "as accept_referral, 'Start the course'): the departments the case may be shared "
        "with, the data categories, and whether a custodial parent consented too. Checked "
        "before the step and recorded with it, in one transaction. Required by such a step "
        "(422 at 'consent' without it; 422 at 'consent.departments' etc. when it is not "
        "valid; nothing is saved); refused with a step that records no consent.",
    )

    @field_validator("inputs")
    @classmethod
    def _storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_inputs(value)
        return value


class StepResponse(ApiModel):
    reference: str
    event: str
    from_stage: str | None
    to_stage: str
    seq: int
    notifications: int
    repeated: bool
    consent: int | None = Field(
        default=None, description="The consent record the step gave (see the request's consent)."
    )


class DefinitionInfo(ApiModel):
    id: str
    version: int
    title: str
    municipality_code: str
    referral_inputs: list[InputInfo]


# --- privacy: consent, the CPR reveal, export and the citizen's access log -------------


class ConsentIn(ApiModel):
    """A consent as recorded from the signed consent form."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "departments": ["skole", "uu"],
                    "categories": ["education"],
                    "guardian": True,
                }
            ]
        }
    )

    departments: list[str] = Field(
        min_length=1, max_length=50, description="Department ids the case may be shared with."
    )
    categories: list[str] = Field(
        default_factory=list, max_length=50, description="Data category ids it covers."
    )
    given_on: date | None = Field(None, description="The day it was given (default: today).")
    guardian: bool = Field(False, description="A custodial parent consented too.")

    @field_validator("departments", "categories")
    @classmethod
    def _identifiers(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item or len(item) > 64 or not item.replace("_", "").isalnum():
                raise ValueError(f"'{item[:64]}' is not an id (letters, digits and _)")
        return value


class ConsentOut(ApiModel):
    id: int


class WithdrawIn(ApiModel):
    departments: list[str] | None = Field(
        None, max_length=50, description="Departments to withdraw from; leave out for all."
    )


class WithdrawOut(ApiModel):
    withdrawn: list[str]


class RevealIn(ApiModel):
    purpose: str = Field(
        min_length=3, max_length=200, pattern=PLAIN, description="Why (kept in the audit log)."
    )


class RevealOut(ApiModel):
    cpr: str


class AccessLogEntryOut(ApiModel):
    at: datetime
    action: str = Field(description="read, search, change, export or delete.")
    what: str = Field(description="case, cpr, consent, case_export or access_log.")
    role: str = Field(description="The role that acted; never a staff name.")
    purpose: str


class AccessLogOut(ApiModel):
    reference: str
    entries: list[AccessLogEntryOut]


# --- tasks: my worklist, a case's tasks, done and added by hand ------------------------

#: A note may hold line breaks and tabs, but no other control character.
NOTE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"


class TaskParams(ApiModel):
    """The worklist's query parameters (an unknown one is an error, not ignored)."""

    reference: str | None = Field(
        None, max_length=40, pattern=REFERENCE, description="Only this case's tasks."
    )
    stage: str | None = Field(
        None, max_length=64, pattern=r"^[a-z0-9_]*$", description="Only cases in this stage."
    )
    done: bool = Field(False, description="The done and closed tasks instead of the open ones.")


class TaskOut(ApiModel):
    id: int
    reference: str
    stage: str = Field(description="The case's stage now.")
    title: str
    details: str | None
    assignee: str = Field(
        description="The staff id it is given to, or the department id of a task for a "
        "whole department on the team."
    )
    assignee_name: str | None = Field(
        description="The assignee's display name (a staff member with an account)."
    )
    department: str | None
    due_at: datetime | None
    state: Literal["open", "done", "cancelled"] = Field(
        description="cancelled: ended by the case (its stage left, or the case closed)."
    )
    closed_at: datetime | None
    closed_by: str | None = Field(description="Who marked it done; 'system' when the case did.")
    note: str | None
    overdue: bool
    held: bool = Field(
        default=False,
        description="Set aside with its stage by a pause of the case: no reminders and "
        "not overdue meanwhile; when the case resumes in its stage, its due time moves on "
        "by the pause's length.",
    )


class TaskList(ApiModel):
    tasks: list[TaskOut]


class TaskDoneIn(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"note": "Talked to the school."}]})

    note: str | None = Field(
        None, max_length=5000, pattern=NOTE, description="What was done (kept with the task)."
    )


class TaskIn(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"assignee": "cw-mette", "title": "Call the school", "due": "2026-03-20"}]
        }
    )

    assignee: str = Field(
        min_length=1,
        max_length=200,
        pattern=PLAIN,
        description="A staff id with a standing on the case: its caseworker, its coordinator "
        "or a member of its team.",
    )
    title: str = Field(min_length=1, max_length=500, pattern=PLAIN, description="What to do.")
    due: date | None = Field(
        None, description="The day it is due, YYYY-MM-DD (due at 16:00 local time)."
    )

    @field_validator("due", mode="before")
    @classmethod
    def _written_date(cls, value: Any) -> Any:
        # A number is not a day (pydantic would read it as seconds since 1970).
        if value is not None and not isinstance(value, str | date):
            raise ValueError("a day is written YYYY-MM-DD")
        return value
