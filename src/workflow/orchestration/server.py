"""Running a local Prefect server for `workflow up` and `workflow demo` (127.0.0.1 only).

The server is this installation's when its home (``PREFECT_HOME``, which the server reports
at ``GET /api/admin/settings``) is ours, ``var/prefect``: such a server already running is
used; any other server on the port is refused, never written into.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from workflow.errors import WorkflowError
from workflow.orchestration.prefect_env import server_env


class PrefectServerError(WorkflowError):
    """The Prefect server could not be started, or the one on the port is not ours."""


class PortTakenError(PrefectServerError):
    """Another program (not a Prefect server) listens on the port."""

    def __init__(self, port: int) -> None:
        super().__init__(f"port {port} is taken by another program")
        self.port = port


class ForeignServerError(PrefectServerError):
    """A Prefect server of another installation (another home) answers on the port."""

    def __init__(self, port: int, home: str | None) -> None:
        super().__init__(
            f"127.0.0.1:{port} is another Prefect server (home {home or 'unknown'}), "
            "not this installation's"
        )
        self.port = port
        self.home = home


def healthy(api_url: str) -> bool:
    """Whether a Prefect API answers."""
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def server_home(api_url: str) -> str | None:
    """The home folder a Prefect server reports (its settings), or None if it does not say."""
    try:
        answer = httpx.get(f"{api_url}/admin/settings", timeout=5)
        home = answer.json().get("home") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return home if isinstance(home, str) else None


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on host:port (a server we start could bind it now)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def _last_error(log: Path) -> str:
    """The server log's last line that names an error (or its last line), for a message."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [line for line in lines if line]
    errors = [line for line in lines if "Error" in line or "error" in line]
    return (errors or lines or [""])[-1][:200]


@contextmanager
def local_server(
    home: Path,
    port: int = 4200,
    timeout: float = 90.0,
    report: Callable[[str], None] | None = None,
) -> Iterator[str]:
    """Start `prefect server start` on 127.0.0.1 with ``home`` (or use ours already
    running there); yield its API URL.

    Raises :class:`ForeignServerError` if another installation's Prefect server answers on the
    port, :class:`PortTakenError` if another program holds it, and :class:`PrefectServerError`
    (with the log's last error line) if the server does not start.
    """
    say = report or (lambda _: None)
    url = f"http://127.0.0.1:{port}/api"
    ours = str(home.resolve())
    if healthy(url):
        theirs = server_home(url)
        if theirs is None or Path(theirs).resolve() != Path(ours):
            raise ForeignServerError(port, theirs)
        say(f"Prefect: using its own server already running on 127.0.0.1:{port} (home {home})")
        yield url
        return
    if not port_free(port):
        raise PortTakenError(port)
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "server.log"
    log = log_path.open("w")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter's prefect, fixed arguments
        [
            str(Path(sys.executable).with_name("prefect")),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env={**server_env(home), "PREFECT_UI_API_URL": url},
        stdout=log,
        stderr=subprocess.STDOUT,
        # Its own session: a Ctrl-C in the terminal stops `workflow up`, which stops the
        # server after its flows are served down (not the server under them at once).
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while not healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                cause = _last_error(log_path)
                raise PrefectServerError(
                    f"the Prefect server did not start ({cause or 'no output'}); see {log_path}"
                )
            time.sleep(0.3)
        say(f"Prefect: started its own server on 127.0.0.1:{port} (home {home})")
        yield url
    finally:
        _send_what_prefect_holds()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _send_what_prefect_holds(timeout: float = 10.0) -> None:
    """Send the logs and events this process's Prefect client still holds while the
    server is up: Prefect sends them at exit otherwise, and waits for ever on a server
    that is gone (`workflow up` then never ends after Ctrl-C)."""
    if "prefect" not in sys.modules:
        return  # nothing of Prefect's was used in this process
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (APILogWorker, EventsWorker):
        service.drain_all(timeout=timeout)
