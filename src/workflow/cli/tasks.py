"""`workflow task ...`: a person's tasks across cases — list them, mark one done, add one.

Through the service layer, like the web app's "Mine opgaver": only a task's assignee
marks it done, every change is audited, and a refusal says what and where.
"""

from __future__ import annotations

from datetime import date

import typer

from workflow.cli.cases import actor_option, fail, known_actor
from workflow.errors import WorkflowError

app = typer.Typer(help="Your tasks: list them, mark them done, add one to a case.")


@app.command("list")
def list_tasks(
    actor: str | None = actor_option("team_member:laerer-anna"),
    reference: str | None = typer.Option(None, "--case", help="Only this case's tasks."),
    stage: str | None = typer.Option(None, help="Only tasks of cases in this stage."),
    done: bool = typer.Option(False, "--done", help="The done (and cancelled) tasks instead."),
) -> None:
    """Your open tasks across cases, overdue first."""
    from workflow.runtime import get_runtime
    from workflow.store.unit_of_work import DANISH_TIME

    person = known_actor(actor).id
    assert person is not None
    items = get_runtime().tasks.worklist(person, reference=reference, stage=stage, done=done)
    if not items:
        typer.echo("No tasks." if not done else "No done tasks.")
        return
    for item in items:
        # In Danish time, as the web pages and the mails say it (the store keeps UTC).
        due = (
            f"due {item.due_at.astimezone(DANISH_TIME):%Y-%m-%d %H:%M}"
            if item.due_at
            else "no due date"
        )
        mark = "OVERDUE " if item.overdue else "WAITING (course paused) " if item.held else ""
        closed = f" ({item.state} by {item.closed_by})" if item.state != "open" else ""
        typer.echo(f"{item.id:>6}  {item.reference}  {mark}{due}  {item.title}{closed}")


@app.command("done")
def done_task(
    task_id: int = typer.Argument(..., help="The task's number (see `workflow task list`)."),
    actor: str | None = actor_option("team_member:laerer-anna"),
    note: str | None = typer.Option(None, help="What was done (optional)."),
) -> None:
    """Mark one of your tasks done."""
    from workflow.runtime import get_runtime

    try:
        item = get_runtime().tasks.complete(task_id, known_actor(actor), note)
    except WorkflowError as exc:
        fail(exc)
        return
    typer.echo(f"Task {item.id} of {item.reference} is done: {item.title}")


@app.command("add")
def add_task(
    reference: str = typer.Argument(..., help="Case reference."),
    assignee: str = typer.Option(..., help="Staff id of a person on the case."),
    title: str = typer.Option(..., help="What must be done."),
    due: str | None = typer.Option(None, help="Due date, YYYY-MM-DD."),
    actor: str | None = actor_option(),
) -> None:
    """Give a person on the case a task."""
    from workflow.runtime import get_runtime

    try:
        due_date = date.fromisoformat(due) if due else None
    except ValueError:
        raise typer.BadParameter(
            f"'{due}': write a date as YYYY-MM-DD", param_hint="--due"
        ) from None
    try:
        item = get_runtime().tasks.add(
            reference, known_actor(actor), assignee=assignee, title=title, due=due_date
        )
    except WorkflowError as exc:
        fail(exc)
        return
    typer.echo(f"Task {item.id} added to {item.reference} for {item.assignee}: {item.title}")
