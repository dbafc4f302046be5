"""Plain expressions — names, attributes, constants, comparisons, ``and``, ``or``, ``not`` —
evaluated directly in Python, with the sandbox's result.

Most conditions a definition writes are of this kind (``actor.role != 'caseworker'``,
``person.minor``, ``case.data.coordinator and not consent.given``), and a step evaluates
several: through Jinja2 each builds a template context and every name the expression
could read; here one reads only its own names (``LazyContext`` builds no other). The
result is the sandbox's own: anything this evaluation does not read exactly as Jinja2's
sandbox would — an attribute that is a real attribute (a method), a name or key that is
missing, any error — makes it give way (:class:`SandboxNeededError`), and the caller
evaluates the expression through Jinja2, which says what is wrong in its own words.
Expressions are pure, so reading one twice is safe.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import nodes

#: A compiled plain expression: the value, given how to read a top-level name.
Plain = Callable[[Callable[[str], Any]], Any]


class SandboxNeededError(Exception):
    """This expression is read through Jinja2's sandbox instead."""


#: What a dict has as attributes: the sandbox reads these, not a key.
_DICT_ATTRIBUTES = frozenset(dir(dict))

_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "lteq": operator.le,
    "gt": operator.gt,
    "gteq": operator.ge,
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}


def _key(value: Any, key: str) -> Any:
    """``value.key`` as the sandbox reads it from a dict (the key: a dict has no such
    attribute; a subclass's default for a missing key applies), else give up."""
    if type(value) is not dict and (not isinstance(value, dict) or hasattr(value, key)):
        raise SandboxNeededError
    try:
        return value[key]
    except LookupError:
        raise SandboxNeededError from None


def _constant(node: nodes.Const) -> Plain:
    value = node.value
    return lambda name: value


def _name(node: nodes.Name) -> Plain | None:
    ident = node.name
    return (lambda name: name(ident)) if node.ctx == "load" else None


def _attribute(node: nodes.Getattr | nodes.Getitem) -> Plain | None:
    if isinstance(node, nodes.Getattr):
        key: object = node.attr
    elif isinstance(node.arg, nodes.Const):
        key = node.arg.value
    else:
        return None
    if not isinstance(key, str) or key.startswith("_") or key in _DICT_ATTRIBUTES:
        return None
    inner = _compile(node.node)
    if inner is None:
        return None
    attribute = key
    return lambda name: _key(inner(name), attribute)


def _not(node: nodes.Not) -> Plain | None:
    operand = _compile(node.node)
    return None if operand is None else (lambda name: not operand(name))


def _and_or(node: nodes.And | nodes.Or) -> Plain | None:
    left, right = _compile(node.left), _compile(node.right)
    if left is None or right is None:
        return None
    if isinstance(node, nodes.And):
        return lambda name: left(name) and right(name)
    return lambda name: left(name) or right(name)


def _sequence(node: nodes.List | nodes.Tuple) -> Plain | None:
    items = [_compile(item) for item in node.items]
    parts = [item for item in items if item is not None]
    if len(parts) != len(items):
        return None
    if isinstance(node, nodes.List):
        return lambda name: [part(name) for part in parts]
    return lambda name: tuple(part(name) for part in parts)


def _compile(node: nodes.Node) -> Plain | None:
    """The node as a plain expression, or None when it is not one."""
    compiler = _COMPILERS.get(type(node))
    return None if compiler is None else compiler(node)


def _comparison(node: nodes.Compare) -> Plain | None:
    """``a < b <= c`` as Python chains it (each operand read once, as Jinja2 compiles it)."""
    first = _compile(node.expr)
    steps = [(_COMPARISONS.get(o.op), _compile(o.expr)) for o in node.ops]
    if first is None or any(test is None or operand is None for test, operand in steps):
        return None
    chain: list[tuple[Callable[[Any, Any], Any], Plain]] = steps  # type: ignore[assignment]

    def compare(name: Callable[[str], Any]) -> Any:
        left = first(name)
        result: Any = True
        for test, operand in chain:
            right = operand(name)
            result = test(left, right)
            if not result:
                return result
            left = right
        return result

    return compare


#: The node kinds a plain expression is made of, and how each is read.
_COMPILERS: dict[type, Callable[[Any], Plain | None]] = {
    nodes.Const: _constant,
    nodes.Name: _name,
    nodes.Getattr: _attribute,
    nodes.Getitem: _attribute,
    nodes.Not: _not,
    nodes.And: _and_or,
    nodes.Or: _and_or,
    nodes.Compare: _comparison,
    nodes.List: _sequence,
    nodes.Tuple: _sequence,
}


def plain(tree: nodes.Template) -> Plain | None:
    """The parsed expression (``{{ (source) }}``) as a plain one, or None."""
    body = tree.body
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        return None
    return _compile(body[0].nodes[0])


def evaluate(compiled: Plain, context: Mapping[str, Any]) -> Any:
    """A plain expression's value in ``context``; :class:`SandboxNeededError` when the sandbox must
    read it (a name the context lacks, an error of any kind)."""

    def name(ident: str) -> Any:
        try:
            return context[ident]
        except KeyError:
            raise SandboxNeededError from None

    try:
        return compiled(name)
    except SandboxNeededError:
        raise
    except Exception as exc:  # the sandbox reads it again and says what is wrong
        raise SandboxNeededError from exc
