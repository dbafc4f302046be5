"""Loading a definition: read YAML, resolve ``extends``, validate, check, report everything.

``load_definition('definitions/soroe.yaml')`` returns a checked :class:`Definition` or
raises :class:`DefinitionError` holding every problem found, each located as
``file:line:column: path: message (hint)``.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from workflow.definitions.checks import Finding, check_definition
from workflow.definitions.extends import extended_file
from workflow.definitions.merge import duplicate_ids, merge
from workflow.definitions.models import Definition
from workflow.definitions.parts import Removals
from workflow.definitions.pruning import prune
from workflow.definitions.sourcemap import SourceMap
from workflow.definitions.template_checks import check_templates
from workflow.definitions.types import StrictModel
from workflow.definitions.unset_values import unset_value_warnings
from workflow.definitions.validation_errors import problems_from_validation
from workflow.definitions.yamlsource import YamlMap, locate, parse_yaml_bytes, read_source
from workflow.errors import DefinitionError, Location, Problem, Severity


def _display(path: Path) -> str:
    """A path as the user will recognise it: relative to the working directory if inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return os.path.normpath(path)  # 'kommune/../shared/base.yaml' as 'shared/base.yaml'


def _read(path: Path, shown: str) -> tuple[Any, list[Problem]]:
    """A file's located YAML, parsed once for as long as its content stays the same.

    Loading a folder reads the definition every municipality extends once per file that
    extends it, and every new runtime loads the folder again; the cache is keyed on the
    file's exact bytes (and the name problems give it), so a changed file is read anew.
    The values are shared between loads: nothing in loading may change them in place.
    """
    data, problems = read_source(path, shown)
    if data is None:
        return None, problems
    value, found = _parsed(data, shown)
    return value, list(found)


@lru_cache(maxsize=64)
def _parsed(data: bytes, shown: str) -> tuple[Any, tuple[Problem, ...]]:
    value, problems = parse_yaml_bytes(data, shown)
    return value, tuple(problems)


def load_raw(
    path: Path, _chain: tuple[Path, ...] = (), *, definitions_dir: Path | None = None
) -> tuple[YamlMap | None, list[Problem]]:
    """The located YAML of a definition with everything it extends merged in.

    ``definitions_dir``: where ``extends: <id>`` is looked up when the id is not beside
    the file (see :mod:`workflow.definitions.extends`).
    """
    shown = _display(path)
    raw, problems = _read(path, shown)
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
    if "extends" not in raw:
        return raw, problems
    loc = raw.value_locs["extends"]
    parent_path, not_found = extended_file(raw["extends"], loc, path, definitions_dir, _display)
    if parent_path is None:
        return None, [*problems, *([not_found] if not_found else [])]
    problems += _check_removals(raw)
    if parent_path.resolve() in [p.resolve() for p in (*_chain, path)]:
        cycle = " -> ".join(p.stem for p in (*_chain, path, parent_path))
        return None, [
            *problems,
            Problem(loc, "extends", f"definitions extend in a circle: {cycle}"),
        ]
    parent, parent_problems = load_raw(
        parent_path, (*_chain, path), definitions_dir=definitions_dir
    )
    problems += parent_problems
    if parent is None:
        return None, problems
    merged, merge_problems = merge(parent, raw)
    # The resolved definition names what it extends by id, however the file wrote it.
    parent_id = parent.get("id")
    merged["extends"] = parent_id if isinstance(parent_id, str) else parent_path.stem
    return merged, problems + merge_problems


class _RemovalsOnly(StrictModel):
    remove: Removals | None = None


def _check_removals(raw: YamlMap) -> list[Problem]:
    """The shape of a ``remove`` block (merging uses it before the model sees the file)."""
    if "remove" not in raw:
        return []
    try:
        _RemovalsOnly.model_validate({"remove": _plain(raw["remove"])})
    except ValidationError as exc:
        return problems_from_validation(exc, raw, Definition)
    return []


def load_definition(path: str | Path, *, definitions_dir: str | Path | None = None) -> Definition:
    """Load, resolve and check a definition; raise DefinitionError with every problem.

    ``definitions_dir``: where ``extends: <id>`` is looked up when the id is not beside
    the file (the installation's definitions folder).
    """
    definition, problems = check_file(path, definitions_dir=definitions_dir)
    errors = [p for p in problems if not p.is_warning]
    if errors or definition is None:
        raise DefinitionError(errors)
    return definition


def check_file(
    path: str | Path, *, definitions_dir: str | Path | None = None
) -> tuple[Definition | None, list[Problem]]:
    """A definition (None if it has errors) and every problem found: errors and warnings.

    A warning (``Problem.is_warning``) does not stop the definition from being used:
    e.g. a guard that compares a value that may be unset (see
    :mod:`workflow.definitions.unset_values`).
    """
    definition, problems = _load(Path(path), _folder(definitions_dir))
    if any(not p.is_warning for p in problems):
        definition = None
    return definition, sorted(problems, key=Problem.sort_key)


def _folder(directory: str | Path | None) -> Path | None:
    return Path(directory) if directory is not None else None


def _load(
    path: Path, definitions_dir: Path | None = None
) -> tuple[Definition | None, list[Problem]]:
    try:
        definition, problems = _load_checked(path, definitions_dir)
    except Exception as exc:  # a last resort: report, never a traceback
        definition, problems = (
            None,
            [
                Problem(
                    None,
                    str(path),
                    f"could not be checked ({type(exc).__name__}: {exc})",
                    "this is a bug in the checker; please report it",
                )
            ],
        )
    return definition, [_escaped(p) for p in problems]


#: Characters that would break a problem's line or act on a terminal (line breaks,
#: escapes); a key or value quoted from the file may hold them.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escaped(problem: Problem) -> Problem:
    """The problem with unprintable characters written as escapes (\\n, \\x1b)."""

    def shown(text: str) -> str:
        return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)

    hint = shown(problem.hint) if problem.hint is not None else None
    return replace(problem, path=shown(problem.path), message=shown(problem.message), hint=hint)


def _load_checked(
    path: Path, definitions_dir: Path | None
) -> tuple[Definition | None, list[Problem]]:
    raw, problems = load_raw(path, definitions_dir=definitions_dir)
    if raw is None:
        return None, problems
    plain = _plain(raw)
    try:
        definition = Definition.model_validate(plain)
    except ValidationError as exc:
        problems += problems_from_validation(exc, raw, Definition)
        # Check the rest too, so the author sees every problem at once: leave out the
        # parts that failed, and what only follows from their absence.
        pruned = prune(plain, exc)
        if pruned is None:
            return None, problems
        try:
            partial = Definition.model_validate(pruned.plain)
        except ValidationError:
            return None, problems
        findings = _checks(partial, with_graph=pruned.graph_intact)
        kept = [(pruned.original(f[0]), *f[1:]) for f in findings if not pruned.follows(f)]
        return None, problems + _located(raw, kept)
    definition._source = SourceMap(raw)
    problems += _located(raw, _checks(definition))
    if problems:  # warnings only of a definition that is right otherwise
        return definition, problems
    return definition, _located(raw, unset_value_warnings(definition), severity="warning")


def _checks(definition: Definition, *, with_graph: bool = True) -> list[Finding]:
    return check_definition(definition, with_graph=with_graph) + check_templates(definition)


#: The stage graph's findings (checks._check_graph): reached, a dead end, finishing.
_GRAPH = re.compile(r"cannot be reached|can be reached|dead end")


def _located(
    raw: YamlMap, findings: list[Finding], *, severity: Severity = "error"
) -> list[Problem]:
    problems = []
    for where, message, hint in findings:
        named = re.findall(r"'([^']+)'", message)
        if message.startswith("unknown ") and named and named[0] in raw.removed:
            hint = f"'{named[0]}' is removed at {raw.removed[named[0]]}"
        elif raw.removed and where[:1] == ("stages",) and _GRAPH.search(message):
            # The stage graph broken by the extending file's removals: name them, since
            # the stage itself is in the extended file and nothing there changed.
            removed = [f"'{i}' at {loc}" for i, loc in list(raw.removed.items())[:3]]
            more = " ..." if len(raw.removed) > 3 else ""
            hint = f"{hint}; this follows the removal of {', '.join(removed)}{more}"
        location, shown = locate(raw, where)
        problems.append(Problem(location, shown, message, hint, severity))
    return problems


def _plain(value: Any) -> Any:
    """Plain dicts and lists for pydantic (our located containers are subclasses)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_directory(directory: str | Path) -> dict[str, Definition]:
    """Every definition in a folder that opens cases (abstract bases left out), by id;
    a :class:`DefinitionError` with every problem if any file cannot be loaded."""
    result, broken = load_each(directory)
    if broken:
        raise DefinitionError([p for problems in broken.values() for p in problems])
    return result


def load_each(directory: str | Path) -> tuple[dict[str, Definition], dict[str, list[Problem]]]:
    """Every definition in a folder that opens cases, by id, and the files that cannot be
    loaded, by name without ``.yaml`` (the definition's id, by convention), with their
    problems: one broken file does not keep the others from loading."""
    result: dict[str, Definition] = {}
    broken: dict[str, list[Problem]] = {}
    for file in sorted(Path(directory).glob("*.yaml")):
        definition, found = _load(file, Path(directory))
        errors = [p for p in found if not p.is_warning]  # warnings: validate says them
        if errors:
            broken[file.stem] = errors
        elif definition is not None and not definition.abstract:
            result[definition.id] = definition
    return result, broken
