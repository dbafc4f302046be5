"""What kind of value an expression's parts give, where the definition says it.

For two load-time checks that would otherwise fail only at run time, on every case:

* a comparison of values of different kinds: a date and time with a date (``inputs.
  first_meeting_at > today``: Python refuses it, so every step was refused), a number
  with a text (``person.age > '16'``: refused; ``person.age == '16'``: never true);
* a timer's anchor (``at:``) that gives no date or time (``person.age``, a list, a
  date written as text), which refused every referral.

Only what is known is judged: a literal, ``today`` and ``now``, the young person's facts
(``person.age``, ``person.turns_on(17)``...), the case's own times, and inputs (and the
case data they write) whose every declaration has one type. Anything else is unknown
and passes, so a check never refuses a definition that works.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from jinja2 import nodes

from workflow.definitions.expressions import parse_expression
from workflow.definitions.models import Definition
from workflow.definitions.parts import Input, StepSpec
from workflow.definitions.vocabulary import InputType

Kind = Literal["date", "datetime", "number", "text", "list", "bool"]

_INPUT_KINDS: dict[InputType, Kind] = {
    InputType.DATE: "date",
    InputType.DATETIME: "datetime",
    InputType.MEETING: "datetime",
    InputType.INTEGER: "number",
    InputType.DECIMAL: "number",
    InputType.TEXT: "text",
    InputType.CHOICE: "text",
    InputType.PERSON: "text",
    InputType.COORDINATOR: "text",
    InputType.DEPARTMENT: "text",
    InputType.THEME: "text",
    InputType.MEETING_PLACE: "text",
    InputType.PROGRESSION: "text",
    InputType.BOOLEAN: "bool",
    InputType.MULTICHOICE: "list",
    InputType.DEPARTMENTS: "list",
    InputType.THEMES: "list",
    InputType.TEAM: "list",
    InputType.GOALS: "list",
    InputType.GOAL_REVIEWS: "list",
    InputType.NETWORKS: "list",
}
_PATHS: dict[tuple[str, ...], Kind] = {
    ("today",): "date",
    ("now",): "datetime",
    ("person", "age"): "number",
    ("person", "minor"): "bool",
    ("person", "turns_16_on"): "date",
    ("person", "turns_18_on"): "date",
    ("person", "turns_25_on"): "date",
    ("case", "opened_at"): "datetime",
    ("case", "next_meeting_at"): "datetime",
    ("case", "reference"): "text",
    ("case", "stage"): "text",
    ("case", "milestones"): "list",
    ("case", "team"): "list",
    ("case", "meetings"): "list",
    ("target_ages", "min"): "number",
    ("target_ages", "max"): "number",
    ("meeting_weekdays",): "list",
}
_CALLS: dict[tuple[str, ...], Kind] = {
    ("person", "turns_on"): "date",
    ("person", "age_on"): "number",
    ("date",): "date",
    ("days_between",): "number",
    ("business_days_between",): "number",
}
_WORDS: dict[Kind, str] = {
    "date": "a date",
    "datetime": "a date and time",
    "number": "a number",
    "text": "a text",
    "list": "a list",
    "bool": "yes/no",
}
_ORDER = frozenset({"lt", "lteq", "gt", "gteq"})


def input_kinds(inputs: Iterable[Input], computed: Iterable[str] = ()) -> dict[str, Kind]:
    """The kind of each input name whose every declaration has one (a name also computed
    by a step's ``set`` may hold anything: left out)."""
    found: dict[str, set[Kind | None]] = {}
    for item in inputs:
        found.setdefault(item.name, set()).add(_INPUT_KINDS.get(item.type))
    left_out = set(computed)
    known: dict[str, Kind] = {}
    for name, kinds in found.items():
        kind = next(iter(kinds))
        if len(kinds) == 1 and kind is not None and name not in left_out:
            known[name] = kind
    return known


def definition_kinds(d: Definition) -> dict[str, Kind]:
    """The kind of each input (and the case data it writes) the definition declares."""
    specs: list[StepSpec] = [d.referral, *d.transitions]
    return input_kinds(
        [i for spec in specs for i in spec.inputs], [name for spec in specs for name in spec.set]
    )


def kind_of(node: nodes.Node, inputs: Mapping[str, Kind]) -> Kind | None:
    """The kind of value ``node`` gives, or None when the definition does not say."""
    if isinstance(node, nodes.Const):
        value = node.value
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int | float):
            return "number"
        return "text" if isinstance(value, str) else None
    if isinstance(node, nodes.List | nodes.Tuple):
        return "list"
    if isinstance(node, nodes.Call):
        called = _path(node.node)
        return _CALLS.get(called) if called is not None else None
    path = _path(node)
    if path is None:
        return None
    if path in _PATHS:
        return _PATHS[path]
    if len(path) == 2 and path[0] == "inputs":
        return inputs.get(path[1])
    if len(path) == 3 and path[:2] == ("case", "data"):
        return inputs.get(path[2])
    return None


def comparison_problems(source: str, inputs: Mapping[str, Kind]) -> list[tuple[str, str]]:
    """(message, hint) for each comparison of values of known, different kinds."""
    tree = parse_expression(source)
    if tree is None:
        return []
    found: list[tuple[str, str]] = []
    for compare in tree.find_all(nodes.Compare):
        left = compare.expr
        for operand in compare.ops:
            if operand.op in _ORDER or operand.op in ("eq", "ne"):
                problem = _mismatch(kind_of(left, inputs), kind_of(operand.expr, inputs))
                if problem is not None:
                    found.append(problem)
            left = operand.expr
    return found


def anchor_problem(source: str, inputs: Mapping[str, Kind]) -> tuple[str, str] | None:
    """(message, hint) when a timer's anchor is known to give no date or time."""
    tree = parse_expression(source)
    if tree is None:
        return None
    output = tree.body[0] if tree.body else None
    body = output.nodes[0] if isinstance(output, nodes.Output) and output.nodes else None
    kind = kind_of(body, inputs) if body is not None else None
    if kind is None or kind in ("date", "datetime"):
        return None
    hint = "e.g. person.turns_on(17), case.data.<a date input> or date('2026-06-10')"
    if kind == "text":
        hint = "a date written as text is not a date: write date('2026-06-10')"
    return f"gives {_WORDS[kind]}, not a date or a time", hint


def _mismatch(left: Kind | None, right: Kind | None) -> tuple[str, str] | None:
    if left is None or right is None or left == right:
        return None
    kinds = {left, right}
    message = f"compares {_WORDS[left]} with {_WORDS[right]}"
    if kinds == {"date", "datetime"}:
        return message, (
            "compare like with like: a moment with now, or a moment's day with today, e.g. "
            "date(inputs.first_meeting_at) > today"
        )
    if kinds == {"number", "text"}:
        return message, "write a number without quotes, e.g. 16, not '16'"
    return message, "compare values of the same kind"


def _path(node: nodes.Node) -> tuple[str, ...] | None:
    if isinstance(node, nodes.Name):
        return (node.name,)
    if isinstance(node, nodes.Getattr):
        head = _path(node.node)
        return None if head is None else (*head, node.attr)
    return None
