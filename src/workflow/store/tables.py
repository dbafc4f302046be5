"""The case store's tables (SQLAlchemy 2, typed declarative mapping).

Personal data about the young person (name, CPR number, birth date) lives only in
``young_persons``; every other table refers to a case by its id or reference.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from workflow.engine.vocabulary import RecipientKind
from workflow.store.column_types import UTC_TIME
from workflow.store.states import MeetingState, OutboxState, TaskState, TimerState

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def one_of(column: str, words: type[StrEnum]) -> CheckConstraint:
    """A CHECK that ``column`` holds one of the enum's words (named ``ck_<table>_<column>``).

    The enum is the one code compares with, so the table and the code name the same words.
    """
    listed = ", ".join(f"'{word.value}'" for word in words)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (for migrations)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTC_TIME}  # noqa: RUF012


class DefinitionVersion(Base):
    """A resolved definition as a case pinned it: id, version, content hash, body."""

    __tablename__ = "definition_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[dict[str, Any]]
    registered_at: Mapped[datetime]


class ReferenceCounter(Base):
    """The last case number used per prefix and year (SOR-2026 -> 42)."""

    __tablename__ = "reference_counters"
    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, nullable=False)


class YoungPerson(Base):
    """The young person: with :class:`Guardian`, the only tables with names, CPR numbers,
    birth dates and a citizen's own contact details."""

    __tablename__ = "young_persons"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    cpr: Mapped[str] = mapped_column(String(255))
    birth_date: Mapped[date] = mapped_column(Date)
    #: A keyed hash of the CPR number (HMAC under the CPR key ring) that a login's CPR
    #: claim is matched with; never the CPR number itself.
    cpr_key: Mapped[str | None] = mapped_column(String(64), index=True)
    #: The young person's own channels (their invitations, plan and reminders).
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))


class Guardian(Base):
    """A custodial parent of a young person under 18, on one case (until ``until``)."""

    __tablename__ = "guardians"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    cpr: Mapped[str] = mapped_column(String(255))  # a Fernet token, as young_persons.cpr
    cpr_key: Mapped[str] = mapped_column(String(64), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    since: Mapped[datetime]
    until: Mapped[datetime | None]


class Case(Base):
    """A case and its current state; ``version`` guards against concurrent changes."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    municipality_code: Mapped[str] = mapped_column(String(3))
    kle: Mapped[str | None] = mapped_column(String(16))
    definition_version_id: Mapped[int] = mapped_column(ForeignKey("definition_versions.id"))
    stage: Mapped[str] = mapped_column(String(64), index=True)
    previous_stage: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]]
    milestones: Mapped[list[Any]]
    counts: Mapped[dict[str, Any]]
    #: Indexed: a referral looks for the young person's open courses, a login for their cases.
    young_person_id: Mapped[int | None] = mapped_column(ForeignKey("young_persons.id"), index=True)
    #: The responsible caseworker's staff id (the case data's ``caseworker``), for caseloads.
    caseworker: Mapped[str | None] = mapped_column(String(200), index=True)
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    #: Bumped by every change; a change made from a stale version is refused.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: Sequence number of the case's last history event.
    last_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: What the engine remembers about time between steps (engine.model.Timing as JSON:
    #: repeating timers' anchors, timers suspended by a pause, when milestones were reached).
    timing: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class TeamMembership(Base):
    """A person on the young person's team, chosen by the young person."""

    __tablename__ = "team_memberships"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    department: Mapped[str] = mapped_column(String(64))
    person: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str] = mapped_column(String(64))
    chosen_by_young_person: Mapped[bool] = mapped_column(Boolean, default=True)
    since: Mapped[datetime]
    until: Mapped[datetime | None]


class CoordinatorAssignment(Base):
    """The coordinator (tovholder) the young person chose."""

    __tablename__ = "coordinators"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    person: Mapped[str] = mapped_column(String(200), index=True)
    chosen_by_young_person: Mapped[bool] = mapped_column(Boolean, default=True)
    since: Mapped[datetime]
    until: Mapped[datetime | None]


class Meeting(Base):
    """A meeting of the team: when, where, who was invited and who came.

    ``key`` numbers a case's meetings (1, 2, ...; the calendar UID is made from it);
    ``sequence`` rises with every move and the cancellation; ``state`` is booked, moved,
    cancelled or held (a MeetingState).
    """

    __tablename__ = "meetings"
    __table_args__ = (one_of("state", MeetingState),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    key: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    place: Mapped[str | None] = mapped_column(String(200))
    participants: Mapped[list[Any]]
    #: Who did not come: {"absent": [...], "no_show": [...]} (everyone else was there).
    attendance: Mapped[Any] = mapped_column(JSON, nullable=False)
    state: Mapped[str] = mapped_column(String(16), default=MeetingState.BOOKED.value)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime | None]


class Plan(Base):
    """One version of the young person's plan, written at a meeting."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("case_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    version: Mapped[int]
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    written_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class PlanGoal(Base):
    """A goal of a plan, in the young person's own words (first person)."""

    __tablename__ = "plan_goals"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    number: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(64))
    theme: Mapped[str | None] = mapped_column(String(64))
    deadline: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))


class CaseTask(Base):
    """A task given to a person or department by a step of the case."""

    __tablename__ = "tasks"
    __table_args__ = (one_of("assignee_kind", RecipientKind), one_of("state", TaskState))
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    assignee_kind: Mapped[str] = mapped_column(String(16))  # a RecipientKind
    assignee_id: Mapped[str] = mapped_column(String(64))
    person: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16), default=TaskState.OPEN.value)
    created_at: Mapped[datetime]
    #: The effect's id; with ``created_seq`` it groups the tasks given together (when_done).
    key: Mapped[str | None] = mapped_column(String(64))
    created_seq: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[str | None] = mapped_column(Text)
    #: 'stage' (until ``stage`` is left), 'case', or the stage whose entry ends it.
    until: Mapped[str] = mapped_column(String(64), default="stage")
    stage: Mapped[str | None] = mapped_column(String(64))
    #: when_done: all | any | a number, and the event it raises.
    need: Mapped[str | None] = mapped_column(String(16))
    raises: Mapped[str | None] = mapped_column(String(64))
    #: Reminders: [{"at": iso, "template": id, "to": [recipient...], "sent": bool}].
    reminders: Mapped[list[Any]] = mapped_column(JSON, default=list)
    next_reminder_at: Mapped[datetime | None] = mapped_column(index=True)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    #: Since when a pause of the case holds it with its stage (no reminder, not overdue).
    held_since: Mapped[datetime | None]
    #: The meeting (its ``key`` on the case) it is due by at the latest (``at_latest:
    #: meeting``): it follows that meeting's moves, not another one's.
    meeting_key: Mapped[int | None] = mapped_column(Integer)


class HistoryEvent(Base):
    """Append-only: every accepted event of a case, with its inputs and actor."""

    __tablename__ = "history_events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    seq: Mapped[int]
    event: Mapped[str] = mapped_column(String(64))
    transition: Mapped[str] = mapped_column(String(64))
    from_stage: Mapped[str | None] = mapped_column(String(64))
    to_stage: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[dict[str, Any]]
    effects: Mapped[list[Any]]
    actor_role: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime]


class CaseTimer(Base):
    """A timer of a case: running until it fires or is cancelled."""

    __tablename__ = "timers"
    __table_args__ = (
        Index("ix_timers_due", "state", "due_at"),
        # A case's running timers (caseloads, case pages); also serves lookups by case.
        Index("ix_timers_case_state_due", "case_id", "state", "due_at"),
        one_of("state", TimerState),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    timer: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))  # a TimerState
    firings: Mapped[int] = mapped_column(Integer, default=0)


class OutboxRow(Base):
    """An effect to carry out after commit: delivered at least once, deduplicated by key."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "state", "available_at"),
        one_of("state", OutboxState),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    history_id: Mapped[int | None] = mapped_column(ForeignKey("history_events.id"))
    kind: Mapped[str] = mapped_column(String(16))  # notify
    recipient: Mapped[dict[str, Any]]  # kind (a RecipientKind), id, person
    template: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16))  # an OutboxState
    last_error: Mapped[str | None] = mapped_column(Text)
    available_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    #: When the operators were told the row was given up (a Prefect event; once per row).
    announced_at: Mapped[datetime | None]


class IdempotencyKey(Base):
    """The first result of a trigger, returned again for a repeated key."""

    __tablename__ = "idempotency_keys"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    case_reference: Mapped[str] = mapped_column(String(32))
    result: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """Who did what to which case data, when and why."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))  # read | search | change | export | delete
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]]


class Account(Base):
    """A member of staff who logs in to the web app (local accounts; see identity docs)."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    #: The staff id used in cases (team members, coordinator, caseworker, actor ids).
    person_id: Mapped[str] = mapped_column(String(200), unique=True)
    email: Mapped[str | None] = mapped_column(String(200))
    municipality_code: Mapped[str | None] = mapped_column(String(3))
    department: Mapped[str | None] = mapped_column(String(64))
    roles: Mapped[list[Any]]
    locale: Mapped[str] = mapped_column(String(8), default="da")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    #: False: deactivated (no login, no session, no token; kept for the case history).
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class WebSession(Base):
    """A logged-in session or API token; only a hash of the token is stored.

    ``public_id`` names it where it is listed and revoked (it is not the token, and the
    token cannot be found from it); ``scopes`` say what an API token may do (``read``,
    ``act``, ``cpr``; a browser session has all its account's rights).
    """

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # browser | api
    name: Mapped[str | None] = mapped_column(String(64))
    scopes: Mapped[list[Any]]
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class CitizenSession(Base):
    """A young person's or guardian's login (OIDC); only a hash of the token is stored.

    The citizen is known by the keyed hash of their CPR claim: their cases are the ones
    whose young person or active guardian has that key.
    """

    __tablename__ = "citizen_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    cpr_key: Mapped[str] = mapped_column(String(64), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8), default="da")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class Consent(Base):
    """The young person's consent to share their case: given by whom, covering what, when.

    Its departments are :class:`ConsentDepartment` rows, so sharing can be withdrawn from
    one department at a time; the consent itself is never deleted (notatpligt).
    """

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    #: Who consented: ["young_person"] or ["young_person", "guardian"].
    given_by: Mapped[list[Any]]
    #: The data categories (the definition's privacy.data_categories) it covers.
    categories: Mapped[list[Any]]
    given_on: Mapped[date] = mapped_column(Date)
    #: The young person's age on ``given_on``.
    age_at_consent: Mapped[int] = mapped_column(Integer)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(200))


class ConsentDepartment(Base):
    """A department a consent lets the case be shared with, until withdrawn."""

    __tablename__ = "consent_departments"
    __table_args__ = (Index("ix_consent_departments_case", "case_id", "department"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    department: Mapped[str] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None]
    #: Who withdrew it (an actor's label, role:id): the young person's page says so.
    withdrawn_by: Mapped[str | None] = mapped_column(String(200))


class ConsentPart(Base):
    """One party's yes to sharing with a department, waiting for the other party's.

    Under ``privacy.guardian_consent_under`` a consent needs the young person and a
    custodial parent. Each gives their part on their own page; once both have, the
    consent is recorded (:class:`Consent`, given by both) and the parts are removed. A
    part is never a consent: no department is shared with on it.
    """

    __tablename__ = "consent_parts"
    __table_args__ = (UniqueConstraint("case_id", "party", "department"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    #: "young_person" or "guardian".
    party: Mapped[str] = mapped_column(String(32))
    department: Mapped[str] = mapped_column(String(64))
    given_by: Mapped[str] = mapped_column(String(200))
    given_at: Mapped[datetime]


class AccessGrant(Base):
    """A recorded legal basis for seeing a municipality's cases without being on them.

    E.g. a manager's oversight (tilsyn): reads through a grant are allowed only with a
    stated purpose, which the audit log keeps; a grant names the actions it allows.
    """

    __tablename__ = "access_grants"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(String(200), index=True)
    municipality_code: Mapped[str] = mapped_column(String(3))
    #: A short code of the basis, e.g. "oversight".
    basis: Mapped[str] = mapped_column(String(64))
    #: The law it rests on, e.g. "Serviceloven § 146 (tilsyn)".
    law: Mapped[str] = mapped_column(String(200))
    #: What it allows: "read", "export", and "trigger" (e.g. a leader deciding on a pool).
    actions: Mapped[list[Any]]
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ConferenceSession(Base):
    """A case-conference session of a municipality (e.g. Horsens, every 14 days)."""

    __tablename__ = "conference_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(3), index=True)
    definition_id: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    #: planned | held
    state: Mapped[str] = mapped_column(String(16), default="planned")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class ConferenceItem(Base):
    """A case on a conference session's agenda, and the next action recorded for it."""

    __tablename__ = "conference_items"
    __table_args__ = (UniqueConstraint("session_id", "case_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("conference_sessions.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    position: Mapped[int]
    put_forward_by: Mapped[str] = mapped_column(String(200))
    #: 'caseworker' (put forward) or 'rule' (selected by the definition's rule).
    reason: Mapped[str] = mapped_column(String(16), default="caseworker")
    recorded_at: Mapped[datetime | None]
    recorded_by: Mapped[str | None] = mapped_column(String(200))


class PoolEntry(Base):
    """A line of a municipality's pooled budget: a department paying in, or a grant."""

    __tablename__ = "pool_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(3), index=True)
    #: deposit | grant
    kind: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    #: Whole kroner; a grant is negative.
    amount: Mapped[int] = mapped_column(Integer)
    recorded_by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]


class CaseFigures(Base):
    """A case as the outcome figures count it, kept by every step (no names, no words).

    Written with the step that changes it (``workflow.store.figures``), so the outcome
    pages count rows here instead of reading every case's history.
    """

    __tablename__ = "case_figures"
    __table_args__ = (
        Index("ix_case_figures_referred", "municipality_code", "referred_at"),
        Index("ix_case_figures_ended", "municipality_code", "ended_at"),
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(3))
    definition_id: Mapped[str] = mapped_column(String(64))
    young_person_id: Mapped[int | None] = mapped_column(ForeignKey("young_persons.id"))
    referred_at: Mapped[datetime]
    stage: Mapped[str] = mapped_column(String(64))
    pre_meeting_at: Mapped[datetime | None]
    days_to_pre_meeting: Mapped[int | None] = mapped_column(Integer)
    first_meeting_at: Mapped[datetime | None]
    days_to_first_meeting: Mapped[int | None] = mapped_column(Integer)
    #: A deadline of the definition fell due before the pre-meeting (the first meeting).
    late_to_pre_meeting: Mapped[bool] = mapped_column(Boolean, default=False)
    late_to_first_meeting: Mapped[bool] = mapped_column(Boolean, default=False)
    meetings_held: Mapped[int] = mapped_column(Integer, default=0)
    #: Progression levels by rank (1: the scale's lowest): the first and the latest agreed.
    first_level: Mapped[int | None] = mapped_column(Integer)
    latest_level: Mapped[int | None] = mapped_column(Integer)
    levels_recorded: Mapped[int] = mapped_column(Integer, default=0)
    ended_at: Mapped[datetime | None]
    end_stage: Mapped[str | None] = mapped_column(String(64))
    #: The status at closing (the closing step's ``outcome``: education, employment, ...).
    outcome: Mapped[str | None] = mapped_column(String(64))
    #: The deadline that fell due in the stage the case is still in (None: none).
    overdue_timer: Mapped[str | None] = mapped_column(String(64))
    overdue_since: Mapped[datetime | None]


class MeetingFigures(Base):
    """A meeting held, as the figures count it: its number, the level agreed, goals met."""

    __tablename__ = "meeting_figures"
    __table_args__ = (Index("ix_meeting_figures_held", "municipality_code", "held_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    municipality_code: Mapped[str] = mapped_column(String(3))
    #: 0: the pre-meeting; 1: the first collaboration meeting; 2, 3...: follow-ups.
    number: Mapped[int] = mapped_column(Integer)
    held_at: Mapped[datetime]
    level: Mapped[int | None] = mapped_column(Integer)
    goals_reviewed: Mapped[int] = mapped_column(Integer, default=0)
    goals_met: Mapped[int] = mapped_column(Integer, default=0)


class DeadlineFigures(Base):
    """A deadline of the definition that fell due (a stage's timer fired)."""

    __tablename__ = "deadline_figures"
    __table_args__ = (Index("ix_deadline_figures_fired", "municipality_code", "fired_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    municipality_code: Mapped[str] = mapped_column(String(3))
    timer: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(64))
    fired_at: Mapped[datetime]
