"""Two workers sweeping at once: every timer fires once, every notification is sent once.

On PostgreSQL timer and outbox rows are claimed with FOR UPDATE SKIP LOCKED; on SQLite
the database lets one writer through and the other backs off.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from tests.integration.conftest import Clock, settings_for
from tests.support.services import SmtpSink, create_database
from workflow.cases.model import Referral, YoungPersonDetails
from workflow.engine.model import Actor
from workflow.runtime import Runtime, build_runtime
from workflow.store.tables import Case, HistoryEvent, OutboxRow

CASES = 60


def referrals(count: int) -> list[Referral]:
    """Sorø referrals with the caseworker ``cw``, each due a decision in 5 business days."""
    return [
        Referral(
            "soroe",
            YoungPersonDetails(f"Person {i}", f"010110{4000 + i:04d}", date(2010, 1, 1)),
            Actor("caseworker", "cw"),
            {"source": "school", "caseworker": "cw"},
        )
        for i in range(count)
    ]


def _sweep(runtime: Runtime) -> None:
    runtime.service.fire_due_timers(limit=10_000, chunk=7)
    while rows := runtime.deliverer.due_rows(1000):
        outcomes = runtime.deliverer.deliver_many(rows[:13])
        if all(o.status == "skipped" for o in outcomes):
            return  # what is left is held by the other worker


def test_two_concurrent_sweeps_never_fire_or_send_twice(
    runtime: Runtime, smtp: SmtpSink, clock: Clock
) -> None:
    runtime.service.refer_many(referrals(CASES))
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


def test_a_case_changed_while_the_sweep_fires_it_is_left_for_the_next_sweep(
    pg_server: str, smtp: SmtpSink, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL (read committed): a step commits between the sweep's read and write.

    The sweep's write then finds the case's next history number taken; that timer is
    skipped (it stays due) and the rest of the chunk fires. (SQLite serialises writers:
    a step cannot commit inside the sweep's transaction there.)
    """
    import workflow.cases.timers as sweeping

    runtime = build_runtime(
        settings_for(create_database(pg_server), smtp, tmp_path / "var"), clock=clock
    )
    try:
        references = [r.reference for r in runtime.service.refer_many(referrals(3))]  # type: ignore[union-attr]
        changed = references[0]
        clock.advance(days=10)
        loaded_by_sweep = sweeping.load_case_by_id

        def load_then_change(connection: Any, case_id: int) -> Any:
            loaded = loaded_by_sweep(connection, case_id)
            if loaded is not None and loaded.case.reference == changed:
                with runtime.engine.begin() as other:  # a step by someone else, committed
                    other.execute(
                        update(Case)
                        .where(Case.id == case_id)
                        .values(version=Case.version + 1, last_seq=Case.last_seq + 1)
                    )
                    other.execute(
                        insert(HistoryEvent).values(
                            case_id=case_id,
                            seq=loaded.case.last_seq + 1,
                            event="note",
                            transition="note",
                            from_stage="referred",
                            to_stage="referred",
                            inputs={},
                            effects=[],
                            actor_role="caseworker",
                            actor_id="cw",
                            at=clock(),
                        )
                    )
            return loaded

        monkeypatch.setattr(sweeping, "load_case_by_id", load_then_change)
        fired = runtime.service.fire_due_timers()
        assert sorted(r.reference for r in fired) == references[1:]
        monkeypatch.setattr(sweeping, "load_case_by_id", loaded_by_sweep)
        assert [r.reference for r in runtime.service.fire_due_timers()] == [changed]
    finally:
        runtime.engine.dispose()
