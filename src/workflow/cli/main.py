"""``workflow``: validate, draw, simulate and describe process definitions.

Errors are printed as located lines (file:line:column: path: message (hint)) and
the command exits 1; never a traceback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from workflow.cli import (
    accounts,
    cases,
    cpr,
    operations,
    outbox,
    privacy,
    report,
    tasks,
    upgrades,
    web,
)
from workflow.cli.upgrades import definition_path
from workflow.definitions.graph import mermaid
from workflow.definitions.loader import check_file, load_definition
from workflow.definitions.models import Definition
from workflow.definitions.reference import json_schema, reference_markdown
from workflow.engine.simulation import format_timeline, load_script, simulate
from workflow.errors import DefinitionError, Problem

#: Prefect's telemetry off in every command (its first-run notice too, which Prefect prints
#: in a terminal when it is imported unless DO_NOT_TRACK is set): as for the local server
#: (workflow.orchestration.prefect_env.prefect_env).
TELEMETRY_OFF = {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
os.environ.update(TELEMETRY_OFF)

app = typer.Typer(
    name="workflow",
    help="Workflow engine for Danish municipal youth services.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: flags as flags, each option's value and default on one line (the rich
    # layout showed a "<bool>" type beside every flag).
    rich_markup_mode=None,
)


@app.callback()
def _every_command() -> None:
    """Before any command: with a Prefect server set, the store's Prefect home (the one
    `up` and the worker use), so a step one command hands off is found by the worker."""
    operations.use_prefect_home()


def _fail(error: DefinitionError) -> None:
    for problem in error.problems:
        typer.echo(str(problem), err=True)
    count = len(error.problems)
    typer.echo(f"{count} problem{'s' if count != 1 else ''} found.", err=True)
    raise typer.Exit(1)


def _definitions_dir() -> Path:
    """Where ``extends: <id>`` is looked up when the id is not beside the file."""
    from workflow.settings import get_settings

    return get_settings().definitions_dir


@app.command()
def validate(
    paths: list[Path] = typer.Argument(..., help="Definition files."),
    store: bool = typer.Option(
        False,
        "--store",
        help="Also check each version against the versions the store holds (the store of "
        "WORKFLOW_DATABASE_URL, else WORKFLOW_HOME's): a changed definition needs a new one.",
    ),
) -> None:
    """Check definitions; print every problem with file:line:column.

    Exits 1 if any definition has an error; warnings (a guard that compares a value that
    may be unset...) are printed as ``warning:`` lines and do not fail.
    """
    failed = False
    loaded: list[tuple[Path, Definition]] = []
    warned = 0
    for path in paths:
        definition, problems = check_file(path, definitions_dir=_definitions_dir())
        for problem in problems:  # errors and warnings (a warning alone does not fail)
            typer.echo(str(problem), err=True)
        warned += sum(1 for p in problems if p.is_warning)
        if definition is None:
            failed = True
        else:
            loaded.append((path, definition))
    refused = _against_store([d for _, d in loaded]) if store else {}
    for path, definition in loaded:
        for problem in refused.get(definition.id, []):
            typer.echo(str(problem), err=True)
        if definition.id in refused:
            failed = True
            continue
        typer.echo(
            f"{path}: ok ({definition.id} v{definition.version}, "
            f"{len(definition.stages)} stages, {len(definition.transitions)} transitions)"
        )
    if warned:
        typer.echo(f"{warned} warning{'s' if warned != 1 else ''}.", err=True)
    if failed:
        raise typer.Exit(1)


def _against_store(definitions: list[Definition]) -> dict[str, list[Problem]]:
    """The problems of each definition's version against the store's (read, not migrated)."""
    from sqlalchemy.exc import SQLAlchemyError

    from workflow.settings import get_settings
    from workflow.store.database import make_engine, opened
    from workflow.store.version_check import check_versions_in

    url = get_settings().store_url
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).is_file():
        return {}  # no store yet: every version is new
    engine = make_engine(url)
    try:
        opened(engine).close()  # unreachable or unusable: which store, why (workflow.cli.entry)
        return check_versions_in(engine, definitions)
    except SQLAlchemyError as exc:
        typer.echo(f"Error: cannot read the store ({type(exc).__name__})", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


@app.command()
def schema(output: Path | None = typer.Option(None, help="Write to this file.")) -> None:
    """Print the JSON Schema of the definition format (for editors)."""
    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


@app.command()
def reference(output: Path | None = typer.Option(None, help="Write to this file.")) -> None:
    """Print the definition language reference (Markdown), generated from the models."""
    text = reference_markdown()
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


@app.command()
def graph(
    definition: str = typer.Argument(..., help="Definition file or id."),
    locale: str | None = typer.Option(None, help="da or en (default: the definition's)."),
) -> None:
    """Draw a definition's stages as a Mermaid state diagram."""
    try:
        loaded = load_definition(definition_path(definition), definitions_dir=_definitions_dir())
    except DefinitionError as exc:
        _fail(exc)
        return
    typer.echo(mermaid(loaded, locale), nl=False)


@app.command("simulate")
def simulate_command(
    definition: str = typer.Argument(..., help="Definition file or id."),
    script: Path = typer.Argument(..., help="Simulation script (YAML)."),
) -> None:
    """Run a scripted case through a definition on a fake clock; print the timeline."""
    try:
        loaded = load_definition(definition_path(definition), definitions_dir=_definitions_dir())
        parsed = load_script(script)
    except DefinitionError as exc:
        _fail(exc)
        return
    timeline = simulate(loaded, parsed)
    typer.echo(format_timeline(timeline, loaded.locale), nl=False)
    if timeline.problems:
        for problem in timeline.problems:
            typer.echo(f"{script}: {problem}", err=True)
        raise typer.Exit(1)


app.add_typer(cases.app, name="case")
app.add_typer(tasks.app, name="task", no_args_is_help=True)
app.add_typer(upgrades.cases_app, name="cases")
app.add_typer(upgrades.definitions_app, name="definitions")
app.add_typer(accounts.app, name="account")
app.add_typer(cpr.app, name="cpr")
app.add_typer(privacy.consent_app, name="consent")
app.add_typer(privacy.access_app, name="access")
app.add_typer(privacy.audit_app, name="audit")
app.add_typer(privacy.retention_app, name="retention", no_args_is_help=True)
operations.register(app)
web.register(app)
cases.register(app)
outbox.register(app)
report.register(app)

if __name__ == "__main__":  # pragma: no cover
    app()
