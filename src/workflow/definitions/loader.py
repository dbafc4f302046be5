"""Loading a definition: read YAML, resolve ``extends``, validate, check, report everything.

``load_definition('definitions/soroe.yaml')`` returns a checked :class:`Definition` or
raises :class:`DefinitionError` holding every problem found, each located as
``file:line:column: path: message (hint)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from workflow.definitions.checks import check_definition
from workflow.definitions.merge import duplicate_ids, merge
from workflow.definitions.models import Definition
from workflow.definitions.template_checks import check_templates
from workflow.definitions.validation_errors import problems_from_validation
from workflow.definitions.yamlsource import YamlMap, locate, read_yaml_file
from workflow.errors import DefinitionError, Location, Problem


def _display(path: Path) -> str:
    """A path as the user will recognise it: relative to the working directory if inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_raw(path: Path, _chain: tuple[Path, ...] = ()) -> tuple[YamlMap | None, list[Problem]]:
    """The located YAML of a definition with everything it extends merged in."""
    shown = _display(path)
    raw, problems = read_yaml_file(path, shown)
    if raw is None:
        return None, problems
    if not isinstance(raw, YamlMap):
        loc = getattr(raw, "loc", Location(shown, 1, 1))
        return None, [*problems, Problem(loc, "", "a definition must be a map of fields")]
    problems += duplicate_ids(raw)
    ident = raw.get("id")
    if isinstance(ident, str) and ident != path.stem:
        problems.append(
            Problem(
                raw.value_locs["id"],
                "id",
                f"the id '{ident}' differs from the file name '{path.name}'",
                f"name the file '{ident}.yaml' or change the id",
            )
        )
    parent_id = raw.get("extends")
    if not isinstance(parent_id, str):
        return raw, problems
    parent_path = path.parent / f"{parent_id}.yaml"
    loc = raw.value_locs["extends"]
    if parent_path.resolve() in [p.resolve() for p in (*_chain, path)]:
        cycle = " -> ".join(p.stem for p in (*_chain, path, parent_path))
        return None, [
            *problems,
            Problem(loc, "extends", f"definitions extend in a circle: {cycle}"),
        ]
    if not parent_path.exists():
        return None, [
            *problems,
            Problem(
                loc,
                "extends",
                f"cannot find the extended definition '{parent_id}'",
                f"expected the file {_display(parent_path)}",
            ),
        ]
    parent, parent_problems = load_raw(parent_path, (*_chain, path))
    problems += parent_problems
    if parent is None:
        return None, problems
    merged, merge_problems = merge(parent, raw)
    return merged, problems + merge_problems


def load_definition(path: str | Path) -> Definition:
    """Load, resolve and check a definition; raise DefinitionError with every problem."""
    definition, problems = _load(Path(path))
    if problems or definition is None:
        raise DefinitionError(problems)
    return definition


def _load(path: Path) -> tuple[Definition | None, list[Problem]]:
    raw, problems = load_raw(path)
    if raw is None:
        return None, problems
    try:
        definition = Definition.model_validate(_plain(raw))
    except ValidationError as exc:
        return None, problems + problems_from_validation(exc, raw, Definition)
    findings = check_definition(definition) + check_templates(definition)
    for where, message, hint in findings:
        location, shown = locate(raw, where)
        problems.append(Problem(location, shown, message, hint))
    return definition, problems


def _plain(value: Any) -> Any:
    """Plain dicts and lists for pydantic (our located containers are subclasses)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_directory(directory: str | Path) -> dict[str, Definition]:
    """Every definition in a folder that opens cases (abstract bases left out), by id."""
    result: dict[str, Definition] = {}
    problems: list[Problem] = []
    for file in sorted(Path(directory).glob("*.yaml")):
        definition, found = _load(file)
        problems += found
        if definition is not None and not found and not definition.abstract:
            result[definition.id] = definition
    if problems:
        raise DefinitionError(problems)
    return result
