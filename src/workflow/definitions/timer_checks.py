"""Load-time checks of timers: anchors that read what exists, and no instant loops.

A stage timer that falls due the moment its stage is entered (``after: 0 minutes``, no
``after`` and no alignment) and whose event leads back into that stage — directly or
through other such timers — would fire for ever: each firing re-enters the stage and
starts it again. ``validate`` refuses it, naming the cycle.
"""

from __future__ import annotations

from collections.abc import Iterator

from workflow.definitions import expressions
from workflow.definitions.expression_kinds import (
    anchor_problem,
    comparison_problems,
    definition_kinds,
)
from workflow.definitions.findings import Finding, Path
from workflow.definitions.models import Definition
from workflow.definitions.parts import Timer
from workflow.definitions.vocabulary import PREVIOUS_STAGE


def check_timers(d: Definition) -> list[Finding]:
    """Every problem of the definition's timers beyond the basic ones."""
    return [*_anchors(d), *_case_timers_in_stages(d), *_instant_loops(d)]


def _anchors(d: Definition) -> Iterator[Finding]:
    scope = expressions.ExpressionScope(
        inputs=frozenset(),
        case_fields=d.case_fields,
        events=frozenset(d.transitions_by_event),
        params=frozenset(d.parameters),
        milestones=frozenset(m.id for m in d.milestones),
    )
    kinds = definition_kinds(d)
    for i, timer in enumerate(d.timers):
        if timer.at is None:
            continue
        here: Path = ("timers", i, "at")
        error = expressions.syntax_error(timer.at)
        if error:
            yield here, f"invalid expression: {error}", expressions.syntax_hint(timer.at)
            continue
        wrong = anchor_problem(timer.at, kinds)
        if wrong is not None:
            yield here, f"expression: {wrong[0]}", wrong[1]
        for message, hint in comparison_problems(timer.at, kinds):
            yield here, f"expression: {message}", hint
        for problem in expressions.name_problems(timer.at, scope):
            if problem.name == "inputs" or problem.message.startswith("this step has no input"):
                yield (
                    here,
                    "a timer's anchor reads the case, not a step's inputs",
                    ("use case.data.<name>"),
                )
                continue
            from workflow.errors import did_you_mean

            yield here, f"expression: {problem.message}", did_you_mean(problem.name, problem.known)


def _case_timers_in_stages(d: Definition) -> Iterator[Finding]:
    for i, stage in enumerate(d.stages):
        for j, timer_id in enumerate(stage.timers):
            timer = d.timers_by_id.get(timer_id)
            if timer is not None and timer.while_open:
                yield (
                    ("stages", i, "timers", j),
                    f"timer '{timer_id}' runs while the case is open (while_open): it is "
                    "started with the case, not by a stage",
                    "remove it from the stage's timers",
                )


def _instant(timer: Timer) -> bool:
    """Whether a timer falls due the moment it starts."""
    return (
        timer.at is None
        and (timer.after is None or timer.after.amount == 0)
        and timer.align == "none"
        and timer.fires.event is not None
    )


def _instant_loops(d: Definition) -> Iterator[Finding]:
    """Stages whose instant timers lead back to themselves (a cycle of instant firings)."""
    edges: dict[str, list[tuple[str, str]]] = {}  # stage -> (timer, stage its event enters)
    for stage in d.stages:
        for timer_id in stage.timers:
            timer = d.timers_by_id.get(timer_id)
            if timer is None or not _instant(timer):
                continue
            assert timer.fires.event is not None
            for transition in d.transitions_by_event.get(timer.fires.event, []):
                if stage.id not in d.source_stages(transition):
                    continue
                target = transition.to
                if target == PREVIOUS_STAGE or target is None:
                    continue  # keeps or returns: it does not enter this stage anew
                edges.setdefault(stage.id, []).append((timer_id, target))
    reported: set[frozenset[str]] = set()
    for start in edges:
        cycle = _cycle_from(start, edges)
        if cycle is None or frozenset(cycle) in reported:
            continue
        reported.add(frozenset(cycle))
        timer_id = next(t for t, target in edges[start] if target in (*cycle, start))
        index = [t.id for t in d.timers].index(timer_id)
        route = " -> ".join((*cycle, cycle[0]))
        yield (
            ("timers", index, "after"),
            f"timer '{timer_id}' falls due the moment its stage is entered and its event "
            f"enters a stage again at once, for ever: {route}",
            "give it a delay, e.g. after: 1 day, or let its step keep the stage",
        )


def _cycle_from(start: str, edges: dict[str, list[tuple[str, str]]]) -> list[str] | None:
    """The stages of a cycle of instant timers through ``start``, if there is one."""
    path = [start]
    seen = {start}

    def walk(stage: str) -> list[str] | None:
        for _timer, target in edges.get(stage, []):
            if target == start:
                return list(path)
            if target not in seen and target in edges:
                seen.add(target)
                path.append(target)
                found = walk(target)
                if found:
                    return found
                path.pop()
        return None

    return walk(start)
