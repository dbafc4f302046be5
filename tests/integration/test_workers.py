"""Two workers sweeping at once: every timer fires once, every notification is sent once.

On PostgreSQL timer and outbox rows are claimed with FOR UPDATE SKIP LOCKED; on SQLite
the database lets one writer through and the other backs off.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from tests.integration.conftest import Clock
from tests.support.services import SmtpSink
from workflow.engine import Actor
from workflow.runtime import Runtime
from workflow.services import Referral, YoungPersonDetails
from workflow.store.tables import HistoryEvent, OutboxRow

CASES = 60


def _sweep(runtime: Runtime) -> None:
    runtime.service.fire_due_timers(limit=10_000, chunk=7)
    while rows := runtime.deliverer.due_rows(1000):
        outcomes = runtime.deliverer.deliver_many(rows[:13])
        if all(o.status == "skipped" for o in outcomes):
            return  # what is left is held by the other worker


def test_two_concurrent_sweeps_never_fire_or_send_twice(
    runtime: Runtime, smtp: SmtpSink, clock: Clock
) -> None:
    from datetime import date

    actor = Actor("caseworker", "cw")
    requests = [
        Referral(
            "soroe",
            YoungPersonDetails(f"Person {i}", f"{i:010d}", date(2010, 1, 1)),
            actor,
            {"source": "school", "caseworker": "cw"},
        )
        for i in range(CASES)
    ]
    runtime.service.refer_many(requests)
    clock.advance(days=10)  # every case's referral deadline (5 business days) has passed

    workers = [threading.Thread(target=_sweep, args=(runtime,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    _sweep(runtime)  # anything a backed-off worker left behind

    with runtime.sessions() as session:
        fired = session.scalar(
            select(func.count())
            .select_from(HistoryEvent)
            .where(HistoryEvent.event == "timer:referral_decision_due")
        )
        states = dict(
            session.execute(select(OutboxRow.state, func.count()).group_by(OutboxRow.state)).all()
        )
    assert fired == CASES  # each timer fired exactly once
    # one referral notice per case, then the deadline's notice to caseworker and leader
    assert states == {"sent": CASES * 3}
    ids = [mail["Message-ID"] for _, mail in smtp.messages()]
    assert len(ids) == CASES * 3
    assert len(set(ids)) == len(ids)  # no notification was sent twice
