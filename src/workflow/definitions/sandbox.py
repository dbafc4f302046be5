"""The Jinja2 sandbox that guards, computed values and templates run in.

Immutable (an expression can read case data but never change it) and bounded: no
operation may build huge strings, lists or numbers, so a definition — configuration a
municipality edits — cannot stall or exhaust the engine. Bounded are: repetition (``*``),
powers (``**``) and products of big whole numbers, ``%`` formatting, ``str.format``
(widths and precisions), the string methods that pad or multiply (``ljust``, ``rjust``,
``center``, ``zfill``, ``expandtabs``, ``replace``) and the filters that do
(``center``, ``indent``, ``format``, ``replace``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from functools import update_wrapper
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError
from jinja2.filters import do_format, do_indent, do_replace
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

#: The largest string or width any operation may build.
MAX_SIZE = 100_000
#: The longest list a repetition (``[0] * n``) or ``range`` may give: with loops nested
#: at most MAX_LOOP_DEPTH deep, a template makes at most a million turns.
MAX_ITEMS = 1_000
MAX_LOOP_DEPTH = 2
#: The largest whole number (in bits, about 20,000 decimal digits) a product or power
#: may give.
MAX_BITS = 64_000
#: printf-style widths and precisions: ``%500d``, ``%.*f``.
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")
#: The string methods whose result can be far larger than the string.
_GROWING = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs", "replace"})


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, refusing results larger than MAX_SIZE (or MAX_BITS)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(undefined=StrictUndefined, **options)
        self.globals.pop("lipsum", None)
        self.filters["center"] = _bounded_center
        self.filters["indent"] = _bounded_indent
        self.filters["format"] = _bounded_format
        self.filters["replace"] = _bounded_replace
        self.globals["range"] = _bounded_range

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Refuse `'x' * 10**10`, `2 ** 10**9`, `(9**999)**999` and `'%500000000d' % 1`."""
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_product(left, right)
        elif operator == "%" and isinstance(left, str):
            _check_percent(left)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` with bounded widths, and the padding string methods bounded."""
        name = getattr(value, "__name__", None)
        owner = getattr(value, "__self__", None)
        if not isinstance(owner, str):
            return None
        if name in ("format", "format_map"):
            _check_format_string(owner)
            return super().wrap_str_format(value)
        if name in _GROWING:
            return _bounded_method(owner, name, value)
        return None


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(exponent, int | float) and abs(exponent) > 1000:
        raise SecurityError("the exponent is too large")
    whole = _whole(base) and _whole(exponent) and exponent > 0
    if whole and max(base.bit_length(), 1) * exponent > MAX_BITS:
        raise SecurityError("the number would be too large")


def _check_product(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        limit = MAX_SIZE if isinstance(seq, str) else MAX_ITEMS
        if isinstance(seq, str | list | tuple) and _whole(times) and len(seq) * times > limit:
            raise SecurityError("the result would be too large")
    if _whole(left) and _whole(right) and left.bit_length() + right.bit_length() > MAX_BITS:
        raise SecurityError("the number would be too large")


def _check_percent(pattern: str) -> None:
    for width, precision in _PERCENT_SPEC.findall(pattern):
        for size in (width, precision):
            if size == "*":
                raise SecurityError("a width from the arguments (*) is not allowed")
            if size and int(size[:7]) > MAX_SIZE:
                raise SecurityError("the width is too large")


def _check_format_string(pattern: str) -> None:
    try:
        fields = list(string.Formatter().parse(pattern))
    except ValueError:
        return  # str.format reports the malformed pattern itself
    for _text, _name, spec, _conversion in fields:
        if not spec:
            continue
        if "{" in spec:
            raise SecurityError("a width from the arguments ({}) is not allowed")
        if any(int(size[:7]) > MAX_SIZE for size in _DIGITS.findall(spec)):
            raise SecurityError("the width is too large")


def _bounded_method(owner: str, name: str, method: Callable[..., str]) -> Callable[..., str]:
    def bounded(*args: Any, **kwargs: Any) -> str:
        if name == "replace":
            _check_replace(owner, *args)
        elif name == "expandtabs":
            tab = args[0] if args else kwargs.get("tabsize", 8)
            if _whole(tab) and tab * (owner.count("\t") + 1) + len(owner) > MAX_SIZE:
                raise SecurityError("the result would be too large")
        else:
            width = args[0] if args else kwargs.get("width", 0)
            if _whole(width) and width > MAX_SIZE:
                raise SecurityError("the width is too large")
        return method(*args, **kwargs)

    return update_wrapper(bounded, method)


def _check_replace(text: str, old: Any = "", new: Any = "", count: Any = -1) -> None:
    if not isinstance(old, str) or not isinstance(new, str):
        return
    times = len(text) + 1 if old == "" else text.count(old)
    if _whole(count) and count >= 0:
        times = min(times, count)
    if len(text) + times * max(len(new) - len(old), 0) > MAX_SIZE:
        raise SecurityError("the result would be too large")


def _bounded_range(*args: int) -> range:
    found = range(*args)
    if len(found) > MAX_ITEMS:
        raise SecurityError(f"range() gives at most {MAX_ITEMS} numbers here")
    return found


def loop_depth(node: Any, depth: int = 0) -> int:
    """How deep a parsed template's ``{% for %}`` loops are nested."""
    from jinja2 import nodes

    deepest = depth
    for child in node.iter_child_nodes():
        inner = depth + 1 if isinstance(child, nodes.For) else depth
        deepest = max(deepest, loop_depth(child, inner))
    return deepest


def _bounded_center(value: str, width: int = 80) -> str:
    if width > MAX_SIZE:
        raise SecurityError("the width is too large")
    return str(value).center(width)


def _bounded_indent(
    value: str, width: int | str = 4, first: bool = False, blank: bool = False
) -> str:
    size = width if isinstance(width, int) else len(str(width))
    if size * (str(value).count("\n") + 1) + len(str(value)) > MAX_SIZE:
        raise SecurityError("the result would be too large")
    return do_indent(value, width, first, blank)


def _bounded_format(value: str, *args: Any, **kwargs: Any) -> str:
    _check_percent(str(value))
    return do_format(value, *args, **kwargs)


def _bounded_replace(
    eval_ctx: Any, value: str, old: str, new: str, count: int | None = None
) -> str:
    _check_replace(str(value), old, new, -1 if count is None else count)
    return do_replace(eval_ctx, value, old, new, count)


update_wrapper(_bounded_replace, do_replace)  # keeps the filter's pass_eval_context mark
