"""``workflow web``: the web app on its own, served by as many processes as asked.

``workflow up`` serves the web app in a thread of its own process, beside the Prefect
server and the served flows: every page shares one interpreter lock, so the pages of a
busy office get about one core however many the machine has. In production the web
app runs on its own (Prefect's server, its workers and the sweep elsewhere):
``workflow web --workers N`` serves it from N processes on one port (each with a
listening socket of its own, SO_REUSEPORT: new connections are spread evenly; one that
ends is started again), each building its runtime from the environment's settings, as
every command does.

Every process shares the store, so nothing a page needs lives in only one of them:
sessions, CSRF tokens, steps and audit entries are in the store. Two things are each
process's own: failed logins are counted per process (``workflow.privacy.login_throttle``:
the delays then grow a little slower), and the definitions are loaded by each at start.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from typing import Any

import typer
from fastapi import FastAPI

from workflow.cli.starting import definitions_fit_the_store, refuse
from workflow.settings import get_settings
from workflow.web.citizen_oidc import OidcClient

#: The factory each worker process calls (uvicorn imports it by name).
APP_FACTORY = "workflow.cli.web:app_from_settings"


def app_from_settings() -> FastAPI:
    """The web app as each worker process builds it: over its runtime (the environment's
    settings); committed steps are handed to Prefect's task workers when PREFECT_API_URL
    names a Prefect server, else the sweep carries them out (their notifications wait in
    the outbox)."""
    return web_app(hand_off=bool(os.environ.get("PREFECT_API_URL")))


def web_app(citizen_login: OidcClient | None = None, *, hand_off: bool = True) -> FastAPI:
    """The web app over this process's runtime; ``hand_off``: each committed step is
    handed to the task workers (``workflow worker``) as it is committed."""
    from workflow.runtime import get_runtime
    from workflow.web.app import create_app

    runtime = get_runtime()
    if not hand_off:
        return create_app(runtime, citizen_login=citizen_login)
    from workflow.orchestration.handoff import StepHandoff

    handoff = StepHandoff()
    # The steps the system takes on a case (a consent recorded, a raised event) too.
    runtime.service.system_steps.append(lambda result: handoff.submit(result, "system"))
    return create_app(runtime, on_step=handoff.submit, citizen_login=citizen_login)


def web(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int | None = typer.Option(
        None, help="Port to listen on.", show_default="WORKFLOW_WEB_PORT, else 8000"
    ),
    workers: int = typer.Option(
        1,
        min=1,
        max=64,
        help="Processes serving the pages (one per core the web app may use).",
    ),
) -> None:
    """Serve the web app alone (no Prefect server, no flows): the production way, behind
    a proxy that terminates TLS. Needs the store's settings; PREFECT_API_URL to hand steps
    to `workflow worker`s (without it the sweep carries them out). Ctrl-C stops."""
    from workflow.orchestration.server import port_free

    port = port or get_settings().web_port
    definitions_fit_the_store()  # bad definitions refused here, before a worker starts
    if not port_free(port, host):
        refuse("web", f"port {port} is taken by another program; choose another: --port")
    steps = (
        "steps are handed to `workflow worker`s"
        if os.environ.get("PREFECT_API_URL")
        else "no PREFECT_API_URL: the sweep carries steps out"
    )
    processes = f"{workers} process{'es' if workers > 1 else ''}"
    typer.echo(f"Web app: http://{host}:{port}  ({processes}; {steps}). Ctrl-C stops.")
    if workers == 1:
        _serve(APP_FACTORY, host, port)
        return
    if not supervise(APP_FACTORY, host, port, workers):
        typer.echo(
            "workflow web: the serving processes keep ending as they start (their errors "
            "are above); nothing is served.",
            err=True,
        )
        raise typer.Exit(1)


def _serve(factory: str, host: str, port: int, sockets: list[socket.socket] | None = None) -> None:
    """Serve the app ``factory`` makes ("module:function") in this process until SIGTERM
    or Ctrl-C (requests in flight are finished)."""
    import uvicorn

    from workflow.web.server import server_config

    uvicorn.Server(server_config(factory, host, port)).run(sockets=sockets)


def _serving_process(factory: str, host: str, port: int, parent: int) -> None:
    """One of several serving processes: a listening socket of its own on the shared port.

    With SO_REUSEPORT the kernel hands each new connection to one of the processes'
    sockets, spread evenly. uvicorn's own supervisor shares one socket instead, and the
    first process to wake accepts every connection waiting: twenty browsers' connections
    opened together all went to one process, and the others stood idle.

    It ends with the supervisor however that ends (SIGKILL too): Linux sends it SIGTERM
    then (PR_SET_PDEATHSIG), and it ends at once if the supervisor is already gone."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        listening.bind((host, port))
    except OSError as exc:  # taken since the check at start-up: one line, no traceback
        sys.stderr.write(f"workflow web: cannot listen on {host}:{port}: {exc.strerror}\n")
        raise SystemExit(3) from None
    _serve(factory, host, port, [listening])


#: A serving process that ends within this many seconds of its start ended as it started.
QUICK_END = 10.0
#: Serving processes ending as they start, one after another, before the web app gives up.
QUICK_ENDS = 3


def supervise(factory: str, host: str, port: int, workers: int) -> bool:
    """Start ``workers`` processes serving the app ``factory`` ("module:function") makes
    and keep them running (one that ends is started again) until SIGTERM or Ctrl-C, then
    stop them, each finishing its requests in flight. False if they kept ending as they
    started (a fault no restart mends)."""
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()

    def stop(*_: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def start() -> tuple[Any, float]:
        process = context.Process(
            target=_serving_process, args=(factory, host, port, os.getpid()), daemon=False
        )
        process.start()
        return process, time.monotonic()

    running = [start() for _ in range(workers)]
    quick_ends = 0
    while not stopping.wait(0.2) and quick_ends < QUICK_ENDS:
        for number, (process, started) in enumerate(running):
            if process.is_alive() or stopping.is_set():
                continue
            # Ctrl-C in a terminal reaches every process of the group at once: a process
            # that ended on it is not started again.
            if stopping.wait(0.5):
                break
            quick_ends = quick_ends + 1 if time.monotonic() - started < QUICK_END else 0
            typer.echo(
                f"workflow web: serving process {process.pid} ended (exit code "
                f"{process.exitcode}); starting another",
                err=True,
            )
            running[number] = start()
    for process, _started in running:
        process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
    for process, _started in running:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join()
    return quick_ends < QUICK_ENDS


def register(app: typer.Typer) -> None:
    """Add ``workflow web`` to the main app."""
    app.command()(web)
