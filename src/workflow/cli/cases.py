"""`workflow case ...`: refer, trigger and show cases from the command line.

Every command goes through the service layer, like the web app. After a step is
committed its effects are carried out by a `case-step` flow run when a Prefect server is
reachable (PREFECT_API_URL); otherwise the next sweep delivers them.
"""

from __future__ import annotations

import json
import os
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import typer

from workflow.engine import Actor
from workflow.errors import WorkflowError

app = typer.Typer(help="Refer, trigger and show cases.", no_args_is_help=True)


def parse_inputs(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs; a value that is JSON (a list, a number, true) is read as JSON."""
    inputs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"'{pair}': write key=value", param_hint="--input")
        try:
            inputs[key] = json.loads(value) if value[:1] in "[{0123456789-tfn" else value
        except json.JSONDecodeError:
            inputs[key] = value
    return inputs


def parse_actor(text: str) -> Actor:
    """`role` or `role:staff-id`."""
    role, _, ident = text.partition(":")
    return Actor(role, ident or None)


def _carry_out(result: Any) -> None:
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo("  (no Prefect server configured: the next sweep delivers the notifications)")
        return
    import asyncio

    from workflow.orchestration.flows import run_step

    try:
        outcome = asyncio.run(run_step(result))
    except Exception as exc:  # the step is committed; its effects wait in the outbox
        typer.echo(
            "  the step is saved, but Prefect could not carry out its effects now "
            f"({type(exc).__name__}); the next sweep delivers them"
        )
        return
    typer.echo(f"  effects carried out by flow run {result.reference}-step-{result.seq}: {outcome}")


def _fail(exc: WorkflowError) -> None:
    from workflow.services import RejectedError

    if isinstance(exc, RejectedError):
        typer.echo(f"Refused: {exc.rejection.text('da')}", err=True)
        for error in exc.rejection.field_errors:
            typer.echo(f"  {error.name}: {error.text('da')}", err=True)
    else:
        typer.echo(f"Error: {exc}", err=True)
    raise typer.Exit(1)


@app.command()
def refer(
    definition: str = typer.Argument(..., help="Definition id, e.g. soroe."),
    name: str = typer.Option(..., help="The young person's name (stored only in the case store)."),
    cpr: str = typer.Option(..., help="CPR number (stored only in the case store)."),
    birth_date: str = typer.Option(..., help="Birth date, YYYY-MM-DD."),
    actor: str = typer.Option("caseworker", help="role or role:staff-id"),
    inputs: list[str] = typer.Option([], "--input", help="key=value (repeatable)."),
    idempotency_key: str | None = typer.Option(None, help="Repeat-safe key."),
) -> None:
    """Open a case by referral."""
    from workflow.runtime import get_runtime
    from workflow.services import YoungPersonDetails

    try:
        born = date.fromisoformat(birth_date)
    except ValueError:
        raise typer.BadParameter("write YYYY-MM-DD", param_hint="--birth-date") from None
    try:
        result = get_runtime().service.refer(
            definition,
            YoungPersonDetails(name, cpr, born),
            parse_actor(actor),
            parse_inputs(inputs),
            idempotency_key=idempotency_key,
        )
    except WorkflowError as exc:
        _fail(exc)
        return
    typer.echo(f"{result.reference}: opened in {result.to_stage}")
    _carry_out(result)


@app.command()
def trigger(
    reference: str = typer.Argument(..., help="Case reference, e.g. SOR-2026-0042."),
    event: str = typer.Argument(..., help="The step, e.g. accept_referral."),
    inputs: list[str] = typer.Option([], "--input", help="key=value (repeatable)."),
    actor: str = typer.Option("caseworker", help="role or role:staff-id"),
    idempotency_key: str | None = typer.Option(None, help="Repeat-safe key."),
) -> None:
    """Take the next step of a case."""
    from workflow.runtime import get_runtime

    try:
        result = get_runtime().service.trigger(
            reference,
            event,
            parse_inputs(inputs),
            parse_actor(actor),
            idempotency_key=idempotency_key,
        )
    except WorkflowError as exc:
        _fail(exc)
        return
    note = " (repeated request: first result)" if result.repeated else ""
    typer.echo(f"{result.reference}: {result.from_stage} -> {result.to_stage}{note}")
    if not result.repeated:
        _carry_out(result)


@app.command()
def show(
    reference: str = typer.Argument(..., help="Case reference."),
    actor: str = typer.Option("caseworker", help="role or role:staff-id"),
    purpose: str = typer.Option("sagsbehandling", help="Why you look (kept in the audit log)."),
) -> None:
    """Show a case: stage, timeline, team, plan and running timers."""
    from workflow.runtime import get_runtime

    runtime = get_runtime()
    try:
        view = runtime.service.view(reference, parse_actor(actor), purpose)
    except WorkflowError as exc:
        _fail(exc)
        return
    zone = ZoneInfo(runtime.catalog.by_id(view.definition).calendar.timezone)
    typer.echo(f"{view.reference}  ({view.definition} v{view.version})  stage: {view.stage}")
    typer.echo("Timeline:")
    for h in view.history:
        notes = sum(1 for e in h["effects"] if e["type"] == "Notify")
        typer.echo(
            f"  {h['seq']:>3}  {h['at'].astimezone(zone):%Y-%m-%d %H:%M}  "
            f"{h['event']:<24} {h['from'] or '(new)'} -> {h['to']}  [{h['actor']}]"
            + (f"  {notes} notification(s)" if notes else "")
        )
    if view.team:
        typer.echo("Team (chosen by the young person):")
        for m in view.team:
            typer.echo(f"  {m['department']}: {m['person']}")
    if view.coordinator:
        typer.echo(f"Coordinator: {view.coordinator}")
    if view.plan:
        typer.echo(f"Plan (version {view.plan_version}):")
        for g in view.plan:
            typer.echo(f"  {g['number']}. {g['text']}  [{g['department'] or '-'}, {g['status']}]")
    for t in view.timers:
        typer.echo(f"Timer {t['timer']}: due {t['due_at'].astimezone(zone):%Y-%m-%d %H:%M}")
