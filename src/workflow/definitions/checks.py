"""Load-time checks of a resolved definition: references, expressions, inputs, stage graph.

Each check returns problems with a path into the definition; the loader turns the
path into file:line:column. All checks run, so an author sees every problem at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflow.definitions import expressions, graph
from workflow.definitions.casework_checks import check_casework
from workflow.definitions.effects import (
    CancelTimerEffect,
    CreateTaskEffect,
    Effect,
    MilestoneEffect,
    NotifyEffect,
    Recipients,
    RevokeMilestoneEffect,
    StartTimerEffect,
)
from workflow.definitions.expression_kinds import Kind, comparison_problems, definition_kinds
from workflow.definitions.findings import Finding as Finding  # re-exported for the loader
from workflow.definitions.findings import Path, unknown
from workflow.definitions.message_values import message_problems
from workflow.definitions.models import Definition
from workflow.definitions.parts import (
    Department,
    Guard,
    Input,
    Role,
    StepSpec,
    Transition,
    guard_rules,
)
from workflow.definitions.timer_checks import check_timers
from workflow.definitions.vocabulary import (
    ANY_ACTIVE,
    PREVIOUS_STAGE,
    REFER_EVENT,
    SHAREABLE_INPUT_TYPES,
    SYSTEM_ROLE,
    CaseRole,
    InputType,
    StageKind,
)

CHOICE_TYPES = frozenset({InputType.CHOICE, InputType.MULTICHOICE, InputType.MEETING_PLACE})


_unknown = unknown


def check_definition(definition: Definition, *, with_graph: bool = True) -> list[Finding]:
    """Every problem of a resolved definition that the models alone cannot see.

    ``with_graph=False`` leaves out the stage-graph checks (for a definition with parts
    left out, whose graph would mislead).
    """
    findings: list[Finding] = []
    findings += _check_structure(definition)
    findings += _check_stages(definition)
    findings += _check_referral_and_transitions(definition)
    findings += _check_timers(definition)
    findings += _check_team_field(definition)
    findings += _check_meaning_inputs(definition)
    findings += _check_placeholder_addresses(definition)
    findings += check_casework(definition)
    findings += check_timers(definition)
    if with_graph and not any(_about_stage_graph(path) for path, _, _ in findings):
        findings += _check_graph(definition)
    return findings


def _about_stage_graph(path: Path) -> bool:
    """Whether a problem makes the stage graph unreliable (so graph checks would mislead)."""
    return path[:1] == ("stages",) or (
        path[:1] == ("transitions",) and any(p in ("from", "to", "not_from") for p in path)
    )


def _check_structure(d: Definition) -> Iterator[Finding]:
    if not d.abstract and d.municipality is None:
        yield (
            ("id",),
            "a definition that opens cases needs a 'municipality' (name, code, case_prefix)",
            "add a municipality section, or mark a shared base with 'abstract: true'",
        )
    if d.remove is not None and d.extends is None:
        yield ("remove",), "'remove' only applies to a definition that extends another", None
    try:
        ZoneInfo(d.calendar.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        yield (
            ("calendar", "timezone"),
            f"unknown time zone '{d.calendar.timezone}'",
            "use an IANA name such as 'Europe/Copenhagen'",
        )


def _check_stages(d: Definition) -> Iterator[Finding]:
    starts = [i for i, s in enumerate(d.stages) if s.kind is StageKind.START]
    if len(starts) != 1:
        where: Path = ("stages", starts[1]) if len(starts) > 1 else ("stages",)
        yield where, f"exactly one stage must have kind 'start'; found {len(starts)}", None
    if not any(s.kind is StageKind.FINAL for s in d.stages):
        yield ("stages",), "no stage has kind 'final': a case could never close", None
    for i, stage in enumerate(d.stages):
        for j, timer in enumerate(stage.timers):
            if timer not in d.timers_by_id:
                yield _unknown(("stages", i, "timers", j), "timer", timer, d.timers_by_id)


def _check_referral_and_transitions(d: Definition) -> Iterator[Finding]:
    roles = {r.id for r in d.roles} | {SYSTEM_ROLE}
    events = frozenset(d.transitions_by_event)
    base_scope = dict(
        case_fields=d.case_fields,
        events=events,
        params=frozenset(d.parameters),
        milestones=frozenset(m.id for m in d.milestones),
    )
    kinds = definition_kinds(d)

    def step(here: Path, spec: StepSpec) -> Iterator[Finding]:
        """What every step spec must get right: roles, inputs, expressions, effects."""
        yield from _check_roles(here + ("roles",), spec.roles, roles)
        yield from _check_inputs(d, here + ("inputs",), spec.inputs)
        scope = expressions.ExpressionScope(
            inputs=frozenset(i.name for i in spec.inputs), **base_scope
        )
        yield from _check_expressions(here, spec.guard, spec.set, scope, kinds=kinds)
        yield from _check_rule_fields(here, spec)
        yield from _check_messages(d, here, spec)
        yield from _check_effects(d, here + ("effects",), spec.effects)
        yield from _check_effect_conditions(here + ("effects",), spec.effects, scope, kinds)

    yield from step(("referral",), d.referral)
    for i, t in enumerate(d.transitions):
        here: Path = ("transitions", i)
        if t.event_name == "refer":
            yield here + ("event",), "'refer' is reserved: it opens a case (see 'referral')", None
        yield from _check_route(d, here, t)
        yield from step(here, t)


def _step_specs(d: Definition) -> list[tuple[Path, StepSpec]]:
    """Every step spec of a definition, where it is: the referral, then each transition."""
    return [(("referral",), d.referral)] + [
        (("transitions", i), t) for i, t in enumerate(d.transitions)
    ]


def _check_route(d: Definition, here: Path, t: Transition) -> Iterator[Finding]:
    """The stages a transition leaves (and not) and enters."""
    stage_ids = d.stages_by_id
    sources = (
        [] if t.from_ == ANY_ACTIVE else ([t.from_] if isinstance(t.from_, str) else list(t.from_))
    )
    for j, source in enumerate(sources):
        path = here + (("from", j) if isinstance(t.from_, list) else ("from",))
        if source not in stage_ids:
            yield _unknown(path, "stage", source, stage_ids)
        elif stage_ids[source].kind is StageKind.FINAL:
            yield (
                path,
                f"stage '{source}' is final: a final stage accepts no event",
                "make the stage active, or leave it out of 'from'",
            )
    for j, excluded in enumerate(t.not_from):
        if excluded not in stage_ids:
            yield _unknown(here + ("not_from", j), "stage", excluded, stage_ids)
    if t.not_from and t.from_ != ANY_ACTIVE:
        yield here + ("not_from",), "'not_from' only applies with from: '*'", None
    if t.to not in (None, PREVIOUS_STAGE) and t.to not in stage_ids:
        yield _unknown(here + ("to",), "stage", str(t.to), stage_ids)
    steps = {REFER_EVENT} | {other.id for other in d.transitions}
    for j, earlier in enumerate(t.not_by):
        if earlier not in steps:
            yield _unknown(here + ("not_by", j), "step", earlier, steps)


def _check_roles(path: Path, given: Sequence[str], roles: set[str]) -> Iterator[Finding]:
    for j, role in enumerate(given):
        if role not in roles:
            yield _unknown(path + (j,), "role", role, roles)
        elif role not in _HELD_ROLES:
            yield (
                path + (j,),
                f"no one can act as '{role}': a step's roles are what people are on the "
                f"case ({', '.join(CaseRole)})",
                None,
            )


_HELD_ROLES = frozenset(CaseRole) | {SYSTEM_ROLE}


def _check_inputs(d: Definition, path: Path, inputs: Sequence[Input]) -> Iterator[Finding]:
    seen: set[str] = set()
    for j, item in enumerate(inputs):
        here = path + (j,)
        if item.name in seen:
            yield here + ("name",), f"input '{item.name}' is given twice", None
        seen.add(item.name)
        rooms = item.type is InputType.MEETING_PLACE and d.meeting_rules.rooms
        if item.type in CHOICE_TYPES and not item.choices and not rooms:
            yield here + ("choices",), f"a {item.type} input needs 'choices'", None
        if item.choices and item.type not in CHOICE_TYPES:
            yield (
                here + ("choices",),
                f"'choices' only applies to choice inputs, not {item.type}",
                None,
            )
        if item.share and item.type not in SHAREABLE_INPUT_TYPES:
            yield (
                here + ("share",),
                f"a {item.type} input cannot be shared with departments: it may hold free text "
                "about the young person",
                "share only dates, times, choices, departments, themes, numbers or yes/no",
            )
        if item.first_person and item.type is not InputType.GOALS:
            yield here + ("first_person",), "'first_person' only applies to goals inputs", None
        if item.type in (InputType.THEME, InputType.THEMES) and not d.themes:
            yield here + ("type",), f"a {item.type} input needs the definition's 'themes'", None
        if item.type is InputType.PROGRESSION and d.progression is None:
            yield (
                here + ("type",),
                "a progression input needs the definition's 'progression' scale",
                "declare `progression: {name: ..., levels: [...]}`, or extend 'base' (it has one)",
            )


def _check_expressions(
    path: Path,
    guard: Guard | None,
    assignments: Mapping[str, str],
    scope: expressions.ExpressionScope,
    when: str | None = None,
    kinds: Mapping[str, Kind] | None = None,
) -> Iterator[Finding]:
    sources: list[tuple[Path, str]] = []
    if when is not None:
        sources.append((path + ("when",), when))
    sources.extend((path + ("guard", *below), source) for below, source in guard_rules(guard))
    sources.extend((path + ("set", name), source) for name, source in assignments.items())
    for where, source in sources:
        error = expressions.syntax_error(source)
        if error:
            yield where, f"invalid expression: {error}", expressions.syntax_hint(source)
            continue
        for problem in expressions.name_problems(source, scope):
            yield _unknown_hint(where, problem)
        for message, hint in comparison_problems(source, kinds or {}):
            yield where, f"expression: {message}", hint


def _check_rule_fields(here: Path, spec: StepSpec) -> Iterator[Finding]:
    """A rule's ``field`` names an input of its step (the message is shown beside it)."""
    if not isinstance(spec.guard, list):
        return
    names = [i.name for i in spec.inputs]
    for index, rule in enumerate(spec.guard):
        if rule.field is not None and rule.field not in names:
            yield unknown(here + ("guard", index, "field"), "input of this step", rule.field, names)


def _check_messages(d: Definition, here: Path, spec: StepSpec) -> Iterator[Finding]:
    """A refusal's messages name only the definition's fixed values (``{{ target_ages.min }}``)."""
    yield from message_problems(here + ("guard_message",), spec.guard_message, d)
    if isinstance(spec.guard, list):
        for index, rule in enumerate(spec.guard):
            yield from message_problems(here + ("guard", index, "message"), rule.message, d)


def _check_effect_conditions(
    path: Path,
    effects: Sequence[Effect],
    scope: expressions.ExpressionScope,
    kinds: Mapping[str, Kind],
) -> Iterator[Finding]:
    for j, effect in enumerate(effects):
        if effect.when is not None:
            yield from _check_expressions(
                path + (j,), None, {}, scope, when=effect.when, kinds=kinds
            )


def _unknown_hint(path: Path, problem: expressions.NameProblem) -> Finding:
    from workflow.errors import did_you_mean

    return path, f"expression: {problem.message}", did_you_mean(problem.name, problem.known)


def _check_effects(d: Definition, path: Path, effects: Sequence[Effect]) -> Iterator[Finding]:
    milestones = {m.id for m in d.milestones}
    for j, effect in enumerate(effects):
        yield from _check_effect(d, path + (j,), effect, milestones)


def _check_effect(
    d: Definition, here: Path, effect: Effect, milestones: set[str]
) -> Iterator[Finding]:
    match effect:
        case NotifyEffect(notify=notify):
            yield from _check_recipients(d, here + ("notify", "to"), notify.to)
            if notify.template not in d.templates_by_id:
                yield _unknown(
                    here + ("notify", "template"), "template", notify.template, d.templates_by_id
                )
        case CreateTaskEffect(create_task=task) if task.for_ is not None:
            yield from _check_recipients(d, here + ("create_task", "for"), task.for_)
        case StartTimerEffect(start_timer=timer) if timer not in d.timers_by_id:
            yield _unknown(here + ("start_timer",), "timer", timer, d.timers_by_id)
        case CancelTimerEffect(cancel_timer=timer) if timer not in d.timers_by_id:
            yield _unknown(here + ("cancel_timer",), "timer", timer, d.timers_by_id)
        case MilestoneEffect(milestone=milestone) if milestone not in milestones:
            yield _unknown(here + ("milestone",), "milestone", milestone, milestones)
        case RevokeMilestoneEffect(revoke_milestone=milestone) if milestone not in milestones:
            yield _unknown(here + ("revoke_milestone",), "milestone", milestone, milestones)


def _check_recipients(d: Definition, path: Path, to: Recipients) -> Iterator[Finding]:
    roles = {r.id for r in d.roles}
    for j, role in enumerate(to.roles):
        if role not in roles:
            yield _unknown(path + ("roles", j), "role", role, roles)
    for j, dept in enumerate(to.departments):
        if dept not in d.departments_by_id:
            yield _unknown(path + ("departments", j), "department", dept, d.departments_by_id)


def _check_timers(d: Definition) -> Iterator[Finding]:
    events = set(d.transitions_by_event)
    for i, timer in enumerate(d.timers):
        here: Path = ("timers", i)
        if timer.after is None and timer.at is None and timer.align == "none":
            yield here, "a timer needs 'after', 'at' or 'align'", "e.g. after: 14 days"
        if timer.fires.event is not None and timer.fires.event not in events:
            yield _unknown(here + ("fires", "event"), "event", timer.fires.event, events)
        if timer.fires.notify is not None:
            notify = timer.fires.notify
            yield from _check_recipients(d, here + ("fires", "notify", "to"), notify.to)
            if notify.template not in d.templates_by_id:
                yield _unknown(
                    here + ("fires", "notify", "template"),
                    "template",
                    notify.template,
                    d.templates_by_id,
                )


def _check_team_field(d: Definition) -> Iterator[Finding]:
    """`team: true` recipients read the case's `team`, which only a team input may set."""
    for where, spec in _step_specs(d):
        for j, item in enumerate(spec.inputs):
            if item.name == "team" and item.type is not InputType.TEAM:
                yield (
                    where + ("inputs", j, "type"),
                    f"the input 'team' must have type 'team' (it is the young person's "
                    f"team), not {item.type}",
                    "rename the input",
                )
        if "team" in spec.set:
            yield (
                where + ("set", "team"),
                "'team' cannot be computed: it is the team the young person chose",
                "give it with an input of type 'team'",
            )


def _check_meaning_inputs(d: Definition) -> Iterator[Finding]:
    """Inputs whose meaning the store records say so by their type, never by their name.

    The coordinator role's holder is the case data ``coordinator`` (as the caseworker's is
    ``caseworker``), so a coordinator input must have that name, and an input of that
    name must be the coordinator. Names that once booked a meeting or named its room by
    themselves (before the ``meeting`` and ``meeting_place`` types) are refused with the
    type to use, so a definition written for that rule never silently stops booking.
    """
    for where, spec in _step_specs(d):
        for j, item in enumerate(spec.inputs):
            here = where + ("inputs", j)
            if (item.name == "coordinator") != (item.type is InputType.COORDINATOR):
                yield (
                    here + ("type" if item.name == "coordinator" else "name",),
                    "the coordinator the young person chose is an input named 'coordinator' "
                    f"of type 'coordinator' (this one is '{item.name}' of type {item.type})",
                    "use `name: coordinator` with `type: coordinator`",
                )
            if item.type is InputType.DATETIME and item.name.endswith("meeting_at"):
                yield (
                    here + ("type",),
                    f"'{item.name}' is a datetime: it books no meeting and sends no invitation",
                    "use `type: meeting` for a meeting's time, or another name for a plain time",
                )
            if item.type is InputType.CHOICE and item.name in ("meeting_room", "meeting_place"):
                yield (
                    here + ("type",),
                    f"'{item.name}' is a plain choice: the meetings' place is not recorded",
                    "use `type: meeting_place` for where meetings are held",
                )


#: The mail domain of the national base's placeholder channels (``base.yaml``).
PLACEHOLDER_DOMAIN = "@kommune.example"


def _check_placeholder_addresses(d: Definition) -> Iterator[Finding]:
    """A definition that opens cases sends no mail to the national base's placeholders.

    The base gives its roles and departments channels like
    ``ungekoordinatorer@kommune.example``; a municipality that does not override such an
    item inherits the placeholder, and its notifications would go nowhere real. The
    finding points at the address wherever it was written (for an inherited item, in the
    base's file), so the message names the definition being checked and the hint the file
    to write the override in.
    """
    if d.abstract:
        return
    owner = d.municipality.name if d.municipality is not None else "the municipality"
    lists: tuple[tuple[str, str, Sequence[Role | Department]], ...] = (
        ("roles", "role", d.roles),
        ("departments", "department", d.departments),
    )
    for key, kind, items in lists:
        for i, item in enumerate(items):
            for j, channel in enumerate(item.channels):
                if channel.address.strip().lower().endswith(PLACEHOLDER_DOMAIN):
                    yield (
                        (key, i, "channels", j, "address"),
                        f"'{channel.address}' is the national base's placeholder; give "
                        f"{owner}'s own address",
                        f"override the {kind} in {d.id}.yaml",
                    )


def _check_graph(d: Definition) -> Iterator[Finding]:
    if not d.stages or not any(s.kind is StageKind.START for s in d.stages):
        return
    edges = graph.edges(d)
    reachable = graph.reachable_from(d.start_stage.id, edges)
    finishing = graph.can_finish(d, edges)
    leaving = {e.source for e in edges if e.target != e.source}
    for i, stage in enumerate(d.stages):
        if stage.id not in reachable:
            yield (
                ("stages", i),
                f"stage '{stage.id}' cannot be reached from the start stage '{d.start_stage.id}'",
                "add a transition into it, or remove it",
            )
        elif stage.kind is not StageKind.FINAL and stage.id not in leaving:
            yield (
                ("stages", i),
                f"stage '{stage.id}' is a dead end: no transition leaves it",
                "add a transition out of it, or make it kind 'final'",
            )
        elif stage.kind is not StageKind.FINAL and stage.id not in finishing:
            yield (
                ("stages", i),
                f"no final stage can be reached from stage '{stage.id}'",
                "add a path from it to a final stage",
            )
