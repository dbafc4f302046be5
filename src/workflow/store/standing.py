"""A person's standing on a case: the relations and consents the access rule looks at."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, bindparam, exists, literal, select, union_all
from sqlalchemy.orm import Session

from workflow.definitions.calendar import age_on
from workflow.engine.access import (
    YOUNG_PERSON_ACTOR,
    Action,
    LegalBasis,
    Standing,
    guardian_id_of,
    young_person_actor,
)
from workflow.store.driver import DriverStatement, read_together
from workflow.store.loading import StoredCase, connection_of
from workflow.store.tables import (
    AccessGrant,
    Account,
    ConsentDepartment,
    CoordinatorAssignment,
    Guardian,
    TeamMembership,
    YoungPerson,
)

#: Custody of a guardian ends when the young person turns 18.
ADULT_AGE = 18

COORDINATOR_MARK = "@coordinator"


def may_be_given(session: Session, person: str, role: str) -> bool | None:
    """Whether the person's account lets them be given a standing (e.g. chosen as a
    coordinator needs the coordinator role); None when the person has no account here."""
    roles = session.scalar(select(Account.roles).where(Account.person_id == person))
    return None if roles is None else role in roles


def consented(case_id: Any, department: Any) -> ColumnElement[bool]:
    """SQL: an active consent of the case covers the department."""
    return exists().where(
        ConsentDepartment.case_id == case_id,
        ConsentDepartment.department == department,
        ConsentDepartment.withdrawn_at.is_(None),
    )


_CONSENTED = DriverStatement(
    select(ConsentDepartment.department).where(
        ConsentDepartment.case_id == bindparam("b_case"), ConsentDepartment.withdrawn_at.is_(None)
    )
)
_LEGAL_BASES = DriverStatement(
    select(AccessGrant.basis, AccessGrant.law, AccessGrant.actions)
    .where(
        AccessGrant.person_id == bindparam("b_person"),
        AccessGrant.municipality_code == bindparam("b_municipality"),
        AccessGrant.revoked_at.is_(None),
    )
    .order_by(AccessGrant.id)
)
# One round trip for both relations: the team departments, and a marker row when the
# person is the coordinator (no department id starts with "@").
_RELATIONS = DriverStatement(
    union_all(
        select(TeamMembership.department).where(
            TeamMembership.case_id == bindparam("b_case"),
            TeamMembership.person == bindparam("b_person"),
            TeamMembership.until.is_(None),
        ),
        select(literal(COORDINATOR_MARK)).where(
            CoordinatorAssignment.case_id == bindparam("b_case"),
            CoordinatorAssignment.person == bindparam("b_person"),
            CoordinatorAssignment.until.is_(None),
        ),
    )
)


def _bases(rows: list[tuple[Any, ...]]) -> tuple[LegalBasis, ...]:
    return tuple(
        LegalBasis(f"{basis}: {law}", frozenset(Action(a) for a in actions))
        for basis, law, actions in rows
    )


def citizen_standing(
    session: Session, case: StoredCase, person: str, today: date
) -> Standing | None:
    """The standing of a citizen actor (the young person, a guardian), or None for staff.

    A guardian stands on the case only while the young person is under 18 (custody ends
    at majority) and the guardian's record is current.
    """
    if person.startswith(YOUNG_PERSON_ACTOR):
        yours = person == young_person_actor(case.reference) and case.young_person_id is not None
        return Standing(young_person=yours)
    guardian = guardian_id_of(person)
    if guardian is None:
        return None
    born = session.scalar(
        select(YoungPerson.birth_date)
        .join(Guardian, Guardian.case_id == case.id)
        .where(
            YoungPerson.id == case.young_person_id,
            Guardian.id == guardian,
            Guardian.until.is_(None),
        )
    )
    return Standing(guardian=born is not None and age_on(born, today) < ADULT_AGE)


def standing_of(
    session: Session, case: StoredCase, person: str | None, today: date | None = None
) -> Standing:
    """What the access rule needs to know of ``person`` on ``case`` (nobody: no standing)."""
    if not person:
        return Standing()
    citizen = citizen_standing(session, case, person, today or date.today())
    if citizen is not None:
        return citizen
    # The relations, the consented departments and the legal bases: read together (on
    # PostgreSQL one round trip); the consents count only for a team member.
    relations, consented, bases = read_together(
        connection_of(session),
        [
            (_RELATIONS, {"b_case": case.id, "b_person": person}),
            (_CONSENTED, {"b_case": case.id}),
            (_LEGAL_BASES, {"b_person": person, "b_municipality": case.municipality_code}),
        ],
    )
    found = {relation for (relation,) in relations}
    team = frozenset(found - {COORDINATOR_MARK})
    return Standing(
        caseworker=case.caseworker == person,
        coordinator=COORDINATOR_MARK in found,
        team_departments=team,
        consented_departments=frozenset(d for (d,) in consented) if team else frozenset(),
        legal_bases=_bases(bases),
    )
