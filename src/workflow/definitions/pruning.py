"""Checking what is left of a definition whose parts failed validation, without follow-on errors.

When pydantic refuses a part (a transition with a broken label, a timer with a bad
duration), the loader still checks the rest, so that an author sees every problem at
once. The refused parts are left out, and with them go the names they declared: a
guard elsewhere that reads an input of the left-out transition, a timer that raises
its event, a template that uses its shared value. The checks of the partial definition
would report each of those as unknown, often with a wrong "did you mean"; they follow
from the one error already reported, so they are left out too. Only the root error is
reported; the rest shows up, if it is real, once the root is fixed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from workflow.definitions.findings import Finding, Path
from workflow.definitions.merge import ID_LISTS
from workflow.definitions.models import Definition

#: A name quoted in a problem's message: 'follow_up'.
_QUOTED = re.compile(r"'([^']+)'")
#: Lists whose missing items would make the stage-graph checks mislead.
_GRAPH_LISTS = ("stages", "transitions", "timers")


@dataclass(frozen=True)
class Pruned:
    """A definition's plain data with the parts that failed validation left out."""

    plain: dict[str, Any]
    #: Top-level fields left out or replaced, and lists that lost items (``stages[]``).
    fields: frozenset[str]
    #: Names the left-out parts declared: ids, events, inputs, computed values.
    names: frozenset[str]
    #: For each list that lost items, the original index of every item kept.
    kept: Mapping[str, tuple[int, ...]]

    @property
    def graph_intact(self) -> bool:
        """Whether the stage graph is whole (else its checks would report what is missing)."""
        return not any(k in self.fields or f"{k}[]" in self.fields for k in _GRAPH_LISTS)

    def follows(self, finding: Finding) -> bool:
        """Whether a finding of the partial definition only follows from what was left out."""
        where, message, _hint = finding
        if where and where[0] in self.fields:
            return True  # about a field left out
        if len(where) == 1 and f"{where[0]}[]" in self.fields:
            return True  # a whole-list check of a list that lost items
        named = _QUOTED.findall(message)
        if named and named[0] in self.fields:
            return True
        return any(name in self.names for name in named)

    def original(self, path: Path) -> Path:
        """A path into the partial definition as a path into the definition written."""
        if len(path) > 1 and isinstance(path[0], str) and isinstance(path[1], int):
            kept = self.kept.get(path[0])
            if kept is not None and 0 <= path[1] < len(kept):
                return (path[0], kept[path[1]], *path[2:])
        return path


def prune(plain: dict[str, Any], error: ValidationError) -> Pruned | None:
    """The definition without the parts that failed validation; None if nothing sensible is left.

    Items of the id lists are left out one by one; an optional top-level field is left
    out whole; a wrong ``version`` is read as 1. Any other required field that fails
    (``title``, ``referral``...) leaves nothing worth checking.
    """
    drop: dict[str, set[int]] = {}
    fields: set[str] = set()
    names: set[str] = set()
    pruned = dict(plain)
    for detail in error.errors():
        loc = detail["loc"]
        key = loc[0] if loc else None
        if key in ID_LISTS and len(loc) > 1 and isinstance(loc[1], int):
            drop.setdefault(str(key), set()).add(loc[1])
            fields.add(f"{key}[]")
            names |= _declared(plain[str(key)][loc[1]], transition=key == "transitions")
        elif isinstance(key, str) and key in Definition.model_fields:
            if Definition.model_fields[key].is_required():
                if key != "version":
                    return None
                pruned["version"] = 1
            else:
                pruned.pop(key, None)
                names |= _declared_within(plain.get(key), transitions=key == "transitions")
            fields.add(key)
            if key == "municipality":
                fields.add("id")  # 'needs a municipality' would only repeat the error
        else:
            return None
    kept: dict[str, tuple[int, ...]] = {}
    for key, indexes in drop.items():
        kept[key] = tuple(i for i in range(len(plain[key])) if i not in indexes)
        pruned[key] = [plain[key][i] for i in kept[key]]
    return Pruned(pruned, frozenset(fields), frozenset(names), kept)


def _declared(item: Any, *, transition: bool = False) -> set[str]:
    """The names one part declares: its id (and those of its own parts), a transition's
    event, the inputs it asks for and the values it computes."""
    names: set[str] = set()
    if not isinstance(item, dict):
        return names
    if isinstance(item.get("id"), str):
        names.add(item["id"])
    if transition and isinstance(item.get("event"), str):
        names.add(item["event"])
    inputs = item.get("inputs")
    if isinstance(inputs, list):
        names |= {n for i in inputs if isinstance(i, dict) and isinstance(n := i.get("name"), str)}
    computed = item.get("set")
    if isinstance(computed, dict):
        names |= {k for k in computed if isinstance(k, str)}
    for key, value in item.items():
        if key not in ("inputs", "set"):
            names |= _declared_within(value)
    return names


def _declared_within(value: Any, *, transitions: bool = False) -> set[str]:
    """The names declared by every part inside a value (a whole section left out)."""
    if isinstance(value, list):
        return {n for item in value for n in _declared(item, transition=transitions)}
    return _declared(value)
