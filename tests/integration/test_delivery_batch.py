"""A batch of deliveries: one SMTP connection, one claim, and still at most one re-send.

``deliver_many`` claims its rows with one statement, sends the batch's mails on one SMTP
connection (logged in once) and records each outcome before the next send. These tests
count connections at a real SMTP server (aiosmtpd on 127.0.0.1), refuse a recipient in
the middle of a batch (RSET, the connection kept), close the connection under the sender
(a new one is opened, nothing sent twice), let another worker hold some rows (only the
rest are claimed), and kill a process in the middle of a batch (only the mail in flight is
sent again).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, select, text, update

from tests.integration.conftest import Clock
from tests.support.faults import ROOT, InThread
from tests.support.services import SmtpSink, free_port, wait_until
from workflow.cases.model import Referral, YoungPersonDetails
from workflow.delivery.channels import SmtpChannel
from workflow.delivery.message import Address, OutgoingMessage
from workflow.delivery.outbox import Deliverer
from workflow.engine.model import Actor
from workflow.runtime import Runtime
from workflow.store.driver import autocommit
from workflow.store.states import OutboxState
from workflow.store.tables import OutboxRow

CASEWORKER_MAIL = "sagsbehandling@soroe.example"
_MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>]+>)", re.MULTILINE | re.IGNORECASE)


@dataclass
class CountingSink:
    """An SMTP server that notes the connection each mail came on, and can refuse a
    recipient at RCPT or close every open connection."""

    port: int
    refusing: set[str] = field(default_factory=set)
    #: (connection, recipient, Message-ID) per mail taken.
    taken: list[tuple[int, str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    servers: list[Any] = field(default_factory=list)
    controller: Controller | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refusing:
            self.refused.append(address)
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if server not in self.servers:
            self.servers.append(server)
        found = _MESSAGE_ID.search(bytes(envelope.content))
        for rcpt in envelope.rcpt_tos:
            self.taken.append((self.servers.index(server), rcpt, found.group(1).decode()))
        return "250 OK"

    def close_connections(self) -> None:
        """The server closes every connection it has (an idle timeout, a restart)."""
        assert self.controller is not None
        for server in self.servers:
            self.controller.loop.call_soon_threadsafe(server.transport.close)
        wait_until(
            lambda: all(s.transport is None or s.transport.is_closing() for s in self.servers),
            "the connections closed",
        )


@pytest.fixture
def sink() -> Iterator[CountingSink]:
    counting = CountingSink(free_port())
    counting.controller = Controller(counting, hostname="127.0.0.1", port=counting.port)
    counting.controller.start()
    try:
        yield counting
    finally:
        counting.controller.stop()


def _message(n: int, to: str) -> tuple[OutgoingMessage, Address]:
    address = Address("email", to)
    message = OutgoingMessage(
        f"SOR-2026-0001:{n}:1:department:skole",
        "SOR-2026-0001",
        f"Besked {n} – formøde",
        "Kære skole\n",
        "<p>Kære skole</p>",
        {"kind": "department", "id": "skole"},
        (address,),
    )
    return message, address


def test_a_session_sends_many_mails_on_one_connection(sink: CountingSink) -> None:
    channel = SmtpChannel("127.0.0.1", sink.port, "kui@soroe.example")
    with channel.session() as session:
        for n in range(5):
            session.send(*_message(n, "skole@soroe.example"))
    assert [connection for connection, _, _ in sink.taken] == [0] * 5
    assert len({mid for _, _, mid in sink.taken}) == 5


def test_a_refused_recipient_is_answered_with_rset_and_the_connection_kept(
    sink: CountingSink,
) -> None:
    channel = SmtpChannel("127.0.0.1", sink.port, "kui@soroe.example")
    sink.refusing.add("uu@soroe.example")
    with channel.session() as session:
        session.send(*_message(1, "skole@soroe.example"))
        with pytest.raises(Exception, match="550") as refused:
            session.send(*_message(2, "uu@soroe.example"))
        assert type(refused.value).__name__ == "SMTPRecipientsRefused"  # final: dead
        session.send(*_message(3, "skole@soroe.example"))
        assert session.connections == 1
    assert [(c, to) for c, to, _ in sink.taken] == [
        (0, "skole@soroe.example"),
        (0, "skole@soroe.example"),
    ]
    assert sink.refused == ["uu@soroe.example"]


def test_a_connection_closed_by_the_server_is_opened_again_and_nothing_is_sent_twice(
    sink: CountingSink,
) -> None:
    channel = SmtpChannel("127.0.0.1", sink.port, "kui@soroe.example")
    with channel.session() as session:
        session.send(*_message(1, "skole@soroe.example"))
        sink.close_connections()
        session.send(*_message(2, "skole@soroe.example"))
        session.send(*_message(3, "skole@soroe.example"))
        assert session.connections == 2
    assert [c for c, _, _ in sink.taken] == [0, 1, 1]
    assert len({mid for _, _, mid in sink.taken}) == 3


def _refer(runtime: Runtime, count: int, first: int = 0) -> list[int]:
    """``count`` referrals: each one notice to the caseworker (a mail)."""
    runtime.service.refer_many(
        [
            Referral(
                "soroe",
                YoungPersonDetails(f"Person {i}", f"010110{4000 + i:04d}", date(2010, 1, 1)),
                Actor("caseworker", "cw"),
                {"source": "school", "caseworker": "cw"},
            )
            for i in range(first, first + count)
        ]
    )
    return runtime.deliverer.due_rows(1000)


def _states(runtime: Runtime, ids: list[int]) -> list[tuple[str, int]]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(OutboxRow.state, OutboxRow.attempts)
            .where(OutboxRow.id.in_(ids))
            .order_by(OutboxRow.id)
        )
        return [(state, attempts) for state, attempts in rows]


def test_a_batch_of_mails_goes_on_one_smtp_connection(runtime: Runtime, sink: CountingSink) -> None:
    ids = _refer(runtime, 6)
    settings = runtime.settings.model_copy(update={"smtp_port": sink.port})
    outcomes = Deliverer(runtime.uow, settings).deliver_many(ids)

    assert [o.status for o in outcomes] == ["sent"] * 6
    assert [(c, to) for c, to, _ in sink.taken] == [(0, CASEWORKER_MAIL)] * 6
    assert len({mid for _, _, mid in sink.taken}) == 6
    assert _states(runtime, ids) == [("sent", 1)] * 6


def test_a_batch_claims_only_the_rows_no_other_worker_holds(
    runtime: Runtime, smtp: SmtpSink, clock: Clock
) -> None:
    ids = _refer(runtime, 6)
    held = ids[1::2]  # another worker claimed these and is sending them (lease running)
    with runtime.sessions() as session, session.begin():
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(held))
            .values(
                state=OutboxState.SENDING, attempts=1, available_at=clock.now + timedelta(minutes=5)
            )
        )
    outcomes = runtime.deliverer.deliver_many(ids)

    assert {o.row_id: str(o.status) for o in outcomes} == {
        row: "skipped" if row in held else "sent" for row in ids
    }
    assert len(smtp.received) == 3
    assert _states(runtime, held) == [("sending", 1)] * 3


def test_rows_locked_by_another_postgresql_transaction_are_skipped_not_waited_for(
    runtime: Runtime, smtp: SmtpSink
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("row locks (FOR UPDATE SKIP LOCKED) are PostgreSQL's")
    ids = _refer(runtime, 4)
    locked = ids[:2]
    other = create_engine(runtime.settings.store_url)
    try:
        with other.connect() as connection, connection.begin():
            connection.execute(
                text("SELECT id FROM outbox WHERE id IN (:a, :b) FOR UPDATE"),
                {"a": locked[0], "b": locked[1]},
            )
            batch = InThread(lambda: runtime.deliverer.deliver_many(ids))
            outcomes = batch.join(60)  # waiting for the lock would not return
    finally:
        other.dispose()
    assert {o.row_id: str(o.status) for o in outcomes} == {
        row: "skipped" if row in locked else "sent" for row in ids
    }
    assert _states(runtime, locked) == [("pending", 0)] * 2


def test_a_process_killed_mid_batch_sends_only_the_mail_in_flight_again(
    runtime: Runtime, smtp: SmtpSink, clock: Clock, tmp_path: Path
) -> None:
    """One batch of 8 mails in a process of its own, killed (SIGKILL) while the SMTP
    server holds its 4th mail, which the server took; then the lease runs out and the
    rows are delivered again."""
    ids = _refer(runtime, 8)
    smtp.hold(4, accepted=True)
    env = {
        **os.environ,
        "WORKFLOW_DATABASE_URL": runtime.settings.store_url,
        "WORKFLOW_SMTP_HOST": "127.0.0.1",
        "WORKFLOW_SMTP_PORT": str(smtp.port),
        "WORKFLOW_HOME": str(runtime.settings.home),
        "WORKFLOW_BASE_URL": runtime.settings.base_url,
    }
    log = (tmp_path / "batch.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.deliver_batch", *map(str, ids)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        smtp.wait_held(4, alive=lambda: worker.poll() is None)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
        log.close()
    assert worker.returncode == -signal.SIGKILL, (tmp_path / "batch.log").read_text()
    smtp.release(4)  # answers a dead peer
    in_flight = str(smtp.messages()[-1][1]["Message-ID"])

    # Recorded as sent: exactly the three mails answered before the kill.
    assert _states(runtime, ids) == [("sent", 1)] * 3 + [("sending", 1)] * 5

    clock.now = datetime.now(UTC) + timedelta(hours=1)  # the dead worker's lease ran out
    assert Counter(str(o.status) for o in runtime.deliverer.deliver_many(ids)) == Counter(
        sent=5, skipped=3
    )
    got = Counter(str(m["Message-ID"]) for _, m in smtp.messages())
    assert len(got) == 8
    assert {mid: n for mid, n in got.items() if n > 1} == {in_flight: 2}
    assert _states(runtime, ids) == [("sent", 1)] * 3 + [("sent", 2)] * 5


class _Watching:
    """The SMTP channel, noting what another connection sees of the rows before each send."""

    def __init__(self, inner: SmtpChannel, look: Callable[[], list[int]]) -> None:
        self.inner, self.look, self.seen = inner, look, list[int]()

    def send(self, message: OutgoingMessage, address: Address) -> None:
        raise AssertionError("a batch sends through its session")

    @contextmanager
    def session(self) -> Iterator[_Watching]:
        with self.inner.session() as session:
            self._session = session
            yield self

    def send_in_session(self, message: OutgoingMessage, address: Address) -> None:
        self.seen.append(len(self.look()))
        self._session.send(message, address)


def test_each_outcome_of_a_batch_is_committed_before_the_next_send(
    runtime: Runtime, sink: CountingSink
) -> None:
    """What another connection sees before each send of a batch: every earlier mail
    recorded as sent (a process that dies loses at most the one in flight)."""
    ids = _refer(runtime, 4)
    deliverer = Deliverer(runtime.uow, runtime.settings)

    def sent() -> list[int]:
        return [
            i for i, (state, _) in zip(ids, _states(runtime, ids), strict=True) if state == "sent"
        ]

    watching = _Watching(SmtpChannel("127.0.0.1", sink.port, "kui@soroe.example"), sent)
    watching.send = watching.send_in_session  # type: ignore[method-assign]
    deliverer.channels["email"] = watching
    assert [str(o.status) for o in deliverer.deliver_many(ids)] == ["sent"] * 4
    assert watching.seen == [0, 1, 2, 3]
    assert [c for c, _, _ in sink.taken] == [0] * 4


def test_the_connection_outcomes_are_recorded_on_goes_back_to_the_pool_as_it_was(
    runtime: Runtime,
) -> None:
    """Autocommit for the batch only: SQLite's connections stay as the store set them
    (no implicit transactions), PostgreSQL's go back to transactions."""
    postgres = runtime.engine.dialect.name == "postgresql"
    with autocommit(runtime.engine) as connection:
        raw: Any = connection.connection.dbapi_connection
        assert raw.autocommit is True if postgres else raw.isolation_level is None
    if postgres:
        assert raw.autocommit is False
    else:
        assert raw.isolation_level is None
