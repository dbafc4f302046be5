"""Delivering outbox rows: claim, render, send, mark — at least once, deduplicated.

A row is claimed by committing ``state='sending'`` with a lease before anything is sent,
so two workers never send the same row; rows are picked with ``FOR UPDATE SKIP LOCKED``
on PostgreSQL. What happened to each row is recorded as soon as it is sent, so a process
that dies mid-batch re-sends at most the one message it had in flight: that row (and
the batch's unsent rows) are taken again when the lease runs out, and the receiver sees
the same dedupe key (Message-ID, Idempotency-Key, file name) and can drop the repeat.
A store that cannot be reached while an outcome is recorded is waited for (well within
the lease), so a sent message is not sent again because the database was restarted.
Infrastructure failures are retried with backoff; business failures (no address, a
template that cannot render) are not.
A row for a department the young person's consent does not cover (now) is withheld.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Collection
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Table, bindparam, func, or_, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from workflow.delivery.batch_reads import (
    consents_of,
    own_addresses_of,
    own_channels,
    staff_greeting,
    staff_of,
    to_department,
    with_meeting,
)
from workflow.delivery.channels import (
    FileChannel,
    SmsChannel,
    SmtpChannel,
    TransientDeliveryError,
    WebhookChannel,
)
from workflow.delivery.message import Address, OutgoingMessage, compose
from workflow.engine.consent import UNINVITED_MARK, shared_meeting, withheld_reason
from workflow.settings import Settings
from workflow.store.busy import is_busy
from workflow.store.column_types import UTC_TIME
from workflow.store.database import store_unreachable
from workflow.store.driver import DriverStatement, autocommit, translated
from workflow.store.outbox_admin import STEP_CODES, error_type
from workflow.store.states import OutboxState
from workflow.store.tables import Case, HistoryEvent, OutboxRow
from workflow.store.unit_of_work import UnitOfWork

#: The shortest lease a claim holds its rows by.
LEASE = timedelta(minutes=5)
#: A claim's lease is this many times the longest its sends may take: room for rendering,
#: recording each outcome, and an SMTP send that waits out the timeout on several replies.
LEASE_MARGIN = 2
#: A claim holds its rows for this many sends at a time and renews the lease of the rows
#: it has not sent yet as it goes: a worker that dies leaves them to the others after at
#: most this many sends' timeouts, not the whole batch's (hours at a 300 s timeout).
LEASE_WINDOW = 10
MAX_BACKOFF = timedelta(minutes=15)
#: Seconds a sender waits for an unreachable store to record what it sent (well within
#: LEASE: no other worker takes the row meanwhile). Longer outages: re-sent after the lease.
STORE_WAIT = 60.0
_log = logging.getLogger(__name__)


class Channel(Protocol):
    """Anything that can carry a message to an address."""

    def send(self, message: OutgoingMessage, address: Address) -> None:
        """Send, or raise TransientDeliveryError (retry) or another error (give up)."""


class DeliveryStatus(StrEnum):
    """What happened to one row when a worker took it."""

    SENT = "sent"
    #: A transient failure: the row waits (pending) and is tried again after a backoff.
    RETRY = "retry"
    #: Given up: a business failure (no address, a template that cannot render), or too
    #: many attempts.
    DEAD = "dead"
    #: Not sent: no consent covers the department it was for (workflow.privacy.consents).
    WITHHELD = "withheld"
    #: Not taken: another worker holds the row, or it is no longer due.
    SKIPPED = "skipped"


#: The state an outcome leaves its row in (a retry waits as pending).
_STORED = {
    DeliveryStatus.SENT: OutboxState.SENT,
    DeliveryStatus.DEAD: OutboxState.DEAD,
    DeliveryStatus.RETRY: OutboxState.PENDING,
}


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened to one row (see :class:`DeliveryStatus`), and why if it failed."""

    row_id: int
    status: DeliveryStatus
    error: str | None = None

    @property
    def error_type(self) -> str | None:
        """The error's type only, as the operator's commands show it (``SMTP 550``, ``HTTP
        503``, an exception's type): its text may quote an address (an SMTP reply)."""
        state = OutboxState.WITHHELD if self.status is DeliveryStatus.WITHHELD else OutboxState.DEAD
        return error_type(state, self.error)


@dataclass(frozen=True)
class Effect:
    """One row of the outbox by its codes only: what it is, never whom it is about.

    ``recipient`` is a department code or a role code (``recipient.person`` is never
    read); ``meeting`` the meeting kind of an invitation, else None.
    """

    row_id: int
    reference: str
    municipality: str
    recipient_kind: str
    recipient: str
    template: str
    meeting: str | None

    @property
    def name(self) -> str:
        """What the effect does: ``invite-<recipient>-<meeting kind>`` for an invitation,
        else ``notify-<recipient>-<template>``."""
        if self.meeting:
            return f"invite-{self.recipient}-{self.meeting}"
        return f"notify-{self.recipient}-{self.template}"


def _effect(row: OutboxRow, reference: str, municipality: str) -> Effect:
    meeting = (row.payload or {}).get("meeting")
    return Effect(
        row.id,
        reference,
        municipality,
        str(row.recipient.get("kind", "")),
        str(row.recipient.get("id", "")),
        row.template,
        str(meeting["kind"]) if isinstance(meeting, dict) and meeting.get("kind") else None,
    )


def default_channels(settings: Settings) -> dict[str, Channel]:
    """SMTP when a server is configured, else mail is written to files in ``var/mail``.

    SMS likewise: through the gateway when one is configured, else to files in ``var/sms``.
    """
    email: Channel = (
        SmtpChannel(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_sender,
            timeout=settings.delivery_timeout,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            ca_file=settings.smtp_ca_file,
        )
        if settings.smtp_host
        else FileChannel(settings.smtp_sender, settings.mail_dir)
    )
    return {
        "email": email,
        "webhook": WebhookChannel(
            settings.webhook_secret.get_secret_value(), timeout=settings.delivery_timeout
        ),
        # Relative folders in definitions (var/digital-post) live beside the home folder.
        "file": FileChannel(settings.smtp_sender, settings.home.resolve().parent),
        "sms": SmsChannel(
            settings.sms_webhook_url,
            settings.webhook_secret.get_secret_value(),
            settings.sms_sender,
            timeout=settings.delivery_timeout,
            root=settings.home / "sms",
        ),
    }


#: Recording a sent row's outcome: only a row this worker still holds ('sending', at the
#: attempt it claimed); a retry's time replaces the lease, other outcomes keep it.
FINISH_ROW = DriverStatement(
    update(OutboxRow)
    .where(
        OutboxRow.id == bindparam("b_id"),
        OutboxRow.state == OutboxState.SENDING,
        OutboxRow.attempts == bindparam("b_attempts"),
    )
    .values(
        state=bindparam("b_state"),
        last_error=bindparam("b_error"),
        sent_at=bindparam("b_sent_at", type_=UTC_TIME),
        available_at=func.coalesce(bindparam("b_retry_at", type_=UTC_TIME), OutboxRow.available_at),
    )
)


_OUTBOX: Table = OutboxRow.__table__  # type: ignore[assignment]
#: What a claim needs of each row it took (attempts: as counted by this claim).
_CLAIMED = (
    _OUTBOX.c.id,
    _OUTBOX.c.case_id,
    _OUTBOX.c.attempts,
    _OUTBOX.c.template,
    _OUTBOX.c.recipient,
    _OUTBOX.c.payload,
    _OUTBOX.c.dedupe_key,
)
#: Giving up a claimed row before sending it (withheld, or it cannot be rendered).
_GIVE_UP = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("b_id"), _OUTBOX.c.state == OutboxState.SENDING)
    .values(state=bindparam("b_state"), last_error=bindparam("b_error"))
)


class Deliverer:
    """Carries out the outbox."""

    def __init__(
        self,
        uow: UnitOfWork,
        settings: Settings,
        channels: dict[str, Channel] | None = None,
    ) -> None:
        self.sessions, self.catalog, self.clock = uow.sessions, uow.catalog, uow.clock
        self.uow = uow
        self.settings = settings
        self.channels = channels or default_channels(settings)

    @property
    def engine(self) -> Engine:
        """The store's engine (outcomes are recorded on a connection of its own)."""
        return self.uow.engine

    def due_rows(
        self,
        limit: int,
        now: datetime | None = None,
        leaving: Collection[int] = (),
        left_since: datetime | None = None,
    ) -> list[int]:
        """Rows waiting (or whose sender died holding them), oldest first; none of the
        steps (history ids) in ``leaving`` that were never tried (their runs' to send),
        unless due since before ``left_since`` (no run took them in time: sent here)."""
        moment = now or self.clock()
        waiting = [
            OutboxRow.state.in_((OutboxState.PENDING, OutboxState.SENDING)),
            OutboxRow.available_at <= moment,
        ]
        if leaving:
            taken_here = [
                OutboxRow.history_id.is_(None),
                OutboxRow.history_id.not_in(sorted(leaving)),
                OutboxRow.attempts > 0,
            ]
            if left_since is not None:
                taken_here.append(OutboxRow.available_at <= left_since)
            waiting.append(or_(*taken_here))
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(OutboxRow.id)
                    .where(*waiting)
                    .order_by(OutboxRow.available_at, OutboxRow.id)
                    .limit(limit)
                )
            )

    def drain(
        self,
        now: datetime | None = None,
        chunk: int = 200,
        deliver: Callable[[list[int]], dict[str, int]] | None = None,
        leaving: Collection[int] = (),
        left_since: datetime | None = None,
    ) -> Counter[str]:
        """Deliver everything due, a batch at a time, until nothing is left to take.

        ``deliver`` carries out one chunk (the sweep flow passes a Prefect task); by
        default the chunk is delivered here. Stops when every row left is held by
        another worker. Counts by status word (plain strings, as they are printed).
        ``leaving``: steps (history ids) just handed to workers, whose untried rows are
        their runs' (taking them here left each run empty and green) unless due since
        before ``left_since``: handed before and still not taken (a worker that died, or
        whose runs fail before they claim), they are sent here.
        """
        # Rows due as of a given time are taken even if it is ahead of the clock (a sweep
        # at --now: a timer it fired made them due then); due_rows chose only those.
        as_of = now is not None

        def here(ids: list[int]) -> dict[str, int]:
            return dict(Counter(o.status for o in self.deliver_many(ids, ignore_backoff=as_of)))

        send = deliver or here
        delivered: Counter[str] = Counter()
        while rows := self.due_rows(self.settings.sweep_batch, now, leaving, left_since):
            this_round: Counter[str] = Counter()
            for start in range(0, len(rows), chunk):
                counts = send(rows[start : start + chunk])
                this_round.update({str(status): n for status, n in counts.items()})
            delivered.update(this_round)
            if this_round[DeliveryStatus.SKIPPED] >= len(rows):
                break  # everything left is held by another worker
        return delivered

    def lease(self, sends: int) -> timedelta:
        """How long a claim holds its rows: longer than ``sends`` sends may take.

        Each send may take the channels' whole timeout (``delivery_timeout``, up to five
        minutes), one after another: a lease shorter than the batch would let another
        worker take, and send again, the rows this one has not reached yet.
        """
        return max(LEASE, timedelta(seconds=LEASE_MARGIN * self.settings.delivery_timeout * sends))

    def _held_for(self, sends: int) -> timedelta:
        """The lease a claim takes or renews: ``sends`` sends, at most a window of them."""
        return self.lease(min(sends, LEASE_WINDOW))

    def rows_of_step(self, reference: str, seq: int) -> list[int]:
        """The pending rows a step (history event) produced."""
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(OutboxRow.id)
                    .join(HistoryEvent, OutboxRow.history_id == HistoryEvent.id)
                    .join(Case, Case.id == OutboxRow.case_id)
                    .where(
                        Case.reference == reference,
                        HistoryEvent.seq == seq,
                        OutboxRow.state == OutboxState.PENDING,
                    )
                    .order_by(OutboxRow.id)
                )
            )

    def effects_of_step(self, reference: str, seq: int) -> list[Effect]:
        """The rows of a step still to deliver (waiting, or held by a sender), by their
        codes (the step flow names its tasks by them)."""
        with self.sessions() as session:
            return [
                _effect(row, ref, code)
                for row, ref, code in session.execute(
                    select(OutboxRow, Case.reference, Case.municipality_code)
                    .join(HistoryEvent, OutboxRow.history_id == HistoryEvent.id)
                    .join(Case, Case.id == OutboxRow.case_id)
                    .where(
                        Case.reference == reference,
                        HistoryEvent.seq == seq,
                        OutboxRow.state.in_((OutboxState.PENDING, OutboxState.SENDING)),
                    )
                    .order_by(OutboxRow.id)
                )
            ]

    def steps_due(self, before: datetime, limit: int) -> list[tuple[str, int, str, str, str, int]]:
        """Steps with rows due since before ``before`` that were never tried (no run took
        the step): reference, step number, municipality, stage, event, history id —
        oldest first.
        Rows tried before (backing off, or held by a sender that died) are the batches'."""
        with self.sessions() as session:
            due = (
                select(OutboxRow.history_id, func.min(OutboxRow.available_at).label("since"))
                .where(
                    OutboxRow.state == OutboxState.PENDING,
                    OutboxRow.attempts == 0,
                    OutboxRow.available_at <= before,
                    OutboxRow.history_id.is_not(None),
                )
                .group_by(OutboxRow.history_id)
                .order_by(func.min(OutboxRow.available_at))
                .limit(limit)
                .subquery()
            )
            return [
                (ref, seq, code, stage, event, history_id)
                for ref, seq, code, stage, event, history_id in session.execute(
                    select(*STEP_CODES, due.c.history_id)
                    .select_from(due)
                    .join(HistoryEvent, HistoryEvent.id == due.c.history_id)
                    .join(Case, Case.id == HistoryEvent.case_id)
                    .order_by(due.c.since, HistoryEvent.id)
                )
            ]

    def dead_unannounced(
        self, limit: int = 500, row_ids: list[int] | None = None
    ) -> list[tuple[Effect, int, str | None]]:
        """Rows given up that nobody was told of yet (of ``row_ids``, else any): each with
        its attempts and error type (never the error's text), oldest first."""
        query = (
            select(OutboxRow, Case.reference, Case.municipality_code)
            .join(Case, Case.id == OutboxRow.case_id)
            .where(OutboxRow.state == OutboxState.DEAD, OutboxRow.announced_at.is_(None))
            .order_by(OutboxRow.id)
            .limit(limit)
        )
        if row_ids is not None:
            query = query.where(OutboxRow.id.in_(row_ids))
        with self.sessions() as session:
            rows = session.execute(query).all()
            return [
                (
                    _effect(row, ref, code),
                    row.attempts,
                    DeliveryOutcome(row.id, DeliveryStatus.DEAD, row.last_error).error_type,
                )
                for row, ref, code in rows
            ]

    def mark_announced(self, row_ids: list[int]) -> int:
        """Record that the operators were told of these dead rows (once per row): only a
        row still dead and not announced is marked. Returns how many were marked."""
        if not row_ids:
            return 0
        with self.sessions() as session, session.begin():
            marked = session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id.in_(row_ids),
                    OutboxRow.state == OutboxState.DEAD,
                    OutboxRow.announced_at.is_(None),
                )
                .values(announced_at=self.clock())
                .execution_options(synchronize_session=False)
            )
            return int(marked.rowcount)  # type: ignore[attr-defined]

    def deliver(self, row_id: int, *, ignore_backoff: bool = False) -> DeliveryOutcome:
        """Deliver one row if it is still to be delivered (a case step: a task per row)."""
        return self.deliver_many([row_id], ignore_backoff=ignore_backoff)[0]

    def deliver_many(
        self, row_ids: list[int], *, ignore_backoff: bool = False
    ) -> list[DeliveryOutcome]:
        """Deliver rows: claimed together in one statement, each outcome recorded once sent.

        The batch's mails go on one SMTP connection (the channels' sessions), and each
        outcome is recorded on one database connection held for the batch, committed
        before the next send.
        """
        outcomes: dict[int, DeliveryOutcome] = {}
        claimed_at = self.clock()
        try:
            messages = self._claim(row_ids, claimed_at, ignore_backoff, outcomes)
        except OperationalError as exc:
            if not is_busy(exc):
                raise
            messages = []  # SQLite: another worker claimed these rows first
        if messages:
            with ExitStack() as stack:
                senders = _sessions(self.channels, stack)
                recorder = stack.enter_context(_Recorder(self.engine))
                held_until = claimed_at + self._held_for(_sends(messages))
                for position, (row_id, attempts, message) in enumerate(messages):
                    held_until = self._keep_holding(messages[position:], held_until)
                    result: tuple[int, DeliveryStatus, str | None, int]
                    try:
                        for address in message.addresses:
                            senders[address.kind].send(message, address)
                    except TransientDeliveryError as exc:
                        result = (row_id, DeliveryStatus.RETRY, str(exc), attempts)
                    except Exception as exc:
                        error = f"{type(exc).__name__}: {exc}"
                        result = (row_id, DeliveryStatus.DEAD, error, attempts)
                    else:
                        result = (row_id, DeliveryStatus.SENT, None, attempts)
                    # Recorded before the next send: a process that dies now has only this
                    # message's outcome unrecorded (at most one message is sent twice).
                    outcomes[row_id] = self._record(*result, recorder=recorder)
        return [
            outcomes.get(row_id) or DeliveryOutcome(row_id, DeliveryStatus.SKIPPED)
            for row_id in row_ids
        ]

    def _keep_holding(
        self, unsent: list[tuple[int, int, OutgoingMessage]], held_until: datetime
    ) -> datetime:
        """Renew the lease of the rows not sent yet if the next send could outlast it."""
        now = self.clock()
        next_send = timedelta(seconds=LEASE_MARGIN * self.settings.delivery_timeout)
        if now + next_send * len(unsent[0][2].addresses) <= held_until:
            return held_until
        renewed = now + self._held_for(_sends(unsent))
        with self.sessions() as session, session.begin():
            session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id.in_([row_id for row_id, _, _ in unsent]),
                    OutboxRow.state == OutboxState.SENDING,
                )
                .values(available_at=renewed)
                .execution_options(synchronize_session=False)
            )
        return renewed

    def _claim(
        self,
        row_ids: list[int],
        now: datetime,
        ignore_backoff: bool,
        outcomes: dict[int, DeliveryOutcome],
    ) -> list[tuple[int, int, OutgoingMessage]]:
        """Mark the rows still to be sent as 'sending' (with a lease) and render them.

        One UPDATE ... RETURNING claims the batch: on PostgreSQL it takes only the rows
        no other worker has locked (``FOR UPDATE SKIP LOCKED``), and on either store its
        WHERE takes only rows still waiting (compare-and-set: a row another worker
        claimed meanwhile is not returned). Committed before anything is sent: a row
        claimed here is not claimed by another worker until its lease runs out, which
        covers every send of the batch at the channels' timeout (:meth:`lease`). Rows
        that cannot be rendered are given up; rows without consent withheld.
        """
        messages: list[tuple[int, int, OutgoingMessage]] = []
        lease = self._held_for(len(row_ids))  # a send per row; more addresses: extended below
        with self.sessions() as session, session.begin():
            waiting = or_(
                _OUTBOX.c.state == OutboxState.PENDING,
                (_OUTBOX.c.state == OutboxState.SENDING) & (_OUTBOX.c.available_at <= now),
            )
            if not ignore_backoff:
                waiting = waiting & (_OUTBOX.c.available_at <= now)
            free = (
                select(_OUTBOX.c.id)
                .where(_OUTBOX.c.id.in_(row_ids), waiting)
                .with_for_update(skip_locked=True)
            )
            claimed = session.execute(
                update(_OUTBOX)
                .where(_OUTBOX.c.id.in_(free.scalar_subquery()), waiting)
                .values(
                    state=OutboxState.SENDING,
                    attempts=_OUTBOX.c.attempts + 1,
                    available_at=now + lease,
                    # A row put back in line and given up again is announced again.
                    announced_at=None,
                )
                .returning(*_CLAIMED)
            ).all()
            if not claimed:
                return messages
            order = {row_id: i for i, row_id in enumerate(row_ids)}
            rows = sorted(claimed, key=lambda row: order[row.id])
            case_ids = sorted({row.case_id for row in rows})
            cases = {
                case_id: (reference, version_id)
                for case_id, reference, version_id in session.execute(
                    select(Case.id, Case.reference, Case.definition_version_id).where(
                        Case.id.in_(case_ids)
                    )
                )
            }
            consents = consents_of(
                session, [r.case_id for r in rows if to_department(r) or with_meeting(r)]
            )
            own = own_addresses_of(session, rows)
            staff = staff_of(session, rows)
            given_up: list[dict[str, Any]] = []
            for row in rows:
                withheld = self._without_consent(row, consents)
                if withheld:  # consent withdrawn (or never given): the row is not sent
                    given_up.append(
                        {"b_id": row.id, "b_state": OutboxState.WITHHELD, "b_error": withheld}
                    )
                    outcomes[row.id] = DeliveryOutcome(row.id, DeliveryStatus.WITHHELD, withheld)
                    continue
                reference, version_id = cases[row.case_id]
                recipient = dict(row.recipient)
                payload = dict(row.payload)
                if with_meeting(row) and not payload.get(UNINVITED_MARK):
                    # Its attendees as of now: a department no consent covers is not named.
                    payload["meeting"] = shared_meeting(
                        payload["meeting"], consents.get(row.case_id, frozenset())
                    )
                try:
                    message = compose(
                        self.catalog.pinned(session, version_id),
                        reference=reference,
                        dedupe_key=row.dedupe_key,
                        template_id=row.template,
                        recipient=recipient,
                        payload=payload,
                        base_url=self.settings.base_url,
                        **own_channels(own, row.case_id, recipient),
                        **staff_greeting(staff, recipient),
                    )
                except Exception as exc:  # a template or address problem: not retried
                    error = f"{type(exc).__name__}: {exc}"
                    given_up.append({"b_id": row.id, "b_state": OutboxState.DEAD, "b_error": error})
                    outcomes[row.id] = DeliveryOutcome(row.id, DeliveryStatus.DEAD, error)
                    continue
                messages.append((row.id, row.attempts, message))
            if given_up:
                session.execute(_GIVE_UP, given_up)
            sends = _sends(messages)
            if self._held_for(sends) > lease:  # rows with several addresses: hold them longer
                session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.id.in_([row_id for row_id, _, _ in messages]))
                    .values(available_at=now + self._held_for(sends))
                    .execution_options(synchronize_session=False)
                )
        return messages

    @staticmethod
    def _without_consent(row: Any, consents: dict[int, frozenset[str]]) -> str | None:
        """Why a row to a department must not be sent now (its consent is missing), or None.

        Checked when the row is sent, not when it was written: a consent withdrawn in
        between stops the notification too. A withheld row is not tried again here: a
        consent recorded later releases it (back to pending) if it is still relevant
        (:func:`workflow.privacy.consents.release_withheld`), and it is checked again then.
        """
        if not to_department(row):
            return None
        if (row.payload or {}).get(UNINVITED_MARK):  # a cancellation to them: it must reach them
            return None
        kind, department = str(row.recipient.get("kind")), str(row.recipient.get("id"))
        why = withheld_reason(kind, department, consents.get(row.case_id, frozenset()))
        return None if why is None else f"{why}: withheld"

    def _record(
        self,
        row_id: int,
        status: DeliveryStatus,
        error: str | None,
        attempts: int,
        *,
        recorder: _Recorder | None = None,
    ) -> DeliveryOutcome:
        """Record what happened to a row; an unreachable store is waited for (STORE_WAIT).

        Safe to repeat: the update touches the row only while this worker still holds it.
        """
        deadline = time.monotonic() + STORE_WAIT
        delay = 0.1
        while True:
            try:
                if recorder is None:
                    with _Recorder(self.engine) as once:
                        return self._finish(row_id, status, error, attempts, once)
                return self._finish(row_id, status, error, attempts, recorder)
            except DBAPIError as exc:
                if not store_unreachable(exc) or time.monotonic() + delay > deadline:
                    raise
                # Ids and the error's type only: a database error's text may quote data.
                _log.warning(
                    "the store is unreachable (%s); outbox row %s is %s, recording it "
                    "again in %.1f s",
                    type(exc.orig).__name__,
                    row_id,
                    status,
                    delay,
                )
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _finish(
        self,
        row_id: int,
        status: DeliveryStatus,
        error: str | None,
        attempts: int,
        recorder: _Recorder,
    ) -> DeliveryOutcome:
        """Record what happened to one sent row, in its own transaction (committed now).

        Only a row this worker still holds is touched (still 'sending', with the attempt
        count it claimed it at): a row whose lease ran out belongs to another worker.
        """
        now = self.clock()
        if status is DeliveryStatus.RETRY and attempts >= self.settings.delivery_attempts:
            status = DeliveryStatus.DEAD
        retry_at = None
        if status is DeliveryStatus.RETRY:
            retry_at = now + min(timedelta(seconds=2**attempts), MAX_BACKOFF)
        recorder.finish(
            {
                "b_id": row_id,
                "b_attempts": attempts,
                "b_state": _STORED[status],
                "b_error": error,
                "b_sent_at": now if status is DeliveryStatus.SENT else None,
                "b_retry_at": retry_at,
            }
        )
        return DeliveryOutcome(row_id, status, error)


class _Recorder:
    """One database connection for a batch's outcomes: each recorded with the prebuilt
    :data:`FINISH_ROW` on one driver cursor, committed by itself (the connection is in
    autocommit: the UPDATE is its own transaction, one round trip; not a session per
    row). A connection found lost is dropped and the next outcome opens another."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection: Connection | None = None
        self.cursor: Any = None
        self._held = ExitStack()

    def __enter__(self) -> _Recorder:
        return self

    def __exit__(self, *_: object) -> None:
        self._drop()

    def _drop(self) -> None:
        self.connection = self.cursor = None
        self._held.close()  # back to the pool as it was

    def finish(self, params: dict[str, Any]) -> None:
        if self.connection is None:
            self.connection = self._held.enter_context(autocommit(self.engine))
        connection = self.connection
        try:
            raw: Any = connection.connection.dbapi_connection
            if self.cursor is None:
                self.cursor = raw.cursor()
            sql, driver_params = FINISH_ROW.prepare(connection.dialect, params)
            with translated(connection, sql):
                self.cursor.execute(sql, driver_params)
                if connection.dialect.name != "postgresql":
                    raw.commit()  # SQLite: none open (it commits each statement); kept safe
        except BaseException:
            self._drop()  # rolled back (or lost): the next outcome starts afresh
            raise


def _sessions(channels: dict[str, Channel], stack: ExitStack) -> dict[str, Channel]:
    """Each channel's session for a batch (one SMTP connection for its mails), or the
    channel itself when it has none. A channel serving several kinds gets one session."""
    opened: dict[int, Channel] = {}
    senders: dict[str, Channel] = {}
    for kind, channel in channels.items():
        session = getattr(type(channel), "session", None)
        if session is None:
            senders[kind] = channel
            continue
        if id(channel) not in opened:
            opened[id(channel)] = stack.enter_context(channel.session())  # type: ignore[attr-defined]
        senders[kind] = opened[id(channel)]
    return senders


def _sends(messages: list[tuple[int, int, OutgoingMessage]]) -> int:
    """How many sends the messages take: one per address."""
    return sum(len(message.addresses) for _, _, message in messages)
