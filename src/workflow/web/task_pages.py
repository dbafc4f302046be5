"""The task pages: "Mine opgaver" (a person's tasks across cases), marking one done, and
adding a task to a case from its page.

Every change goes through the task service, which checks the person may make it and
writes the audit log; a refusal is shown beside the task or the form, and nothing is
changed. Plain ``def`` handlers: the service's transactions run in the threadpool.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from workflow.cases.tasks import NOTE_WITH_CPR, TITLE_WITH_CPR
from workflow.engine.inputs import MAX_TEXT
from workflow.errors import (
    CaseNotFoundError,
    InvalidRequestError,
    NotAllowedError,
    Problem,
    WorkflowError,
)
from workflow.texts import text
from workflow.web.context import WebContext, case_roles, person_actor
from workflow.web.dependencies import PostedForm, SignedIn, Tasks, Web
from workflow.web.identity import Authenticated
from workflow.web.pages import CaseShown, case_or_missing, render_case
from workflow.web.rendering import locale_of
from workflow.web.task_views import (
    department_names,
    people_of_tasks,
    stage_names,
    task_rows,
    task_title,
    task_titles,
)

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Filters:
    """The worklist's filters (a case, a stage) and its tab (open or done tasks)."""

    reference: str = ""
    stage: str = ""
    done: bool = False

    @classmethod
    def of(cls, reference: str, stage: str, done: str) -> Filters:
        return cls(reference.strip()[:40], stage.strip()[:64], done == "1")

    def query(self, **more: str) -> str:
        """The page's query string with these filters (and ``more``)."""
        shown = {"reference": self.reference, "stage": self.stage, "done": "1" if self.done else ""}
        return urlencode({k: v for k, v in {**shown, **more}.items() if v})


@dataclass(frozen=True)
class Refused:
    """A task that was not marked done: which, why, and the note that was written."""

    task: int
    message: str
    note: str = ""


@dataclass(frozen=True)
class Shown:
    """What the worklist shows besides the tasks: a notice, or a refusal."""

    notice: str = ""
    refused: Refused | None = None
    extra: dict[str, str] = field(default_factory=dict)


@router.get("/tasks")
def tasks_page(  # noqa: PLR0913 - the page's query parameters
    request: Request,
    web: Web,
    tasks: Tasks,
    auth: SignedIn,
    reference: str = "",
    stage: str = "",
    done: str = "",
    task_done: str = "",
    case: str = "",
) -> Response:
    filters = Filters.of(reference, stage, done)
    lang = locale_of(request, auth.user.locale)
    notice = ""
    if task_done.isascii() and task_done.isdigit() and len(task_done) < 19:
        title = _title(web, auth, case[:40], int(task_done), lang)
        notice = text("task_done_notice", lang, title=title) if title else ""
    return _worklist(request, web, auth, filters, Shown(notice=notice))


def _title(web: WebContext, auth: Authenticated, reference: str, task: int, lang: str) -> str:
    """The title of a task just marked done (for the notice), if it can still be read."""
    try:
        found = web.tasks.case_tasks(reference, person_actor(auth.user))
    except WorkflowError:
        return ""
    title = next((t.title for t in found if t.id == task), "")
    return task_title(title, task_titles(web.definitions_for(auth.user), lang))


def _worklist(
    request: Request,
    web: WebContext,
    auth: Authenticated,
    filters: Filters,
    shown: Shown,
    status_code: int = 200,
) -> Response:
    lang = locale_of(request, auth.user.locale)
    items = web.tasks.worklist(
        auth.user.person_id,
        reference=filters.reference or None,
        stage=filters.stage or None,
        done=filters.done,
    )
    definitions = web.definitions_for(auth.user)
    stages = stage_names(definitions, lang)
    rows = task_rows(
        items,
        names=web.staff.names(people_of_tasks(items)),
        departments=department_names(definitions, lang),
        stages=stages,
        lang=lang,
        now=web.clock(),
        mine=[] if filters.done else [i.id for i in items],
        titles=task_titles(definitions, lang),
    )
    refused = shown.refused
    return web.pages.render(
        request,
        "tasks.html",
        status_code,
        tasks=rows,
        filters=filters,
        stages=stages,
        references=sorted({i.reference for i in items}),
        reference_example=web.reference_example(auth.user),
        notice=shown.notice,
        refused=refused,
        refused_here=refused is not None and any(r.id == refused.task for r in rows),
        open_tab=Filters(filters.reference, filters.stage, done=False).query(),
        done_tab=Filters(filters.reference, filters.stage, done=True).query(),
        note_max=MAX_TEXT,
    )


@router.post("/tasks/{task_id}/done")
def complete_task(
    request: Request, web: Web, tasks: Tasks, auth: SignedIn, form: PostedForm, task_id: int
) -> Response:
    """Mark a task done; a refusal is shown beside it (or above the list) and nothing changes."""
    filters = Filters.of(form.get("reference"), form.get("stage"), form.get("done"))
    note = form.get("note")
    lang = locale_of(request, auth.user.locale)
    try:
        item = tasks.complete(task_id, person_actor(auth.user), note or None)
    except NotAllowedError:
        status, why = 403, text("task_not_yours", lang)
    except CaseNotFoundError:
        status, why = 404, text("task_not_found", lang)
    except InvalidRequestError as refused:
        status, why = _not_done(refused.problems[0], note, lang)
    else:
        target = f"/tasks?{filters.query(task_done=str(item.id), case=item.reference)}"
        return RedirectResponse(target, status_code=303)
    shown = Shown(refused=Refused(task_id, why, note[:MAX_TEXT]))
    return _worklist(request, web, auth, filters, shown, status_code=status)


def _not_done(problem: Problem, note: str, lang: str) -> tuple[int, str]:
    """A refused completion's status and words (the service words it in English)."""
    if problem.path == "note":
        if len(note.strip()) > MAX_TEXT:
            return 400, text("task_note_too_long", lang, max=MAX_TEXT)
        if problem.message == NOTE_WITH_CPR:
            return 400, text("task_note_cpr", lang)
        return 400, text("task_note_bad_character", lang)
    if "already" in problem.message:
        key = "task_already_cancelled" if "cancelled" in problem.message else "task_already_done"
        return 409, text(key, lang)
    return 404, text("task_not_found", lang)


# --- adding a task on the case page ---------------------------------------------------

TASK_FIELDS = ("assignee", "title", "due")


@router.post("/cases/{reference}/tasks")
def add_task(
    request: Request,
    web: Web,
    tasks: Tasks,
    auth: SignedIn,
    form: PostedForm,
    reference: str,
) -> Response:
    """Give someone on the case a task; a refusal is shown beside the form's fields."""
    view, definition = case_or_missing(request, web, auth, reference, "task:add")
    lang = locale_of(request, auth.user.locale)
    values = {name: form.get(name).strip() for name in TASK_FIELDS}
    errors: dict[str, str] = {}
    message, status = text("task_add_refused", lang), 400
    due = _due(values["due"], errors, lang)
    if not errors:
        roles = case_roles(web, auth.user, view)
        actor = person_actor(auth.user, roles[0] if roles else None)
        try:
            added = tasks.add(
                view.reference, actor, assignee=values["assignee"], title=values["title"], due=due
            )
        except InvalidRequestError as refused:
            errors, message = _add_problems(refused.problems, lang, message)
        except NotAllowedError:
            message, status = text("task_add_not_allowed", lang), 403
        else:
            target = f"/cases/{quote(view.reference)}?task_added={added.id}#tasks"
            return RedirectResponse(target, status_code=303)
    shown = CaseShown(task_form=values, task_errors=errors, task_message=message)
    return render_case(request, web, auth, view, definition, shown, status_code=status)


def _due(value: str, errors: dict[str, str], lang: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors["due"] = text("not_date", lang)
        return None


def _add_problems(
    problems: Sequence[Problem], lang: str, message: str
) -> tuple[dict[str, str], str]:
    """The add form's field errors, in words; a closed case is said above the form."""
    errors: dict[str, str] = {}
    for problem in problems:
        if problem.path == "title" and problem.message == TITLE_WITH_CPR:
            errors["title"] = text("task_title_cpr", lang)
        elif problem.path in ("assignee", "title", "due"):
            errors[problem.path] = text(f"task_problem_{problem.path}", lang)
        elif problem.path == "reference":
            message = text("task_problem_reference", lang)
        else:
            message = f"{message} {problem}"
    return errors, message


__all__ = ["Filters", "router"]
