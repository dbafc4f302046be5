"""A young person referred while a course of theirs is still open in the municipality.

The model is one course and one coordinator per young person: two courses side by side
are what it exists to prevent ("nobody owns the whole course"). A second referral is
still accepted — the referring person (a teacher, a UU guide) may not know, and must not
be told, that the young person is already in the youth effort — but the caseworker of
each course already open for them in the same municipality is given a task on that
course: the new reference and its caseworker, to agree which course goes on. Only that
caseworker learns of the new referral; the new case's people learn nothing of the old,
and the old case's other people (its coordinator, its team, a leader) do not see the task
(:func:`shown_to`: the case page, the API and the case's task list leave it out).

Found by the CPR number's keyed hash under every key of the ring (a key rotated since
the first referral still finds it); courses of other municipalities are never looked at.
Written in the referral's own transaction, on every way in (web, API, CLI, intake), with
an audit entry on the course that was told.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.definitions.vocabulary import CASEWORKER_ROLE
from workflow.engine.vocabulary import RecipientKind
from workflow.store.audit import AuditAction, AuditObject, write_audit
from workflow.store.statements import INSERT_TASK
from workflow.store.states import TaskState
from workflow.store.tables import Account, Case, YoungPerson
from workflow.texts import text

#: The key of the task (``tasks.key``), which tells it from a definition's tasks.
TASK_KEY = "referred_again"
#: Who gives the task (``tasks.created_by``, the audit entry's actor).
SYSTEM = "system:referral"


@dataclass(frozen=True)
class NewCourse:
    """A case a referral has just opened, as this check needs it."""

    case_id: int
    reference: str
    municipality_code: str
    caseworker: str | None
    #: The young person's CPR keyed hashes, under every key of the ring.
    cpr_keys: tuple[str, ...]
    #: The language the task is written in (the municipality's definition's).
    locale: str


def tell_open_courses(
    session: Session, opened: Sequence[NewCourse], now: datetime
) -> list[tuple[str, str]]:
    """Give the caseworker of each open course of the same young person in the same
    municipality a task naming the new course; (told reference, new reference) pairs.

    An earlier referral in the same batch (a file with the young person twice) is an
    open course too: the later one is told to its caseworker."""
    keys = sorted({key for course in opened for key in course.cpr_keys})
    if not keys:
        return []
    municipalities = sorted({course.municipality_code for course in opened})
    # In two indexed lookups, not one join: on a store filled by a bulk intake the planner's
    # statistics lag, and the join scanned every case (135 ms a chunk of 1,000 on PostgreSQL).
    people: dict[int, str] = {
        person: str(key)
        for person, key in session.execute(
            select(YoungPerson.id, YoungPerson.cpr_key).where(YoungPerson.cpr_key.in_(keys))
        )
    }
    found = Counter(people.values())
    if not any(sum(found[key] for key in course.cpr_keys) > 1 for course in opened):
        return []  # each young person only in the row just inserted: nobody twice
    rows = session.execute(
        select(
            Case.id,
            Case.reference,
            Case.caseworker,
            Case.stage,
            Case.municipality_code,
            Case.young_person_id,
        )
        .where(
            Case.young_person_id.in_(sorted(people)),
            Case.closed_at.is_(None),
            Case.municipality_code.in_(municipalities),
        )
        .order_by(Case.id)
    ).all()
    by_key: dict[str, list[Any]] = {}  # a batch's own new cases are rows too: no n x n walk
    for row in rows:
        if row.young_person_id is not None:  # found by it: never None here
            by_key.setdefault(people[row.young_person_id], []).append(row)
    names = _names(session, [course.caseworker for course in opened if course.caseworker])
    tasks: list[dict[str, object]] = []
    told: list[tuple[str, str]] = []
    for course in opened:
        for case_id, reference, caseworker, stage, municipality, _ in (
            row for key in course.cpr_keys for row in by_key.get(key, ())
        ):
            if (
                municipality != course.municipality_code
                or case_id >= course.case_id  # only courses opened before this one
                or (reference, course.reference) in told
            ):
                continue
            title = text(
                "referred_again_task",
                course.locale,
                reference=course.reference,
                caseworker=names.get(course.caseworker or "", course.caseworker or "–"),
            )
            tasks.append(_task_row(case_id, caseworker, stage, title, now))
            told.append((reference, course.reference))
    if tasks:
        INSERT_TASK.executemany(session.connection(), tasks)
        for reference, new_reference in told:
            write_audit(
                session,
                at=now,
                actor=SYSTEM,
                action=AuditAction.CHANGE,
                object_type=AuditObject.TASK,
                object_id=reference,
                purpose="den unge er henvist igen",
                details={"task": TASK_KEY, "referral": new_reference},
            )
    return told


def shown_to(key: str | None, created_by: str | None, assignee: str, reader: str | None) -> bool:
    """Whether ``reader`` (a staff id) sees a task of a case: every task but the one this
    module gives, which only its assignee (the caseworker who was told) sees."""
    return key != TASK_KEY or created_by != SYSTEM or reader == assignee


def _names(session: Session, people: Sequence[str]) -> dict[str, str]:
    """Staff names by staff id (the task names the new course's caseworker)."""
    if not people:
        return {}
    found = session.execute(
        select(Account.person_id, Account.display_name).where(
            Account.person_id.in_(sorted(set(people)))
        )
    ).all()
    return {person: name for person, name in found}


def _task_row(
    case_id: int, caseworker: str | None, stage: str, title: str, now: datetime
) -> dict[str, object]:
    return {
        "case_id": case_id,
        "assignee_kind": RecipientKind.ROLE,
        "assignee_id": CASEWORKER_ROLE,
        "person": caseworker,
        "title": title,
        "due_at": None,
        "state": TaskState.OPEN,
        "created_at": now,
        "key": TASK_KEY,
        "created_seq": None,
        "created_by": SYSTEM,
        "details": None,
        "until": "case",
        "stage": stage,
        "need": None,
        "raises": None,
        "reminders": [],
        "next_reminder_at": None,
        "closed_at": None,
        "closed_by": None,
        "note": None,
        "held_since": None,
        "meeting_key": None,
    }
