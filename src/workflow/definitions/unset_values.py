"""Load-time warnings: an expression that compares or computes with a value that may be unset.

A guard such as ``case.data.next_meeting_at < now`` fails at run time (and the step is
refused) when the value is none: an optional input that was left empty, or case data
that only a step the case need not have taken gives. Comparing (``<``, ``>=``),
computing (``+``, ``-``...), testing membership in it (``'x' in case.data.themes``) or
giving it to a date function (``days_between``...) fails on none; testing it (``is
none``, ``is not none``, a bare ``if``), defaulting it (``case.data.x or today``) or
comparing it with ``==`` does not, and neither does anything after a test that it is set
(``case.data.x is not none and case.data.x < now``).

Which values may be unset where:

* ``inputs.<name>`` of an input that is not required;
* ``case.data.<name>`` in a step, unless every way the case can come to the step's
  stage gives it: the referral (a required input or a computed value), or a step on the
  way (likewise). The stages' sure values are found by following the stage graph
  (values are never taken away, so returning to a stage or staying in it changes
  nothing); within a step, its computed values see its own required inputs and the
  values computed before them, its effects' conditions everything it computed.

The walker takes ``(path, expression source)`` pairs, so any expression a definition
holds (a guard, each rule of a guard's list, a computed value) is checked alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import nodes

from workflow.definitions.findings import Finding, Path
from workflow.definitions.models import Definition
from workflow.definitions.parts import Input, StepSpec, guard_rules
from workflow.definitions.sandbox import BoundedSandbox
from workflow.definitions.vocabulary import PREVIOUS_STAGE, StageKind

#: Functions that fail when given none (``date(x)`` and ``weekday(x)`` give none back).
STRICT_FUNCTIONS = frozenset(
    {
        "days_between",
        "business_days_between",
        "add_days",
        "add_business_days",
        "add_months",
        "next_meeting_day",
    }
)
_ORDERING = {"lt", "lteq", "gt", "gteq"}
_ARITHMETIC = (nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow)
_parser = BoundedSandbox()

#: A value an expression reads, written as in the expression: ``case.data.x``, ``inputs.y``.
Read = str


@dataclass(frozen=True)
class UnsafeRead:
    """A value that may be unset, read where none fails."""

    read: Read
    use: str


def unset_value_warnings(definition: Definition) -> list[Finding]:
    """Every expression of a definition's steps that may fail on an unset value."""
    sure = sure_values(definition)
    findings: list[Finding] = []
    steps: list[tuple[Path, StepSpec, frozenset[str]]] = [
        (("referral",), definition.referral, sure[None])
    ]
    for i, transition in enumerate(definition.transitions):
        sources = [s for s in definition.source_stages(transition) if s in sure]
        known = frozenset.intersection(*(sure[s] for s in sources)) if sources else None
        if known is not None:  # a transition from no reachable stage is never taken
            steps.append((("transitions", i), transition, known))
    setters = _setters(definition)
    for here, spec, known in steps:
        findings += _step_warnings(definition, here, spec, known, setters)
    return findings


def _step_warnings(
    definition: Definition,
    here: Path,
    spec: StepSpec,
    known: frozenset[str],
    setters: Mapping[str, list[str]],
) -> list[Finding]:
    optional = {i.name for i in spec.inputs if not i.required}
    given = _given(spec.inputs)

    def reasons(data_known: frozenset[str]) -> dict[Read, str]:
        unset = {f"inputs.{name}": f"the input '{name}' is optional" for name in optional}
        for field in definition.case_fields - data_known:
            unset[f"case.data.{field}"] = _why(field, setters.get(field, []))
        return unset

    findings: list[Finding] = []
    guard = [(here + ("guard", *below), source) for below, source in guard_rules(spec.guard)]
    findings += warnings_for(guard, reasons(known))
    computed = known | given
    for name, source in spec.set.items():
        findings += warnings_for([(here + ("set", name), source)], reasons(computed))
        computed |= {name}
    conditions = [
        (here + ("effects", j, "when"), effect.when)
        for j, effect in enumerate(spec.effects)
        if effect.when is not None
    ]
    findings += warnings_for(conditions, reasons(computed))
    return findings


def warnings_for(
    expressions: Iterable[tuple[Path, str]], may_be_unset: Mapping[Read, str]
) -> Iterator[Finding]:
    """A warning for each read of a value that may be unset where none fails.

    ``may_be_unset``: the reads (``case.data.x``, ``inputs.y``) that may be none there,
    each with the reason why (said in the warning).
    """
    for path, source in expressions:
        for unsafe in unsafe_reads(source, frozenset(may_be_unset)):
            yield (
                path,
                f"'{unsafe.read}' may be unset here ({may_be_unset[unsafe.read]}), and "
                f"{unsafe.use} fails when it is",
                f"test it first ({unsafe.read} is not none and ...) or give a default "
                f"(({unsafe.read} or ...))",
            )


@lru_cache(maxsize=1024)
def unsafe_reads(source: str, may_be_unset: frozenset[Read]) -> tuple[UnsafeRead, ...]:
    """The reads of ``may_be_unset`` values in ``source`` that fail on none, each once."""
    try:
        tree = _parser.parse("{{ (" + source + ") }}")
    except Exception:  # a syntax error is reported by the checks
        return ()
    found: dict[Read, UnsafeRead] = {}
    for node in tree.find_all(nodes.Output):
        for expression in node.nodes:
            for unsafe in _walk(expression, frozenset(), may_be_unset):
                found.setdefault(unsafe.read, unsafe)
    return tuple(found.values())


def _walk(node: nodes.Node, safe: frozenset[Read], unset: frozenset[Read]) -> Iterator[UnsafeRead]:
    """The unsafe reads below ``node``; ``safe``: reads known to be set where it is evaluated."""
    if isinstance(node, nodes.And):
        yield from _walk(node.left, safe, unset)
        yield from _walk(node.right, safe | _set_if(node.left, True), unset)
        return
    if isinstance(node, nodes.Or):
        yield from _walk(node.left, safe, unset)
        yield from _walk(node.right, safe | _set_if(node.left, False), unset)
        return
    if isinstance(node, nodes.CondExpr):
        yield from _walk(node.test, safe, unset)
        yield from _walk(node.expr1, safe | _set_if(node.test, True), unset)
        if node.expr2 is not None:
            yield from _walk(node.expr2, safe | _set_if(node.test, False), unset)
        return
    for operand, use in _strict_operands(node):
        read = _read(operand)
        if read is not None and read in unset and read not in safe:
            yield UnsafeRead(read, use)
    for child in node.iter_child_nodes():
        yield from _walk(child, safe, unset)


def _strict_operands(node: nodes.Node) -> list[tuple[nodes.Node, str]]:
    """The operands of ``node`` that fail when none, with what is done to them."""
    if isinstance(node, nodes.Compare):
        operands: list[tuple[nodes.Node, str]] = []
        left = node.expr
        for operand in node.ops:
            if operand.op in _ORDERING:
                operands += [(left, "comparing it"), (operand.expr, "comparing it")]
            elif operand.op in ("in", "notin"):
                operands.append((operand.expr, "looking in it"))
            left = operand.expr
        return operands
    if isinstance(node, _ARITHMETIC):
        return [(node.left, "computing with it"), (node.right, "computing with it")]
    if isinstance(node, nodes.Neg | nodes.Pos):
        return [(node.node, "computing with it")]
    if (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Name)
        and node.node.name in STRICT_FUNCTIONS
    ):
        return [(arg, f"{node.node.name}(...)") for arg in node.args]
    return []


def _set_if(test: nodes.Node, outcome: bool) -> frozenset[Read]:
    """The reads known to be set (not none) when ``test`` comes out ``outcome``."""
    if isinstance(test, nodes.Not):
        return _set_if(test.node, not outcome)
    if isinstance(test, nodes.And) and outcome:
        return _set_if(test.left, True) | _set_if(test.right, True)
    if isinstance(test, nodes.Or) and not outcome:
        return _set_if(test.left, False) | _set_if(test.right, False)
    if isinstance(test, nodes.Test) and test.name == "none" and not outcome:
        read = _read(test.node)
        return frozenset({read}) if read is not None else frozenset()
    if outcome:
        read = _read(test)  # a bare value that is true is set
        if read is not None:
            return frozenset({read})
        if isinstance(test, nodes.Compare):  # a comparison that held read set values
            reads = [_read(test.expr), *(_read(o.expr) for o in test.ops)]
            held = all(o.op not in ("eq", "ne", "notin") for o in test.ops)
            return frozenset(r for r in reads if r is not None) if held else frozenset()
    return frozenset()


def _read(node: nodes.Node) -> Read | None:
    """``case.data.x`` or ``inputs.y`` as written, for a plain read of one; else None."""
    path: list[str] = []
    while isinstance(node, nodes.Getattr):
        path.insert(0, node.attr)
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    path.insert(0, node.name)
    if (len(path) == 3 and path[:2] == ["case", "data"]) or (
        len(path) == 2 and path[0] == "inputs"
    ):
        return ".".join(path)
    return None


def sure_values(definition: Definition) -> dict[str | None, frozenset[str]]:
    """The case data certainly set whenever a case is in each reachable stage.

    Keyed by stage id; ``None`` holds what the referral's own expressions see (nothing).
    A stage no case can reach is left out. Each stage starts from the first way found
    into it and loses what another way does not give, until nothing changes (the sets
    only shrink, so this ends).
    """
    referral = _given(definition.referral.inputs) | frozenset(definition.referral.set)
    moves = [
        (source, t.to, _given(t.inputs) | frozenset(t.set))
        for t in definition.transitions
        if t.to is not None and t.to != PREVIOUS_STAGE  # staying or returning adds no way in
        for source in definition.source_stages(t)
    ]
    starts = [s.id for s in definition.stages if s.kind is StageKind.START]
    sure: dict[str, frozenset[str]] = {starts[0]: referral} if starts else {}
    changed = True
    while changed:
        changed = False
        for source, target, gives in moves:
            if source not in sure or target not in definition.stages_by_id:
                continue
            arriving = sure[source] | gives
            after = sure[target] & arriving if target in sure else arriving
            if sure.get(target) != after:
                sure[target] = after
                changed = True
    result: dict[str | None, frozenset[str]] = {None: frozenset()}
    result.update(sure)
    return result


def _given(inputs: Sequence[Input]) -> frozenset[str]:
    """The inputs a step always gives (a required input is never none)."""
    return frozenset(i.name for i in inputs if i.required)


def _setters(definition: Definition) -> dict[str, list[str]]:
    """The steps that give each case value (by an input or a computed value)."""
    found: dict[str, list[str]] = {}
    steps: list[tuple[str, StepSpec]] = [("the referral", definition.referral)]
    steps += [(f"'{t.id}'", t) for t in definition.transitions]
    for name, spec in steps:
        for field in sorted({i.name for i in spec.inputs} | set(spec.set)):
            found.setdefault(field, []).append(name)
    return found


def _why(field: str, setters: Sequence[str]) -> str:
    if not setters:
        return f"no step gives '{field}'"
    if len(setters) == 1:
        return f"only {setters[0]} gives it, and a case need not have taken that step"
    return f"only {', '.join(setters[:-1])} or {setters[-1]} give it, not every case on the way"
