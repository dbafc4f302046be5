"""`workflow outbox list | retry` and `workflow machinery REF`: the operator's commands.

Codes only (outbox ids, case references, department and template codes, states,
counts, error types, times in UTC) — never a name, an address or an error's text — and
every use is written to the audit log as ``operator:<--by>`` with its purpose.

They read the store directly (WORKFLOW_DATABASE_URL, else WORKFLOW_HOME's), without
loading the definitions or Prefect, so they answer at once; imports stay inside the
commands.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from workflow.cases.machinery import MachineryService
    from workflow.store.outbox_admin import OutboxLine

app = typer.Typer(
    help="Notifications on their way: list them, put given-up ones back in line.",
    no_args_is_help=True,
)
T = TypeVar("T")

BY = typer.Option(..., "--by", metavar="STAFF-ID", help="Your staff id (kept in the audit log).")
STATES = "pending, sending, sent, dead, withheld"


def register(main: typer.Typer) -> None:
    """Add `workflow outbox ...` and `workflow machinery` to the main app."""
    main.add_typer(app, name="outbox")
    main.command("machinery")(machinery_command)


def quick_app() -> typer.Typer:
    """``workflow`` with only these commands: what the entry point runs for them."""
    quick = typer.Typer(
        name="workflow",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    register(quick)
    return quick


@contextmanager
def _refusals() -> Iterator[None]:
    from workflow.errors import WorkflowError

    try:
        yield
    except WorkflowError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None


def _service() -> MachineryService:
    """The operator's service on the store, without definitions, runtime or Prefect."""
    from workflow.cases.machinery import MachineryService
    from workflow.settings import get_settings
    from workflow.store.database import make_engine, migrate, session_factory

    engine = make_engine(get_settings().store_url)
    if not _at_head(engine):
        # A new store gets its tables, an old one is brought up to date (as every command
        # does). Not run at head: on SQLite it checks every foreign key (seconds on a
        # store of 50,000 cases).
        migrate(engine)
    return MachineryService(session_factory(engine), lambda: datetime.now(UTC))


def _at_head(engine: Engine) -> bool:
    """Whether the store's schema is the newest migration's (read, nothing changed).

    Without Alembic (0.3-0.6 s to import and read its scripts here): the heads are the
    revisions no migration names as its ``down_revision``. Anything unexpected (another
    layout of a migration file, no version table) answers False: the store is migrated,
    which is always right, only slower.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from workflow.store.database import MIGRATIONS

    revisions: set[str] = set()
    replaced: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            return False
        revisions.add(found.group(1))
        down = _DOWN_REVISION.search(source)
        if down is None:
            return False
        replaced.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    heads = revisions - replaced
    try:
        with engine.connect() as connection:
            current = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
    except SQLAlchemyError:
        return False
    return bool(heads) and current == heads


_REVISION = re.compile(r"^revision(?:: str)? = [\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision(?:: [^=]+)? = (.+)$", re.MULTILINE)


def _call(call: Callable[[MachineryService], T]) -> T:
    with _refusals():
        return call(_service())


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _recipient(line: OutboxLine) -> str:
    return f"{line.recipient_kind}:{line.recipient_id}"


def _row(line: OutboxLine) -> str:
    step = "-" if line.step is None else str(line.step)
    return (
        f"{line.id:>6}  {line.reference:<14} {step:>4}  {_recipient(line):<24} "
        f"{line.template:<32} {line.state:<9} {line.attempts:>3}  {line.error_type or '-'}"
    )


HEADER = (
    f"{'id':>6}  {'case':<14} {'step':>4}  {'recipient':<24} {'template':<32} "
    f"{'state':<9} {'try':>3}  error type"
)


def _as_json(line: OutboxLine) -> dict[str, object]:
    return {
        "id": line.id,
        "case": line.reference,
        "step": line.step,
        "recipient_kind": line.recipient_kind,
        "recipient_id": line.recipient_id,
        "template": line.template,
        "state": line.state,
        "attempts": line.attempts,
        "error_type": line.error_type,
        "available_at": line.available_at.isoformat(),
    }


@app.command("list")
def list_command(
    state: list[str] = typer.Option(
        [], "--state", help=f"Only rows in this state (repeatable): {STATES}."
    ),
    case: str | None = typer.Option(None, "--case", metavar="REF", help="Only this case."),
    limit: int = typer.Option(50, help="At most this many rows, newest first."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    by: str = BY,
    purpose: str = typer.Option("delivery check", help="Why you look (kept in the audit log)."),
) -> None:
    """Outbox rows: id, case, step, recipient code, template, state, attempts, error type."""
    lines = _call(
        lambda s: s.outbox(by, purpose, states=state, reference=case, limit=limit or None)
    )
    if as_json:
        for line in lines:
            typer.echo(json.dumps(_as_json(line)))
        return
    if not lines:
        typer.echo("no rows")
        return
    typer.echo(HEADER)
    for line in lines:
        typer.echo(_row(line))


@app.command("retry")
def retry_command(
    ids: list[int] = typer.Argument(None, metavar="ID", help="Outbox ids (from list)."),
    case: str | None = typer.Option(
        None, "--case", metavar="REF", help="Every given-up row of this case."
    ),
    all_dead: bool = typer.Option(False, "--all-dead", help="Every dead row."),
    include_withheld: bool = typer.Option(
        False,
        "--include-withheld",
        help="Withheld rows too (no consent covered them; checked again when sent).",
    ),
    by: str = BY,
    purpose: str = typer.Option(
        "redelivery after the cause was fixed", help="Why (kept in the audit log)."
    ),
) -> None:
    """Put dead rows back in line (pending, due now): the next sweep delivers them."""
    result = _call(
        lambda s: s.retry(
            by,
            purpose,
            ids=ids or (),
            reference=case,
            all_dead=all_dead,
            include_withheld=include_withheld,
        )
    )
    for line in result.retried:
        step = "" if line.step is None else f" step {line.step}"
        typer.echo(
            f"retried {line.id} ({line.reference}{step}: {_recipient(line)} {line.template}; "
            f"was {line.state})"
        )
    for line in result.left:
        why = " (add --include-withheld)" if line.state == "withheld" else ""
        typer.echo(f"left {line.id} ({line.reference}): {line.state}{why}")
    for ident in result.missing:
        typer.echo(f"no outbox row {ident}", err=True)
    if result.retried:
        typer.echo(f"{len(result.retried)} back in line: {_redeliver(result.retried)}")
    else:
        typer.echo("nothing to retry")
    if result.missing:
        raise typer.Exit(1)


def _redeliver(lines: list[OutboxLine]) -> str:
    """Hand the rows' steps to the workers as runs of their own (``<REF>-step-<n>-
    redelivery``, tagged ``trigger:redelivery``) when Prefect and a worker are there; what
    happens next, in words."""
    them = "it" if len(lines) == 1 else "them"
    later = f"the next sweep delivers {them} (or now, without Prefect: workflow sweep --no-prefect)"
    if not os.environ.get("PREFECT_API_URL"):
        return later
    codes = _call(lambda s: s.step_codes(lines))
    from workflow.orchestration.flows import step_labels
    from workflow.orchestration.handoff import StepToCarryOut, carry_out

    steps = [
        StepToCarryOut(ref, seq, tuple(step_labels(ref, seq, code, stage, event, "redelivery")))
        for ref, seq, code, stage, event in codes
    ]
    if steps and carry_out(steps):
        runs = ", ".join(f"{s.reference}-step-{s.seq}-redelivery" for s in steps)
        rest = sum(1 for line in lines if line.step is None)  # a task reminder: no step
        also = f"; {rest} of no step (a reminder): the next sweep delivers them" if rest else ""
        return f"handed to a worker now (Prefect runs {runs}){also}"
    return f"no worker listens; {later}"


def machinery_command(
    reference: str = typer.Argument(..., help="Case reference."),
    by: str = BY,
    purpose: str = typer.Option("operations check", help="Why you look (kept in the audit log)."),
) -> None:
    """One case's machinery for the operator: stage, steps, timers, deliveries (codes only)."""
    view = _call(lambda s: s.case(reference, by, purpose))
    typer.echo(
        f"{view.reference}  {view.definition} v{view.version}  municipality {view.municipality}"
        f"  stage {view.stage}"
    )
    typer.echo(f"Steps ({len(view.steps)}):")
    for step in view.steps:
        typer.echo(
            f"  {step.seq:>3}  {step.event:<28} {step.actor_role:<14} {_when(step.at)}  "
            f"{step.from_stage or '-'} -> {step.to_stage}"
        )
    typer.echo(f"Timers ({len(view.timers)}):")
    for timer in view.timers:
        due = _when(timer.due_at) if timer.due_at else "on a date of the young person's (not shown)"
        typer.echo(f"  {timer.id:>6}  {timer.timer:<28} {timer.state:<9} due {due}")
    typer.echo("Deliveries by recipient:")
    for (kind, ident), counts in sorted(view.deliveries.items()):
        shown = ", ".join(f"{state} {n}" for state, n in sorted(counts.items()))
        typer.echo(f"  {kind + ':' + ident:<28} {shown}")
    if view.open_deliveries:
        typer.echo("Not delivered:")
        typer.echo("  " + HEADER)
        for line in view.open_deliveries:
            typer.echo("  " + _row(line))
    typer.echo(f"Prefect: the case's runs are tagged case:{view.reference}")
