"""`workflow up | demo | sweep | intake`: running the engine with Prefect."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import typer

from workflow.cli.starting import definitions_fit_the_store, refuse
from workflow.cli.sweep_words import swept_words
from workflow.errors import WorkflowError
from workflow.settings import get_settings
from workflow.texts import text

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from workflow.cases.model import StepResult
    from workflow.web.citizen_oidc import OidcClient


def _prefect_home() -> Path:
    return get_settings().home / "prefect"


def use_prefect_home() -> None:
    """With a Prefect server set (PREFECT_API_URL), this process's Prefect home is the
    store's (var/prefect), as `up`'s and the worker's are, unless set otherwise: a step
    handed to a worker from another command (`outbox retry`) was written to
    ~/.prefect/storage, where the worker never looked, and its run never came."""
    api_url = os.environ.get("PREFECT_API_URL")
    if not api_url:
        return
    from workflow.orchestration.prefect_env import client_env, prefect_env

    home = _prefect_home()
    for name, value in (prefect_env(home) | client_env(api_url, home)).items():
        os.environ.setdefault(name, value)


def _use_server(api_url: str) -> None:
    """Point this process's Prefect client at a server (before Prefect is imported)."""
    from workflow.orchestration.prefect_env import client_env, prefect_env

    os.environ.update(prefect_env(_prefect_home()))
    os.environ.update(client_env(api_url, _prefect_home()))
    os.environ["PREFECT_API_URL"] = api_url


def register(app: typer.Typer) -> None:
    """Add the operations commands to the main app."""
    app.command()(up)
    app.command()(demo)
    app.command("sweep")(sweep_command)
    app.command()(worker)
    app.command()(deploy)
    app.command()(intake)


def up(
    port: int = typer.Option(4200, help="Port of the Prefect server (127.0.0.1)."),
    with_demo: bool = typer.Option(
        False, "--demo", help="Play the demo cases (once per store) and create its logins."
    ),
    sweep_every: int = typer.Option(60, help="Seconds between sweeps."),
    web_port: int | None = typer.Option(
        None,
        help="Port of the web app (127.0.0.1).",
        show_default="WORKFLOW_WEB_PORT, else 8000",
    ),
) -> None:
    """Start a local Prefect server (or use PREFECT_API_URL's), the web app, and serve the
    flows (sweep on a schedule).

    A port that is taken, or another installation's Prefect server on the port, is refused
    with one line (exit code 2) saying what to do.
    """
    from workflow.orchestration.server import port_free

    web_port = web_port or get_settings().web_port
    _links_to(web_port)  # before the runtime is built with the settings
    definitions_fit_the_store()
    if not port_free(web_port):
        refuse(
            "up",
            f"port {web_port} (the web app) is taken by another program; choose another: "
            f"workflow up --web-port {web_port + 1} (make run WEB_PORT={web_port + 1})",
        )

    # Stopped (SIGTERM) while starting: leave nothing running (the worker, the server's
    # client); Prefect's runner takes SIGTERM over once it serves.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with _prefect("up", port) as api_url, contextlib.ExitStack() as stack:
        ui = api_url.removesuffix("/api")
        opened = _demo_accounts() if with_demo else []
        citizen_login = _citizen_login(stack, web_port) if with_demo else None
        worker = _start_worker(stack)  # comes up while the web app does
        web = _start_web(web_port, citizen_login)
        typer.echo(f"Prefect UI: {ui}  (flow runs are named and tagged by case reference)")
        typer.echo(f"Worker:     carries out the steps ({_worker_ready(worker)})")
        _hand_to_worker(opened)
        typer.echo(f"Web app:    {web}")
        if with_demo:
            logins = ", ".join(f"{a[0]} ({a[3][0]})" for a in DEMO_ACCOUNTS)
            typer.echo(f"Demo login: {logins}; password {DEMO_PASSWORD}")
        if citizen_login is not None:
            names = " or ".join(f"'{login}'" for login in DEMO_CITIZENS)
            typer.echo(
                f"Young person's page: {web}/ung/  (log in as {names} at the local "
                "development OIDC provider; any password)"
            )
        if with_demo and _play_demo_once():
            typer.echo(f"Demo played. Web app: {web}  Prefect UI: {ui}")
        from workflow.orchestration.deployments import serve_all

        typer.echo(
            f"Serving case-step, sweep (every {sweep_every} s), intake and monthly-outcomes. "
            "Ctrl-C stops."
        )
        # Ctrl-C as SIGTERM: Prefect's runner shuts down on SIGTERM, whereas its asyncio
        # loop swallows the interrupt and serves on; then the Prefect server is stopped.
        signal.signal(signal.SIGINT, lambda *_: signal.raise_signal(signal.SIGTERM))
        stopping = threading.Event()
        stack.callback(stopping.set)
        threading.Thread(
            target=_watch, args=(stack, worker, api_url, stopping), daemon=True
        ).start()
        serve_all(sweep_every)


#: How often `up` looks at its worker and its Prefect server, and how many times in
#: WORKER_RESTART_WINDOW seconds it starts a worker that stopped again.
WATCH_EVERY = 5.0
WORKER_RESTARTS = 3
WORKER_RESTART_WINDOW = 300.0


def _watch(
    stack: contextlib.ExitStack,
    worker: subprocess.Popen[bytes],
    api_url: str,
    stopping: threading.Event,
) -> None:
    """`up`'s watch over what it started, each change said in one line: a worker that
    stopped (killed, crashed) is started again (not more than WORKER_RESTARTS times in
    five minutes: then the sweep carries the steps out, and the line says where its log
    is); the Prefect server not answering, and answering again. (A killed worker was
    left dead, every step after it "not handed to a worker", and nothing said so.)"""
    from workflow.orchestration.server import healthy

    log_path = get_settings().home / "worker.log"
    restarts: list[float] = []
    restarting, answering = True, True
    while not stopping.wait(WATCH_EVERY):
        code = worker.poll()
        if stopping.is_set():
            return  # up is stopping: the worker was stopped with it
        if code is not None and restarting:
            now = time.monotonic()
            restarts = [t for t in restarts if now - t < WORKER_RESTART_WINDOW]
            if len(restarts) >= WORKER_RESTARTS:
                typer.echo(
                    f"Worker stopped again (exit code {code}), {WORKER_RESTARTS} times in five "
                    f"minutes: not started again; see {log_path}. The sweep carries the steps "
                    "out meanwhile; restart workflow up once the cause is mended.",
                    err=True,
                )
                restarting = False
            else:
                worker = _start_worker(stack)
                restarts.append(now)
                typer.echo(
                    f"Worker stopped (exit code {code}): started again (pid {worker.pid}); "
                    f"see {log_path}.",
                    err=True,
                )
        now_answering = healthy(api_url)
        if now_answering != answering:
            answering = now_answering
            typer.echo(
                f"Prefect server at {api_url} answers again: runs and sweeps go on."
                if answering
                else f"Prefect server at {api_url} does not answer: steps are still "
                "committed and wait in the outbox; runs and sweeps resume when it is back "
                "(restart workflow up if it does not come back).",
                err=True,
            )


def _links_to(web_port: int) -> None:
    """Links in what is sent (mails, SMS) lead to the web app this command starts, unless
    WORKFLOW_BASE_URL names another address (a proxy in front of it): this process, its
    worker and the served flows' runs (all read the settings from the environment)."""
    if "base_url" in get_settings().model_fields_set:
        return
    os.environ["WORKFLOW_BASE_URL"] = f"http://127.0.0.1:{web_port}"
    get_settings.cache_clear()


def _exit_on_sigterm(*_: object) -> None:
    raise SystemExit(143)


def _dies_with_parent() -> Callable[[], None] | None:
    """What a child runs before it starts to be sent SIGTERM when this process dies,
    however it dies (Linux: prctl PR_SET_PDEATHSIG; elsewhere None, and the parent's
    clean exit stops it). libc is loaded here, in the parent: the child only calls it."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    return lambda: libc.prctl(1, signal.SIGTERM)


def worker(
    limit: int = typer.Option(4, min=1, max=64, help="Steps carried out at once."),
) -> None:
    """Carry out the steps handed to Prefect (a task worker): run one per machine, as many
    machines as the load needs. Needs PREFECT_API_URL and the store's settings.

    With no worker up nothing is lost: the sweep carries the steps out.
    """
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo(
            "Set PREFECT_API_URL to the Prefect server's API first (workflow up starts "
            "a worker of its own).",
            err=True,
        )
        raise typer.Exit(1)
    use_prefect_home()
    definitions_fit_the_store()
    from workflow.orchestration.handoff import serve_steps

    typer.echo(f"Worker: carrying out handed-off steps, {limit} at a time. Ctrl-C stops.")
    # SIGTERM stops it as Ctrl-C does. SIGINT's own handler is put back first: a worker
    # started in the background by a script inherits SIGINT ignored, and then SIGTERM
    # (passed on as SIGINT) did nothing.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: signal.raise_signal(signal.SIGINT))
    with contextlib.suppress(KeyboardInterrupt):
        serve_steps(limit)
    typer.echo("Worker stopped.")


def _start_worker(stack: contextlib.ExitStack, limit: int = 4) -> subprocess.Popen[bytes]:
    """A ``workflow worker`` beside ``up`` (its output in var/worker.log), stopped with it."""
    log_path = get_settings().home / "worker.log"
    log = stack.enter_context(log_path.open("ab"))
    process = subprocess.Popen(  # noqa: S603 (our own command, no shell)
        [sys.executable, "-m", "workflow.cli.main", "worker", "--limit", str(limit)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),  # this process's Prefect server and store
        preexec_fn=_dies_with_parent(),
    )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()

    stack.callback(stop)
    return process


def _worker_ready(process: subprocess.Popen[bytes]) -> str:
    """Wait until the worker listens (a step committed with no worker waits for the
    sweep, minutes); how it stands, in words."""
    from workflow.orchestration.handoff import workers_listening

    log_path = get_settings().home / "worker.log"
    deadline = time.monotonic() + 90
    while not workers_listening():
        if process.poll() is not None or time.monotonic() > deadline:
            return f"pid {process.pid}, NOT listening: see {log_path}; the sweep delivers"
        time.sleep(0.5)
    return f"pid {process.pid}, log {log_path}"


@contextlib.contextmanager
def _prefect(command: str, port: int) -> Iterator[str]:
    """The Prefect server to use, said in one line: PREFECT_API_URL's if set, else this
    installation's own on 127.0.0.1:port (started, or already running); anything else on
    the port is refused."""
    from workflow.orchestration.server import (
        ForeignServerError,
        PortTakenError,
        PrefectServerError,
        healthy,
        local_server,
    )

    given = os.environ.get("PREFECT_API_URL")
    if given:
        if not healthy(given):
            refuse(
                command,
                f"the Prefect server at {given} (PREFECT_API_URL) does not answer; start it, "
                "or unset PREFECT_API_URL to start this installation's own",
            )
        _use_server(given)
        typer.echo(f"Prefect: using {given} (from PREFECT_API_URL)")
        yield given
        return
    other = f"workflow {command} --port {port + 1}" + (
        f" (make run PREFECT_PORT={port + 1})" if command == "up" else ""
    )
    try:
        with local_server(_prefect_home(), port, report=typer.echo) as api_url:
            _use_server(api_url)
            yield api_url
    except ForeignServerError as exc:
        refuse(command, f"{exc}; stop it, or use another port: {other}")
    except PortTakenError as exc:
        refuse(command, f"{exc} (Prefect's port); choose another: {other}")
    except PrefectServerError as exc:
        refuse(command, str(exc))


#: Demo staff (Sorø): username, full name, staff id used in the demo script, roles, and
#: the department a team member works in (a team puts them in it, and no other).
DEMO_ACCOUNTS: tuple[tuple[str, str, str, list[str], str | None], ...] = (
    ("mette", "Mette Sagsbehandler", "cw-mette", ["caseworker"], None),
    ("lise", "Lise Tovholder", "tovholder-lise", ["coordinator"], None),
    ("anna", "Anna Lærer", "laerer-anna", ["team_member"], "skole"),
    ("leif", "Leif Leder", "leder-leif", ["leader"], None),
    # On the demo case's team: staff ids are checked against Sorø's accounts (issue 17).
    ("bo", "Bo Rådgiver", "raadgiver-bo", ["team_member"], "born_familie"),
    ("sara", "Sara Vejleder", "vejleder-sara", ["team_member"], "uu"),
)
DEMO_PASSWORD = "demo-kode-2026"  # noqa: S105 (printed for the demo; never a real account)


def _hand_to_worker(steps: list[StepResult]) -> None:
    """Steps taken before the worker listened (the open demo case's), handed to it now:
    their mails go out at once, not with the first sweep minutes later (quietly: Prefect's
    line per task run created would sit among the addresses printed; the runs are in its
    UI)."""
    from workflow.orchestration.demo import prefect_console_quiet
    from workflow.orchestration.handoff import StepToCarryOut, carry_out

    with prefect_console_quiet():
        carry_out([StepToCarryOut.of(step) for step in steps])


def _demo_staff() -> bool:
    """The demo's staff accounts (Sorø), each created unless its username is taken (an
    account made by hand first, as the README's `account create mette` does, keeps its
    password); whether any was created. The demo's scripts name these people: once
    Sorø has an account, a team or coordinator without one is refused."""
    from workflow.runtime import get_runtime

    runtime = get_runtime()
    created = False
    for username, name, person_id, roles, department in DEMO_ACCOUNTS:
        if runtime.accounts.user(username) is not None:
            continue
        runtime.accounts.create(
            username,
            DEMO_PASSWORD,
            display_name=name,
            person_id=person_id,
            roles=roles,
            municipality_code="340",
            department=department,
        )
        created = True
    return created


def _demo_accounts() -> list[StepResult]:
    """The demo's staff accounts (Sorø) and its open case, created once; the case's steps."""
    from workflow.runtime import get_runtime

    runtime = get_runtime()
    if not _demo_staff():
        return []  # created by an earlier run
    # An open case to take on from the web app (the demo's other cases are closed).
    from dataclasses import replace

    from workflow.cases.model import GuardianDetails
    from workflow.engine.model import Actor
    from workflow.orchestration.demo import DEMO_PEOPLE

    caseworker = Actor("caseworker", "cw-mette")
    freja = replace(  # her own channel, and her mother (both log in at /ung)
        DEMO_PEOPLE["soroe"],
        email="freja@example.org",
        guardians=(GuardianDetails("Hanne Testesen", "0505801234", email="hanne@example.org"),),
    )
    opened = runtime.service.refer(
        "soroe", freja, caseworker, {"source": "school", "caseworker": "cw-mette"}
    )
    accepted = runtime.service.trigger(
        opened.reference,
        "accept_referral",
        {"young_person_agrees": True, "consent": True},
        caseworker,
    )
    from workflow.privacy.consents import ConsentRequest

    runtime.consents.give(  # the signed form: school, family counselling, youth guidance
        opened.reference,
        caseworker,
        ConsentRequest(["skole", "born_familie", "uu"], ["education", "family"], guardian=True),
    )
    # The manager sees Sorø's cases through a recorded legal basis (with a purpose).
    runtime.grants.grant(
        "leder-leif", "340", "oversight", "Barnets Lov § 6 (tilsyn)", "operator:demo"
    )
    typer.echo(f"Demo case {opened.reference} waits for its pre-meeting in the web app.")
    return [opened, accepted]


#: The demo's citizens at the development OIDC provider: the Sorø young person of the
#: open demo case, and her mother (development only; the provider is never production).
DEMO_CITIZENS = {
    "freja": {"name": "Freja Testesen", "cpr": "0101104321"},
    "mor": {"name": "Hanne Testesen", "cpr": "0505801234"},
}
DEMO_CLIENT_SECRET = "demo-borger-hemmelighed"  # noqa: S105 (the local dev provider only)


def _citizen_login(stack: contextlib.ExitStack, web_port: int) -> OidcClient | None:
    """The demo's citizen login: npm's oidc-provider on 127.0.0.1, a development stand-in
    for NemLog-in (skipped, with a note, where Node.js is missing)."""
    from workflow.web.citizen_oidc import OidcClient
    from workflow.web.dev_oidc import DevProviderError, ensure_installed, running_provider
    from workflow.web.server import free_local_port

    if get_settings().citizen_oidc_issuer:
        return None  # a real provider is configured: the web app uses it
    callback = f"http://127.0.0.1:{web_port}/ung/callback"
    try:
        ensure_installed()
        provider = stack.enter_context(
            running_provider(
                port=free_local_port(),
                client_id="kui-borger",
                client_secret=DEMO_CLIENT_SECRET,
                redirect_uris=[callback],
                accounts=DEMO_CITIZENS,
            )
        )
    except DevProviderError as exc:
        typer.echo(f"Young person's login is not available: {exc}")
        return None
    return OidcClient(provider.issuer, "kui-borger", DEMO_CLIENT_SECRET, callback)


def _start_web(port: int, citizen_login: OidcClient | None = None) -> str:
    """Serve the web app in this process (returns once it answers); it hands its steps to
    the workers (it runs no flows itself)."""
    from workflow.cli.web import web_app
    from workflow.web.server import serve_in_thread

    port = port or get_settings().web_port
    app = web_app(citizen_login)
    try:
        serve_in_thread(app, "127.0.0.1", port)
    except RuntimeError:  # taken since the check at start-up
        refuse(
            "up",
            f"port {port} (the web app) is taken by another program; choose another: "
            f"workflow up --web-port {port + 1} (make run WEB_PORT={port + 1})",
        )
    return f"http://127.0.0.1:{port}"


def demo(
    port: int = typer.Option(4200, help="Port of the Prefect server."),
    again: bool = typer.Option(False, "--again", help="Play it again in a store that has it."),
) -> None:
    """One case per municipality through its whole lifecycle (accelerated clock), once per
    store (--again plays it again)."""
    definitions_fit_the_store()
    if not again and _demo_was_played():
        return

    with _prefect("demo", port) as api_url:
        _demo_staff()
        _play_demo()
        ui = api_url.removesuffix("/api")
        typer.echo(
            f"The runs are kept by this installation's Prefect server: see them at {ui} "
            "while it runs (`workflow up` or `make run` starts it)"
        )


def _demo_was_played() -> bool:
    """Whether this store has the demo (then said in one line)."""
    from workflow.orchestration.demo import demo_played
    from workflow.runtime import get_runtime

    if demo_played(get_runtime()):
        typer.echo("Demo already played in this store (workflow demo --again plays it again).")
        return True
    return False


def _play_demo_once() -> bool:
    """Play the demo unless the store has it; whether it was played now."""
    if _demo_was_played():
        return False
    _play_demo()
    return True


def _play_demo() -> None:
    from workflow.orchestration.demo import DemoClock, prefect_console_quiet, run_demo
    from workflow.runtime import build_runtime, get_runtime, use_runtime

    settings = get_settings()
    current = get_runtime()  # the web app's; back to it afterwards
    clock = DemoClock(datetime.now(UTC))
    runtime = build_runtime(settings, clock=clock)
    use_runtime(runtime)
    typer.echo("Playing the demo: one case per municipality (a few minutes) ...")
    try:
        with prefect_console_quiet():  # a line per case here; every run in the Prefect UI
            run_demo(runtime, clock, settings.definitions_dir / "examples", typer.echo)
    except WorkflowError as exc:  # a store the demo does not fit (its own people changed)
        refuse(
            "demo",
            f"the demo stopped: {exc}. It plays invented cases with Sorø's demo staff "
            f"({', '.join(a[0] for a in DEMO_ACCOUNTS)}); play it in a store of its own "
            "(WORKFLOW_HOME=/tmp/demo workflow demo)",
        )
    finally:
        use_runtime(current)
        runtime.engine.dispose()


def deploy(
    pool: str = typer.Option("kui", help="The Prefect work pool (created if missing)."),
    sweep_every: int = typer.Option(60, help="Seconds between scheduled sweeps (0: none)."),
) -> None:
    """Register case-step, sweep, intake and monthly-outcomes on a process work pool, for
    `prefect worker`s."""
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo("Set PREFECT_API_URL to the Prefect server's API first.", err=True)
        raise typer.Exit(1)
    from workflow.orchestration.workpool import deploy_to_pool

    ids = deploy_to_pool(pool, sweep_every or None)
    every = f"sweep every {sweep_every} s" if sweep_every else "sweep not scheduled"
    typer.echo(f"Deployed {', '.join(sorted(ids))} to work pool '{pool}' ({every}).")
    from workflow.orchestration.alerts import ensure_dead_delivery_automation

    typer.echo(ensure_dead_delivery_automation(get_settings()))
    typer.echo(f"Start workers with: prefect worker start --pool {pool} --type process")


def sweep_command(
    now: str | None = typer.Option(None, help="ISO time (default: now)."),
    no_prefect: bool = typer.Option(
        False,
        "--no-prefect",
        help="Sweep straight against the store, without a Prefect server (it is down, or "
        "you are bringing the store up after an upgrade or a restore).",
    ),
) -> None:
    """Fire due timers and deliver what is waiting in the outbox, once."""
    if no_prefect:
        runtime = definitions_fit_the_store()
        try:
            moment = datetime.fromisoformat(now) if now else None
        except ValueError:
            raise typer.BadParameter(
                f"'{now}': write a time as YYYY-MM-DDTHH:MM, e.g. 2026-03-02T08:00",
                param_hint="--now",
            ) from None
        if moment is not None and moment.tzinfo is None:  # Danish local time, like the flow
            moment = moment.replace(tzinfo=ZoneInfo("Europe/Copenhagen"))
        fired = runtime.service.fire_due_timers(moment)
        reminders = runtime.tasks.send_due_reminders(moment)
        delivered = runtime.deliverer.drain(moment)
        swept = {"timers_fired": len(fired), "reminders": reminders, "delivered": dict(delivered)}
        typer.echo(swept_words(swept))
        return
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo(
            "Set PREFECT_API_URL (or run `workflow up`, which sweeps on a schedule), "
            "or sweep without Prefect: `workflow sweep --no-prefect`.",
            err=True,
        )
        raise typer.Exit(1)
    from workflow.orchestration.sweep import run_sweep

    typer.echo(swept_words(asyncio.run(run_sweep(now))))


def intake(
    csv_path: Path = typer.Argument(..., exists=True, dir_okay=False),
    lang: str = typer.Option("da", "--lang", help="The report's language: da or en."),
) -> None:
    """Open cases from a CSV of referrals.

    Columns: definition, name, cpr, birth_date (required), caseworker (the responsible
    caseworker's staff id), source and key (optional; key makes a row repeat-safe across
    files). Every row is checked as a referral on the web is (the CPR number and its birth
    date, century and all, the name, a caseworker who is staff of the municipality).

    If any row is refused, NO case of the file is opened: every refused row is listed
    with its row number and why; fix them and run the same file again. Running a file
    again never opens a case twice.
    """
    if lang not in ("da", "en"):
        raise typer.BadParameter("write da or en", param_hint="--lang")
    from workflow.cases.intake_file import INTAKE_COLUMNS, missing_columns, read_rows

    try:
        missing, named = missing_columns(csv_path)
        total = len(read_rows(csv_path))
    except UnicodeDecodeError as exc:  # Excel's "CSV" is Windows-1252, not UTF-8
        line = csv_path.read_bytes()[: exc.start].count(b"\n") + 1
        typer.echo(text("intake_not_utf8", lang, path=str(csv_path), line=line), err=True)
        raise typer.Exit(1) from None
    if missing:  # told once for the file, not as every row's missing fields
        typer.echo(
            text(
                "intake_columns_missing",
                lang,
                path=str(csv_path),
                missing=", ".join(missing),
                named=", ".join(named) or "-",
                columns=",".join(INTAKE_COLUMNS),
            ),
            err=True,
        )
        raise typer.Exit(1)
    from workflow.orchestration import intake as bulk

    refused: list[dict[str, Any]] = []
    with typer.progressbar(length=total, label=text("intake_progress", lang)) as bar:
        bulk.PROGRESS.append(bar.update)
        bulk.REFUSED.append(refused.extend)
        try:
            if os.environ.get("PREFECT_API_URL"):
                summary = asyncio.run(bulk.intake(bulk.stage_intake_file(csv_path)))
            else:
                summary = bulk.intake_rows(csv_path)
        finally:
            bulk.PROGRESS.clear()
            bulk.REFUSED.clear()
    if refused:
        typer.echo(text("intake_file_refused", lang, rows=len(refused)), err=True)
        for row in refused:
            for problem in row["problems"]:
                typer.echo(_intake_problem(row["row"], problem, lang), err=True)
        raise typer.Exit(1)
    typer.echo(
        ", ".join(
            f"{text(_STATUS_WORDS.get(status, status), lang)}: {count}"
            for status, count in sorted(summary.items())
        )
    )


#: The text of each status an intake's summary counts.
_STATUS_WORDS = {
    "opened": "intake_opened",
    "already opened": "intake_already_opened",
    "refused": "intake_refused_rows",
    "not opened": "intake_not_opened_rows",
}


def _intake_problem(row: int, problem: dict[str, Any], lang: str) -> str:
    """One problem of a refused row, in words: ``række 3, cpr: ...`` (the definition's own
    words where it has them: a guard's message)."""
    words = problem.get("words")
    if words:
        message = str(words.get(lang) or words["da"])
    else:
        message = text(problem["code"], lang, **problem.get("params", {}))
    where = text("intake_row", lang, row=row)
    return (
        f"  {where}, {problem['field']}: {message}" if problem["field"] else f"  {where}: {message}"
    )
