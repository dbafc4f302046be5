"""Load-time checks of the work around a case: meetings, tasks, conferences, pools, display.

Each returns problems with a path into the definition, as :mod:`checks` does (it runs
these with its own).
"""

from __future__ import annotations

from collections.abc import Iterator

from workflow.definitions.effects import (
    CancelTasksEffect,
    CreateTask,
    CreateTaskEffect,
    Recipients,
)
from workflow.definitions.findings import Finding, Path, unknown
from workflow.definitions.models import Definition
from workflow.definitions.parts import Input
from workflow.definitions.vocabulary import InputType

#: Case data names the engine keeps itself (no input or computed value may take them).
RESERVED_FIELDS = frozenset({"meetings"})
_TASK_LIVES = frozenset({"stage", "case"})
_ACTED_INPUTS = frozenset({InputType.BOOKED_MEETING, InputType.ATTENDANCE})
_EACH_INPUT_TYPES = frozenset({InputType.DEPARTMENTS, InputType.TEAM})
_AMOUNT_TYPES = frozenset({InputType.INTEGER, InputType.DECIMAL})


def check_casework(d: Definition) -> list[Finding]:
    """Every problem of the definition's meetings, tasks, conferences, pool and display."""
    findings: list[Finding] = []
    steps: list[tuple[Path, list[Input], object]] = [(("referral",), list(d.referral.inputs), None)]
    steps += [(("transitions", i), list(t.inputs), t.meeting) for i, t in enumerate(d.transitions)]
    for here, inputs, meeting in steps:
        findings += _check_meeting_inputs(d, here, inputs, meeting)
    findings += _check_meetings_held(d)
    findings += _check_reserved(d)
    findings += _check_tasks(d)
    findings += _check_conferences_pool_display(d)
    return findings


_unknown = unknown


def check_recipients(d: Definition, path: Path, to: Recipients) -> Iterator[Finding]:
    """Every role and department a recipients spec names exists."""
    roles = {r.id for r in d.roles}
    for j, role in enumerate(to.roles):
        if role not in roles:
            yield unknown(path + ("roles", j), "role", role, roles)
    for j, dept in enumerate(to.departments):
        if dept not in d.departments_by_id:
            yield unknown(path + ("departments", j), "department", dept, d.departments_by_id)


def _check_meeting_inputs(
    d: Definition, here: Path, inputs: list[Input], meeting: object
) -> Iterator[Finding]:
    kinds = d.meeting_kinds_by_id
    action = getattr(meeting, "action", None)
    # A move's first meeting input is the new time of the meeting chosen, not a booking.
    new_time = next((i for i in inputs if i.type is InputType.MEETING), None)
    for j, item in enumerate(inputs):
        path = here + ("inputs", j)
        if item.kind is not None and item.type is not InputType.MEETING:
            yield path + ("kind",), f"'kind' only applies to meeting inputs, not {item.type}", None
        elif item.kind is not None and kinds and item.kind not in kinds:
            yield _unknown(path + ("kind",), "meeting kind", item.kind, kinds)
        elif (
            item.type is InputType.MEETING
            and kinds
            and item.kind is None
            and not (action == "move" and item is new_time)
        ):
            named = item.name.removesuffix("_at")
            if named not in kinds:  # the kind its name gives (first_meeting_at: first_meeting)
                yield (
                    path + ("name",),
                    f"a meeting input without `kind` books the kind its name gives, "
                    f"'{named}', and meetings.kinds has no such kind",
                    f"give it `kind:` ({', '.join(kinds)})",
                )
        if item.type in _ACTED_INPUTS and meeting is None:
            yield (
                path + ("type",),
                f"a {item.type} input belongs to a step that moves, cancels or holds a meeting",
                "give the transition `meeting: {action: move|cancel|hold}`",
            )
    kind = getattr(meeting, "kind", None)
    if kind is not None and kinds and kind not in kinds:
        yield _unknown(here + ("meeting", "kind"), "meeting kind", kind, kinds)
    if action == "move" and not any(i.type is InputType.MEETING for i in inputs):
        yield (
            here + ("meeting", "action"),
            "a step that moves a meeting asks for the new time",
            "add an input of `type: meeting` (e.g. moved_to)",
        )


def _check_meetings_held(d: Definition) -> Iterator[Finding]:
    """A kind of meeting that steps book has a step that records one held: otherwise a
    booked meeting stays "booked" in everyone's calendar (and the next booking of its
    kind replaces it), and nothing checks that it has begun before it is recorded."""
    if not d.meeting_kinds_by_id:
        return
    held = {t.meeting.kind for t in d.transitions if t.meeting and t.meeting.action == "hold"}
    if None in held:  # a hold of whichever meeting is booked
        return
    booked: dict[str, Path] = {}
    for i, t in enumerate(d.transitions):
        moving = t.meeting is not None and t.meeting.action == "move"
        times = [(j, item) for j, item in enumerate(t.inputs) if item.type is InputType.MEETING]
        for j, item in times[1:] if moving else times:
            kind = item.kind or item.name.removesuffix("_at")
            if kind in d.meeting_kinds_by_id:
                booked.setdefault(kind, ("transitions", i, "inputs", j))
    for kind, path in booked.items():
        if kind not in held:
            yield (
                path,
                f"meetings of kind '{kind}' are booked here, but no step records one held",
                f"give the step that holds it `meeting: {{action: hold, kind: {kind}}}`",
            )


def _check_reserved(d: Definition) -> Iterator[Finding]:
    for i, t in enumerate(d.transitions):
        for j, item in enumerate(t.inputs):
            if item.name in RESERVED_FIELDS:
                yield (
                    ("transitions", i, "inputs", j, "name"),
                    f"'{item.name}' is kept by the engine (the case's meetings)",
                    "give the input another name",
                )
        for name in t.set:
            if name in RESERVED_FIELDS:
                yield ("transitions", i, "set"), f"'{name}' is kept by the engine", None


def _check_tasks(d: Definition) -> Iterator[Finding]:
    steps: list[tuple[Path, list[Input], list[object]]] = [
        (("referral",), list(d.referral.inputs), list(d.referral.effects))
    ]
    steps += [
        (("transitions", i), list(t.inputs), list(t.effects)) for i, t in enumerate(d.transitions)
    ]
    given = {
        e.create_task.id: None
        for _, _, effects in steps
        for e in effects
        if isinstance(e, CreateTaskEffect) and e.create_task.id
    }
    for here, inputs, effects in steps:
        for j, effect in enumerate(effects):
            if isinstance(effect, CreateTaskEffect):
                path = here + ("effects", j, "create_task")
                yield from _check_task(d, path, inputs, effect.create_task)
            elif isinstance(effect, CancelTasksEffect):
                for k, key in enumerate(effect.cancel_tasks):
                    if key not in given:
                        path = here + ("effects", j, "cancel_tasks", k)
                        yield _unknown(path, "create_task id", key, given)


def _check_task(
    d: Definition, path: Path, inputs: list[Input], task: CreateTask
) -> Iterator[Finding]:
    by_name = {i.name: i for i in inputs}
    if task.for_each and task.for_each.startswith("inputs."):
        name = task.for_each.removeprefix("inputs.")
        found = by_name.get(name)
        if found is None:
            yield _unknown(path + ("for_each",), "input of this step", name, by_name)
        elif found.type not in _EACH_INPUT_TYPES:
            yield (
                path + ("for_each",),
                f"'{name}' is a {found.type} input; one task each needs departments or a team",
                None,
            )
    if task.details is not None and task.details not in by_name:
        yield _unknown(path + ("details",), "input of this step", task.details, by_name)
    if task.at_latest == "meeting" and not any(i.type is InputType.MEETING for i in inputs):
        yield (
            path + ("at_latest",),
            "due by the meeting the step books or moves, but it has no meeting input",
            "give the step a meeting input, or leave out at_latest",
        )
    if (
        task.until is not None
        and task.until not in _TASK_LIVES
        and task.until not in d.stages_by_id
    ):
        known = [*_TASK_LIVES, *d.stages_by_id]
        yield _unknown(path + ("until",), "stage", task.until, known)
    for k, reminder in enumerate(task.reminders):
        here = path + ("reminders", k)
        if reminder.template not in d.templates_by_id:
            yield _unknown(here + ("template",), "template", reminder.template, d.templates_by_id)
        if reminder.to is not None:
            yield from check_recipients(d, here + ("to",), reminder.to)
    if task.when_done is not None and task.when_done.raises not in d.transitions_by_event:
        yield _unknown(
            path + ("when_done", "raises"), "event", task.when_done.raises, d.transitions_by_event
        )


def _check_conferences_pool_display(d: Definition) -> Iterator[Finding]:
    transitions = {t.id: t for t in d.transitions}
    if d.conferences is not None and d.conferences.records not in transitions:
        yield _unknown(("conferences", "records"), "transition", d.conferences.records, transitions)
    if d.pool is not None:
        grants = transitions.get(d.pool.grants)
        if grants is None:
            yield _unknown(("pool", "grants"), "transition", d.pool.grants, transitions)
        else:
            amount = next((i for i in grants.inputs if i.name == d.pool.amount), None)
            if amount is None:
                names = [i.name for i in grants.inputs]
                yield _unknown(("pool", "amount"), f"input of {grants.id}", d.pool.amount, names)
            elif amount.type not in _AMOUNT_TYPES:
                yield ("pool", "amount"), f"'{amount.name}' is not a number input", None
    fields = d.case_fields
    for i, shown in enumerate(d.display):
        if shown.field not in fields:
            yield _unknown(("display", i, "field"), "case data", shown.field, fields)


__all__ = ["RESERVED_FIELDS", "check_casework"]
