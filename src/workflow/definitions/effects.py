"""What a step (or a timer) does besides moving the case: its effects, a tagged union.

An author writes an effect as a map with one key naming its kind (``notify:``,
``start_timer:``, ``cancel_timer:``, ``create_task:``, ``cancel_tasks:``, ``milestone:``
or ``revoke_milestone:``) and, optionally,
``when:``. Each kind is its own small model; :data:`Effect` is their union, tagged by the
key that is given, and everything that lists the kinds (:data:`EFFECT_KINDS`, the error
for a map with none or several) is derived from that union. Code that acts on effects
dispatches on the models with ``match``.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    StrictBool,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
    model_validator,
)

from workflow.definitions.types import DurationField, Identifier, StrictModel, Text

Alignment = Literal["none", "business_day", "meeting_day"]


class Recipients(StrictModel):
    """Who is told or given a task. The team is the one the young person chose."""

    roles: list[Identifier] = Field(
        default_factory=list, description="Roles on the case, e.g. coordinator, caseworker."
    )
    departments: list[Identifier] = Field(
        default_factory=list, description="Departments, reached through their channels."
    )
    team: StrictBool = Field(
        default=False,
        description="Every member of the young person's team, one each (known at run time).",
    )

    @model_validator(mode="after")
    def _someone(self) -> Recipients:
        if not (self.roles or self.departments or self.team):
            raise ValueError("name at least one recipient: roles, departments or team: true")
        return self


class Notify(StrictModel):
    """Tell recipients something, with a named template."""

    to: Recipients
    template: Identifier = Field(description="Id of a template in `templates`.")


TaskLife = Literal["stage", "case"]


class TaskReminder(StrictModel):
    """A reminder of an open task: before, at or after its due time; or an escalation."""

    before: DurationField | None = Field(default=None, description="This long before due.")
    at: Literal["due"] | None = Field(default=None, description="`due`: when it falls due.")
    after: DurationField | None = Field(
        default=None, description="This long after due (an overdue reminder or escalation)."
    )
    to: Recipients | None = Field(
        default=None,
        description="Whom to tell instead of the assignee (escalation, e.g. the leader).",
    )
    template: Identifier = Field(
        default="task_reminder", description="Id of the template the reminder is sent with."
    )

    @model_validator(mode="after")
    def _one_moment(self) -> TaskReminder:
        given = [k for k in ("before", "at", "after") if getattr(self, k) is not None]
        if len(given) != 1:
            has = ", ".join(given) or "none"
            raise ValueError(f"give exactly one of before, at or after; this reminder has {has}")
        return self


class WhenDone(StrictModel):
    """What the case does when enough of a step's tasks are done: it raises an event."""

    need: Literal["all", "any"] | Annotated[int, Field(ge=1, le=100)] = Field(
        default="all", description="all, any, or a number: at least this many done."
    )
    raises: Identifier = Field(description="The event raised (as role 'system').")


#: Who a task is for, one task each: the team's members, its departments, or the items
#: of an input (of type departments or team).
ForEach = Annotated[
    str,
    Field(
        pattern=r"^(team|team_departments|inputs\.[a-z][a-z0-9_]*)$",
        description="One task per member of the team (`team`), per department on the team "
        "(`team_departments`), or per item of an input (`inputs.<name>`: departments or team).",
    ),
]


class CreateTask(StrictModel):
    """Give each recipient a task."""

    id: Identifier | None = Field(
        default=None, description="Names the tasks of this effect (for `when_done`, reminders)."
    )
    for_: Recipients | None = Field(
        default=None, alias="for", description="Who gets the task (one each)."
    )
    for_each: ForEach | None = None
    title: Text = Field(description="What must be done.")
    details: Identifier | None = Field(
        default=None, description="An input of the step whose text goes with the task."
    )
    due: DurationField | None = Field(default=None, description="Due this long after the step.")
    align: Alignment = Field(default="none", description="Move the due date to a working day.")
    at_latest: Literal["meeting"] | None = Field(
        default=None,
        description="`meeting`: due no later than the start of the meeting the step books or "
        "moves (e.g. a confirmation asked for a meeting two days away is due when it begins, "
        "not after it); without `due`, due then. It follows that meeting: moved, the task "
        "is due by its new time (another meeting's move leaves it); cancelled because its "
        "time fell in a pause, the task ends with it.",
    )
    until: TaskLife | Identifier | None = Field(
        default=None,
        description="How long an open task lives: `stage` (default: until the case leaves the "
        "stage it was given in), `case` (until the case ends), or a stage id (until the case "
        "enters it); it is then cancelled with its reminders. A pause (a `pause: true` "
        "stage) does not leave the stage: its `stage` tasks wait, without reminders and not "
        "overdue, and go on when the case returns to the stage, due later by the pause's "
        "length (a day off moved to the next business day; `at_latest: meeting` kept); if "
        "the case leaves the pause for another stage they are cancelled.",
    )
    reminders: list[TaskReminder] = Field(
        default_factory=list, description="Reminders and escalations while it is open."
    )
    when_done: WhenDone | None = Field(
        default=None, description="Raise an event when all, any or N of these tasks are done."
    )

    @model_validator(mode="after")
    def _someone(self) -> CreateTask:
        if (self.for_ is None) == (self.for_each is None):
            raise ValueError("give exactly one of for and for_each")
        if self.reminders and self.due is None:
            raise ValueError("a task with reminders needs a due time (due:)")
        if self.when_done is not None and self.id is None:
            raise ValueError("when_done needs the tasks named: give the effect an id")
        return self


#: The condition any effect may carry.
When = Annotated[
    str | None, Field(description="Expression; the effect happens only when it is true.")
]

# Each kind: the one key an author writes, then `when` (in this order, as a definition's
# content hash has always serialised them).


class NotifyEffect(StrictModel):
    """Send notifications: `notify: {to: ..., template: ...}`."""

    notify: Notify = Field(description="Send notifications.")
    when: When = None


class StartTimerEffect(StrictModel):
    """Start (or restart) a timer: `start_timer: <timer id>`."""

    start_timer: Identifier = Field(description="Start (or restart) a timer.")
    when: When = None


class CancelTimerEffect(StrictModel):
    """Cancel a running timer: `cancel_timer: <timer id>`."""

    cancel_timer: Identifier = Field(description="Cancel a running timer.")
    when: When = None


class CreateTaskEffect(StrictModel):
    """Give people tasks: `create_task: {for: ..., title: ...}`."""

    create_task: CreateTask = Field(description="Create tasks.")
    when: When = None


class CancelTasksEffect(StrictModel):
    """End open tasks by their `create_task` id: `cancel_tasks: [<id>, ...]` (e.g. the
    confirmations of a meeting that is cancelled)."""

    cancel_tasks: list[Identifier] = Field(
        min_length=1,
        description="The ids of `create_task` effects whose open tasks end (cancelled, with "
        "their reminders), given by any earlier step of the case.",
    )
    when: When = None


class MilestoneEffect(StrictModel):
    """Record a milestone: `milestone: <milestone id>`."""

    milestone: Identifier = Field(description="Record a milestone.")
    when: When = None


class RevokeMilestoneEffect(StrictModel):
    """Withdraw a milestone: `revoke_milestone: <milestone id>` (e.g. consent withdrawn)."""

    revoke_milestone: Identifier = Field(description="Withdraw a milestone the case reached.")
    when: When = None


def _parse_effect(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """The model of the one kind an effect names; a malformed effect's errors as written."""
    if isinstance(value, EFFECT_MODELS):
        return handler(value)
    kind = _kind_written(value)
    if kind is None:
        # Not exactly one known kind: the effect as written (every kind optional) reports
        # what is wrong — unknown keys, bad values, and only then none or several kinds.
        value = _WrittenEffect.model_validate(value).model_dump(by_alias=True, exclude_none=True)
        kind = next(k for k in EFFECT_KINDS if k in value)
    # Other kinds may be written as empty (`notify: null`): not given, as before.
    given = {k: v for k, v in value.items() if k == kind or k not in _MODEL_OF_KIND}
    return _MODEL_OF_KIND[kind].model_validate(given)


#: One effect of a step or timer: the model of the kind its one key names.
Effect = Annotated[
    NotifyEffect
    | StartTimerEffect
    | CancelTimerEffect
    | CreateTaskEffect
    | CancelTasksEffect
    | MilestoneEffect
    | RevokeMilestoneEffect,
    WrapValidator(_parse_effect),
]

#: The model of each kind, in the order of the union.
EFFECT_MODELS: tuple[type[StrictModel], ...] = typing.get_args(typing.get_args(Effect)[0])


def _kind_of(model: type[BaseModel]) -> str:
    """The key an author writes for an effect of this model: its field besides ``when``."""
    return next(name for name in model.model_fields if name != "when")


#: The key naming each kind of effect, in the order of the union.
EFFECT_KINDS: tuple[str, ...] = tuple(_kind_of(model) for model in EFFECT_MODELS)
_MODEL_OF_KIND: dict[str, type[StrictModel]] = dict(zip(EFFECT_KINDS, EFFECT_MODELS, strict=True))


def _exactly_one_kind(written: BaseModel) -> BaseModel:
    given = [kind for kind in EFFECT_KINDS if getattr(written, kind) is not None]
    if len(given) != 1:
        raise ValueError(
            f"an effect has exactly one of {', '.join(EFFECT_KINDS)}; "
            f"this one has {', '.join(given) or 'none'}"
        )
    return written


#: An effect as an author writes it, every kind optional: used only to report what is
#: wrong with an effect that does not name exactly one known kind.
_written_fields: dict[str, Any] = {
    kind: (typing.get_type_hints(model, include_extras=True)[kind] | None, None)
    for kind, model in _MODEL_OF_KIND.items()
} | {"when": (When, None)}
_written_checks: dict[str, Any] = {
    "exactly_one_kind": model_validator(mode="after")(_exactly_one_kind)
}
_WrittenEffect = create_model(
    "WrittenEffect", __base__=StrictModel, __validators__=_written_checks, **_written_fields
)
_WRITTEN_KEYS = frozenset(EFFECT_KINDS) | {"when"}


def _kind_written(value: Any) -> str | None:
    """The kind a written effect names, if it names exactly one and nothing unknown."""
    if not isinstance(value, dict) or not value.keys() <= _WRITTEN_KEYS:
        return None
    given = [kind for kind in EFFECT_KINDS if value.get(kind) is not None]
    return given[0] if len(given) == 1 else None
