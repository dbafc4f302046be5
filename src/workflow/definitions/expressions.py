"""Guards and computed values: expressions evaluated in Jinja2's sandbox, never ``eval``.

An expression sees these names:

* ``case`` — ``reference``, ``stage``, ``previous_stage``, ``data`` (inputs given so far
  and computed values), ``milestones``, ``counts`` (how often each event happened),
  ``team`` (the young person's chosen team), ``opened_at``, ``meetings`` (kind, state,
  starts_at, place; oldest first) and ``next_meeting_at`` (the first meeting still booked);
* ``inputs`` — the values given with the event; ``actor`` — ``role`` and ``id`` of who
  triggers it (``system`` for timers);
* ``person`` — facts about the young person derived from the stored birth date (never
  the date itself): ``age``, ``minor``, ``turns_16_on``, ``turns_18_on``, ``turns_25_on``
  and ``turns_on(n)``, ``age_on(date)``;
* ``consent`` — ``given``, ``departments``, ``categories``, ``guardian``, ``withdrawn``
  (the departments consents named that no consent in force covers: taken back);
* ``params`` — the definition's parameters; ``target_ages`` — ``min`` and ``max``;
  ``meeting_weekdays`` — the calendar's fixed meeting weekdays;
* ``now`` (a time) and ``today`` (a date) — the decision time, given by the caller, not a
  clock; dates and times compare with ``<``, ``==``;
* helper functions: ``departments_of(items)`` and ``themes_of(items)`` (the sets of
  ``department`` / ``theme`` values of a list of team members or goals), ``count(items)``,
  ``all_in(items, allowed)``, ``weekday(d)`` ('monday' ... 'sunday') and the date
  functions of :mod:`workflow.definitions.dates` (on the definition's calendar).

At load time every name, every ``inputs.<name>``, ``case.data.<name>``,
``case.counts.<event>``, ``params.<name>`` and every milestone tested with
``'<id>' in case.milestones`` is checked against the definition.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache, partial
from typing import Any

from jinja2 import TemplateSyntaxError, nodes

from workflow.definitions import plain_expressions
from workflow.definitions.calendar import WEEKDAYS
from workflow.definitions.dates import DATE_FUNCTIONS, as_moment
from workflow.definitions.sandbox import BoundedSandbox

CASE_ATTRIBUTES = frozenset(
    {
        "reference",
        "stage",
        "previous_stage",
        "data",
        "milestones",
        "counts",
        "team",
        "opened_at",
        "meetings",
        "next_meeting_at",
    }
)


def departments_of(items: Iterable[Mapping[str, Any]] | None) -> frozenset[str]:
    """The departments named by a list of team members, goals or reviews."""
    return frozenset(
        str(item["department"])
        for item in items or ()
        if isinstance(item, Mapping) and item.get("department")
    )


def themes_of(items: Iterable[Mapping[str, Any]] | None) -> frozenset[str]:
    """The themes named by a list of goals."""
    return frozenset(
        str(item["theme"])
        for item in items or ()
        if isinstance(item, Mapping) and item.get("theme")
    )


def count(items: Iterable[Any] | None) -> int:
    """How many items a list has (0 for none)."""
    return len(list(items or ()))


def all_in(items: Iterable[Any] | None, allowed: Iterable[Any] | None) -> bool:
    """Whether every item is among the allowed ones."""
    permitted = set(allowed or ())
    return all(item in permitted for item in items or ())


def weekday(moment: date | datetime | str | None) -> str | None:
    """The English weekday name ('tuesday') of a date, a time or ISO text."""
    day = as_moment(moment) if moment != "" else None
    return None if day is None else WEEKDAYS[day.weekday()]


HELPERS: dict[str, Callable[..., Any]] = {
    "departments_of": departments_of,
    "themes_of": themes_of,
    "count": count,
    "all_in": all_in,
    "weekday": weekday,
}
EXPRESSION_NAMES = frozenset(
    {
        "case",
        "inputs",
        "actor",
        "person",
        "consent",
        "params",
        "target_ages",
        "meeting_weekdays",
        "now",
        "today",
    }
)
#: What ``person`` offers (derived from the birth date, which itself is never offered).
PERSON_ATTRIBUTES = frozenset(
    {"age", "minor", "turns_16_on", "turns_18_on", "turns_25_on", "turns_on", "age_on"}
)
CONSENT_ATTRIBUTES = frozenset({"given", "departments", "categories", "guardian", "withdrawn"})

# Immutable: an expression can read the case but never change it (no list.clear() etc.).
_env = BoundedSandbox()
_env.globals.update(HELPERS)


class ExpressionError(Exception):
    """An expression could not be evaluated (or gave a value that cannot be kept)."""


class LazyContext(Mapping[str, Any]):
    """The names an expression sees, each built the first time it is read.

    Building them (the case as values, the person's facts, the consent...) was ~8 µs of
    a ~58 µs decision, and most steps evaluate no expression at all; a condition such
    as ``actor.role != 'caseworker'`` reads one name, and an expression of comparisons
    (:mod:`workflow.definitions.plain_expressions`) builds only the names it reads.
    """

    __slots__ = ("_built", "_fixed", "_parts", "_values")

    def __init__(
        self, parts: Mapping[str, Callable[[], Any]], fixed: Mapping[str, Any] | None = None
    ) -> None:
        """``parts``: how to build each name; ``fixed``: names given as they are."""
        self._parts = parts
        self._fixed = fixed or {}
        self._values: dict[str, Any] = {}
        self._built: dict[str, Any] | None = None

    def __getitem__(self, key: str) -> Any:
        values = self._values
        if key in values:
            return values[key]
        part = self._parts.get(key)
        if part is None:
            return self._fixed[key]
        value = values[key] = part()
        return value

    def built(self) -> dict[str, Any]:
        """Every name, built now if it was not yet."""
        if self._built is None:
            self._built = {**self._fixed, **{name: self[name] for name in self._parts}}
        return self._built

    def replacing(self, key: str, part: Callable[[], Any]) -> LazyContext:
        """This context with one name built otherwise (the others shared, built once)."""
        parts: dict[str, Callable[[], Any]] = {
            name: partial(self.__getitem__, name) for name in self._parts
        }
        parts[key] = part
        return LazyContext(parts, self._fixed)

    def __iter__(self) -> Iterator[str]:
        return iter(self.built())

    def __len__(self) -> int:
        return len(self.built())


def names(context: Mapping[str, Any]) -> Mapping[str, Any]:
    """The context as a plain mapping (a :class:`LazyContext` built)."""
    return context.built() if isinstance(context, LazyContext) else context


def _evaluated(source: str, context: Mapping[str, Any]) -> Any:
    """The expression's value: a plain one read directly, any other (or a plain one
    the sandbox must read) through Jinja2's sandbox."""
    fast = _plain(source)
    if fast is not None:
        try:
            return plain_expressions.evaluate(fast, context)
        except plain_expressions.SandboxNeededError:
            pass
    return compile_expression(source)(**names(context))


@lru_cache(maxsize=4096)
def _plain(source: str) -> plain_expressions.Plain | None:
    try:  # only what the sandbox itself compiles ("a) or (b" parses once parenthesised)
        compile_expression(source)
    except Exception:
        return None
    tree = parse_expression(source)
    return None if tree is None else plain_expressions.plain(tree)


def evaluate_bool(source: str, context: Mapping[str, Any]) -> bool:
    """The truth of a guard or condition; any failure becomes an ExpressionError."""
    try:
        return bool(_evaluated(source, context))
    except Exception as exc:  # author-written code: every failure is reported
        raise ExpressionError(_describe(exc)) from exc


def evaluate_raw(source: str, context: Mapping[str, Any]) -> Any:
    """An expression's value as it is (a date stays a date), for the engine's own use."""
    try:
        return _evaluated(source, context)
    except Exception as exc:
        raise ExpressionError(_describe(exc)) from exc


def evaluate_value(source: str, context: Mapping[str, Any]) -> Any:
    """A computed value, as JSON-compatible data (sets become sorted lists)."""
    try:
        return _json_value(_evaluated(source, context))
    except ExpressionError:
        raise
    except Exception as exc:
        raise ExpressionError(_describe(exc)) from exc


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _json_value(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        raise ExpressionError("the computed value is nested too deeply")
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, date):  # a date or a time is kept as ISO text
        return value.isoformat()
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ExpressionError("the computed value is not a finite number")
        return value
    if isinstance(value, list | tuple):
        return [_json_value(v, depth + 1) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_json_value(v, depth + 1) for v in value)
    if isinstance(value, Mapping):
        return {str(k): _json_value(v, depth + 1) for k, v in value.items()}
    raise ExpressionError(
        f"the computed value ({type(value).__name__}) cannot be kept in case "
        "data; compute text, numbers, true/false or lists of them"
    )


@dataclass(frozen=True)
class ExpressionScope:
    """What an expression may refer to, for the load-time check."""

    inputs: frozenset[str]
    case_fields: frozenset[str]
    events: frozenset[str]
    params: frozenset[str]
    milestones: frozenset[str]


@dataclass(frozen=True)
class NameProblem:
    """A name an expression uses that the definition does not have."""

    message: str
    name: str
    known: frozenset[str]


class _Expression:
    """A compiled expression, called as Jinja2's ``TemplateExpression`` is (the same
    sandboxed code, the same result), without rebuilding what every call shares: the
    globals are copied from one plain dict instead of the template's chained mapping, and
    the context is made directly. 30 -> 11 µs a call; a referral evaluates several.
    """

    __slots__ = ("_environment", "_globals", "_name", "_render")

    def __init__(self, source: str) -> None:
        template = _env.compile_expression(source, undefined_to_none=False)._template
        self._environment = template.environment
        self._globals = dict(template.globals)
        self._name = template.name
        self._render = template.root_render_func

    def __call__(self, **context: Any) -> Any:
        parent = self._globals.copy()
        parent.update(context)
        made = self._environment.context_class(self._environment, parent, self._name, {})
        for _ in self._render(made):
            pass
        return made.vars["result"]


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> Callable[..., Any]:
    """Compile an expression once; raises TemplateSyntaxError on bad syntax."""
    return _Expression(source)


def syntax_error(source: str) -> str | None:
    """A description of the expression's syntax error, or None when it parses."""
    try:
        compile_expression(source)
    except TemplateSyntaxError as exc:
        return exc.message or "invalid expression"
    except Exception as exc:  # e.g. RecursionError on absurd nesting
        return f"cannot be read ({type(exc).__name__})"
    return None


#: Operators of other languages, and what the expressions write instead.
_OTHER_OPERATORS = (
    (re.compile(r"=<"), "write '<=' for at most"),
    (re.compile(r"=>"), "write '>=' for at least"),
    (re.compile(r"&&"), "write 'and'"),
    (re.compile(r"\|\|"), "write 'or'"),
    (re.compile(r"==="), "write '=='"),
    (re.compile(r"!(?!=)"), "write 'not'"),
    (re.compile(r"(?<![=<>!])=(?!=)"), "compare with '==' (one '=' is not a comparison)"),
)


def syntax_hint(source: str) -> str:
    """How to mend an expression that does not parse: an operator of another language
    said in the expressions' own words, else where the syntax is described."""
    for pattern, hint in _OTHER_OPERATORS:
        if pattern.search(_without_quoted(source)):
            return hint
    return "expressions use Jinja2 syntax: see Expressions in docs/definitions.md"


def _without_quoted(source: str) -> str:
    return re.sub(r"'[^']*'|\"[^\"]*\"", "''", source)


def parse_expression(source: str) -> nodes.Template | None:
    """The expression's syntax tree (as the load-time checks read it), or None when it
    does not parse (:func:`syntax_error` says why)."""
    try:
        return _env.parse("{{ (" + source + ") }}")
    except Exception:
        return None


def name_problems(source: str, scope: ExpressionScope) -> list[NameProblem]:
    """Names the expression uses that do not exist in its scope."""
    try:
        tree = _env.parse("{{ (" + source + ") }}")
    except Exception:  # syntax_error() reports it
        return []
    problems: list[NameProblem] = []
    allowed = EXPRESSION_NAMES | frozenset(HELPERS) | DATE_FUNCTIONS
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in allowed:
            problems.append(NameProblem(f"unknown name '{name.name}'", name.name, allowed))
    for attr in tree.find_all(nodes.Getattr):
        if attr.attr.startswith("_"):  # the sandbox refuses them at run time: say so now
            problems.append(
                NameProblem(
                    f"attributes starting with _ are not allowed ('{attr.attr}')", "", frozenset()
                )
            )
            continue
        problems.extend(_attribute_problem(attr, scope))
    for compare in tree.find_all(nodes.Compare):
        problems.extend(_milestone_problem(compare, scope))
    return problems


def unset_names(source: str, context: Mapping[str, Any]) -> list[str]:
    """The attribute paths an expression reads (``case.data.x``, ``inputs.y``) that are
    none in ``context``: what to name when it fails on an unset value."""
    try:
        tree = _env.parse("{{ (" + source + ") }}")
    except Exception:
        return []
    unset: list[str] = []
    for attr in tree.find_all(nodes.Getattr):
        path = _path(attr)
        if path is None or len(path) < 2 or path[0] not in context:
            continue
        value: Any = context[path[0]]
        for step in path[1:]:
            value = value.get(step) if isinstance(value, Mapping) else getattr(value, step, None)
            if value is None:
                break
        dotted = ".".join(path)
        if (
            value is None
            and dotted not in unset
            and not any(dotted.startswith(u + ".") for u in unset)
        ):
            unset.append(dotted)
    return unset


def uses_name(source: str, name: str) -> bool:
    """Whether an expression reads a top-level name (e.g. ``consent``)."""
    try:
        tree = _env.parse("{{ (" + source + ") }}")
    except Exception:
        return False
    return any(n.name == name and n.ctx == "load" for n in tree.find_all(nodes.Name))


def _path(node: nodes.Node) -> tuple[str, ...] | None:
    """``case.data`` as ('case', 'data'); None for anything but a plain attribute chain."""
    if isinstance(node, nodes.Name):
        return (node.name,)
    if isinstance(node, nodes.Getattr):
        inner = _path(node.node)
        return (*inner, node.attr) if inner else None
    return None


def _attribute_problem(attr: nodes.Getattr, scope: ExpressionScope) -> list[NameProblem]:
    owner = _path(attr.node)
    checks: dict[tuple[str, ...], tuple[frozenset[str], str]] = {
        ("inputs",): (scope.inputs, "this step has no input"),
        ("case",): (CASE_ATTRIBUTES, "a case has no attribute"),
        ("case", "data"): (scope.case_fields, "no input or computed value is named"),
        ("case", "counts"): (scope.events, "no transition handles the event"),
        ("params",): (scope.params, "the definition has no parameter"),
        ("target_ages",): (frozenset({"min", "max"}), "target_ages has no"),
        ("actor",): (frozenset({"role", "id"}), "actor has no"),
        ("person",): (PERSON_ATTRIBUTES, "person has no"),
        ("consent",): (CONSENT_ATTRIBUTES, "consent has no"),
    }
    if owner in checks:
        known, what = checks[owner]
        if attr.attr not in known:
            return [NameProblem(f"{what} '{attr.attr}'", attr.attr, known)]
    return []


def _milestone_problem(compare: nodes.Compare, scope: ExpressionScope) -> list[NameProblem]:
    if not isinstance(compare.expr, nodes.Const) or not isinstance(compare.expr.value, str):
        return []
    problems = []
    for operand in compare.ops:
        if operand.op in ("in", "notin") and _path(operand.expr) == ("case", "milestones"):
            ident = compare.expr.value
            if ident not in scope.milestones:
                problems.append(
                    NameProblem(f"unknown milestone '{ident}'", ident, scope.milestones)
                )
    return problems
