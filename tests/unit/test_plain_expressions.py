"""Plain expressions read directly give the sandbox's own result, or give way to it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.definitions import plain_expressions
from workflow.definitions.expressions import (
    ExpressionError,
    LazyContext,
    compile_expression,
    evaluate_bool,
    evaluate_raw,
    parse_expression,
)
from workflow.engine.context import Counts, Data


def _plain(source: str) -> plain_expressions.Plain | None:
    tree = parse_expression(source)
    assert tree is not None, source
    return plain_expressions.plain(tree)


def _sandbox(source: str, context: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "value", compile_expression(source)(**context)
    except Exception as exc:
        return "error", type(exc).__name__


def _direct(source: str, context: dict[str, Any]) -> tuple[str, Any] | None:
    """The plain reading's value, or None when it gave way to the sandbox."""
    compiled = _plain(source)
    assert compiled is not None, f"{source} is plain"
    try:
        return "value", plain_expressions.evaluate(compiled, context)
    except plain_expressions.SandboxNeededError:
        return None


CONTEXT = {
    "actor": {"role": "caseworker", "id": "cw"},
    "case": {
        "stage": "paused",
        "data": Data({"coordinator": "co", "items": 3, "team": ["school"]}),
        "counts": Counts({"pause": 2}),
        "milestones": ["plan_agreed"],
    },
    "person": {"minor": True, "age": 16},
    "consent": {"given": False, "departments": ["school"]},
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("actor.role != 'caseworker'", False),
        ("actor.role != 'coordinator' and case.data.coordinator", "co"),
        ("not case.data.coordinator", False),
        ("person.minor", True),
        ("case.data.never_given == none", True),  # Data: a field never given is none
        ("case.counts.hold == 0 and case.counts['pause'] >= 2", True),
        ("'plan_agreed' in case.milestones", True),
        ("'school' not in consent.departments or consent.given", False),
        ("16 <= person.age < 18", True),
        ("case.stage in ['paused', 'referred'] and (person.age, 1) == (16, 1)", True),
    ],
)
def test_a_plain_expression_reads_as_the_sandbox_does(source: str, expected: Any) -> None:
    assert _direct(source, CONTEXT) == ("value", expected)
    assert _sandbox(source, CONTEXT) == ("value", expected)


@pytest.mark.parametrize(
    "source",
    [
        "actor.nickname == 'x'",  # a plain dict without the key: the sandbox's undefined
        "missing_name",
        "person.age < none",  # an error: the sandbox says it in its own words
    ],
)
def test_what_the_sandbox_must_read_gives_way_to_it(source: str) -> None:
    compiled = _plain(source)
    assert compiled is not None
    with pytest.raises(plain_expressions.SandboxNeededError):
        plain_expressions.evaluate(compiled, CONTEXT)


def test_a_dicts_method_name_is_left_to_the_sandbox() -> None:
    assert _plain("case.data.items") is None  # the sandbox reads the method, not the key
    assert _plain("case.data['items']") is None


def test_what_the_sandbox_does_not_compile_is_not_read_directly() -> None:
    """Parsed inside parentheses, "a) or (b" reads as an expression; the sandbox refuses it."""
    with pytest.raises(ExpressionError):
        evaluate_bool("person.minor) or (actor.role", CONTEXT)


@pytest.mark.parametrize(
    "source",
    ["departments_of(case.data.team)", "person.age + 1 > 17", "case.data.x | length", "x is none"],
)
def test_calls_arithmetic_filters_and_tests_are_not_plain(source: str) -> None:
    assert _plain(source) is None


def test_an_error_is_reported_as_the_sandbox_reports_it() -> None:
    with pytest.raises(ExpressionError, match="UndefinedError"):
        evaluate_bool("actor.nickname == 'x'", CONTEXT)
    with pytest.raises(ExpressionError, match="TypeError"):
        evaluate_bool("person.age < none", CONTEXT)


def test_a_plain_expression_builds_only_the_names_it_reads() -> None:
    built: list[str] = []

    def part(name: str, value: Any) -> Any:
        def build() -> Any:
            built.append(name)
            return value

        return build

    context = LazyContext({name: part(name, value) for name, value in CONTEXT.items()})
    assert evaluate_raw("actor.role != 'young_person'", context) is True
    assert built == ["actor"]
    assert evaluate_bool("actor.role == 'caseworker' and person.minor", context) is True
    assert built == ["actor", "person"]  # the actor's read once
    assert evaluate_bool("case.data.items", context) is True  # through the sandbox: all
    assert sorted(built) == sorted(CONTEXT)


# Random plain expressions over random values: the direct reading agrees with the sandbox
# whenever it does not give way.
_LEAVES = st.sampled_from(
    [
        "actor.role",
        "actor.id",
        "actor.other",
        "case.data.a",
        "case.data.b",
        "case.data.items",
        "case.counts.pause",
        "case.milestones",
        "person.minor",
        "person.age",
        "consent.given",
        "nothing",
        "'caseworker'",
        "'x'",
        "none",
        "true",
        "false",
        "0",
        "2",
        "['x', 'caseworker']",
        "('x',)",
    ]
)
_OPERATORS = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in"])


@st.composite
def _expressions(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 4 if depth < 3 else 0))
    if kind == 0:
        return draw(_LEAVES)
    if kind == 1:
        return f"not ({draw(_expressions(depth + 1))})"
    if kind == 2:
        left, right = draw(_expressions(depth + 1)), draw(_expressions(depth + 1))
        return f"({left}) {draw(st.sampled_from(['and', 'or']))} ({right})"
    first = draw(_LEAVES)
    chain = [
        f"{draw(_OPERATORS)} {draw(_LEAVES)}" for _ in range(draw(st.integers(1, 1 + kind - 3)))
    ]
    return " ".join([first, *chain])


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 3),
    st.sampled_from(["x", "caseworker", ""]),
    st.lists(st.sampled_from(["x", "caseworker"]), max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(
    source=_expressions(),
    role=st.sampled_from(["caseworker", "x", "young_person"]),
    a=_VALUES,
    b=_VALUES,
    age=st.one_of(st.none(), st.integers(14, 19)),
    given_=st.booleans(),
)
def test_random_plain_expressions_agree_with_the_sandbox(
    source: str, role: str, a: Any, b: Any, age: int | None, given_: bool
) -> None:
    data = Data({"a": a} if a is not None else {})
    data["b"] = b
    context = {
        "actor": {"role": role, "id": None},
        "case": {"data": data, "counts": Counts({"pause": 1}), "milestones": ["x"]},
        "person": {"minor": age is not None and age < 18, "age": age},
        "consent": {"given": given_},
    }
    direct = _direct(source, context) if _plain(source) is not None else None
    if direct is not None:
        sandbox = _sandbox(source, context)
        # The same value of the same type (True is not 1, 1 is not 1.0).
        assert (type(direct[1]), repr(direct[1])) == (type(sandbox[1]), repr(sandbox[1])), source
        assert direct[0] == sandbox[0], source
