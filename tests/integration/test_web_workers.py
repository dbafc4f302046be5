"""``workflow web --workers N``: the web app served by several processes on one port.

The real command in a process of its own over the test's store: N worker processes
answer; a login made through one is honoured by every one (sessions are in the store);
every answered page has its audit entry; a worker that dies is started again while the
others answer; SIGTERM stops them all. Definitions that do not fit the store are refused
before any worker starts.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import func, select

from tests.support.case_api import PASSWORD, create_staff, referred_case
from tests.support.pages import csrf
from tests.support.services import free_port, wait_until
from workflow.runtime import Runtime
from workflow.store.audit import AuditAction, AuditObject
from workflow.store.tables import AuditEntry

WORKERS = 2


def _workers_of(supervisor: int) -> set[int]:
    """The pids of the serving processes uvicorn's supervisor started."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == supervisor and b"spawn_main" in command:
            found.add(int(entry.name))
    return found


def _reads(runtime: Runtime, reference: str) -> int:
    with runtime.uow.reading() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(
                    AuditEntry.action == AuditAction.READ.value,
                    AuditEntry.object_type == AuditObject.CASE.value,
                    AuditEntry.object_id == reference,
                )
            )
            or 0
        )


def _env(runtime: Runtime, base: str) -> dict[str, str]:
    settings = runtime.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WORKFLOW_"))}
    return env | {
        "WORKFLOW_DATABASE_URL": settings.store_url,
        "WORKFLOW_HOME": str(settings.home),
        "WORKFLOW_BASE_URL": base,  # http: the session cookie is not Secure
        "WORKFLOW_DEFINITIONS_DIR": str(settings.definitions_dir),
    }


def _ended(pid: int) -> bool:
    """Whether a process has ended (gone, or a zombie its parent has not reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def _page(base: str, cookies: httpx.Cookies, path: str) -> int:
    """A page asked for on a connection of its own (the kernel hands each new connection
    to one of the listening workers)."""
    with httpx.Client(base_url=base, cookies=cookies, timeout=30.0) as client:
        return client.get(path).status_code


def test_several_worker_processes_serve_the_web_app(runtime: Runtime, tmp_path: Path) -> None:
    create_staff(runtime, ["mette"])
    reference = referred_case(runtime)
    runtime.engine.dispose()  # the served processes are the store's users now
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "web.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "workflow.cli.main", "web"]
            + ["--port", str(port), "--workers", str(WORKERS)],
            env=_env(runtime, base),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: len(_workers_of(server.pid)) == WORKERS, "the worker processes")
        wait_until(lambda: _answers(base), "the web app", timeout=60)
        assert f"Web app: {base}  ({WORKERS} processes;" in log_path.read_text()
        with httpx.Client(base_url=base, timeout=30.0) as client:
            token = csrf(client.get("/login").text)
            login = client.post(
                "/login",
                data={"username": "mette", "password": PASSWORD, "csrf_token": token},
            )
            assert login.status_code == 303, login.text
            cookies = client.cookies
        before = _reads(runtime, reference)
        pages = 40
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(lambda _: _page(base, cookies, f"/cases/{reference}"), range(pages))
            )
        assert answers == [200] * pages  # logged in on whichever worker answered
        assert _reads(runtime, reference) - before == pages  # every read audited

        # One worker dies: the others answer meanwhile, and it is started again.
        first = _workers_of(server.pid)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        # Once it has ended (its listening socket closed with it: a connection the kernel
        # had queued for it while it died is reset, as for any process killed), the
        # others answer, whether or not it was started again yet.
        wait_until(lambda: _ended(victim), "the killed worker ended")

        def another_answers() -> bool:
            try:
                return _page(base, cookies, f"/cases/{reference}") == 200
            except httpx.TransportError:  # one reset as it died (seen once in CI): again
                return False

        wait_until(another_answers, "another worker to answer", timeout=10)
        wait_until(
            lambda: len(_workers_of(server.pid) - {victim}) == WORKERS,
            "the dead worker started again",
            timeout=60,
        )
        assert _page(base, cookies, "/") == 200

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0, log_path.read_text()
        wait_until(lambda: not _workers_of(server.pid), "the workers stopped")
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    assert "Traceback" not in log_path.read_text()


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_workers_end_with_a_killed_supervisor(sqlite_runtime: Runtime, tmp_path: Path) -> None:
    """SIGKILL gives the supervisor no time to stop its workers: they end anyway (Linux
    tells each of its parent's death), and no orphan keeps the port."""
    runtime = sqlite_runtime
    runtime.engine.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "workflow.cli.main", "web", "--port", str(port), "--workers", "2"],
        env=_env(runtime, base),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: len(_workers_of(server.pid)) == 2, "the worker processes")
        wait_until(lambda: _answers(base), "the web app", timeout=60)
        workers = _workers_of(server.pid)
        server.kill()
        server.wait(timeout=30)
        wait_until(lambda: not any(_alive(pid) for pid in workers), "the orphaned workers ended")
        assert not _answers(base)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def test_definitions_that_do_not_fit_are_refused_before_a_worker_starts(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    runtime = sqlite_runtime
    definitions = tmp_path / "broken"
    definitions.mkdir()
    (definitions / "bad.yaml").write_text("id: bad\nversion: 1\nstages: [\n", encoding="utf-8")
    env = _env(runtime, "http://127.0.0.1:1") | {"WORKFLOW_DEFINITIONS_DIR": str(definitions)}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "workflow.cli.main", "web", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "bad.yaml:" in done.stderr
    assert "Nothing was started." in done.stderr
    assert "Web app:" not in done.stdout
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < 120


def test_a_serving_process_that_cannot_listen_says_so_in_one_line() -> None:
    """The port taken between the supervisor's check and a process's start: that process
    ends with one line and exit code 3 (the supervisor gives up after three such ends)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import os; from workflow.cli.web import _serving_process; "
                f"_serving_process('workflow.cli.web:app_from_settings', '127.0.0.1', {port}, "
                "os.getppid())",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 3
    said = f"workflow web: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    assert done.stderr == said
