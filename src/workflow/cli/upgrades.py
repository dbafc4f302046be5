"""`workflow definitions diff|versions` and `workflow cases migrate`: definition upgrades.

A municipality ships a new version of its definition by raising ``version`` in its file;
new cases start on it, running cases stay where they are until an operator moves them:

    workflow definitions diff soroe@1 definitions/soroe.yaml
    workflow cases migrate soroe --to 2 --map follow_up=follow_up_meetings --dry-run --by ID
    workflow cases migrate soroe --to 2 --map follow_up=follow_up_meetings --by ID
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from workflow.cli.privacy import BY, with_runtime
from workflow.definitions.diff import diff_definitions
from workflow.definitions.loader import load_definition
from workflow.definitions.models import Definition
from workflow.errors import DefinitionError

definitions_app = typer.Typer(
    help="Compare definition versions; list the versions the store knows.",
    no_args_is_help=True,
)
cases_app = typer.Typer(help="Operations on many cases at once.", no_args_is_help=True)
_STORED = re.compile(r"^([a-z][a-z0-9_]*)@(\d+)$")


def definition_path(definition: str) -> Path:
    """A definition given as a path, or as an id found in ./definitions/."""
    path = Path(definition)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return Path("definitions") / f"{definition}.yaml"


def _load(spec: str) -> Definition:
    """`id@version` from the store, or a file (a path, or an id in ./definitions/)."""
    stored = _STORED.match(spec)
    if stored:
        found: Definition = with_runtime(
            lambda rt: rt.upgrades.versions.stored(stored[1], int(stored[2]))
        )
        return found
    from workflow.settings import get_settings

    try:  # `extends: base` is found as `workflow validate` finds it (beside, or installed)
        return load_definition(
            definition_path(spec), definitions_dir=get_settings().definitions_dir
        )
    except DefinitionError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None


@definitions_app.command("diff")
def diff(
    old: str = typer.Argument(..., help="The old version: a file, an id, or id@version (store)."),
    new: str = typer.Argument(..., help="The new version: a file, an id, or id@version (store)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """What changed between two versions, and which stages running cases will need mapped."""
    result = diff_definitions(_load(old), _load(new))
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
    else:
        for line in result.lines():
            typer.echo(line)


@definitions_app.command("versions")
def versions(
    definition: str | None = typer.Argument(None, help="Only this definition id."),
) -> None:
    """The definition versions in the store, and how many open cases run on each."""
    rows = with_runtime(lambda rt: rt.upgrades.versions.versions(definition))
    if not rows:
        typer.echo("no such definition")
    for row in rows:
        when = (
            f"registered {row.registered_at:%Y-%m-%d %H:%M}"
            if row.registered_at
            else "not used yet"
        )
        cases = f"{row.open_cases} open case{'s' if row.open_cases != 1 else ''}"
        mark = "  (current file)" if row.current else ""
        typer.echo(
            f"{row.definition_id} v{row.version}  {row.content_hash[:12]}  {when}  {cases}{mark}"
        )


@cases_app.command("migrate")
def migrate(
    definition: str = typer.Argument(..., help="The definition id (e.g. soroe)."),
    to: int = typer.Option(..., "--to", help="The version to move the running cases to."),
    maps: list[str] = typer.Option(
        [], "--map", help="old_stage=new_stage, for each stage the new version lacks."
    ),
    case: list[str] = typer.Option(
        [], "--case", help="Only these cases (repeat); default: every running case."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan; change nothing."),
    by: str = BY,
) -> None:
    """Move running cases to another version of their definition (logged per case)."""
    from workflow.engine.migration_plan import parse_mapping

    plan = with_runtime(
        lambda rt: rt.upgrades.migrate(
            definition,
            to,
            parse_mapping(maps),
            actor=f"operator:{by}",
            references=case or None,
            dry_run=dry_run,
        )
    )
    verb = "would move" if plan.dry_run else "moved"
    for move in plan.moves:
        stage = (
            move.from_stage
            if move.from_stage == move.to_stage
            else f"{move.from_stage} -> {move.to_stage}"
        )
        extra = []
        if move.from_previous != move.to_previous:
            extra.append(f"resumes to {move.to_previous}")
        if move.timers_cancelled:
            extra.append("timers cancelled: " + ", ".join(move.timers_cancelled))
        note = f"  ({'; '.join(extra)})" if extra else ""
        typer.echo(f"{move.reference}: v{move.from_version} -> v{plan.to_version}  {stage}{note}")
    by_stage = ", ".join(f"{a} -> {b}: {n}" for (a, b), n in sorted(plan.by_stage().items()))
    typer.echo(
        f"{verb} {len(plan.moves)} case{'s' if len(plan.moves) != 1 else ''} of {definition} "
        f"to version {plan.to_version}" + (f" ({by_stage})" if by_stage else "")
    )
    if plan.dry_run and plan.moves:
        typer.echo("Nothing was changed; run again without --dry-run to migrate.")
