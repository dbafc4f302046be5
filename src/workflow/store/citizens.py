"""The young person and their guardians as the store knows them: contacts and their cases.

Citizens are found by the keyed hash of their CPR number (``cpr_key``), never by the
number itself; their own channels (e-mail, phone) and first names are read only to
deliver to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.definitions.vocabulary import CaseRole
from workflow.store.tables import Case, Guardian, YoungPerson


@dataclass(frozen=True)
class CitizenCase:
    """A case a citizen takes part in, and as whom."""

    reference: str
    role: CaseRole  # young_person or guardian
    guardian_id: int | None = None
    #: What tells one case from another on the citizen's list of cases.
    opened_at: datetime | None = None
    stage: str = ""
    definition_version_id: int = 0
    #: The young person's first name, on a guardian's list (a parent of two tells their
    #: children's courses apart); empty on the young person's own.
    first_name: str = ""


@dataclass(frozen=True)
class CitizenReach:
    """How a case's young person, or its current guardians, are reached and greeted."""

    #: (channel kind, address) pairs.
    contacts: list[tuple[str, str]] = field(default_factory=list)
    #: Their first names, as a message greets them ("Hej Freja").
    first_names: list[str] = field(default_factory=list)


def citizen_contacts(session: Session, case_id: int, role: str) -> list[tuple[str, str]]:
    """The (channel kind, address) pairs of the young person or the current guardians."""
    return citizens_of(session, [case_id], role).get(case_id, CitizenReach()).contacts


def citizens_of(session: Session, case_ids: Sequence[int], role: str) -> dict[int, CitizenReach]:
    """:class:`CitizenReach` of many cases in one query (a delivery batch's)."""
    if role == CaseRole.YOUNG_PERSON:
        rows = session.execute(
            select(Case.id, YoungPerson.name, YoungPerson.email, YoungPerson.phone)
            .join(Case, Case.young_person_id == YoungPerson.id)
            .where(Case.id.in_(case_ids))
        ).all()
    elif role == CaseRole.GUARDIAN:
        rows = session.execute(
            select(Guardian.case_id, Guardian.name, Guardian.email, Guardian.phone)
            .where(Guardian.case_id.in_(case_ids), Guardian.until.is_(None))
            .order_by(Guardian.id)
        ).all()
    else:
        return {}
    found: dict[int, CitizenReach] = {}
    for case_id, name, email, phone in rows:
        reach = found.setdefault(case_id, CitizenReach())
        if email:
            reach.contacts.append(("email", email))
        if phone:
            reach.contacts.append(("sms", phone))
        first = (name or "").split()
        if first:
            reach.first_names.append(first[0])
    return found


_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


def cases_of_citizen(session: Session, keys: Sequence[str]) -> list[CitizenCase]:
    """The cases whose young person, or a current guardian, has one of these CPR keys.

    Newest case first; a person who is both (a young parent) sees both kinds.
    """
    if not keys:
        return []
    shown = (Case.reference, Case.opened_at, Case.stage, Case.definition_version_id)
    own = session.execute(
        select(*shown)
        .join(YoungPerson, YoungPerson.id == Case.young_person_id)
        .where(YoungPerson.cpr_key.in_(keys))
    ).all()
    guarded = session.execute(
        select(*shown, Guardian.id, YoungPerson.name)
        .join(Guardian, Guardian.case_id == Case.id)
        .outerjoin(YoungPerson, YoungPerson.id == Case.young_person_id)
        .where(Guardian.cpr_key.in_(keys), Guardian.until.is_(None))
    ).all()
    found = [
        CitizenCase(ref, CaseRole.YOUNG_PERSON, None, at, stage, version)
        for ref, at, stage, version in own
    ] + [
        CitizenCase(ref, CaseRole.GUARDIAN, gid, at, stage, version, _first(name))
        for ref, at, stage, version, gid, name in guarded
    ]
    return sorted(found, key=lambda case: case.opened_at or _LONG_AGO, reverse=True)


def _first(name: str | None) -> str:
    """A first name, as the letters greet by ("Freja" of "Freja Nielsen")."""
    return (name or "").split(" ", 1)[0]


def citizen_details(
    session: Session, reference: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The young person's and current guardians' stored details (CPR still encrypted)."""
    person = session.execute(
        select(YoungPerson)
        .join(Case, Case.young_person_id == YoungPerson.id)
        .where(Case.reference == reference)
    ).scalar_one()
    guardians = session.scalars(
        select(Guardian)
        .join(Case, Case.id == Guardian.case_id)
        .where(Case.reference == reference, Guardian.until.is_(None))
        .order_by(Guardian.id)
    ).all()
    fields = ("name", "cpr", "email", "phone")
    return (
        {f: getattr(person, f) for f in (*fields, "birth_date")},
        [{f: getattr(g, f) for f in fields} for g in guardians],
    )
