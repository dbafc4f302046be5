"""Every answered read is in the audit log, even when the web process is killed.

A page view reads in a read transaction of its own and answers only once its audit
entry is committed (workflow.store.audit.commit_read_audit, a group commit with the
entries of the other reads at the moment). The fault test: the real app under uvicorn
in a process of its own, on a file SQLite store and on PostgreSQL; caseworkers request
the case page and their caseload at once, with no pause; the process is killed with
SIGKILL while requests are in flight; then every answered page (status 200) must have
its entry in the store — entries of requests in flight when it died may be there too,
an answered one may never be missing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.support.case_api import PASSWORD, create_staff, referred_case
from tests.support.pages import csrf
from tests.support.services import free_port, wait_until
from workflow.engine.model import Actor
from workflow.runtime import Runtime
from workflow.store.audit import AuditAction, AuditObject, AuditWriter, writer
from workflow.store.tables import AuditEntry

#: Concurrent clients (no think time), and the answered pages after which the process dies.
CLIENTS = 8
KILL_AFTER = 120


def _entries(runtime: Runtime, action: AuditAction, what: AuditObject, after: int) -> int:
    with runtime.uow.reading() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(
                    AuditEntry.id > after,
                    AuditEntry.action == action.value,
                    AuditEntry.object_type == what.value,
                )
            )
            or 0
        )


def _last_id(runtime: Runtime) -> int:
    with runtime.uow.reading() as session:
        return int(session.scalar(select(func.max(AuditEntry.id))) or 0)


@contextmanager
def _audit_held(runtime: Runtime) -> Iterator[None]:
    """Hold the audit log against writers (SQLite: the write lock; PostgreSQL: a lock
    that lets reads through) until the block ends, then let go."""
    with runtime.engine.connect() as holder:
        held = holder.begin()  # SQLite: BEGIN IMMEDIATE
        if runtime.engine.dialect.name == "postgresql":
            holder.exec_driver_sql(f"LOCK TABLE {AuditEntry.__tablename__} IN SHARE MODE")
        try:
            yield
        finally:
            held.rollback()


def _load_for(enough: Callable[[], bool], seconds: float) -> None:
    """Let the load run until ``enough()``, or at most ``seconds`` (pages that wait for
    their entry are not answered, so the count may stand still: that is the point)."""
    deadline = time.monotonic() + seconds
    while not enough() and time.monotonic() < deadline:
        time.sleep(0.05)


def _logged_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30.0)
    token = csrf(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
    )
    assert answer.status_code == 303, answer.text
    return client


def test_no_entry_of_an_answered_page_is_lost_when_the_web_process_is_killed(
    runtime: Runtime, tmp_path: Path
) -> None:
    create_staff(runtime, ["mette"])
    references = [referred_case(runtime) for _ in range(3)]
    runtime.engine.dispose()  # the server process is the store's user now
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = runtime.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WORKFLOW_"))}
    env |= {
        "WORKFLOW_DATABASE_URL": settings.store_url,
        "WORKFLOW_HOME": str(settings.home),
        "WORKFLOW_BASE_URL": base,  # http: the session cookie is not Secure
        "WORKFLOW_DEFINITIONS_DIR": str(settings.definitions_dir),
    }
    log = (tmp_path / "web.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.web_to_kill", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(
            lambda: "serving" in (tmp_path / "web.log").read_text() or server.poll() is not None,
            "the web app",
        )
        assert server.poll() is None, (tmp_path / "web.log").read_text()
        clients = [_logged_in(base, "mette") for _ in range(CLIENTS)]
        start = _last_id(runtime)
        answered: Counter[str] = Counter()
        failed: Counter[str] = Counter()
        lock = threading.Lock()
        killed = threading.Event()

        def load(k: int) -> None:
            urls = ["/", *(f"/cases/{r}" for r in references)]
            n = k
            while not killed.is_set():
                url = urls[n % len(urls)]
                n += 1
                kind = "caseload" if url == "/" else "case"
                try:
                    response = clients[k].get(url)
                except httpx.HTTPError:
                    with lock:
                        failed[kind] += 1
                    if server.poll() is not None:
                        return
                    continue
                with lock:
                    if response.status_code == 200:
                        answered[kind] += 1
                    else:
                        failed[f"{kind} {response.status_code}"] += 1

        threads = [threading.Thread(target=load, args=(k,)) for k in range(CLIENTS)]
        for thread in threads:
            thread.start()
        wait_until(lambda: sum(answered.values()) >= KILL_AFTER, "pages answered under load")
        # The store stops taking entries (another transaction holds the audit log) while
        # pages are asked for, then the process dies: a page answered before its entry
        # was committed would be missing now.
        with _audit_held(runtime):
            before = sum(answered.values())
            _load_for(lambda: sum(answered.values()) >= before + KILL_AFTER, seconds=2.0)
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=30)
        killed.set()
        for thread in threads:
            thread.join(timeout=60)
        for client in clients:
            client.close()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()
    assert server.returncode == -signal.SIGKILL, (tmp_path / "web.log").read_text()
    assert not [k for k in failed if " " in k], failed  # every answer was a page (or none)
    assert answered["case"] > 0, answered
    assert answered["caseload"] > 0, answered
    # Every answered page has its entry (a request in flight may have one too).
    reads = _entries(runtime, AuditAction.READ, AuditObject.CASE, start)
    searches = _entries(runtime, AuditAction.SEARCH, AuditObject.CASELOAD, start)
    assert reads >= answered["case"], (reads, answered)
    assert searches >= answered["caseload"], (searches, answered)
    assert reads + searches <= sum(answered.values()) + CLIENTS  # at most one in flight each


def test_reads_at_the_same_moment_are_committed_together(sqlite_runtime: Runtime) -> None:
    """While another transaction holds SQLite's write lock, page reads go on and queue
    their entries; when it ends, the queue is committed in one transaction, and only
    then are the reads answered."""
    runtime = sqlite_runtime
    reference = referred_case(runtime)
    store = writer(runtime.engine)
    batches = store.batches
    done: list[str] = []
    views = 5
    caseworker = Actor("caseworker", "cw-mette")

    def read() -> None:
        done.append(runtime.service.view(reference, caseworker).reference)

    threads = [threading.Thread(target=read) for _ in range(views)]
    with runtime.engine.connect() as blocker:
        held = blocker.begin()  # BEGIN IMMEDIATE: the write lock, held
        threads[0].start()  # its entry's transaction waits for the lock
        wait_until(lambda: store.writing == 1, "the first entry being written")
        for thread in threads[1:]:
            thread.start()
        wait_until(lambda: store.queued == views - 1, "the other reads' entries queued")
        assert done == []  # no read is answered before its entry is committed
        held.commit()
    for thread in threads:
        thread.join(timeout=60)
    assert done == [reference] * views
    assert store.batches - batches == 2  # the first entry alone, then the four together
    with runtime.uow.reading() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.object_id == reference, AuditEntry.action == "read")
            )
            == views
        )


class _WriterDied(BaseException):
    """Something no `except Exception` catches, raised inside the writer's thread."""


def test_a_writer_that_dies_fails_its_reads_and_the_next_read_gets_a_new_writer(
    sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = sqlite_runtime
    reference = referred_case(runtime)
    caseworker = Actor("caseworker", "cw-mette")
    store = writer(runtime.engine)
    dies = [True]
    original = AuditWriter._insert

    def insert_or_die(self: AuditWriter, batch: list[object]) -> None:
        if dies.pop() if dies else False:
            raise _WriterDied
        original(self, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(AuditWriter, "_insert", insert_or_die)
    monkeypatch.setattr(threading, "excepthook", lambda _args: None)  # the thread's death
    with pytest.raises(_WriterDied):  # not answered: its entry was not committed
        runtime.service.view(reference, caseworker)
    wait_until(lambda: store.queued == 0 and store.writing == 0, "the writer gone")
    assert runtime.service.view(reference, caseworker).reference == reference
    with runtime.uow.reading() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.object_id == reference, AuditEntry.action == "read")
            )
            == 1
        )
