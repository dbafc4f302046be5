"""Load, bookkeeping and fault switches shared by the fault tests (test_faults.py)."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.support.case_api import (
    ACCEPT,
    CASEWORKER,
    PRE_MEETING,
    REFERRAL_INPUTS,
)
from tests.support.services import (
    SmtpSink,
)
from workflow.cases.model import StepResult, YoungPersonDetails
from workflow.delivery.channels import file_name
from workflow.delivery.mail import message_id
from workflow.delivery.message import addresses_of
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime
from workflow.store.tables import Case, HistoryEvent, OutboxRow

ROOT = Path(__file__).resolve().parents[2]
#: A case at the first meeting; its notifications: the referral notice to the caseworker,
#: then school, youth guidance and coordinator by mail and the guardian's letter (file).
#: Recording the consent is a step of its own (the base takes the event consent_given).
STEPS = ["refer", "accept_referral", "consent_given", "hold_pre_meeting"]


# ---------------------------------------------------------------- load and bookkeeping


def person(number: int) -> YoungPersonDetails:
    return YoungPersonDetails(
        f"Ung Fejltest{number}", f"010110{4000 + number % 6000:04d}", date(2010, 1, 1)
    )


def open_cases(
    runtime: Runtime,
    numbers: range,
    team: list[str] | None = None,
    steps: list[StepResult] | None = None,
) -> list[str]:
    """Cases taken to the first meeting: referral, acceptance, consent, pre-meeting.

    ``steps`` collects the steps taken (to carry each out by its own flow run)."""
    references = []
    taken = steps if steps is not None else []
    departments = team or ["skole", "uu"]
    inputs = {
        **PRE_MEETING,
        "team": [{"department": d, "person": f"{d}-kontakt{i}"} for i, d in enumerate(departments)],
    }
    for number in numbers:
        opened = runtime.service.refer(
            "soroe", person(number), CASEWORKER, REFERRAL_INPUTS, idempotency_key=f"r{number}"
        )
        taken.append(opened)
        taken.append(
            runtime.service.trigger(opened.reference, "accept_referral", ACCEPT, CASEWORKER)
        )
        runtime.consents.give(
            opened.reference, CASEWORKER, ConsentRequest(departments, guardian=True)
        )
        taken.append(
            runtime.service.trigger(opened.reference, "hold_pre_meeting", inputs, CASEWORKER)
        )
        references.append(opened.reference)
    return references


@dataclass(frozen=True)
class Row:
    """An outbox row as the tests see it: where it goes and the dedupe key receivers see."""

    id: int
    reference: str
    state: str
    attempts: int
    channel: str
    address: str
    key: str
    message_id: str
    last_error: str | None


def outbox(runtime: Runtime) -> list[Row]:
    with runtime.sessions() as session:
        found = session.execute(
            select(OutboxRow, Case.reference, Case.definition_version_id)
            .join(Case, Case.id == OutboxRow.case_id)
            .order_by(OutboxRow.id)
        ).all()
        rows = []
        for row, reference, version in found:
            definition = runtime.catalog.pinned(session, version)
            addresses = addresses_of(definition, dict(row.recipient))
            assert len(addresses) == 1
            rows.append(
                Row(
                    row.id,
                    reference,
                    row.state,
                    row.attempts,
                    addresses[0].kind,
                    addresses[0].address,
                    row.dedupe_key,
                    message_id(row.dedupe_key),
                    row.last_error,
                )
            )
    return rows


def history(runtime: Runtime) -> dict[str, list[str]]:
    """Every case's events in order (a lost or doubled transition shows here)."""
    with runtime.sessions() as session:
        found = session.execute(
            select(Case.reference, HistoryEvent.seq, HistoryEvent.event)
            .join(Case, Case.id == HistoryEvent.case_id)
            .order_by(Case.reference, HistoryEvent.seq)
        ).all()
    events: dict[str, list[str]] = {}
    for reference, seq, event in found:
        events.setdefault(reference, []).append(event)
        assert len(events[reference]) == seq, f"{reference}: a gap or a double at seq {seq}"
    return events


def receptions(sink: SmtpSink) -> Counter[tuple[str, str]]:
    """Physical receptions per (recipient, Message-ID)."""
    return Counter((to, str(mail["Message-ID"])) for to, mail in sink.messages())


def assert_delivered_once(
    runtime: Runtime, sink: SmtpSink, letters: Path, *, resent: frozenset[str] = frozenset()
) -> list[Row]:
    """Every row sent; every mail received by its recipient once per Message-ID, physically
    once too except the Message-IDs in ``resent`` (exactly twice); every letter written."""
    rows = outbox(runtime)
    assert Counter(r.state for r in rows) == Counter(sent=len(rows))
    mails = [r for r in rows if r.channel == "email"]
    got = receptions(sink)
    assert sorted(got) == sorted((r.address, r.message_id) for r in mails)  # none lost
    doubled = {mid: n for (_, mid), n in got.items() if n != 1}
    assert doubled == dict.fromkeys(resent, 2)
    files = {p.name for p in letters.glob("*.eml")}
    assert files == {file_name(r.key) for r in rows if r.channel == "file"}
    return rows


class InThread:
    """``call`` run in a thread with this context (Prefect's settings live in it)."""

    def __init__(self, call: Callable[[], Any]) -> None:
        context = contextvars.copy_context()
        self.outcome: list[Any] = []
        self.failure: list[BaseException] = []

        def target() -> None:
            try:
                self.outcome.append(context.run(call))
            except BaseException as exc:
                self.failure.append(exc)

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def running(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float) -> Any:
        """Its result (bounded wait); re-raises what it raised."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"still running after {timeout} s"
        if self.failure:
            raise self.failure[0]
        return self.outcome[0]


class LogSignal(logging.Handler):
    """Keeps the records of a logger that contain a text, and signals the first."""

    def __init__(self, logger: str, needle: str) -> None:
        super().__init__()
        self.logger, self.needle = logging.getLogger(logger), needle
        self.seen, self.records = threading.Event(), list[logging.LogRecord]()

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            self.records.append(record)
            self.seen.set()

    def __enter__(self) -> LogSignal:
        assert self.logger.isEnabledFor(logging.WARNING)
        self.logger.addHandler(self)
        return self

    def __exit__(self, *_: object) -> None:
        self.logger.removeHandler(self)
