"""What a command that starts servers checks first, and how it refuses to start."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer

from workflow.errors import DefinitionError

if TYPE_CHECKING:
    from workflow.runtime import Runtime


def definitions_fit_the_store() -> Runtime:
    """The process's runtime; or every problem of the definitions, and exit 1, nothing started.

    Building the runtime loads the definitions and checks each against the versions the
    store holds: one edited without raising its version is refused here, before a server
    starts, rather than failing a step later.
    """
    from workflow.runtime import get_runtime

    try:
        return get_runtime(strict=True)
    except DefinitionError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo("Nothing was started.", err=True)
        raise typer.Exit(1) from None


def refuse(command: str, message: str) -> NoReturn:
    """One line on stderr, exit code 2: a start-up refused, nothing left running."""
    typer.echo(f"workflow {command}: {message}", err=True)
    raise typer.Exit(2)
