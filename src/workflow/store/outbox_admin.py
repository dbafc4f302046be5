"""The operator's reads and the one write on the machinery: codes only, never personal data.

What the operator's commands (``workflow outbox list | retry``, ``workflow case
machinery``) read: outbox rows by state and case, and one case's stage, steps, timers
and deliveries. Each answer holds ids, case references, codes (department, role,
template, event, stage), states, counts and times — never a recipient's address or
person, a payload, inputs, or the text of an error (it may quote an address); an error
is named by its type only (:func:`error_type`).

Putting given-up rows back in line is one UPDATE whose time is bound from Python (the
``now()`` the operator guide used to show does not exist on SQLite).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from workflow.definitions.expressions import uses_name
from workflow.store.states import OutboxState, TimerState
from workflow.store.tables import Case, CaseTimer, DefinitionVersion, HistoryEvent, OutboxRow

#: The states a row may be put back in line from: given up, or (asked for) withheld.
RETRYABLE = (OutboxState.DEAD, OutboxState.WITHHELD)
#: An error recorded as ``TypeName: text`` (business failures, workflow.delivery.outbox).
_TYPED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]{0,63}): ")
#: An SMTP failure (``SMTP 421: …`` or ``SMTP host:port: …``): its reply code, if any, is
#: a code; the rest is text.
_SMTP = re.compile(r"^SMTP (?:[^\s:]+:\d+: )?(.*)$", re.DOTALL)
_SMTP_CODE = re.compile(r"\b([2-5]\d\d)\b")
_UNREACHED = re.compile(r"^SMTP ([^\s:@]+:\d+): ([^@]{1,200})$", re.DOTALL)
#: What an unreached server's error says, in the operator's words.
_UNREACHED_WORDS = (
    ("refused", "refused the connection"),
    ("timed out", "did not answer (timed out)"),
    ("name or service not known", "is not a known host name"),
    ("no route", "cannot be reached (no route)"),
    ("unexpectedly closed", "closed the connection"),
)


def _why(error: str) -> str:
    lowered = error.lower()
    return next((words for key, words in _UNREACHED_WORDS if key in lowered), "could not be used")


#: A webhook or SMS gateway that answered with an HTTP status (``<what> <url>: 503``).
_HTTP = re.compile(r": (\d{3})$")


def error_type(state: str, last_error: str | None) -> str | None:
    """What kind of error a row's ``last_error`` is, without its text (which may quote an
    address or a name): the exception's type; for a receiver that did not take it
    ``SMTP <reply code>`` (``SMTP`` when the server could not be reached), ``HTTP
    <status>`` or ``TransientDeliveryError``; ``no_consent`` for a withheld row."""
    if not last_error:
        return None
    if state == OutboxState.WITHHELD:
        return "no_consent"
    typed = _TYPED.match(last_error)
    if typed:
        # A relay's final answer (smtplib's SMTPDataError, SMTPRecipientsRefused, …) is
        # named by its reply code, as a passing one is.
        code = _SMTP_CODE.search(last_error) if typed.group(1).startswith("SMTP") else None
        return f"SMTP {code.group(1)}" if code else typed.group(1)
    smtp = _SMTP.match(last_error)
    if smtp:
        code = _SMTP_CODE.search(smtp.group(1))
        if code:
            return f"SMTP {code.group(1)}"
        # The server not reached: where and why (refused, timed out) say what to fix, and
        # name the server, never a recipient (a text with an address in it is not shown).
        reached = _UNREACHED.match(last_error)
        return f"SMTP {reached.group(1)} {_why(reached.group(2))}" if reached else "SMTP"
    http = _HTTP.search(last_error)
    if http:
        return f"HTTP {http.group(1)}"
    # Transient failures are stored as the receiver's message without a type prefix
    # (workflow.delivery.outbox records str(TransientDeliveryError)).
    return "TransientDeliveryError"


@dataclass(frozen=True)
class OutboxLine:
    """One outbox row as the operator sees it: codes, state and counts."""

    id: int
    reference: str
    step: int | None
    recipient_kind: str
    recipient_id: str
    template: str
    state: str
    attempts: int
    error_type: str | None
    available_at: datetime


def _line(row: OutboxRow, reference: str, seq: int | None) -> OutboxLine:
    recipient = row.recipient or {}
    return OutboxLine(
        id=row.id,
        reference=reference,
        step=seq,
        recipient_kind=str(recipient.get("kind", "")),
        recipient_id=str(recipient.get("id", "")),
        template=row.template,
        state=row.state,
        attempts=row.attempts,
        error_type=error_type(row.state, row.last_error),
        available_at=row.available_at,
    )


def _lines_query(case_id: int | None = None) -> Select[OutboxRow, str, int]:
    query = (
        select(OutboxRow, Case.reference, HistoryEvent.seq)
        .join(Case, Case.id == OutboxRow.case_id)
        .outerjoin(HistoryEvent, HistoryEvent.id == OutboxRow.history_id)
    )
    if case_id is not None:
        query = query.where(OutboxRow.case_id == case_id)
    return query


def case_id_of(session: Session, reference: str) -> int | None:
    """The case's row id, or None when no case has that reference."""
    return session.scalar(select(Case.id).where(Case.reference == reference))


def outbox_lines(
    session: Session,
    *,
    states: Collection[str] = (),
    case_id: int | None = None,
    ids: Collection[int] = (),
    limit: int | None = None,
) -> list[OutboxLine]:
    """Outbox rows (newest first), by state, case or id."""
    query = _lines_query(case_id)
    if states:
        query = query.where(OutboxRow.state.in_(list(states)))
    if ids:
        query = query.where(OutboxRow.id.in_(list(ids)))
    query = query.order_by(OutboxRow.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [_line(row, reference, seq) for row, reference, seq in session.execute(query)]


def put_back_in_line(session: Session, ids: Sequence[int], now: datetime) -> list[int]:
    """Rows among ``ids`` that are dead or withheld go back to pending, due at ``now``,
    with no attempts and no error: the next delivery or sweep takes them (a withheld row's
    consent is checked again then). Returns the ids that were changed."""
    if not ids:
        return []
    changed = list(
        session.scalars(
            select(OutboxRow.id).where(
                OutboxRow.id.in_(list(ids)), OutboxRow.state.in_(list(RETRYABLE))
            )
        )
    )
    if changed:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(changed), OutboxRow.state.in_(list(RETRYABLE)))
            .values(state=OutboxState.PENDING, attempts=0, available_at=now, last_error=None)
            .execution_options(synchronize_session=False)
        )
    return sorted(changed)


@dataclass(frozen=True)
class MachineryStep:
    """One step of a case: its number, event code, the acting role, and when."""

    seq: int
    event: str
    from_stage: str | None
    to_stage: str
    actor_role: str
    at: datetime


@dataclass(frozen=True)
class MachineryTimer:
    """A timer of a case: its id (row), name, state and when it is due — None for a timer
    that falls due on a date read off the young person (a birthday: the birth date, the
    first six digits of the CPR number), as the Prefect runs leave it out too."""

    id: int
    timer: str
    state: str
    due_at: datetime | None


@dataclass(frozen=True)
class Machinery:
    """What the machinery did and has yet to do for one case — codes only."""

    reference: str
    municipality: str
    definition: str
    version: int
    stage: str
    steps: list[MachineryStep]
    timers: list[MachineryTimer]
    #: (recipient kind, recipient id) -> state -> number of rows.
    deliveries: dict[tuple[str, str], Counter[str]]
    #: Rows not sent: dead, withheld, pending or in flight (for retry by id).
    open_deliveries: list[OutboxLine]


def machinery(session: Session, reference: str) -> Machinery | None:
    """One case's machinery (None: no case has that reference); four indexed queries."""
    found = session.execute(
        select(
            Case,
            DefinitionVersion.definition_id,
            DefinitionVersion.version,
            DefinitionVersion.body,
        )
        .join(DefinitionVersion, DefinitionVersion.id == Case.definition_version_id)
        .where(Case.reference == reference)
    ).first()
    if found is None:
        return None
    case, definition, version, body = found
    personal = _personal_timers(body)
    steps = [
        MachineryStep(e.seq, e.event, e.from_stage, e.to_stage, e.actor_role, e.at)
        for e in session.scalars(
            select(HistoryEvent).where(HistoryEvent.case_id == case.id).order_by(HistoryEvent.seq)
        )
    ]
    timers = [
        MachineryTimer(t.id, t.timer, t.state, None if t.timer in personal else t.due_at)
        for t in session.scalars(
            select(CaseTimer)
            .where(CaseTimer.case_id == case.id)
            .order_by(CaseTimer.state != TimerState.RUNNING, CaseTimer.due_at)
        )
    ]
    lines = outbox_lines(session, case_id=case.id)
    deliveries: dict[tuple[str, str], Counter[str]] = {}
    for line in sorted(lines, key=lambda x: x.id):
        deliveries.setdefault((line.recipient_kind, line.recipient_id), Counter())[line.state] += 1
    return Machinery(
        reference=case.reference,
        municipality=case.municipality_code,
        definition=definition,
        version=version,
        stage=case.stage,
        steps=steps,
        timers=timers,
        deliveries=deliveries,
        open_deliveries=[x for x in lines if x.state != OutboxState.SENT],
    )


def _personal_timers(body: Any) -> frozenset[str]:
    """The timers of a stored definition that fall due on a date read off the young
    person (``at: person.turns_18_on``, the upper age)."""
    timers = body.get("timers") if isinstance(body, dict) else None
    return frozenset(
        str(t["id"])
        for t in timers or []
        if isinstance(t, dict) and isinstance(t.get("at"), str) and uses_name(t["at"], "person")
    )


#: A step by its codes, as a run is tagged with them: reference, step number,
#: municipality, stage, event (select from the history joined with its case).
STEP_CODES = (
    Case.reference,
    HistoryEvent.seq,
    Case.municipality_code,
    HistoryEvent.to_stage,
    HistoryEvent.event,
)


def step_codes(
    session: Session, steps: Sequence[tuple[str, int]]
) -> list[tuple[str, int, str, str, str]]:
    """(reference, step number, municipality, stage, event) of each step asked for that
    exists, in the order asked."""
    references = {reference for reference, _ in steps}
    found = {
        (ref, seq): (ref, seq, code, stage, event)
        for ref, seq, code, stage, event in session.execute(
            select(*STEP_CODES)
            .join(HistoryEvent, HistoryEvent.case_id == Case.id)
            .where(Case.reference.in_(references))
        )
    }
    return [found[step] for step in steps if step in found]
