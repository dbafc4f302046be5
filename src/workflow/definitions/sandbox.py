"""The Jinja2 sandbox that guards, computed values and templates run in.

Immutable (an expression can read case data but never change it) and bounded: no
operation may build huge strings or lists, so a definition cannot stall the engine.
"""

from __future__ import annotations

from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_SIZE = 100_000


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, refusing results larger than MAX_SIZE."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(undefined=StrictUndefined, **options)
        self.globals.pop("lipsum", None)
        self.filters["center"] = _bounded_center

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Refuse `'x' * 10**10` and `2 ** 10**9`."""
        if operator == "**" and isinstance(right, int | float) and abs(right) > 1000:
            raise SecurityError("the exponent is too large")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_SIZE
                ):
                    raise SecurityError("the result would be too large")
        return super().call_binop(context, operator, left, right)


def _bounded_center(value: str, width: int = 80) -> str:
    if width > MAX_SIZE:
        raise SecurityError("the width is too large")
    return str(value).center(width)
