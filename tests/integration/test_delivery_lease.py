"""The outbox lease outlasts a claimed batch at the configured delivery timeout; drain's rounds.

A worker claims a batch of outbox rows with a lease (``available_at`` in the future) and
sends them one after another; until the lease runs out no other worker takes them. Each
send may take the channels' timeout (``WORKFLOW_DELIVERY_TIMEOUT``, up to 300 s), so the
lease must outlast the whole batch at that timeout, or a second worker sends again rows
the first has not reached yet.
"""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import select

from tests.integration.conftest import Clock, settings_for
from tests.support.services import SmtpSink
from workflow.cases.model import Referral, YoungPersonDetails
from workflow.delivery.message import Address, OutgoingMessage
from workflow.delivery.outbox import Channel, Deliverer
from workflow.engine.model import Actor
from workflow.runtime import Runtime, build_runtime
from workflow.settings import Settings
from workflow.store.tables import OutboxRow
from workflow.store.unit_of_work import UnitOfWork

ROWS = 5  # referrals, each one notice to the caseworker
TIMEOUT = 120  # seconds, WORKFLOW_DELIVERY_TIMEOUT


class HeldChannel:
    """A channel whose sends wait until the test lets them through (a slow receiver)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.sent: list[tuple[str, str]] = []

    def send(self, message: OutgoingMessage, address: Address) -> None:
        self.started.set()
        if not self.release.wait(timeout=60):
            raise RuntimeError("the test never let the send through")
        self.sent.append((message.dedupe_key, address.kind))


class QuickChannel:
    """A channel that records what it sends at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, message: OutgoingMessage, address: Address) -> None:
        self.sent.append((message.dedupe_key, address.kind))


def _every_kind(channel: Channel) -> dict[str, Channel]:
    return {"email": channel, "webhook": channel, "file": channel}


def _referrals(count: int) -> list[Referral]:
    return [
        Referral(
            "soroe",
            YoungPersonDetails(f"Person {i}", f"010110{4000 + i:04d}", date(2010, 1, 1)),
            Actor("caseworker", "cw"),
            {"source": "school", "caseworker": "cw"},
        )
        for i in range(count)
    ]


def _slow_settings(
    store_url: str, smtp: SmtpSink, home: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("WORKFLOW_DELIVERY_TIMEOUT", str(TIMEOUT))
    settings = settings_for(store_url, smtp, home)
    assert settings.delivery_timeout == TIMEOUT
    return settings


def _race(runtime: Runtime, held: HeldChannel, clock: Clock, minutes: float) -> QuickChannel:
    """A first worker sends the outbox through ``held``; ``minutes`` into its first send, a
    second worker drains the outbox. Returns the second worker's channel."""
    rows = runtime.deliverer.due_rows(100)
    assert len(rows) == ROWS
    outcomes: list[Any] = []
    first = threading.Thread(target=lambda: outcomes.extend(runtime.deliverer.deliver_many(rows)))
    first.start()
    try:
        assert held.started.wait(timeout=30)  # claimed and committed; sending the first row
        clock.advance(minutes=minutes)
        quick = QuickChannel()
        second = Deliverer(runtime.uow, runtime.settings, _every_kind(quick))
        second.drain()
    finally:
        held.release.set()
        first.join(timeout=60)
    assert [o.status for o in outcomes] == ["sent"] * ROWS
    return quick


def test_a_second_deliverer_does_not_take_rows_the_first_is_still_sending(
    store_url: str, smtp: SmtpSink, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five rows at 120 s a send may take ten minutes: nine minutes in, the first worker may
    still be sending its last row. That is past the old lease (five minutes, from a fixed
    10 s send timeout) but must be within the lease it holds the rows by."""
    held = HeldChannel()
    runtime = build_runtime(
        _slow_settings(store_url, smtp, tmp_path / "var", monkeypatch),
        clock=clock,
        channels=_every_kind(held),
    )
    try:
        runtime.service.refer_many(_referrals(ROWS))
        claimed_at = clock()
        quick = _race(runtime, held, clock, minutes=9)
        assert quick.sent == []  # the second worker took nothing
        assert len(held.sent) == ROWS
        assert len({key for key, _ in held.sent}) == ROWS  # each row sent once
        with runtime.sessions() as session:
            states = session.scalars(select(OutboxRow.state)).all()
            leases = session.scalars(select(OutboxRow.available_at)).all()
        assert states == ["sent"] * ROWS
        # Held for at least every send of the batch at the full timeout.
        assert all(at >= claimed_at + timedelta(seconds=ROWS * TIMEOUT) for at in leases)
    finally:
        runtime.engine.dispose()


def test_rows_to_several_addresses_are_held_for_every_send(
    sqlite_url: str, smtp: SmtpSink, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caseworker role with a mail address, a webhook and a file drop: each row is three
    sends, so the batch may take three times as long, and the lease covers that too."""
    definitions = tmp_path / "definitions"
    shutil.copytree(Path(__file__).parents[2] / "definitions", definitions)
    soroe = definitions / "soroe.yaml"
    mail = "channels: [{kind: email, address: sagsbehandling@soroe.example}]"
    three = mail[:-1] + (
        ", {kind: webhook, address: 'https://sager.soroe.example/hook'}"
        ", {kind: file, address: var/sager}]"
    )
    assert soroe.read_text(encoding="utf-8").count(mail) == 1
    soroe.write_text(soroe.read_text(encoding="utf-8").replace(mail, three), encoding="utf-8")
    settings = _slow_settings(sqlite_url, smtp, tmp_path / "var", monkeypatch)
    held = HeldChannel()
    runtime = build_runtime(
        settings.model_copy(update={"definitions_dir": definitions}),
        clock=clock,
        channels=_every_kind(held),
    )
    try:
        runtime.service.refer_many(_referrals(ROWS))
        claimed_at = clock()
        # Fifteen sends at 120 s: 29 minutes in, the last may still be under way.
        quick = _race(runtime, held, clock, minutes=29)
        assert quick.sent == []
        assert Counter(kind for _, kind in held.sent) == {
            "email": ROWS,
            "webhook": ROWS,
            "file": ROWS,
        }
        with runtime.sessions() as session:
            leases = session.scalars(select(OutboxRow.available_at)).all()
        assert all(at >= claimed_at + timedelta(seconds=3 * ROWS * TIMEOUT) for at in leases)
    finally:
        runtime.engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'workflow.db'}"


class _ScriptedDeliverer(Deliverer):
    """A deliverer whose due rows come from a script: one list of row ids per round."""

    def __init__(self, rounds: list[list[int]]) -> None:
        uow = cast(UnitOfWork, SimpleNamespace(sessions=None, catalog=None, clock=None))
        super().__init__(uow, Settings(sweep_batch=100), channels=_every_kind(QuickChannel()))
        self.rounds = rounds

    def due_rows(
        self, limit: int, now: Any = None, leaving: Any = (), left_since: Any = None
    ) -> list[int]:
        return self.rounds.pop(0) if self.rounds else []


def test_drain_goes_on_after_a_round_with_some_rows_skipped() -> None:
    """Skipped rows of an earlier round do not end a later round that sent everything."""
    outcomes = {
        1: "skipped", 2: "skipped", 3: "skipped", 4: "sent", 5: "sent",
        6: "sent", 7: "sent",
        8: "sent",
    }  # fmt: skip
    deliverer = _ScriptedDeliverer([[1, 2, 3, 4, 5], [6, 7], [8]])
    chunks: list[list[int]] = []

    def deliver(ids: list[int]) -> dict[str, int]:
        chunks.append(ids)
        return dict(Counter(outcomes[i] for i in ids))

    delivered = deliverer.drain(chunk=2, deliver=deliver)
    assert chunks == [[1, 2], [3, 4], [5], [6, 7], [8]]
    assert delivered == {"sent": 5, "skipped": 3}


def test_drain_stops_when_a_whole_round_was_skipped() -> None:
    """Rows due but all held by another worker (or a locked SQLite) end the drain, even
    when that round came in several chunks."""
    deliverer = _ScriptedDeliverer([[1, 2], [3, 4, 5], [3, 4, 5], [9]])
    sent = {1, 2}

    def deliver(ids: list[int]) -> dict[str, int]:
        return dict(Counter("sent" if i in sent else "skipped" for i in ids))

    delivered = deliverer.drain(chunk=2, deliver=deliver)
    assert delivered == {"sent": 2, "skipped": 3}
    assert deliverer.rounds == [[3, 4, 5], [9]]  # not asked again


class SlowChannel:
    """A channel each of whose sends takes the whole delivery timeout on the test's clock,
    calling ``before[n]`` (if any) before its n-th send."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        self.clock, self.seconds = clock, seconds
        self.before: dict[int, Any] = {}
        self.sent: list[str] = []

    def send(self, message: OutgoingMessage, address: Address) -> None:
        if len(self.sent) in self.before:
            self.before[len(self.sent)]()
        self.clock.advance(seconds=self.seconds)
        self.sent.append(message.dedupe_key)


def test_a_long_batch_holds_a_window_of_rows_and_renews_their_lease_as_it_goes(
    sqlite_url: str, smtp: SmtpSink, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a 300 s timeout a batch of 30 rows may take 2.5 hours: the claim holds the rows
    for ten sends (a dead worker's rows come back within that, not hours later), and the
    worker renews the lease of the rows it has not sent yet as it goes, so a second worker
    draining 25 sends in takes nothing."""
    monkeypatch.setenv("WORKFLOW_DELIVERY_TIMEOUT", "300")
    batch = 30
    slow, quick = SlowChannel(clock, 300), QuickChannel()
    runtime = build_runtime(
        settings_for(sqlite_url, smtp, tmp_path / "var"), clock=clock, channels=_every_kind(slow)
    )
    try:
        second = Deliverer(runtime.uow, runtime.settings, _every_kind(quick))
        runtime.service.refer_many(_referrals(batch))
        rows = runtime.deliverer.due_rows(100)
        assert len(rows) == batch
        claimed_at = clock()
        first_lease: list[Any] = []
        slow.before = {0: lambda: first_lease.extend(_leases(runtime)), 25: second.drain}
        outcomes = runtime.deliverer.deliver_many(rows)
        assert [o.status for o in outcomes] == ["sent"] * batch
        assert len(first_lease) == batch
        assert max(first_lease) == claimed_at + timedelta(seconds=2 * 300 * 10)
        assert quick.sent == []  # the second worker took nothing
        assert len(slow.sent) == len(set(slow.sent)) == batch
    finally:
        runtime.engine.dispose()


def _leases(runtime: Runtime) -> list[Any]:
    with runtime.sessions() as session:
        return list(
            session.scalars(select(OutboxRow.available_at).where(OutboxRow.state == "sending"))
        )
