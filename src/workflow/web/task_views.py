"""Tasks as the pages show them: who (by name), due, overdue, and who closed them when.

A task is given to a person (a staff id), or to a department on the team (anyone of it
may do it). The pages name the person by their account's display name and a department
by its name; a task the case itself ended (its stage left) was closed by the system.

A step's task is stored with its title in the definition's own language (Danish). The
pages show it in the reader's language when the definition words the title in that
language too (``title: {da: ..., en: ...}``, as the shipped definitions do); a title the
definition gives in Danish only, and a task someone wrote by hand, is shown as written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflow.cases.tasks import TaskItem
from workflow.definitions.models import Definition
from workflow.definitions.types import text_in
from workflow.store.states import CONSENT_CLOSER, STEP_CLOSER, SYSTEM_CLOSER
from workflow.texts import text
from workflow.web.definition_texts import local
from workflow.web.rendering import when

#: The case roles a task can be given to without a person named (the role's holder).
ROLES = ("caseworker", "coordinator", "leader")


@dataclass(frozen=True)
class TaskRow:
    """One task in a list: everything in words, ready for a template."""

    id: int
    reference: str
    stage: str
    title: str
    details: str
    assignee: str
    due_at: datetime | None
    state: str
    overdue: bool
    #: Set aside with its stage by a pause of the case: it goes on when the case resumes.
    held: bool
    #: Who closed it and when, in words ("" while open).
    closed: str
    note: str
    #: Whether the person looking may mark it done (it is theirs, and open).
    mine: bool


def task_fields(task: TaskItem | Mapping[str, Any]) -> Mapping[str, Any]:
    """A task's fields, from the task service's item or the case view's dict."""
    return task if isinstance(task, Mapping) else vars(task)


def people_of_tasks(tasks: Iterable[TaskItem | Mapping[str, Any]]) -> set[str]:
    """The staff ids the tasks name (assignees and who closed them)."""
    people: set[str] = set()
    for task in tasks:
        fields = task_fields(task)
        people.update(str(fields[k]) for k in ("assignee", "closed_by") if fields.get(k))
    return people


def task_rows(
    tasks: Iterable[TaskItem | Mapping[str, Any]],
    *,
    names: Mapping[str, str],
    departments: Mapping[str, str],
    stages: Mapping[str, str],
    lang: str,
    now: datetime,
    mine: Iterable[int] = (),
    titles: Mapping[str, str] | None = None,
) -> list[TaskRow]:
    """The tasks worded for a page (``mine``: the ids the reader may mark done;
    ``titles``: the definitions' task titles in the page's language, see
    :func:`task_titles`)."""
    yours = set(mine)
    titles = titles or {}
    rows = []
    for task in tasks:
        fields = task_fields(task)
        state = str(fields.get("state") or "open")
        due = fields.get("due_at")
        held = state == "open" and bool(fields.get("held"))
        rows.append(
            TaskRow(
                id=int(fields["id"]),
                reference=str(fields.get("reference") or ""),
                stage=stages.get(str(fields.get("stage")), str(fields.get("stage") or "")),
                title=task_title(str(fields.get("title") or ""), titles),
                details=str(fields.get("details") or ""),
                assignee=_assignee(str(fields.get("assignee") or ""), names, departments, lang),
                due_at=due,
                state=state,
                overdue=not held
                and (
                    bool(fields.get("overdue"))
                    or (state == "open" and due is not None and due < now)
                ),
                held=held,
                closed=_closed(fields, names, lang),
                note=str(fields.get("note") or ""),
                mine=state == "open" and int(fields["id"]) in yours,
            )
        )
    return rows


def _assignee(
    assignee: str, names: Mapping[str, str], departments: Mapping[str, str], lang: str
) -> str:
    """A person by name; a department's task as the department; a role no one was named
    for as the role; else the id as given (a person without an account)."""
    if assignee in names:
        return names[assignee]
    if assignee in departments:
        return text("task_whole_department", lang, department=departments[assignee])
    if assignee in ROLES:
        return text(f"role_{assignee}", lang)
    return assignee


def _closed(fields: Mapping[str, Any], names: Mapping[str, str], lang: str) -> str:
    state, closer, moment = fields.get("state"), fields.get("closed_by"), fields.get("closed_at")
    if state == "open" or moment is None:
        return ""
    if closer == STEP_CLOSER:  # ended by name by a step (a meeting cancelled, say)
        return text("task_cancelled_by_step", lang, when=when(moment))
    if closer == CONSENT_CLOSER:  # its department's consent was withdrawn
        return text("task_cancelled_by_consent", lang, when=when(moment))
    if closer == SYSTEM_CLOSER or state == "cancelled":
        return text("task_cancelled_when", lang, when=when(moment))
    who = names.get(str(closer), str(closer or "–"))
    return text("task_done_by", lang, who=who, when=when(moment))


def task_title(title: str, titles: Mapping[str, str]) -> str:
    """A task's title in the page's language, if its definition has it in that language."""
    return titles.get(title, title)


def task_titles(definitions: Iterable[Definition], lang: str) -> dict[str, str]:
    """The definitions' task titles in ``lang``, by the title a task is stored with (the
    definition's own language); the first definition to word a title wins."""
    found: dict[str, str] = {}
    for definition in definitions:
        for stored, title in definition.task_titles.items():
            found.setdefault(stored, text_in(title, lang))
    return found


def department_names(definitions: Iterable[Definition], lang: str) -> dict[str, str]:
    """Department ids and names across the definitions (the first name of an id wins)."""
    found: dict[str, str] = {}
    for definition in definitions:
        for department in definition.departments:
            found.setdefault(department.id, local(department.name, lang))
    return found


def stage_names(definitions: Iterable[Definition], lang: str) -> dict[str, str]:
    """Stage ids and names across the definitions (the first name of an id wins)."""
    found: dict[str, str] = {}
    for definition in definitions:
        for stage in definition.stages:
            found.setdefault(stage.id, local(stage.name, lang))
    return found


__all__ = [
    "TaskRow",
    "department_names",
    "people_of_tasks",
    "stage_names",
    "task_fields",
    "task_rows",
    "task_title",
    "task_titles",
]
