"""Faults with real parts: each test drives several cases, injects a fault at a known point,
recovers, and counts from the receivers' side and from the store.

What every test shows: each notification the definition produced is delivered, and
received exactly once per (recipient, dedupe key); physical receptions are counted too,
and where a re-send cannot be avoided (the receiver took the message, the sender died
before recording it) the copies carry the same dedupe key and the test states exactly
how many there are. Each transition is in the history exactly once.

The faults: a process killed after its commit; a worker killed (SIGKILL) mid-delivery;
the SMTP server down for a while, then back; PostgreSQL restarted mid-run; the Prefect
server unavailable (stopped, then hung) while caseworkers take steps; a webhook receiver
that stalls past the sender's timeout. Faults are injected when a receiver signals that
message k arrived, never after a guessed sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text, update

from tests.integration.conftest import Clock, settings_for
from tests.support.case_api import (
    ACCEPT,
    CASEWORKER,
    FIRST_MEETING,
    PRE_MEETING,
    REFERRAL_INPUTS,
    START_CONSENT,
    bearer,
    create_staff,
)
from tests.support.faults import (
    ROOT,
    STEPS,
    InThread,
    LogSignal,
    assert_delivered_once,
    history,
    open_cases,
    outbox,
    person,
    receptions,
)
from tests.support.services import (
    PostgresCluster,
    SmtpSink,
    TcpProxy,
    WebhookReceiver,
    create_database,
    postgres_cluster,
    run_async,
    wait_until,
)
from workflow.cases.model import StepResult
from workflow.orchestration.flows import run_step
from workflow.orchestration.sweep import run_sweep
from workflow.runtime import Runtime, build_runtime, use_runtime
from workflow.store.tables import OutboxRow
from workflow.web.app import create_app


@pytest.fixture
def pg_runtime(pg_server: str, smtp: SmtpSink, clock: Clock, tmp_path: Path) -> Iterator[Runtime]:
    rt = build_runtime(
        settings_for(create_database(pg_server), smtp, tmp_path / "var"), clock=clock
    )
    use_runtime(rt)
    yield rt
    use_runtime(None)
    rt.engine.dispose()


# ---------------------------------------------------------------- processes killed


def test_a_process_killed_after_commit_loses_nothing_and_the_sweep_sends_once(
    runtime: Runtime, smtp: SmtpSink, prefect_api: Path, tmp_path: Path, clock: Clock
) -> None:
    env = {
        **os.environ,
        "WORKFLOW_DATABASE_URL": runtime.settings.store_url,
        "WORKFLOW_SMTP_HOST": "127.0.0.1",
        "WORKFLOW_SMTP_PORT": str(smtp.port),
        "WORKFLOW_HOME": str(tmp_path / "var"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.crash_after_commit"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 137, done.stderr
    step = json.loads(done.stdout.splitlines()[-1])
    assert step["reference"] == "SOR-2026-0001"
    assert smtp.received == []  # nothing was sent before the kill
    clock.now = datetime.now(UTC)  # the crashed process ran on the real clock
    assert history(runtime) == {"SOR-2026-0001": STEPS}  # every committed step is there
    pending = outbox(runtime)
    # referral to the caseworker, two team members, the coordinator, the young person and
    # the guardian (a minor; both without their own channels: Digital Post)
    assert Counter(r.state for r in pending) == Counter(pending=6)

    summary = run_async(run_sweep())
    assert summary["delivered"] == {"sent": 6}
    assert sorted(to for to, _ in smtp.messages()) == [
        "sagsbehandling@soroe.example",
        "skole@soroe.example",
        "tovholdere@soroe.example",
        "uu@soroe.example",
    ]
    again = run_async(run_sweep())
    assert again["delivered"] == {}
    assert_delivered_once(runtime, smtp, tmp_path / "var" / "digital-post")


def test_a_worker_killed_mid_delivery_resends_only_the_message_in_flight(
    pg_runtime: Runtime, smtp: SmtpSink, prefect_api: Path, tmp_path: Path, clock: Clock
) -> None:
    """`workflow sweep` (a real process, a real flow run) fires due timers, then delivers;
    it is killed with SIGKILL while the SMTP server holds its 9th message."""
    from prefect.settings import PREFECT_API_URL

    runtime, real_now = pg_runtime, datetime.now(UTC)
    clock.now = real_now - timedelta(days=10)  # two referrals nobody decided on in time
    stale = [
        runtime.service.refer("soroe", person(n), CASEWORKER, REFERRAL_INPUTS).reference
        for n in (1, 2)
    ]
    clock.now = real_now
    accepted = open_cases(runtime, range(3, 7))
    smtp.hold(9, accepted=True)  # the server took the 9th message, has not answered yet
    env = {
        **os.environ,
        "WORKFLOW_DATABASE_URL": runtime.settings.store_url,
        "WORKFLOW_SMTP_HOST": "127.0.0.1",
        "WORKFLOW_SMTP_PORT": str(smtp.port),
        "WORKFLOW_HOME": str(runtime.settings.home),
        "WORKFLOW_BASE_URL": runtime.settings.base_url,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_HOME": str(tmp_path / "worker-prefect"),
        "DO_NOT_TRACK": "1",
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [str(Path(sys.executable).with_name("workflow")), "sweep"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        smtp.wait_held(9, alive=lambda: worker.poll() is None)
    finally:
        worker.kill()  # SIGKILL
        worker.wait(30)
        log.close()
    assert worker.returncode == -signal.SIGKILL, (tmp_path / "worker.log").read_text()
    smtp.release(9)  # answers a dead peer
    in_flight = str(smtp.messages()[-1][1]["Message-ID"])

    # What the killed worker committed stays: each timer fired once, each step once.
    timer = "timer:referral_decision_due"
    expected = {ref: ["refer", timer] for ref in stale} | dict.fromkeys(accepted, STEPS)
    assert history(runtime) == expected
    rows = outbox(runtime)
    # 2 x (referral + deadline to caseworker and leader) + 4 x 4 mails, 4 x 2 letters (the
    # young person and the guardian, by Digital Post)
    assert Counter(r.channel for r in rows) == Counter(email=22, file=8)
    got = {mid for _, mid in receptions(smtp)}
    assert len(got) == 9
    for row in rows:  # recorded as sent exactly when it went out before the kill
        if row.channel == "email":
            sent_before = row.message_id in got and row.message_id != in_flight
            assert (row.state == "sent") == sent_before, row
    # The rest is leased (the batch or step the worker was in) or waiting, not lost: the
    # sweep carries steps out one run at a time, so later steps' rows were not claimed yet.
    assert "sending" in {r.state for r in rows}
    assert {r.state for r in rows} <= {"sent", "sending", "pending"}

    clock.now = datetime.now(UTC) + timedelta(hours=1)  # the dead worker's lease ran out
    recovered = run_async(run_sweep())
    assert recovered["timers_fired"] == 0
    assert recovered["delivered"] == {"sent": sum(r.state != "sent" for r in rows)}
    assert run_async(run_sweep())["delivered"] == {}
    done = assert_delivered_once(
        runtime, smtp, tmp_path / "var" / "digital-post", resent=frozenset({in_flight})
    )
    copies = [m for _, m in smtp.messages() if m["Message-ID"] == in_flight]
    assert [(m["To"], m["Subject"]) for m in copies[1:]] == [
        (copies[0]["To"], copies[0]["Subject"])
    ]
    resent = {r.id for r in rows if r.state == "sending"}
    assert {r.id: r.attempts for r in done} == {r.id: 2 if r.id in resent else 1 for r in rows}
    assert history(runtime) == expected


# ---------------------------------------------------------------- SMTP down


def test_smtp_down_for_a_while_then_back_sends_each_mail_once(
    sqlite_runtime: Runtime, smtp: SmtpSink, prefect_api: Path, clock: Clock, tmp_path: Path
) -> None:
    """The server dies while the 5th message is sent, stays down, comes back refusing
    mail (421), then takes it: the sweep retries with backoff; nothing is lost or doubled."""
    runtime = sqlite_runtime
    references = open_cases(runtime, range(1, 5))
    smtp.hold(5, accepted=False)
    sweeping = InThread(lambda: run_async(run_sweep()))
    smtp.wait_held(5)
    smtp.release(5, crash=True)  # the server dies before it answers
    smtp.stop()
    first = sweeping.join(60)
    assert first["delivered"] == {"sent": 4 + 8, "retry": 12}  # 4 mails and 8 letters
    waiting = [r for r in outbox(runtime) if r.state == "pending"]
    assert len(waiting) == 12
    assert "Connection unexpectedly closed" in str(waiting[0].last_error)
    assert runtime.deliverer.due_rows(100) == []  # backing off

    clock.advance(seconds=3)  # still down: connection refused
    assert run_async(run_sweep())["delivered"] == {"retry": 12}
    refused = {r.last_error for r in outbox(runtime) if r.state == "pending"}
    assert len(refused) == 1
    assert f"SMTP 127.0.0.1:{smtp.port}:" in str(refused)
    assert "Connection refused" in str(refused)
    smtp.start()
    smtp.down = True  # back, but not taking mail yet
    clock.advance(seconds=5)
    assert run_async(run_sweep())["delivered"] == {"retry": 12}
    assert all("421" in str(r.last_error) for r in outbox(runtime) if r.state == "pending")
    smtp.down = False
    clock.advance(seconds=9)
    assert run_async(run_sweep())["delivered"] == {"sent": 12}
    assert run_async(run_sweep())["delivered"] == {}

    rows = assert_delivered_once(runtime, smtp, tmp_path / "var" / "digital-post")
    retried = {r.id for r in waiting}
    assert {r.id: (r.attempts, r.last_error) for r in rows} == {
        r.id: (4 if r.id in retried else 1, None) for r in rows
    }
    assert history(runtime) == dict.fromkeys(references, STEPS)


# ---------------------------------------------------------------- PostgreSQL restarted


@pytest.fixture
def pg_cluster() -> Iterator[PostgresCluster]:
    """A cluster of this test's own: restarting it disturbs no other test."""
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture
def restarting_runtime(
    pg_cluster: PostgresCluster, smtp: SmtpSink, clock: Clock, tmp_path: Path
) -> Iterator[Runtime]:
    settings = settings_for(create_database(pg_cluster.url), smtp, tmp_path / "var")
    rt = build_runtime(settings, clock=clock)
    use_runtime(rt)
    yield rt
    use_runtime(None)
    rt.engine.dispose()


def test_postgresql_restarted_mid_run_loses_no_step_and_sends_nothing_twice(
    restarting_runtime: Runtime,
    pg_cluster: PostgresCluster,
    smtp: SmtpSink,
    prefect_api: Path,
    tmp_path: Path,
) -> None:
    """The sweep delivers through two restarts: one while the SMTP server holds the 6th
    message (its outcome is then recorded through a pool of dead connections), one that
    is still going on when the 11th message is to be recorded. Meanwhile a coordinator
    takes a step through the API: refused clearly, then retried with its key."""
    runtime = restarting_runtime
    with LogSignal("workflow.delivery.outbox", "the store is unreachable") as waiting_for_store:
        references = open_cases(runtime, range(1, 5))
        create_staff(runtime, ["lise"])
        client = TestClient(create_app(runtime), raise_server_exceptions=False)
        coordinator = bearer(client, "lise")

        def plan(number: int) -> Any:
            return client.post(
                f"/api/v1/cases/{references[number]}/events/hold_first_meeting",
                json={"inputs": FIRST_MEETING, "idempotency_key": f"plan-{number}"},
                headers=coordinator,
            )

        before = plan(0)
        assert before.status_code == 200, before.text
        smtp.hold(6, accepted=True)
        smtp.hold(11, accepted=True)
        sweeping = InThread(lambda: run_async(run_sweep()))

        smtp.wait_held(6)
        pg_cluster.stop()
        pg_cluster.start()  # every pooled connection is now dead
        repeated = plan(0)  # the client did not see its answer: sent again, same key
        assert repeated.status_code == 200, repeated.text
        assert repeated.json() == {**before.json(), "repeated": True}
        smtp.release(6)  # its outcome is recorded on a dead pooled connection

        smtp.wait_held(11)
        pg_cluster.stop()
        refused = plan(1)  # a step while the store is down
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "5"
        assert refused.json() == {
            "error": "store_unavailable",
            "message": "Sagssystemets database svarer ikke lige nu. Intet er gemt halvt; "
            "prøv igen om lidt.",  # in her locale
            "fields": [],
        }
        smtp.release(11)  # sent; its outcome waits for the store
        wait_until(
            lambda: waiting_for_store.seen.is_set() or not sweeping.running(),
            "the deliverer to wait for the store",
        )
        assert sweeping.running(), sweeping.failure  # it waits; it did not give up
        pg_cluster.start()
        # 4 pre-meetings x (2 team members, coordinator, caseworker's referral, the young
        # person, the guardian); plan-0 told the team, the coordinator (the next meeting
        # for its calendar) and the young person and guardian too
        assert sweeping.join(60)["delivered"] == {"sent": 4 * 6 + 2 + 1 + 2}

        after = plan(1)  # the same request again, with its key
        assert after.status_code == 200, after.text
        again = plan(1)
        assert again.json() == {**after.json(), "repeated": True}
        assert run_async(run_sweep())["delivered"] == {"sent": 2 + 1 + 2}  # as plan-0's
        rows = assert_delivered_once(runtime, smtp, tmp_path / "var" / "digital-post")
        assert {r.attempts for r in rows} == {1}  # nothing was sent twice
        first_meeting = [*STEPS, "hold_first_meeting"]
        assert history(runtime) == {
            references[0]: first_meeting,
            references[1]: first_meeting,
            references[2]: STEPS,
            references[3]: STEPS,
        }


# ---------------------------------------------------------------- Prefect unavailable


def test_prefect_unavailable_steps_commit_at_once_and_are_carried_out_when_it_returns(
    sqlite_runtime: Runtime,
    smtp: SmtpSink,
    prefect_api: Path,
    tmp_path: Path,
) -> None:
    """Caseworkers work through the API while the Prefect server is stopped, then hung;
    each step commits and answers without waiting for Prefect; no step can be handed to
    a worker, and nothing is lost: when the server is back the sweep carries every step
    out, each as a run of its own, every effect once."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from workflow.orchestration.handoff import StepHandoff

    runtime = sqlite_runtime
    create_staff(runtime, ["mette", "lise", "anna", "sara"])
    proxy = TcpProxy(urlsplit(str(PREFECT_API_URL.value())).port or 0)
    left = LogSignal("workflow.orchestration.handoff", "not handed to a worker")
    with left, temporary_settings(updates={PREFECT_API_URL: proxy.url}):
        handoff = StepHandoff(presence_ttl=0)  # asks the server before every hand-off
        app = create_app(runtime, on_step=handoff.submit)
        client = TestClient(app, raise_server_exceptions=False)
        mette = bearer(client, "mette")

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            """A request that must be answered while Prefect is away (bounded)."""
            answer = InThread(lambda: client.post(path, json=body, headers=mette)).join(30)
            assert answer.status_code in (200, 201), answer.text
            return dict(answer.json())

        def refer(number: int) -> dict[str, Any]:
            young = person(number)
            return post(
                "/api/v1/cases",
                {
                    "definition": "soroe",
                    "young_person": {
                        "name": young.name,
                        "cpr": young.cpr,
                        "birth_date": young.birth_date.isoformat(),
                    },
                    "inputs": REFERRAL_INPUTS,
                    "idempotency_key": f"refer-{number}",
                },
            )

        proxy.set_mode("refuse")  # the Prefect server is stopped
        opened = [refer(n) for n in (1, 2, 3)]
        again = refer(1)  # a retried request: the same case, not a new one
        assert again == {**opened[0], "repeated": True}
        assert handoff.wait_idle(60)
        assert handoff.handed_off == 0
        assert len(left.records) == 3  # logged (reference, error type), the work kept
        assert all("ConnectError" in r.getMessage() for r in left.records)
        references = [o["reference"] for o in opened]
        assert smtp.received == []
        assert history(runtime) == {ref: ["refer"] for ref in references}

        proxy.set_mode("hold")  # now it accepts connections and never answers
        for ref in references:
            accept = {"inputs": ACCEPT, "consent": START_CONSENT}  # consent given with it
            accepted = post(f"/api/v1/cases/{ref}/events/accept_referral", accept)
            assert accepted["to_stage"] == "pre_meeting"
        step = f"/api/v1/cases/{references[0]}/events/hold_pre_meeting"
        body = {"inputs": PRE_MEETING, "idempotency_key": "pre-1"}
        held = post(step, body)
        wait_until(lambda: proxy.held >= 1, "the hand-off to reach the hung server")
        assert not handoff.wait_idle(0)  # answered, while its hand-off still waits
        assert post(step, body) == {**held, "repeated": True}  # sent twice: one step
        assert history(runtime)[references[0]] == STEPS

        proxy.set_mode("forward")  # the server is back (held connections are reset)
        assert handoff.wait_idle(180)
        handoff.close()
        assert handoff.handed_off == 0  # no worker listens: all left to the sweep
        assert smtp.received == []
        waiting = len(outbox(runtime))
        assert run_async(run_sweep())["delivered"] == {"sent": waiting}
        assert run_async(run_sweep())["delivered"] == {}
    assert_delivered_once(runtime, smtp, tmp_path / "var" / "digital-post")
    assert (
        history(runtime)
        == {
            references[0]: STEPS,
            references[1]: STEPS[:3],  # referred, accepted, consent recorded
            references[2]: STEPS[:3],
        }
    )
    assert len(smtp.received) == 3 + 3  # the referrals, then the pre-meeting's three mails


# ---------------------------------------------------------------- webhook timeouts


def test_a_webhook_receiver_that_times_out_gets_each_notification_once_by_key(
    smtp: SmtpSink, prefect_api: Path, clock: Clock, tmp_path: Path
) -> None:
    """Departments take notifications by webhook. The receiver stalls on its 3rd request
    past the sender's timeout (it took it; the answer comes too late), and one receiver
    never answers: the step's task retries with the same key, the receiver drops the
    repeat, and the never-answered row is given up after the configured attempts,
    visible to the operator, and delivered once when it is put back in line."""
    secret = "webhook-secret-for-tests"
    receiver = WebhookReceiver(secret, stall_at=3, stuck_path="/ssp")
    definitions = tmp_path / "definitions"
    definitions.mkdir()
    for source in (ROOT / "definitions").glob("*.yaml"):
        text_ = source.read_text(encoding="utf-8")
        for department in ("skole", "uu", "ssp"):
            text_ = text_.replace(
                f"{{kind: email, address: {department}@soroe.example}}",
                f"{{kind: webhook, address: '{receiver.url('/' + department)}'}}",
            )
        (definitions / source.name).write_text(text_, encoding="utf-8")
    settings = settings_for(f"sqlite:///{tmp_path / 'hooks.db'}", smtp, tmp_path / "var")
    settings = settings.model_copy(
        update={
            "definitions_dir": definitions,
            "delivery_attempts": 2,
            "webhook_secret": SecretStr(secret),
            # Normal answers take ~50 ms; the stalled ones never come within the timeout.
            "delivery_timeout": 1.0,
        }
    )
    runtime = build_runtime(settings, clock=clock)
    use_runtime(runtime)
    try:
        steps: list[StepResult] = []
        for number, team in ((1, ["skole", "uu"]), (2, ["skole", "uu"]), (3, ["skole", "ssp"])):
            open_cases(runtime, range(number, number + 1), team, steps)
        outcomes = Counter[str]()
        for step in steps:  # each step's own flow run, one task per notification
            outcomes.update(run_async(run_step(step)))
        assert outcomes == {"sent": 17, "dead": 1}  # 3 cases x 6 notifications

        rows = {r.key: r for r in outbox(runtime)}
        hooks = {key: r for key, r in rows.items() if r.channel == "webhook"}
        assert len(hooks) == 6
        late = receiver.stalled[0].key  # taken, answered too late, sent again and dropped
        stuck = receiver.stalled[1].key
        assert (rows[late].state, rows[late].attempts, rows[late].last_error) == ("sent", 2, None)
        assert (rows[stuck].state, rows[stuck].attempts) == ("dead", 2)
        assert "timed out" in str(rows[stuck].last_error)
        with runtime.engine.connect() as connection:  # what the operator guide says to run
            dead = connection.execute(
                text("SELECT id, template, attempts FROM outbox WHERE state = 'dead'")
            ).all()
        assert [(row_id, attempts) for row_id, _, attempts in dead] == [(rows[stuck].id, 2)]
        run_async(run_sweep())  # the caseload artifact shows the failed delivery
        assert _failed_deliveries("340") == 1

        receiver.unstick()  # the receiver is fixed; the operator puts the row back in line
        with runtime.sessions() as session, session.begin():
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == rows[stuck].id)
                .values(state="pending", attempts=0, available_at=clock())
            )
        assert run_async(run_sweep())["delivered"] == {"sent": 1}
        assert _failed_deliveries("340") == 0

        assert {r.state for r in outbox(runtime)} == {"sent"}
        assert sorted(receiver.accepted) == sorted(hooks)  # each notification taken once
        paths = {call.key: call.path for call in receiver.calls}  # by its department
        assert paths == {key: urlsplit(row.address).path for key, row in hooks.items()}
        physical = Counter(call.key for call in receiver.calls)
        assert physical == {key: {late: 2, stuck: 3}.get(key, 1) for key in hooks}
        for key in (late, stuck):  # the copies are the same signed message
            copies = [c for c in receiver.calls if c.key == key]
            assert len({(c.body, c.signature) for c in copies}) == 1
        assert all(receiver.signed(call) for call in receiver.calls)
        mails = receptions(smtp)
        assert sorted(mails) == sorted(
            (r.address, r.message_id) for r in rows.values() if r.channel == "email"
        )
        assert set(mails.values()) == {1}
    finally:
        receiver.close()
        use_runtime(None)
        runtime.engine.dispose()


def _failed_deliveries(code: str) -> int:
    from prefect.client.orchestration import get_client

    async def read() -> int:
        async with get_client() as client:
            artifacts = await client.read_latest_artifacts(limit=200)
        table = next(a for a in artifacts if a.key == f"caseload-{code}").data
        rows = json.loads(table) if isinstance(table, str) else table
        return int(next(r["cases"] for r in rows if r["stage"] == "(failed deliveries)"))

    return int(run_async(read()))
