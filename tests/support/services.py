"""Real servers for the integration tests: PostgreSQL, SMTP and Prefect, all on 127.0.0.1.

PostgreSQL comes from Debian's ``postgresql`` package, installed here when missing
(the tests run as root); each test session gets its own throwaway cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import hashlib
import hmac
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.debian import ensure_package


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin() -> Path:
    ensure_package("postgresql", lambda: bool(glob.glob("/usr/lib/postgresql/*/bin/initdb")))
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent


@dataclass
class PostgresCluster:
    """A throwaway PostgreSQL cluster that a test may stop and start with its own pg_ctl."""

    url: str  # server URL without a database name
    bindir: Path
    data: Path
    options: str
    log: Path
    as_user: list[str]

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._pg_ctl("-o", self.options, "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: every session is terminated) and wait until it is down."""
        self._pg_ctl("-m", mode, "-w", "stop")


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (initdb, start, and removal at the end)."""
    bindir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="wf-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    port = free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *as_user,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    cluster = PostgresCluster(
        f"postgresql+psycopg://postgres@127.0.0.1:{port}",
        bindir,
        data,
        options,
        root / "log",
        as_user,
    )
    cluster.start()
    try:
        yield cluster
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster; yields a server URL without database name."""
    with postgres_cluster() as cluster:
        yield cluster.url


def create_database(server_url: str) -> str:
    """A new, empty database on the server; returns its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


@dataclass
class _Hold:
    """A message the sink holds: the test is told it arrived, and says how to answer."""

    accepted: bool  # counted as received when it arrives (else only if answered 250)
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    answered: threading.Event = field(default_factory=threading.Event)
    crash: bool = False


@dataclass
class SmtpSink:
    """A real SMTP server on 127.0.0.1 that keeps every message it accepts.

    ``received`` holds every physical reception (a re-sent message is there twice).
    A test can hold the n-th message (see :meth:`hold`) to inject a fault at a known
    point, stop the server (connections refused) and start it again on the same port.
    """

    port: int
    received: list[tuple[list[str], bytes]] = field(default_factory=list)
    down: bool = False  # answer 421 (up, but refusing mail for now)
    #: Addresses whose mail is refused for good (550, the reply quoting the address).
    refusing: set[str] = field(default_factory=set)
    data_commands: int = 0  # every DATA that reached the server, accepted or not
    controller: Controller | None = None
    _holds: dict[int, _Hold] = field(default_factory=dict)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_commands += 1
        hold = self._holds.get(self.data_commands)
        if hold is None:
            if self.down:
                return "421 Service not available, try later"
            for rcpt in envelope.rcpt_tos:
                if rcpt in self.refusing:
                    return f"550 5.1.1 <{rcpt}>: Recipient address rejected"
            self.received.append((list(envelope.rcpt_tos), bytes(envelope.content)))
            return "250 OK"
        if hold.accepted:
            self.received.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        hold.arrived.set()
        try:  # the session is cancelled here if the sender dies meanwhile
            for _ in range(6000):  # at most a minute: a failed test must not hang the server
                if hold.released.is_set():
                    break
                await asyncio.sleep(0.01)
            if hold.crash:  # the server dies before it answers: nothing was accepted
                assert self.controller is not None
                assert self.controller.server is not None
                self.controller.server.close()  # first: the next connection is refused
                server.transport.abort()
                return "421 gone"
            if not hold.accepted:
                self.received.append((list(envelope.rcpt_tos), bytes(envelope.content)))
            return "250 OK"
        finally:
            hold.answered.set()

    def hold(self, nth: int, *, accepted: bool) -> None:
        """Hold the ``nth`` DATA (counting from 1) until :meth:`release`.

        ``accepted``: the message counts as received when it arrives (a receiver that
        took it and has not answered yet), else only once it is answered 250.
        """
        self._holds[nth] = _Hold(accepted)

    def wait_held(self, nth: int, alive: Callable[[], bool] = lambda: True) -> None:
        """Wait (bounded) until the ``nth`` message is held; ``alive``: the sender still runs."""
        hold = self._holds[nth]
        wait_until(lambda: hold.arrived.is_set() or not alive(), f"SMTP message {nth}", 90)
        assert hold.arrived.is_set(), f"the sender ended before it sent message {nth}"

    def release(self, nth: int, *, crash: bool = False) -> None:
        """Answer the held message and wait until it is answered.

        ``crash``: the server dies instead: it stops listening, then cuts the connection
        without an answer (call :meth:`stop` afterwards to clean up).
        """
        hold = self._holds[nth]
        hold.crash = crash
        hold.released.set()
        if hold.arrived.is_set():
            wait_until(hold.answered.is_set, f"the answer to SMTP message {nth}", 10)

    def stop(self) -> None:
        """Take the server down: new connections are refused."""
        assert self.controller is not None
        self.controller.stop()
        self.controller = None

    def start(self) -> None:
        """(Re)start the server on its port."""
        assert self.controller is None
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def messages(self) -> list[tuple[str, Message]]:
        return [(to, message_from_bytes(raw)) for tos, raw in self.received for to in tos]


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(free_port())
    sink.start()
    try:
        yield sink
    finally:
        for hold in sink._holds.values():  # never leave a session waiting
            hold.released.set()
        if sink.controller is not None:
            sink.stop()


class TcpProxy:
    """A TCP proxy on 127.0.0.1 in front of a server, to make that server fail on demand.

    Modes: ``forward`` (the server is there), ``hold`` (connections are accepted and
    never answered: a hung server) and ``refuse`` (nothing listens: a stopped server).
    Leaving a mode closes every connection of it, as a restarted server would.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.mode = "forward"
        self.held = 0  # connections accepted in hold mode
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._listen()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            with self._lock:
                self._sockets.append(client)
                if self.mode == "hold":
                    self.held += 1
                    continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.append(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def set_mode(self, mode: str) -> None:
        """Switch mode; every open connection is closed (the server went away or came back)."""
        assert mode in ("forward", "hold", "refuse")
        with self._lock:
            self.mode = mode
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if mode == "refuse" and self._listener is not None:
            # shutdown first: a close alone leaves a socket blocked in accept() listening
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        elif mode != "refuse" and self._listener is None:
            self._listen()

    def close(self) -> None:
        self.set_mode("refuse")


@dataclass(frozen=True)
class WebhookCall:
    """One physical POST the receiver got."""

    path: str
    key: str
    signature: str
    body: bytes


class WebhookReceiver:
    """A real HTTP receiver on 127.0.0.1 that dedupes on the Idempotency-Key header.

    Every POST is kept in ``calls`` (physical receptions); a key seen before is answered
    200 and not taken again (``accepted`` holds each key once). A request is taken when it
    arrives; then the receiver may stall before it answers, past the sender's timeout:
    the ``stall_at``-th request (counting from 1) once, and every request to ``stuck_path``
    until ``unstick()``. The sender then retries with the same key, which is dropped.
    """

    def __init__(self, secret: str, *, stall_at: int | None = None, stuck_path: str = "") -> None:
        self.secret = secret.encode("utf-8")
        self.stall_at, self.stuck_path = stall_at, stuck_path
        self.calls: list[WebhookCall] = []
        self.accepted: list[str] = []
        self.stalled: list[WebhookCall] = []
        self._unstall = threading.Event()
        self._unstick = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def signed(self, call: WebhookCall) -> bool:
        expected = "sha256=" + hmac.new(self.secret, call.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(call.signature, expected)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers["Content-Length"]))
        call = WebhookCall(
            request.path,
            request.headers.get("Idempotency-Key", ""),
            request.headers.get("X-Workflow-Signature", ""),
            body,
        )
        with self._lock:
            self.calls.append(call)
            repeat = call.key in self.accepted
            if not repeat:
                self.accepted.append(call.key)
            stall = not repeat and (
                len(self.calls) == self.stall_at or call.path == self.stuck_path
            )
            if stall:
                self.stalled.append(call)
        if stall:  # taken, but the answer comes after the sender gave up
            event = self._unstick if call.path == self.stuck_path else self._unstall
            event.wait(60)
        if call.path == self.stuck_path and not self._unstick.is_set():
            self._unstick.wait(60)  # a stuck receiver answers nobody
        with contextlib.suppress(OSError):
            request.send_response(200 if repeat else 204)
            request.end_headers()

    def unstick(self) -> None:
        """The stuck receiver answers again (its operator fixed it)."""
        self._unstick.set()

    def close(self) -> None:
        self._unstall.set()
        self._unstick.set()
        self.server.shutdown()
        self.server.server_close()


def wait_until(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Wait (bounded) until ``condition()`` is true; fails naming what did not happen."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@contextmanager
def prefect_server(home: Path) -> Iterator[str]:
    """A real Prefect server (SQLite-backed) on a free port; yields its API URL."""
    from workflow.orchestration.server import local_server

    with local_server(home, port=free_port()) as url:
        yield url


def run_async(coro: Any) -> Any:
    return asyncio.run(coro)
