"""`workflow up | demo | sweep | intake`: running the engine with Prefect."""

from __future__ import annotations

import asyncio
import csv
import os
from datetime import UTC, datetime
from pathlib import Path

import typer

from workflow.settings import get_settings


def _prefect_home() -> Path:
    return get_settings().home / "prefect"


def _use_server(api_url: str) -> None:
    """Point this process's Prefect client at a server (before Prefect is imported)."""
    from workflow.orchestration.server import prefect_env

    os.environ.update(prefect_env(_prefect_home()))
    os.environ["PREFECT_API_URL"] = api_url


def register(app: typer.Typer) -> None:
    """Add the operations commands to the main app."""
    app.command()(up)
    app.command()(demo)
    app.command("sweep")(sweep_command)
    app.command()(intake)


def up(
    port: int = typer.Option(4200, help="Port of the Prefect server (127.0.0.1)."),
    with_demo: bool = typer.Option(False, "--demo", help="Play the demo cases first."),
    sweep_every: int = typer.Option(60, help="Seconds between sweeps."),
) -> None:
    """Start a local Prefect server and serve the deployments (the sweep on a schedule)."""
    from workflow.orchestration.server import local_server

    with local_server(_prefect_home(), port) as api_url:
        _use_server(api_url)
        ui = api_url.removesuffix("/api")
        typer.echo(f"Prefect UI: {ui}  (flow runs are named and tagged by case reference)")
        if with_demo:
            _play_demo()
        from workflow.orchestration.deployments import serve_all

        typer.echo(f"Serving case-step, sweep (every {sweep_every} s) and intake. Ctrl-C stops.")
        typer.echo(f"Prefect UI: {ui}")
        serve_all(sweep_every)


def demo(port: int = typer.Option(4200, help="Port of the Prefect server.")) -> None:
    """One case per municipality through its whole lifecycle (accelerated clock)."""
    from workflow.orchestration.server import local_server

    with local_server(_prefect_home(), port) as api_url:
        _use_server(api_url)
        _play_demo()
        typer.echo(f"See the runs in the Prefect UI: {api_url.removesuffix('/api')}")


def _play_demo() -> None:
    from workflow.orchestration.demo import DemoClock, run_demo
    from workflow.runtime import build_runtime, get_runtime, use_runtime

    settings = get_settings()
    clock = DemoClock(datetime.now(UTC))
    runtime = build_runtime(settings, clock=clock)
    use_runtime(runtime)
    try:
        run_demo(runtime, clock, settings.definitions_dir / "examples", typer.echo)
    finally:
        use_runtime(None)
        runtime.engine.dispose()
    get_runtime()  # back on the real clock


def sweep_command(now: str | None = typer.Option(None, help="ISO time (default: now).")) -> None:
    """Fire due timers and deliver what is waiting in the outbox, once."""
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo(
            "Set PREFECT_API_URL (or run `workflow up`, which sweeps on a schedule).", err=True
        )
        raise typer.Exit(1)
    from workflow.orchestration.flows import sweep

    typer.echo(str(asyncio.run(sweep(now))))


def intake(csv_path: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Open cases from a CSV of referrals (columns: definition, name, cpr, birth_date, ...)."""
    with csv_path.open(encoding="utf-8", newline="") as handle:
        total = sum(1 for _ in csv.DictReader(handle))
    from workflow.orchestration import flows

    with typer.progressbar(length=total, label="Referrals") as bar:
        flows.PROGRESS.append(bar.update)
        try:
            if os.environ.get("PREFECT_API_URL"):
                summary = asyncio.run(flows.intake(flows.stage_intake_file(csv_path)))
            else:
                summary = flows.intake_rows(csv_path)
        finally:
            flows.PROGRESS.clear()
    typer.echo(", ".join(f"{status}: {count}" for status, count in sorted(summary.items())))
