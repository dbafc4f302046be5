"""What a delivery batch reads about the people and cases of its rows, once a batch.

A citizen's own channels and first names (the young person, a guardian), the first
name and language of a member of staff a message is about, and the departments each
case's consent covers now (a row to a department no consent covers is withheld, and a
meeting's calendar entry names only the departments a consent covers).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.definitions.vocabulary import CaseRole
from workflow.delivery.message import Address
from workflow.engine.vocabulary import DEPARTMENT_KINDS, RecipientKind
from workflow.store.citizens import CitizenReach, citizens_of
from workflow.store.tables import Account, ConsentDepartment

#: The roles whose messages go to the citizen's own channels.
CITIZEN_ROLES = frozenset({CaseRole.YOUNG_PERSON, CaseRole.GUARDIAN})


def to_citizen(recipient: dict[str, Any]) -> bool:
    """A message to the young person or a guardian (their own channels)."""
    return recipient.get("kind") == RecipientKind.ROLE and recipient.get("id") in CITIZEN_ROLES


def to_department(row: Any) -> bool:
    return row.recipient.get("kind") in DEPARTMENT_KINDS


def with_meeting(row: Any) -> bool:
    """Whether the row carries a meeting (its calendar entry names the attendees)."""
    return isinstance((row.payload or {}).get("meeting"), dict)


def own_addresses_of(session: Session, rows: list[Any]) -> dict[tuple[int, str], CitizenReach]:
    """The citizens the rows go to (their own channels, their first names), by (case,
    role): a query per role."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        if to_citizen(row.recipient):
            wanted.setdefault(str(row.recipient["id"]), set()).add(row.case_id)
    found: dict[tuple[int, str], CitizenReach] = {}
    for role, case_ids in wanted.items():
        reached = citizens_of(session, sorted(case_ids), role)
        for case_id in case_ids:
            found[case_id, role] = reached.get(case_id, CitizenReach())
    return found


def own_channels(
    own: dict[tuple[int, str], CitizenReach], case_id: int, recipient: dict[str, Any]
) -> dict[str, Any]:
    """``compose``'s own channels and names of a message to a citizen; none for staff."""
    if not to_citizen(recipient):
        return {"own": None}
    reach = own.get((case_id, str(recipient.get("id"))), CitizenReach())
    return {
        "own": tuple(Address(kind, address) for kind, address in reach.contacts),
        "names": tuple(reach.first_names),
    }


def staff_of(session: Session, rows: list[Any]) -> dict[str, tuple[str, str]]:
    """The staff the rows are about (a team member, the coordinator), by their staff id:
    (first name, language) of each active account (one query for the batch)."""
    people = {
        str(row.recipient["person"])
        for row in rows
        if not to_citizen(row.recipient) and row.recipient.get("person")
    }
    if not people:
        return {}
    return {
        person: (name.split()[0] if name.split() else name, locale)
        for person, name, locale in session.execute(
            select(Account.person_id, Account.display_name, Account.locale).where(
                Account.person_id.in_(sorted(people)), Account.active.is_(True)
            )
        )
    }


def staff_greeting(staff: dict[str, tuple[str, str]], recipient: dict[str, Any]) -> dict[str, Any]:
    """``compose``'s names and language of a message about one member of staff: greeted by
    their first name in their own language (a department's mailbox was greeted as the
    department, "Hej Skole"); none for anyone else."""
    found = staff.get(str(recipient.get("person"))) if not to_citizen(recipient) else None
    if found is None:
        return {}
    first, locale = found
    return {"names": (first,), "locale": locale}


def consents_of(session: Session, case_ids: list[int]) -> dict[int, frozenset[str]]:
    """The departments each case may be shared with now (one query for the batch)."""
    if not case_ids:
        return {}
    found: dict[int, set[str]] = {}
    for case_id, department in session.execute(
        select(ConsentDepartment.case_id, ConsentDepartment.department).where(
            ConsentDepartment.case_id.in_(sorted(set(case_ids))),
            ConsentDepartment.withdrawn_at.is_(None),
        )
    ):
        found.setdefault(case_id, set()).add(department)
    return {case_id: frozenset(departments) for case_id, departments in found.items()}
