"""Fuzzing the definition loader: never a traceback, always a located error.

Two sources of broken definitions feed :func:`load_definition` and ``workflow validate``:

* **mutations of the shipped definitions** (``definitions/*.yaml``) as text: lines
  deleted, duplicated, swapped or re-indented, scalars replaced by other types, unknown
  ids, YAML 1.1 booleans, huge numbers, anchors and aliases, tabs, random characters,
  truncation, a broken ``extends``, bytes that are not UTF-8;
* **generated definitions**: maps drawn from ``schema/definition.schema.json`` (so they
  have roughly the right shape) and then corrupted, dumped to YAML; and well-formed
  definitions built from a small stage graph, which must load — and, with one known
  fault put in, must fail with that fault's message at that fault's place.

The property: loading either succeeds or raises :class:`DefinitionError` whose every
problem has a message and a location inside the file it names (line within the file,
column within the line). The checker's last resort ("this is a bug in the checker") is a
failure too: it means some exception escaped a check.

Set ``HYPOTHESIS_PROFILE=fuzz`` for a long, randomised run (see tests/conftest.py).
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from workflow.cli.main import app
from workflow.definitions.loader import load_definition
from workflow.definitions.models import Definition
from workflow.definitions.yamlsource import parse_yaml
from workflow.errors import DefinitionError, Problem

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {p.name: p.read_text(encoding="utf-8") for p in sorted(ROOT.glob("definitions/*.yaml"))}
SCHEMA: dict[str, Any] = json.loads(
    (ROOT / "schema" / "definition.schema.json").read_text(encoding="utf-8")
)
FUZZING = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"


def fuzz_settings(examples: int) -> settings:
    """``examples`` examples in the normal run; fifty times as many under the fuzz profile."""
    return settings(
        max_examples=examples * 50 if FUZZING else examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# --- the property ------------------------------------------------------------------------


def _lines_of(content: str | bytes) -> list[str]:
    """The lines of a file as an editor shows them (universal newlines, as the loader reads)."""
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="replace")
    return content.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def assert_located(problem: Problem, files: dict[str, str | bytes]) -> None:
    """One reported problem: a message, and a place inside the file it names."""
    text = str(problem)
    assert "Traceback" not in text
    # One line, nothing a terminal would act on: values from the file are shown escaped.
    assert not re.search("[\x00-\x1f\x7f\x85\u2028\u2029]", text), repr(text)
    assert "bug in the checker" not in text, text
    assert problem.message.strip(), text
    location = problem.location
    assert location is not None, f"problem without a location: {text}"
    assert location.file in files, f"{text}: names a file that was not loaded"
    lines = _lines_of(files[location.file])
    assert 1 <= location.line <= len(lines), f"{text}: line outside the file ({len(lines)} lines)"
    assert 1 <= location.column <= len(lines[location.line - 1]) + 1, (
        f"{text}: column outside line {location.line!r}: {lines[location.line - 1]!r}"
    )
    assert text.startswith(f"{location.file}:{location.line}:{location.column}: ")
    if problem.hint is not None:
        assert problem.hint.strip(), text


def load_or_located(path: Path, files: dict[str, str | bytes]) -> Definition | None:
    """Load ``path``: the definition, or None after checking every problem is located.

    Any other exception propagates and fails the test, with its traceback.
    """
    try:
        definition: Definition | None = load_definition(path)
        problems: Sequence[Problem] = ()
    except DefinitionError as exc:
        definition, problems = None, exc.problems
    if definition is not None:
        event("loaded")
        return definition
    assert problems, "a DefinitionError without problems"
    for problem in problems:
        assert_located(problem, files)
    # How far the broken file got, for --hypothesis-show-statistics.
    first = problems[0].message
    event("YAML" if "YAML" in first or "UTF-8" in first else "model or checks")
    return None


@contextmanager
def folder(files: dict[str, str | bytes]) -> Iterator[tuple[Path, dict[str, str | bytes]]]:
    """A temporary folder holding ``files``; yields it and the files by their shown path."""
    with tempfile.TemporaryDirectory(prefix="wf-fuzz-") as name:
        where = Path(name)
        shown: dict[str, str | bytes] = {}
        for file, content in files.items():
            target = where / file
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
            # Paths outside the working directory are shown as given (see loader._display).
            shown[str(target)] = content
        yield where, shown


# --- (a) text mutations of the shipped definitions -----------------------------------------

#: One mutation: (kind, position, second position, replacement text).
Mutation = tuple[str, int, int, str]

REPLACEMENTS = [
    # other types
    "42",
    "-1",
    "0",
    "1.5",
    "true",
    "false",
    "~",
    "null",
    "[]",
    "{}",
    "''",
    "[a, b]",
    "{a: 1}",
    "[{id: x}]",
    "- x",
    "|\n  a block of text",
    ">-",
    "2026-03-02",
    "09:00",
    "25:99",
    "2026-02-30",
    # YAML 1.1 booleans (text in YAML 1.2)
    "yes",
    "no",
    "on",
    "off",
    "Y",
    "NO",
    # huge and special numbers
    "1e999",
    "-1e999",
    ".inf",
    "-.inf",
    ".nan",
    "0x1F",
    "0o17",
    "123456789012345678901234567890",
    "9" * 400,
    "99999999999999999999 days",
    "0 days",
    "-3 weeks",
    # anchors, aliases, tags
    "&anchor value",
    "*anchor",
    "*nowhere",
    "&a [*a]",
    "!!binary aGVq",
    "!!python/object/apply:os.system ['true']",
    "!!set {a}",
    "!!int x",
    "!custom tag",
    "<<: *anchor",
    # unknown or near-miss ids, and the language's markers
    "folow_up",
    "jobcentr",
    "unknown_id",
    "UPPER_CASE",
    "with space",
    "a" * 70,
    "@previous",
    "'*'",
    "refer",
    "system",
    # expressions and templates
    '"{{ case.reference }}"',
    '"{{ shared.nothing | when }}"',
    "'{% for x in y %}'",
    "'{{'",
    '"inputs.missing + 1"',
    '"().__class__.__mro__"',
    '"case.counts.nothing >= 1"',
    '"weekday(inputs.nothing) in meeting_weekdays"',
    "\"'not_a_milestone' in case.milestones\"",
    # garbage
    "%",
    "@",
    "`",
    "? complex key",
    '"unterminated',
    "'unterminated",
    "{unclosed: [",
    "]",
    "---",
    "...",
    "\t",
    "\x00",
    "\x85",
    "\u2028",
    "\ufeff",
    "\ud7ff\ue000",
    "\U0001f600",
]

replacements = st.one_of(
    st.sampled_from(REPLACEMENTS),
    st.text(max_size=12),
    st.integers().map(str),
    st.floats().map(str),
)
BAD_BYTES = [b"\xff", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00", b"\xc3("]
TEXT_MUTATIONS = [
    "delete",
    "duplicate",
    "swap",
    "indent",
    "scalar",
    "key",
    "insert",
    "truncate",
    "extends",
    "tabs",
    "alias",
]

text_mutation = st.tuples(
    st.sampled_from(TEXT_MUTATIONS),
    st.integers(min_value=0, max_value=100_000),
    st.integers(min_value=0, max_value=100_000),
    replacements,
)
byte_mutation = st.tuples(
    st.just("bytes"),
    st.integers(min_value=0, max_value=100_000),
    st.integers(min_value=0, max_value=len(BAD_BYTES) - 1),
    st.just(""),
)
mutations = st.lists(st.one_of(text_mutation, byte_mutation), min_size=1, max_size=4)

_VALUE = re.compile(r"^(\s*(?:- )?[^\s:#\-][^:#]*:\s+)(\S.*)$")
_ITEM = re.compile(r"^(\s*- )(\S.*)$")
_KEY = re.compile(r"^(\s*(?:- )?)([A-Za-z_][\w]*)(:.*)$")
KEYS = ["id", "name", "from", "to", "kind", "roles", "inputs", "effects", "timers", "colour", "<<"]
EXTENDS = ["base", "soroe", "koebenhavn", "nowhere", "../base", "[base]", "''", "Base", "base.yaml"]


def _mutate_line(lines: list[str], kind: str, a: int, b: int, text: str) -> list[str]:
    """One line-level mutation (positions wrap around the file)."""
    if not lines:
        return lines
    i, j = a % len(lines), b % len(lines)
    line = lines[i]
    if kind == "delete":
        return lines[:i] + lines[i + 1 :]
    if kind == "duplicate":  # a duplicate key, or a duplicate list item
        return lines[: i + 1] + [line] + lines[i + 1 :]
    if kind == "swap":
        swapped = list(lines)
        swapped[i], swapped[j] = swapped[j], swapped[i]
        return swapped
    if kind == "indent":
        stripped = line.lstrip(" ")
        width = max(0, len(line) - len(stripped) + (b % 9) - 4)
        return lines[:i] + [" " * width + stripped] + lines[i + 1 :]
    if kind == "tabs":
        stripped = line.lstrip(" ")
        tabs = "\t" * max(1, (len(line) - len(stripped)) // 2)
        return lines[:i] + [tabs + stripped] + lines[i + 1 :]
    if kind == "scalar":
        match = _VALUE.match(line) or _ITEM.match(line)
        new = f"{match.group(1)}{text}" if match else f"{line} {text}"
        return lines[:i] + new.split("\n") + lines[i + 1 :]
    if kind == "key":
        match = _KEY.match(line)
        if not match:
            return lines
        key = KEYS[b % len(KEYS)] if b % 3 else (text or "x")
        return lines[:i] + [f"{match.group(1)}{key}{match.group(3)}"] + lines[i + 1 :]
    if kind == "extends":
        target = EXTENDS[b % len(EXTENDS)] if b % 4 else text
        kept = [x for x in lines if not x.startswith("extends:")]
        return kept[:i] + [f"extends: {target}"] + kept[i:] if b % 2 else kept
    if kind == "alias":  # an anchor on one value, an alias to it in another place
        first, second = _VALUE.match(lines[i]), _VALUE.match(lines[j])
        if not (first and second):
            return lines
        anchored = list(lines)
        anchored[i] = f"{first.group(1)}&fuzz {first.group(2)}"
        anchored[j] = f"{second.group(1)}*fuzz"
        return anchored
    raise AssertionError(kind)  # pragma: no cover


def mutate(text: str, steps: list[Mutation]) -> str | bytes:
    """Apply the mutations: text ones in order, then the byte ones on the UTF-8 bytes."""
    for kind, a, b, payload in steps:
        if kind == "insert":
            at = a % (len(text) + 1)
            text = text[:at] + payload + text[at:]
        elif kind == "truncate":
            text = text[: a % (len(text) + 1)]
        elif kind != "bytes":
            text = "\n".join(_mutate_line(text.split("\n"), kind, a, b, payload))
    byte_steps = [(a, b) for kind, a, b, _ in steps if kind == "bytes"]
    if not byte_steps:
        return text
    data = text.encode("utf-8")
    for a, b in byte_steps:
        at = a % (len(data) + 1)
        data = data[:at] + BAD_BYTES[b] + data[at:]
    return data


def _load_mutated(target: str, steps: list[Mutation], via_child: bool) -> None:
    files: dict[str, str | bytes] = dict(SHIPPED)
    files[target] = mutate(SHIPPED[target], steps)
    with folder(files) as (where, shown):
        load_or_located(where / target, shown)
        if via_child:  # a broken base is reported when a municipality that extends it loads
            load_or_located(where / "soroe.yaml", shown)


@fuzz_settings(120)
@given(
    target=st.sampled_from(sorted(SHIPPED)),
    steps=mutations,
    via_child=st.booleans(),
)
# A byte that is not UTF-8 was reported without a line ("cannot read the file").
@example(target="soroe.yaml", steps=[("bytes", 120, 0, "")], via_child=False)
# A line separator (U+2028) made PyYAML count one line more than the file has.
@example(target="base.yaml", steps=[("insert", 5000, 0, "\u2028")], via_child=True)
# A NUL byte (PyYAML's ReaderError) printed a second, unlocated line.
@example(target="soroe.yaml", steps=[("insert", 900, 0, "\x00")], via_child=False)
def test_mutated_shipped_definitions_load_or_fail_located(
    target: str, steps: list[Mutation], via_child: bool
) -> None:
    _load_mutated(target, steps, via_child and target == "base.yaml")


# --- targeted mutations whose error is known -----------------------------------------------


def _problems(path: Path, shown: dict[str, str | bytes]) -> list[Problem]:
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    for problem in caught.value.problems:
        assert_located(problem, shown)
    return list(caught.value.problems)


def _key_lines(text: str) -> list[tuple[int, int, str]]:
    """(line index, column, key) of each key of a block mapping whose value is on its line.

    Found through PyYAML's node tree, so keys inside multi-line flow maps are left out.
    """
    lines = text.split("\n")
    found = []
    stack = [yaml.compose(text, Loader=yaml.SafeLoader)]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                mark = key.start_mark
                alone = not lines[mark.line][: mark.column].strip()
                same_line = value.end_mark.line == mark.line or (
                    isinstance(value, yaml.CollectionNode) and not value.flow_style
                )
                anchored = "&" in lines[mark.line]  # a copy would repeat the anchor
                if not node.flow_style and alone and same_line and not anchored:
                    found.append((mark.line, mark.column + 1, str(key.value)))
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return sorted(found)


@fuzz_settings(25)
@given(target=st.sampled_from(sorted(SHIPPED)), pick=st.integers(min_value=0, max_value=10_000))
def test_a_duplicated_key_is_reported_where_it_is_written_again(target: str, pick: int) -> None:
    text = SHIPPED[target]
    candidates = _key_lines(text)
    i, column, key = candidates[pick % len(candidates)]
    lines = text.split("\n")
    mutated = "\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1 :])
    with folder({**SHIPPED, target: mutated}) as (where, shown):
        problems = _problems(where / target, shown)
    duplicate = [p for p in problems if p.message == f"duplicate key '{key}'"]
    assert duplicate, "\n".join(map(str, problems))
    assert duplicate[0].location is not None
    assert (duplicate[0].location.line, duplicate[0].location.column) == (i + 2, column)
    assert duplicate[0].hint == f"first given at line {i + 1}; keep one of them"


def _boolean_sites(text: str) -> list[tuple[int, int]]:
    """(line index, column) of each block-style boolean value of a boolean field."""
    sites = []
    for i, line in enumerate(text.split("\n")):
        match = re.match(
            r"^(\s*(?:- )?(required|share|first_person|abstract): )(true|false)\s*$", line
        )
        if match:
            sites.append((i, len(match.group(1)) + 1))
    return sites


BOOLEAN_FILES = sorted(name for name, text in SHIPPED.items() if _boolean_sites(text))


@fuzz_settings(20)
@given(
    target=st.sampled_from(BOOLEAN_FILES),
    pick=st.integers(min_value=0, max_value=10_000),
    word=st.sampled_from(["yes", "no", "on", "off", "Yes", "NO", "y", "n"]),
)
def test_a_yaml_1_1_boolean_is_text_and_is_explained(target: str, pick: int, word: str) -> None:
    text = SHIPPED[target]
    sites = _boolean_sites(text)
    i, column = sites[pick % len(sites)]
    lines = text.split("\n")
    lines[i] = re.sub(r"(true|false)\s*$", word, lines[i])
    with folder({**SHIPPED, target: "\n".join(lines)}) as (where, shown):
        problems = _problems(where / target, shown)
    # A value under an anchor is reported once per place that uses it, all at the anchor.
    at_site = {
        (p.location.column, p.message, p.hint)
        for p in problems
        if p.location is not None and p.location.line == i + 1
    }
    assert at_site == {
        (
            column,
            f"'{word}' is not a boolean",
            "write true or false; in YAML 1.2 yes/no/on/off are text",
        )
    }, "\n".join(map(str, problems))


def _reference_sites(text: str) -> list[tuple[int, int, str]]:
    """(line index, column, stage id) of each ``to: <stage>`` of a transition."""
    sites = []
    for i, line in enumerate(text.split("\n")):
        match = re.match(r"^(\s*to: )([a-z][a-z0-9_]*)\s*(#.*)?$", line)
        if match:
            sites.append((i, len(match.group(1)) + 1, match.group(2)))
    return sites


REFERENCE_FILES = sorted(name for name, text in SHIPPED.items() if _reference_sites(text))


@fuzz_settings(20)
@given(
    target=st.sampled_from(REFERENCE_FILES),
    pick=st.integers(min_value=0, max_value=10_000),
    cut=st.integers(min_value=1, max_value=3),
)
def test_a_misspelt_stage_is_reported_with_a_suggestion(target: str, pick: int, cut: int) -> None:
    text = SHIPPED[target]
    i, column, stage = _reference_sites(text)[pick % len(_reference_sites(text))]
    typo = stage[:-cut] + "x" * cut  # stays a valid id, close to the real one
    lines = text.split("\n")
    lines[i] = lines[i][: column - 1] + typo + lines[i][column - 1 + len(stage) :]
    with folder({**SHIPPED, target: "\n".join(lines)}) as (where, shown):
        problems = _problems(where / target, shown)
    unknown = [p for p in problems if p.message == f"unknown stage '{typo}'"]
    assert unknown, "\n".join(map(str, problems))
    assert unknown[0].location is not None
    assert (unknown[0].location.line, unknown[0].location.column) == (i + 1, column)
    assert unknown[0].path.endswith(".to")
    assert unknown[0].hint is not None
    assert unknown[0].hint.startswith(("did you mean", "known: "))


@fuzz_settings(15)
@given(
    target=st.sampled_from(sorted(SHIPPED)),
    offset=st.integers(min_value=0, max_value=100_000),
    bad=st.sampled_from(BAD_BYTES[:5]),
)
def test_bytes_that_are_not_utf8_are_located(target: str, offset: int, bad: bytes) -> None:
    data = SHIPPED[target].encode("utf-8")
    # Only between characters, so the place of the first bad byte is clear.
    boundaries = [i for i in range(len(data) + 1) if i == len(data) or (data[i] & 0xC0) != 0x80]
    at = boundaries[offset % len(boundaries)]
    mutated = data[:at] + bad + data[at:]
    with folder({**SHIPPED, target: mutated}) as (where, shown):
        problems = _problems(where / target, shown)
    before = data[:at].decode("utf-8")
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    assert len(problems) == 1
    assert problems[0].location is not None
    assert (problems[0].location.line, problems[0].location.column) == (line, column)
    assert "UTF-8" in problems[0].message + (problems[0].hint or "")


# --- (b) generated definitions -----------------------------------------------------------

IDS = ["a", "b", "start", "closed", "follow_up", "caseworker", "coordinator", "skole", "x1"]
EXPRESSIONS = [
    "'plan_agreed' in case.milestones",
    "case.counts.start + 1",
    "inputs.a",
    "case.data.minor",
    "params.budget > 1",
    "weekday(inputs.a) in meeting_weekdays",
    "count(inputs.a) >= 1 and all_in(themes_of(inputs.a), case.data.b)",
    "1 +",
    "{{ x }}",
    "().__class__.__mro__[1].__subclasses__()",
    "range(10**9) | list",
    "x" * 300,
    "",
]
TEMPLATES = [
    "{{ case.reference }}",
    "{{ shared.a | when }}",
    "{{ timer.due | when('en') }}",
    "{{ link }} {{ recipient.name }}",
    "{% for x in y %}",
    "{{ nothing }}",
    "{{ case.reference",
    "{% raw %}",
    "plain text",
]


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)


garbage = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(IDS),
    _containers,
    max_leaves=6,
)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def from_schema(node: dict[str, Any], name: str = "", depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped by a JSON Schema node (ids from a small pool, so references often fit)."""
    node = _resolve(node)
    if "anyOf" in node:
        return st.one_of([from_schema(n, name, depth) for n in node["anyOf"]])
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if kind == "object" and "properties" in node:
        required = set(node.get("required", []))
        fields = {k: from_schema(v, k, depth + 1) for k, v in node["properties"].items()}
        return st.fixed_dictionaries(
            {k: v for k, v in fields.items() if k in required},
            optional={k: v for k, v in fields.items() if k not in required},
        )
    if kind == "object":
        return st.dictionaries(
            st.sampled_from(IDS), st.integers() | st.text(max_size=5), max_size=3
        )
    if kind == "array":
        return st.lists(from_schema(node["items"], name, depth + 1), max_size=4 if depth < 2 else 2)
    if kind == "string":
        return _string(node, name)
    if kind == "integer":
        low, high = node.get("minimum"), node.get("maximum")
        return st.integers(min_value=low, max_value=high) if depth else st.integers(1, 3)
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return garbage


def _string(node: dict[str, Any], name: str) -> st.SearchStrategy[str]:
    pattern = node.get("pattern")
    if pattern == "^[a-z][a-z0-9_]*$":
        return st.sampled_from(IDS)
    if node.get("format") == "date":
        return st.dates().map(str)
    if node.get("format") == "time":
        return st.times().map(lambda t: t.strftime("%H:%M"))
    if pattern and "business_days" in pattern:
        return st.sampled_from(["14 days", "2 weeks", "3 months", "10 business_days", "1 minute"])
    if pattern:
        return st.from_regex(pattern, fullmatch=True)
    if name in ("guard", "when") or name in IDS:
        return st.sampled_from(EXPRESSIONS)
    if name in ("subject", "body", "da", "en"):
        return st.sampled_from(TEMPLATES) | st.text(max_size=10)
    if name == "timezone":
        return st.sampled_from(["Europe/Copenhagen", "UTC", "Mars/Olympus", "", "../etc/passwd"])
    return st.text(max_size=10)


#: A path into a document, and what to do there: put garbage, drop the key, add a key.
Corruption = tuple[int, str, Any]
corruptions = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10_000),
        st.sampled_from(["replace", "drop", "add"]),
        garbage,
    ),
    max_size=3,
)


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nodes(item, (*path, index))


def corrupt(document: Any, changes: list[Corruption]) -> Any:
    """The document with each change made at a node picked by index (wrapping)."""
    for pick, what, drawn in changes:
        value = copy.deepcopy(drawn)  # sampled values are shared objects: never nest one in itself
        nodes = list(_nodes(document))
        path, node = nodes[pick % len(nodes)]
        if what == "add" and isinstance(node, dict):
            node[f"fuzz_{pick % 7}"] = value
        elif what == "drop" and path:
            parent = document
            for step in path[:-1]:
                parent = parent[step]
            del parent[path[-1]]
        elif what == "replace":
            if not path:
                document = value
                continue
            parent = document
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]] = value
    return document


def dump(document: Any, flow: bool | None) -> str:
    return yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, default_flow_style=flow, width=80
    )


@fuzz_settings(100)
@given(
    document=from_schema(SCHEMA),
    changes=corruptions,
    flow=st.sampled_from([False, None, True]),
    extends=st.booleans(),
)
# An unknown field named like one of pydantic's union members ('A', 'Stages') had its
# name taken for a member's and dropped from the path: an IndexError in the checker.
@example(document={"A": None}, changes=[], flow=False, extends=False)
# A key with a control character was quoted raw into the message: a line break or a
# terminal escape in the output of 'workflow validate'.
@example(document={"\x1b[2J\nx": None}, changes=[], flow=True, extends=False)
def test_generated_definitions_load_or_fail_located(
    document: dict[str, Any], changes: list[Corruption], flow: bool | None, extends: bool
) -> None:
    document["id"] = "generated"
    if extends:
        document["extends"] = "base"
    else:
        document.pop("extends", None)
    text = dump(corrupt(document, changes), flow)
    with folder({"base.yaml": SHIPPED["base.yaml"], "generated.yaml": text}) as (where, shown):
        load_or_located(where / "generated.yaml", shown)


def _data(text: str) -> Any:
    value, problems = parse_yaml(text, "shipped")
    assert not problems
    return json.loads(json.dumps(value))  # plain dicts and lists


SHIPPED_DATA = {name: _data(text) for name, text in SHIPPED.items()}
#: Every id the shipped definitions use: values that fit a field's shape but maybe not its place.
SHIPPED_IDS = sorted(
    {
        value
        for data in SHIPPED_DATA.values()
        for _, value in _nodes(data)
        if isinstance(value, str) and re.fullmatch(r"[a-z][a-z0-9_]*", value)
    }
)
near_values = st.one_of(
    garbage,
    st.sampled_from(SHIPPED_IDS),
    st.sampled_from(["yes", "on", "", "*", "@previous", "14 days", "0 days", "{{ x }}"]),
    st.sampled_from([10**30, -1, 0, float("inf"), float("nan"), 1e300, True, None, [], {}]),
)
tree_changes = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=100_000),
        st.sampled_from(["replace", "drop", "add"]),
        near_values,
    ),
    min_size=1,
    max_size=3,
)


@fuzz_settings(50)
@given(
    target=st.sampled_from(sorted(SHIPPED)),
    changes=tree_changes,
    flow=st.sampled_from([False, None]),
)
def test_shipped_definitions_with_changed_values_load_or_fail_located(
    target: str, changes: list[Corruption], flow: bool | None
) -> None:
    text = dump(corrupt(copy.deepcopy(SHIPPED_DATA[target]), changes), flow)
    with folder({**SHIPPED, target: text}) as (where, shown):
        load_or_located(where / target, shown)
        if target == "base.yaml":
            load_or_located(where / "soroe.yaml", shown)


# --- well-formed generated definitions, and known faults in them ------------------------------

INPUT_TYPES = {
    "text": {},
    "integer": {"min": 0, "max": 10},
    "boolean": {},
    "date": {"share": True},
    "datetime": {"share": True},
    "choice": {"choices": [{"value": "ja", "label": "Ja"}, {"value": "nej", "label": "Nej"}]},
    "departments": {"min": 1},
    "person": {},
}


@st.composite
def well_formed(draw: st.DrawFn) -> dict[str, Any]:
    """A small definition that is correct by construction: a chain of stages to a final one."""
    middle = draw(st.integers(min_value=0, max_value=4))
    stages = (
        [{"id": "start", "name": "Start", "kind": "start", "phase": "referral"}]
        + [{"id": f"s{i}", "name": f"Trin {i}", "kind": "active"} for i in range(middle)]
        + [{"id": "closed", "name": "Lukket", "kind": "final", "phase": "closed"}]
    )
    ids = [s["id"] for s in stages]
    roles = ["caseworker", "coordinator"]
    transitions: list[dict[str, Any]] = []
    for i, (source, target) in enumerate(itertools.pairwise(ids)):
        inputs = []
        for n, kind in enumerate(draw(st.lists(st.sampled_from(sorted(INPUT_TYPES)), max_size=3))):
            inputs.append({"name": f"in_{n}", "type": kind, "label": kind, **INPUT_TYPES[kind]})
        transition: dict[str, Any] = {
            "id": f"step_{i}",
            "name": {"da": f"Trin {i}", "en": f"Step {i}"},
            "from": source,
            "to": target,
            "roles": draw(st.lists(st.sampled_from(roles), min_size=1, max_size=2, unique=True)),
        }
        if inputs:
            transition["inputs"] = inputs
            if draw(st.booleans()):
                transition["guard"] = f"inputs.{inputs[0]['name']} is not none"
        effects: list[dict[str, Any]] = [{"milestone": "moved"}] if draw(st.booleans()) else []
        if draw(st.booleans()):
            effects.append({"notify": {"to": {"departments": ["skole"]}, "template": "moved"}})
        if effects:
            transition["effects"] = effects
        transitions.append(transition)
    for extra in range(draw(st.integers(min_value=0, max_value=3))):
        transitions.append(
            {
                "id": f"extra_{extra}",
                "name": "Ekstra",
                "from": draw(st.sampled_from(["*", *ids[:-1]])),
                "to": draw(st.sampled_from(ids)),
                "roles": ["coordinator"],
            }
        )
    if draw(st.booleans()):
        stages[0]["timers"] = ["reminder"]
    return {
        "id": "generated",
        "version": draw(st.integers(min_value=1, max_value=10**6)),
        # Letters only: PyYAML writes '0E0' unquoted, and YAML 1.2 reads that as a number.
        "title": draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyzæøå ", min_size=1, max_size=20)),
        "municipality": {"name": "Testkommune", "code": "999", "case_prefix": "TST"},
        "target_ages": {"min": 15, "max": 24},
        "roles": [{"id": r, "name": r.title()} for r in roles],
        "departments": [{"id": "skole", "name": "Skole"}],
        "milestones": [{"id": "moved", "name": "Flyttet"}],
        "stages": stages,
        "timers": [
            {
                "id": "reminder",
                "name": "Påmindelse",
                "after": draw(st.sampled_from(["14 days", "3 business_days", "2 weeks"])),
                "fires": {"notify": {"to": {"roles": ["coordinator"]}, "template": "reminder"}},
            }
        ],
        "templates": [
            {"id": "moved", "subject": "Sag {{ case.reference }}", "body": "Se {{ link }}"},
            {"id": "reminder", "subject": "Frist", "body": "Frist {{ timer.due | when }}"},
        ],
        "referral": {
            "roles": ["caseworker"],
            "inputs": [{"name": "age", "type": "integer", "label": "Alder"}],
        },
        "transitions": transitions,
    }


def _where(text: str, marker: str) -> tuple[int, int]:
    """Line and column (from 1) of the only occurrence of ``marker`` in ``text``."""
    assert text.count(marker) == 1, marker
    before = text[: text.index(marker)]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


@fuzz_settings(30)
@given(document=well_formed())
def test_well_formed_generated_definitions_load(document: dict[str, Any]) -> None:
    text = dump(document, flow=False)
    with folder({"generated.yaml": text}) as (where, shown):
        definition = load_or_located(where / "generated.yaml", shown)
        assert definition is not None, load_definition(where / "generated.yaml")
    assert [s.id for s in definition.stages] == [s["id"] for s in document["stages"]]
    assert [t.id for t in definition.transitions] == [t["id"] for t in document["transitions"]]
    assert definition.version == document["version"]


FAULTS: dict[str, Callable[[dict[str, Any]], tuple[str, str, str | None]]] = {}


def fault(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        FAULTS[name] = fn
        return fn

    return register


@fault("unknown stage")
def _unknown_stage(d: dict[str, Any]) -> tuple[str, str, str | None]:
    d["transitions"][0]["to"] = "zz_missing"
    return "zz_missing", "unknown stage 'zz_missing'", "known: "


@fault("unknown role")
def _unknown_role(d: dict[str, Any]) -> tuple[str, str, str | None]:
    d["transitions"][-1]["roles"] = ["coordinatorr"]
    return "coordinatorr", "unknown role 'coordinatorr'", "did you mean 'coordinator'?"


@fault("unknown field")
def _unknown_field(d: dict[str, Any]) -> tuple[str, str, str | None]:
    d["stages"][-1]["zz_colour"] = "red"
    return "zz_colour", "unknown field 'zz_colour'", None


@fault("yaml 1.1 boolean")
def _yaml11_boolean(d: dict[str, Any]) -> tuple[str, str, str | None]:
    d["abstract"] = "zz_word"  # 'on' in the text, written unquoted
    return "zz_word", "'on' is not a boolean", "write true or false"


@fault("number for text")
def _number_for_text(d: dict[str, Any]) -> tuple[str, str, str | None]:
    d["stages"][0]["name"] = "zz_number"  # 1.5e3 in the text, written unquoted
    return "zz_number", "expected a map or text, got 1500.0", "put it in quotes"


@fault("unknown template")
def _unknown_template(d: dict[str, Any]) -> tuple[str, str, str | None]:
    d["timers"][0]["fires"]["notify"]["template"] = "remindr"
    return "remindr", "unknown template 'remindr'", "did you mean 'reminder'?"


@fault("bad duration")
def _bad_duration(d: dict[str, Any]) -> tuple[str, str, str | None]:
    d["timers"][0]["after"] = "14 fortnights"
    return "14 fortnights", "'14 fortnights' is not a duration", None


@fuzz_settings(30)
@given(document=well_formed(), name=st.sampled_from(sorted(FAULTS)))
def test_a_known_fault_in_a_generated_definition_is_reported_at_its_place(
    document: dict[str, Any], name: str
) -> None:
    marker, message, hint = FAULTS[name](document)
    text = dump(document, flow=False)
    line, column = _where(text, marker)
    text = text.replace("zz_word", "on").replace("zz_number", "1.5e3")
    with folder({"generated.yaml": text}) as (where, shown):
        problems = _problems(where / "generated.yaml", shown)
    matching = [p for p in problems if p.message.startswith(message)]
    assert len(matching) == 1, "\n".join(map(str, problems))
    assert matching[0].location is not None
    assert (matching[0].location.line, matching[0].location.column) == (line, column)
    if hint is not None:
        assert matching[0].hint is not None
        assert hint in matching[0].hint


# --- the command line ----------------------------------------------------------------------

LOCATED_LINE = re.compile(r"^(?P<file>[^:]+\.yaml):(?P<line>\d+):(?P<column>\d+): \S")


@fuzz_settings(12)
@given(target=st.sampled_from(sorted(SHIPPED)), steps=mutations)
def test_validate_command_prints_located_errors_never_a_traceback(
    target: str, steps: list[Mutation]
) -> None:
    files: dict[str, str | bytes] = dict(SHIPPED)
    files[target] = mutate(SHIPPED[target], steps)
    with folder(files) as (where, shown):
        result = CliRunner().invoke(app, ["validate", str(where / target)])
        loaded = load_or_located(where / target, shown)
    output = result.output
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    if loaded is not None:
        assert result.exit_code == 0, output
        assert output.startswith(f"{where / target}: ok ({loaded.id} v{loaded.version}")
        return
    assert result.exit_code == 1, output
    lines = output.strip().splitlines()
    assert lines, "a failed validation printed nothing"
    for line in lines:
        match = LOCATED_LINE.match(line)
        assert match, f"not a located error: {line!r}"
        assert match["file"] in shown


def test_validate_process_reports_every_broken_file_located(tmp_path: Path) -> None:
    """The real command, once, on one broken file of each kind the fuzzing found."""
    soroe = SHIPPED["soroe.yaml"]
    broken = {
        "not_utf8.yaml": soroe.encode("utf-8").replace(b"Sor\xc3\xb8", b"Sor\xf8", 1),
        "control_key.yaml": 'id: control_key\n"\\e[2Jstages": []\n',  # an escape in a key
        "upper_key.yaml": "id: upper_key\nStages: []\n",
        "tabs.yaml": soroe.replace("\n  - id: jobcenter", "\n\t- id: jobcenter", 1),
        "nul.yaml": "id: nul\ntitle: a\x00b\n",
        "line_separator.yaml": "id: line_separator\ntitle: a\u2028b\nversion: x\n",
    }
    for name, content in broken.items():
        target = tmp_path / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    (tmp_path / "base.yaml").write_text(SHIPPED["base.yaml"], encoding="utf-8")
    workflow = str(Path(sys.executable).with_name("workflow"))
    result = subprocess.run(
        [workflow, "validate", *(str(tmp_path / name) for name in broken)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    matches = [LOCATED_LINE.match(line) for line in result.stderr.splitlines()]
    assert all(matches), result.stderr
    assert {Path(m["file"]).name for m in matches if m} == set(broken)
    errors = result.stderr
    # The first byte that is not UTF-8: the ø of "# Sorø" on line 3.
    assert f"{tmp_path / 'not_utf8.yaml'}:3:6: the file is not UTF-8 text: byte 0xf8" in errors
    # A key with an escape sequence is shown escaped, on its line.
    assert f"{tmp_path / 'control_key.yaml'}:2:1: \\x1b[2Jstages: unknown field" in errors
    # A line separator pasted into a text: YAML 1.1 would cut the text there.
    assert f"{tmp_path / 'line_separator.yaml'}:2:9: the character U+2028 (line separator)" in (
        errors
    )
