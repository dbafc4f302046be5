"""The stage graph of a definition: edges, reachability, dead ends, and a Mermaid drawing."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from workflow.definitions.models import Definition
from workflow.definitions.types import text_in
from workflow.definitions.vocabulary import PREVIOUS_STAGE, StageKind


@dataclass(frozen=True)
class Edge:
    """A possible stage change: from a stage, by an event, to a stage."""

    source: str
    target: str
    event: str
    transition: str
    #: A return to the stage the case came from ('@previous'): only to a stage it was in.
    returning: bool = False


def edges(definition: Definition) -> list[Edge]:
    """Every stage change the definition allows ('@previous' expanded to the stages it can be)."""
    stage_ids = set(definition.stages_by_id)
    result: list[Edge] = []
    for transition in definition.transitions:
        for source in definition.source_stages(transition):
            if source not in stage_ids:
                continue
            if transition.to == PREVIOUS_STAGE:
                targets = _previous_candidates(definition, source)
            elif transition.to is None:
                targets = [source]
            else:
                targets = [transition.to]
            returning = transition.to == PREVIOUS_STAGE
            result.extend(
                Edge(source, target, transition.event_name, transition.id, returning)
                for target in targets
                if target in stage_ids
            )
    return result


def _previous_candidates(definition: Definition, stage: str) -> list[str]:
    """Stages a case can have come from into ``stage`` (where '@previous' can lead)."""
    found: list[str] = []
    for transition in definition.transitions:
        if transition.to == stage:
            found.extend(s for s in definition.source_stages(transition) if s != stage)
    return sorted(set(found))


def reachable_from(start: str, graph: list[Edge]) -> set[str]:
    """Stages reachable from ``start``. A return to the previous stage ('@previous', e.g.
    a resume after a pause) goes back to a stage the case was in: it reaches no stage the
    other edges do not (counted, it made every stage one may pause from reachable)."""
    successors: dict[str, set[str]] = {}
    for edge in graph:
        if not edge.returning:
            successors.setdefault(edge.source, set()).add(edge.target)
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in successors.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def can_finish(definition: Definition, graph: list[Edge]) -> set[str]:
    """Stages from which some final stage can be reached."""
    predecessors: dict[str, set[str]] = {}
    for edge in graph:
        predecessors.setdefault(edge.target, set()).add(edge.source)
    finals = {s.id for s in definition.stages if s.kind is StageKind.FINAL}
    seen = set(finals)
    queue = deque(finals)
    while queue:
        for prev in predecessors.get(queue.popleft(), ()):
            if prev not in seen:
                seen.add(prev)
                queue.append(prev)
    return seen


def mermaid(definition: Definition, locale: str | None = None) -> str:
    """The definition as a Mermaid state diagram (paste into any Mermaid viewer)."""
    lang = locale or definition.locale
    lines = ["stateDiagram-v2"]
    for stage in definition.stages:
        lines.append(f'    state "{text_in(stage.name, lang)}" as {stage.id}')
    start = next((s for s in definition.stages if s.kind is StageKind.START), None)
    if start:
        lines.append(f"    [*] --> {start.id}: refer")
    seen: set[tuple[str, str, str]] = set()
    for edge in edges(definition):
        key = (edge.source, edge.target, edge.event)
        if key not in seen:
            seen.add(key)
            lines.append(f"    {edge.source} --> {edge.target}: {edge.event}")
    for stage in definition.stages:
        if stage.kind is StageKind.FINAL:
            lines.append(f"    {stage.id} --> [*]")
    return "\n".join(lines) + "\n"
