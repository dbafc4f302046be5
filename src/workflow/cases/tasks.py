"""The work of a case: tasks done, added by hand, listed per person, reminded.

A task is its assignee's to complete: the person it was given to, a member of the team
for the department it was given to, or the holder of the role it was given to. Every
change is audited (object ``task``, with the case's reference). When the tasks a step
gave together are done — all, any or N of them, as ``when_done`` says — the case is
told: the event is raised on it as role ``system``, like a timer's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from workflow.cases.referred_again import shown_to
from workflow.definitions.vocabulary import SYSTEM_ROLE, StageKind
from workflow.engine.access import Action
from workflow.engine.inputs import MAX_TEXT
from workflow.engine.model import Actor
from workflow.engine.vocabulary import RecipientKind
from workflow.errors import InvalidRequestError, NotAllowedError, Problem
from workflow.privacy.authorisation import authorise
from workflow.privacy.cpr import holds_cpr
from workflow.store.audit import AuditAction, AuditObject, actor_label, write_audit
from workflow.store.busy import retry_when_busy
from workflow.store.reading import case_by_reference
from workflow.store.standing import consented, standing_of
from workflow.store.states import OutboxState, TaskState
from workflow.store.tables import (
    Case,
    CaseTask,
    CoordinatorAssignment,
    OutboxRow,
    TeamMembership,
)
from workflow.store.unit_of_work import UnitOfWork

#: Most open tasks a worklist shows at once (the oldest due first).
WORKLIST_LIMIT = 500


@dataclass(frozen=True)
class TaskItem:
    """A task as a worklist and a case page show it."""

    id: int
    reference: str
    stage: str
    title: str
    details: str | None
    assignee: str
    department: str | None
    due_at: datetime | None
    state: str
    closed_at: datetime | None
    closed_by: str | None
    note: str | None
    overdue: bool
    #: Set aside with its stage by a pause of the case (not overdue, no reminders).
    held: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-compatible form (the API)."""
        return {
            k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()
        }


def _problem(field: str, message: str, hint: str | None = None) -> InvalidRequestError:
    return InvalidRequestError([Problem(None, field, message, hint)])


class TaskService:
    """Complete, add and list tasks; send their reminders; one transaction per call."""

    def __init__(self, uow: UnitOfWork, raise_event: Any = None) -> None:
        """``raise_event(reference, event, actor)`` tells a case its tasks are done (the
        case service's trigger); without it nothing is raised."""
        self.uow = uow
        self.raise_event = raise_event

    def worklist(
        self,
        person: str,
        *,
        reference: str | None = None,
        stage: str | None = None,
        done: bool = False,
    ) -> list[TaskItem]:
        """A person's tasks across cases: open ones, overdue first (or the done ones)."""
        now = self.uow.clock()
        with self.uow.transaction() as session:
            mine = and_(_assigned_to(person), _still_on(person))
            query = (
                select(CaseTask, Case.reference, Case.stage)
                .join(Case, Case.id == CaseTask.case_id)
                .where(mine)
            )
            if done:
                query = query.where(CaseTask.state != TaskState.OPEN)
                query = query.order_by(CaseTask.closed_at.desc())
            else:
                query = query.where(CaseTask.state == TaskState.OPEN).order_by(
                    case((CaseTask.due_at.is_(None), 1), else_=0), CaseTask.due_at, CaseTask.id
                )
            if reference:
                query = query.where(Case.reference == reference)
            if stage:
                query = query.where(Case.stage == stage)
            rows = session.execute(query.limit(WORKLIST_LIMIT)).all()
            items = [_item(task, ref, at, now) for task, ref, at in rows]
            write_audit(
                session,
                at=now,
                actor=person,
                action=AuditAction.SEARCH,
                object_type=AuditObject.WORKLIST,
                object_id=person[:64],
                purpose="mine opgaver",
                details={"cases": sorted({i.reference for i in items})[:100]},
            )
            return items

    def case_tasks(
        self, reference: str, actor: Actor, purpose: str | None = None
    ) -> list[TaskItem]:
        """Every task of a case (open first), for someone who may read the case (through a
        legal basis: with a stated purpose)."""
        now = self.uow.clock()
        with self.uow.reading() as session:
            stored = case_by_reference(session, reference)
            authorise(session, stored, actor, Action.READ, purpose, self.uow.today())
            rows = session.scalars(
                select(CaseTask)
                .where(CaseTask.case_id == stored.id)
                .order_by(case((CaseTask.state == TaskState.OPEN, 0), else_=1), CaseTask.due_at)
            ).all()
            return [
                _item(t, reference, stored.stage, now)
                for t in rows
                if shown_to(t.key, t.created_by, t.person or t.assignee_id, actor.id)
            ]

    def complete(self, task_id: int, actor: Actor, note: str | None = None) -> TaskItem:
        """Mark a task done (its assignee only; once). Raises InvalidRequestError,
        NotAllowedError or CaseNotFoundError; nothing changes when refused."""
        note = _note(note, self.uow.today())
        now = self.uow.clock()

        def once() -> tuple[TaskItem, tuple[str, str] | None]:
            with self.uow.transaction() as session:
                task = session.get(CaseTask, task_id, with_for_update=True)
                if task is None:
                    raise _problem("task", f"there is no task {task_id}", "see your task list")
                stored = session.get(Case, task.case_id)
                assert stored is not None
                if not _may_complete(session, task, stored, actor, self.uow.today()):
                    standing = standing_of(session, stored, actor.id, self.uow.today())
                    if not (standing.caseworker or standing.coordinator or standing.on_team):
                        # Not on the case: nothing is told of it (as for a task that is not there).
                        raise _problem("task", f"there is no task {task_id}", "see your task list")
                    owner = task.person or task.assignee_id
                    raise NotAllowedError(
                        f"task {task_id} of {stored.reference} is {owner}'s, not yours: only "
                        "its assignee marks it done"
                    )
                if task.state != TaskState.OPEN:
                    raise _problem(
                        "task",
                        f"task {task_id} is already {task.state}"
                        + (f" (by {task.closed_by})" if task.closed_by else ""),
                        "nothing to do",
                    )
                task.state = TaskState.DONE
                task.closed_at, task.closed_by, task.note = now, actor.id, note
                task.next_reminder_at = None
                session.flush()
                write_audit(
                    session,
                    at=now,
                    actor=actor_label(actor),
                    action=AuditAction.CHANGE,
                    object_type=AuditObject.TASK,
                    object_id=stored.reference,
                    purpose="opgave løst",
                    details={"task": task.id, "state": TaskState.DONE.value},
                )
                raised = _raised(session, task)
                return _item(task, stored.reference, stored.stage, now), raised

        item, raised = retry_when_busy(once)
        if raised and self.raise_event is not None:
            self.raise_event(item.reference, raised[0], Actor(SYSTEM_ROLE, f"task:{raised[1]}"))
        return item

    def add(
        self,
        reference: str,
        actor: Actor,
        *,
        assignee: str,
        title: str,
        due: date | None = None,
    ) -> TaskItem:
        """An ad-hoc task for a person with a standing on the case (by one who has one)."""
        title = (title or "").strip()
        problems = []  # what a form can tell at once, before the case is read
        if not title:
            problems.append(Problem(None, "title", "a task needs a title", "say what must be done"))
        elif len(title) > 500:
            problems.append(Problem(None, "title", "a task's title is at most 500 characters"))
        elif holds_cpr(title, self.uow.today()):
            problems.append(Problem(None, "title", TITLE_WITH_CPR, CPR_HINT))
        if not (assignee or "").strip():
            problems.append(
                Problem(
                    None,
                    "assignee",
                    "a task needs someone to do it",
                    "give it to the caseworker, the coordinator or a team member",
                )
            )
        if problems:
            raise InvalidRequestError(problems)
        now = self.uow.clock()
        with self.uow.transaction() as session:
            stored = case_by_reference(session, reference)
            authorise(session, stored, actor, Action.TRIGGER, None, self.uow.today())
            if (
                self.uow.catalog.pinned(session, stored.definition_version_id)
                .stages_by_id[stored.stage]
                .kind
                is StageKind.FINAL
            ):
                raise _problem("reference", f"case {reference} is closed", "tasks end with it")
            standing = standing_of(session, stored, assignee.strip(), self.uow.today())
            if not (standing.caseworker or standing.coordinator or standing.on_team):
                raise _problem(
                    "assignee",
                    f"'{assignee}' has no standing on {reference}"
                    + (
                        " (no consent covers their department)" if standing.team_departments else ""
                    ),
                    "give the task to its caseworker, coordinator or a team member whose "
                    "department the consent covers",
                )
            covered = standing.team_departments & standing.consented_departments
            department = next(iter(sorted(covered)), None)
            kind, role = (
                (RecipientKind.TEAM_MEMBER, department)
                if department and not (standing.caseworker or standing.coordinator)
                else (RecipientKind.ROLE, "caseworker" if standing.caseworker else "coordinator")
            )
            zone = ZoneInfo(
                self.uow.catalog.pinned(session, stored.definition_version_id).calendar.timezone
            )
            if due is not None and due < now.astimezone(zone).date():
                raise _problem(
                    "due",
                    f"the due date {due.isoformat()} has passed",
                    "give today or a later day",
                )
            task = CaseTask(
                case_id=stored.id,
                assignee_kind=kind,
                assignee_id=role,
                person=assignee.strip(),
                title=title,
                due_at=datetime.combine(due, time(16, 0), tzinfo=zone) if due else None,
                state=TaskState.OPEN,
                created_at=now,
                created_by=actor.id,
                until="case",
                stage=stored.stage,
                reminders=[],
            )
            session.add(task)
            session.flush()
            write_audit(
                session,
                at=now,
                actor=actor_label(actor),
                action=AuditAction.CHANGE,
                object_type=AuditObject.TASK,
                object_id=reference,
                purpose="opgave tilføjet",
                details={"task": task.id, "state": TaskState.OPEN.value},
            )
            return _item(task, reference, stored.stage, now)

    def send_due_reminders(self, now: datetime | None = None, limit: int = 5000) -> int:
        """Put the due reminders of open tasks in the outbox; how many were queued."""
        moment = now or self.uow.clock()
        sent = 0
        with self.uow.transaction() as session:
            due = session.execute(
                select(CaseTask, Case.reference)
                .join(Case, Case.id == CaseTask.case_id)
                .where(
                    CaseTask.state == TaskState.OPEN,
                    CaseTask.next_reminder_at.is_not(None),
                    CaseTask.next_reminder_at <= moment,
                )
                .order_by(CaseTask.next_reminder_at)
                .limit(limit)
                .with_for_update(skip_locked=True, of=CaseTask)
            ).all()
            for task, reference in due:
                sent += _queue_reminders(session, task, reference, moment)
        return sent


def _assigned_to(person: str) -> Any:
    """SQL: the task is the person's: given to them, or to a department they are on the
    team for (a task given to a whole department)."""
    department_tasks = and_(
        CaseTask.assignee_kind == RecipientKind.DEPARTMENT,
        CaseTask.person.is_(None),
        select(TeamMembership.id)
        .where(
            TeamMembership.person == person,
            TeamMembership.until.is_(None),
            TeamMembership.case_id == CaseTask.case_id,
            TeamMembership.department == CaseTask.assignee_id,
        )
        .exists(),
    )
    return or_(CaseTask.person == person, department_tasks)


def _still_on(person: str) -> Any:
    """SQL: the person stands on the task's case now: its caseworker, its coordinator, or
    on its team for a department a consent in force covers (a task of a case whose
    consent was withdrawn for their department is no longer theirs to see or do)."""
    return or_(
        Case.caseworker == person,
        select(CoordinatorAssignment.id)
        .where(
            CoordinatorAssignment.case_id == CaseTask.case_id,
            CoordinatorAssignment.person == person,
            CoordinatorAssignment.until.is_(None),
        )
        .exists(),
        select(TeamMembership.id)
        .where(
            TeamMembership.case_id == CaseTask.case_id,
            TeamMembership.person == person,
            TeamMembership.until.is_(None),
            consented(CaseTask.case_id, TeamMembership.department),
        )
        .exists(),
    )


def _may_complete(
    session: Session, task: CaseTask, stored: Case, actor: Actor, today: date
) -> bool:
    """The assignee — the person named, a team member for the department, the role's
    holder — while they stand on the case (a team member: a consent covers them)."""
    if not actor.id:
        return False
    standing = standing_of(session, stored, actor.id, today)
    if not (standing.caseworker or standing.coordinator or standing.on_team):
        return False
    if task.person:
        return task.person == actor.id
    if task.assignee_kind == RecipientKind.DEPARTMENT:
        return task.assignee_id in standing.team_departments & standing.consented_departments
    if task.assignee_kind == RecipientKind.ROLE:
        return (task.assignee_id == "caseworker" and standing.caseworker) or (
            task.assignee_id == "coordinator" and standing.coordinator
        )
    return False


def _raised(session: Session, task: CaseTask) -> tuple[str, str] | None:
    """The event ``when_done`` raises, if this completion is the one that meets it."""
    if not task.raises or task.key is None:
        return None
    counts = dict(
        session.execute(
            select(CaseTask.state, func.count())
            .where(
                CaseTask.case_id == task.case_id,
                CaseTask.key == task.key,
                CaseTask.created_seq == task.created_seq,
            )
            .group_by(CaseTask.state)
        ).all()
    )
    done, still_open = counts.get(TaskState.DONE, 0), counts.get(TaskState.OPEN, 0)
    need = task.need or "all"
    met = {
        "all": still_open == 0 and done >= 1,
        "any": done == 1,
    }.get(need, done == int(need) if need.isdigit() else False)
    return (task.raises, task.key) if met else None


def _queue_reminders(session: Session, task: CaseTask, reference: str, now: datetime) -> int:
    """Each reminder of the task now due, as an outbox row; the next one noted."""
    queued = 0
    reminders = [dict(r) for r in task.reminders or []]
    for index, reminder in enumerate(reminders):
        if reminder.get("sent") or datetime.fromisoformat(reminder["at"]) > now:
            continue
        recipients = reminder.get("to") or [
            {"kind": task.assignee_kind, "id": task.assignee_id, "person": task.person}
        ]
        for number, recipient in enumerate(recipients):
            session.add(
                OutboxRow(
                    case_id=task.case_id,
                    history_id=None,
                    kind="notify",
                    recipient=recipient,
                    template=reminder["template"],
                    payload={
                        "shared": {},
                        "stage": task.stage,
                        "event": None,
                        "task": {
                            "title": task.title,
                            "due": task.due_at.isoformat() if task.due_at else "",
                            "details": task.details or "",
                        },
                    },
                    dedupe_key=f"{reference}:task{task.id}:r{index}:{number}",
                    attempts=0,
                    state=OutboxState.PENDING,
                    available_at=now,
                    created_at=now,
                )
            )
            queued += 1
        reminder["sent"] = True
    task.reminders = reminders
    pending = [datetime.fromisoformat(r["at"]) for r in reminders if not r.get("sent")]
    task.next_reminder_at = min(pending, default=None)
    return queued


def _note(note: str | None, today: date) -> str | None:
    if note is None or not note.strip():
        return None
    note = note.strip()
    if len(note) > MAX_TEXT:
        raise _problem("note", f"a note is at most {MAX_TEXT} characters", "shorten it")
    if any(ord(c) < 32 and c not in "\n\r\t" for c in note):
        raise _problem("note", "the note holds a control character", "remove it")
    if holds_cpr(note, today):
        raise _problem("note", NOTE_WITH_CPR, CPR_HINT)
    return note


#: A CPR number in a note or a title is refused: kept encrypted in its column and shown
#: masked, it would be in plain text there, before the whole team and in exports.
NOTE_WITH_CPR = "the note holds a CPR number"
TITLE_WITH_CPR = "the title holds a CPR number"
CPR_HINT = "leave it out: the case holds the young person's CPR number, encrypted"


def _item(task: CaseTask, reference: str, stage: str, now: datetime) -> TaskItem:
    due = task.due_at
    return TaskItem(
        id=task.id,
        reference=reference,
        stage=stage,
        title=task.title,
        details=task.details,
        assignee=task.person or task.assignee_id,
        department=task.assignee_id if task.assignee_kind != RecipientKind.ROLE else None,
        due_at=due,
        state=task.state,
        closed_at=task.closed_at,
        closed_by=task.closed_by,
        note=task.note,
        overdue=task.state == TaskState.OPEN
        and task.held_since is None
        and due is not None
        and due < now,
        held=task.state == TaskState.OPEN and task.held_since is not None,
    )


__all__ = ["WORKLIST_LIMIT", "TaskItem", "TaskService"]
