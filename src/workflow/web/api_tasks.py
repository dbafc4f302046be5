"""The JSON API's task endpoints: my worklist, a case's tasks, marking one done, adding one.

Refusals are the API's usual answers: 404 for a task or case the caller cannot see, 403
for a task that is someone else's, 409 for a task already closed or a closed case, and
422 for a field (``body.note``, ``body.assignee``, ``body.title``) the service refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Path, Query

from workflow.cases.tasks import TaskItem
from workflow.errors import InvalidRequestError, NotAllowedError, Problem
from workflow.web.api_models import (
    FieldProblem,
    TaskDoneIn,
    TaskIn,
    TaskList,
    TaskOut,
    TaskParams,
)
from workflow.web.api_support import ApiProblemError, Caller, CaseReference, responses
from workflow.web.context import person_actor
from workflow.web.dependencies import Staff, Tasks, Web

router = APIRouter(prefix="/v1", tags=["tasks"])
TaskId = Annotated[int, Path(ge=1, le=2**62, examples=[1])]


def _tasks(items: Sequence[TaskItem], staff: Staff) -> TaskList:
    names = staff.names(i.assignee for i in items)
    return TaskList(tasks=[_task(i, names) for i in items])


def _task(item: TaskItem, names: dict[str, str]) -> TaskOut:
    return TaskOut(
        id=item.id,
        reference=item.reference,
        stage=item.stage,
        title=item.title,
        details=item.details,
        assignee=item.assignee,
        assignee_name=names.get(item.assignee),
        department=item.department,
        due_at=item.due_at,
        state=str(item.state),
        closed_at=item.closed_at,
        closed_by=item.closed_by,
        note=item.note,
        overdue=item.overdue,
        held=item.held,
    )


@router.get(
    "/tasks",
    response_model=TaskList,
    responses=responses(401),
    summary="My tasks across cases: the open ones, overdue first (or the done ones)",
)
def my_tasks(
    tasks: Tasks, staff: Staff, auth: Caller, params: Annotated[TaskParams, Query()]
) -> TaskList:
    items = tasks.worklist(
        auth.user.person_id, reference=params.reference, stage=params.stage, done=params.done
    )
    return _tasks(items, staff)


@router.post(
    "/tasks/{task_id}/done",
    response_model=TaskOut,
    responses=responses(401, 403, 404, 409),
    summary="Mark one of my tasks done (once; only its assignee)",
)
def complete_task(
    task_id: TaskId, body: TaskDoneIn, tasks: Tasks, staff: Staff, auth: Caller
) -> TaskOut:
    try:
        item = tasks.complete(task_id, person_actor(auth.user), body.note)
    except NotAllowedError:
        # The service names the case and the assignee: not for someone not on it.
        raise ApiProblemError(
            403, "forbidden", f"task {task_id} is not yours: only its assignee marks it done"
        ) from None
    except InvalidRequestError as refused:
        raise _not_done(task_id, refused.problems) from None
    return _task(item, staff.names([item.assignee]))


def _not_done(task_id: int, problems: Sequence[Problem]) -> ApiProblemError:
    """A refused completion as the API answers it (the service's problem per field)."""
    problem = problems[0]
    if problem.path == "note":
        field = FieldProblem(field="body.note", message=str(problem))
        return ApiProblemError(422, "invalid", "the note cannot be kept", [field])
    if "already" in problem.message:
        field = FieldProblem(field="task_id", message=str(problem))
        return ApiProblemError(409, "conflict", f"task {task_id} is already closed", [field])
    return ApiProblemError(404, "not_found", f"no task {task_id} you can see")


@router.get(
    "/cases/{reference}/tasks",
    response_model=TaskList,
    responses=responses(401, 403, 404),
    summary="A case's tasks: open first, then the done and closed ones",
)
def case_tasks(reference: CaseReference, tasks: Tasks, staff: Staff, auth: Caller) -> TaskList:
    return _tasks(tasks.case_tasks(reference, person_actor(auth.user)), staff)


@router.post(
    "/cases/{reference}/tasks",
    status_code=201,
    response_model=TaskOut,
    responses=responses(401, 403, 404, 409),
    summary="Give someone on the case a task (its caseworker, coordinator or a team member)",
)
def add_task(
    reference: CaseReference,
    body: TaskIn,
    web: Web,
    tasks: Tasks,
    staff: Staff,
    auth: Caller,
) -> TaskOut:
    roles = list(web.service.roles_held(reference, auth.user.person_id))
    actor = person_actor(auth.user, roles[0] if roles else None)
    try:
        item = tasks.add(reference, actor, assignee=body.assignee, title=body.title, due=body.due)
    except InvalidRequestError as refused:
        raise _not_added(reference, refused.problems) from None
    return _task(item, staff.names([item.assignee]))


def _not_added(reference: str, problems: Sequence[Problem]) -> ApiProblemError:
    if any(p.path == "reference" for p in problems):
        return ApiProblemError(409, "conflict", f"case {reference} is closed: no new tasks")
    fields = [FieldProblem(field=f"body.{p.path}", message=str(p)) for p in problems]
    return ApiProblemError(422, "invalid", "the task cannot be added", fields)


__all__ = ["router"]
