"""Which steps a person may take next on a case: the buttons a case page shows.

Guards are not evaluated here: they depend on the values the person is about to give,
so a step whose guard fails is refused (with its message) when it is submitted.
"""

from __future__ import annotations

from collections.abc import Sequence

from workflow.definitions.models import Definition
from workflow.definitions.parts import Transition
from workflow.definitions.vocabulary import StageKind


def next_steps(definition: Definition, stage: str, roles: Sequence[str]) -> list[Transition]:
    """The transitions leaving ``stage`` that one of ``roles`` may trigger, in file order."""
    current = definition.stages_by_id.get(stage)
    if current is None or current.kind is StageKind.FINAL:
        return []
    return [
        t
        for t in definition.transitions
        if stage in definition.source_stages(t) and any(r in t.roles for r in roles)
    ]


def acting_role(allowed: Sequence[str], roles: Sequence[str]) -> str | None:
    """The first of a person's ``roles`` (in their order of preference) that is allowed."""
    return next((r for r in roles if r in allowed), None)
