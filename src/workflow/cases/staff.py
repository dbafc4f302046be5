"""What the store knows that a step's inputs are checked against: staff and the plan.

The engine checks inputs without a store; what only the store knows the service looks
up here and hands over as :class:`~workflow.engine.inputs.InputFacts`:

- the staff ids a step names (a responsible caseworker, a coordinator, team members,
  goal owners), as the account store knows them for the case's municipality: an id of
  nobody, or of another municipality's staff, is refused beside its field;
- their accounts' departments (a team member is put on the team in their own department:
  the consent that lets them see the case is their department's) and which of them are
  caseworkers (only a caseworker is made the responsible caseworker);
- the number of goals of the case's current plan (a review names one of them).

A mail address (with ``@``) is never looked up: it names an outside participant on a
team, and gives no standing on the case.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from workflow.definitions.models import Definition
from workflow.definitions.vocabulary import CaseRole
from workflow.engine.input_facts import STAFF_INPUT_TYPES, InputFacts, StaffDirectory
from workflow.engine.inputs import PERSON_ID
from workflow.store.tables import Account, Plan, PlanGoal

#: The most strings looked at in one step's inputs (lists hold at most 100 items; a
#: larger body is refused by the engine whatever the directory says).
_MOST_IDS = 2_000


def input_facts(
    session: Session,
    municipality_code: str,
    inputs: Mapping[str, Any],
    case_id: int | None = None,
    definition: Definition | None = None,
) -> InputFacts:
    """The facts a step on a case of ``municipality_code`` is checked against.

    With the ``definition``, only inputs of a type that names staff are looked up (a
    step that names nobody asks the account store nothing)."""
    if definition is not None:
        names = definition.input_names_by_type
        naming = {name for kind in STAFF_INPUT_TYPES for name in names.get(kind, ())}
        inputs = {name: value for name, value in inputs.items() if name in naming}
    return InputFacts(
        staff=staff_directory(session, municipality_code, inputs),
        plan_goals=plan_size(session, case_id) if case_id is not None else None,
    )


def staff_directory(
    session: Session, municipality_code: str, inputs: Mapping[str, Any]
) -> StaffDirectory:
    """The accounts behind the staff ids ``inputs`` may name (one query for them all, and
    one to learn whether the municipality has any account to check against)."""
    return staff_directories(session, municipality_code, [inputs])[0]


def staff_directories(
    session: Session, municipality_code: str, inputs: Sequence[Mapping[str, Any]]
) -> list[StaffDirectory]:
    """:func:`staff_directory` of each of many steps' inputs on cases of one municipality,
    with the same two queries for them all (a chunk of a bulk intake)."""
    wanted = [frozenset(_person_ids(given)) for given in inputs]
    every = sorted(frozenset().union(*wanted))
    if not every:
        return [StaffDirectory() for _ in wanted]
    own = or_(Account.municipality_code == municipality_code, Account.municipality_code.is_(None))
    rows = [
        row
        for start in range(0, len(every), _MOST_IDS)
        for row in session.execute(
            select(Account.person_id, own, Account.department, Account.roles).where(
                Account.person_id.in_(every[start : start + _MOST_IDS]), Account.active.is_(True)
            )
        )
    ]
    ours = frozenset(person for person, own_staff, _, _ in rows if own_staff)
    theirs = frozenset(person for person, own_staff, _, _ in rows if not own_staff)
    departments = {person: department for person, _, department, _ in rows if department}
    caseworkers = frozenset(
        person for person, _, _, roles in rows if CaseRole.CASEWORKER in (roles or ())
    )
    # Checked once the municipality has accounts of its own (national accounts, of no
    # municipality, are staff everywhere but do not make a municipality's staff known).
    local = Account.municipality_code == municipality_code
    checked = bool(session.scalar(select(exists().where(local, Account.active.is_(True)))))
    unknown = frozenset(every) - ours - theirs
    meant = _meant(session, municipality_code, unknown) if checked and unknown else {}
    return [
        StaffDirectory(
            known=ids & ours,
            elsewhere=ids & theirs,
            checked=checked,
            meant={typed: meant[typed] for typed in ids & unknown if typed in meant},
            departments={p: departments[p] for p in ids & ours if p in departments},
            caseworkers=ids & caseworkers,
        )
        if ids
        else StaffDirectory()
        for ids in wanted
    ]


#: The most staff a "did you mean" looks through, and names.
_MOST_LOOKED_AT = 5_000
_MOST_MEANT = 3


def _meant(session: Session, municipality_code: str, unknown: frozenset[str]) -> dict[str, str]:
    """For ids that are nobody's, the staff of the municipality each most likely meant, as
    "id (name)": a username, a first name or a part of an id ("anna" for
    "laerer-anna"), else an id a slip of the keys away. Asked only when an id is unknown
    (the refusal's way), and never of another municipality's staff."""
    import difflib

    rows = session.execute(
        select(Account.person_id, Account.username, Account.display_name)
        .where(
            or_(
                Account.municipality_code == municipality_code, Account.municipality_code.is_(None)
            ),
            Account.active.is_(True),
        )
        .order_by(Account.person_id)
        .limit(_MOST_LOOKED_AT)
    ).all()
    shown = {person: f"{person} ({name})" for person, _, name in rows}
    found: dict[str, str] = {}
    for typed in sorted(unknown)[:_MOST_IDS]:
        word = typed.casefold()
        same = [
            person
            for person, username, name in rows
            if word == username.casefold()
            or word in name.casefold().split()
            or word in person.casefold().split("-")
        ]
        if not same:
            same = difflib.get_close_matches(typed, list(shown), n=1, cutoff=0.75)
        if same:
            found[typed] = ", ".join(shown[person] for person in same[:_MOST_MEANT])
    return found


def plan_size(session: Session, case_id: int) -> int:
    """How many goals the case's current (newest) plan has; 0 without a plan."""
    newest = select(func.max(Plan.version)).where(Plan.case_id == case_id).scalar_subquery()
    count = session.scalar(
        select(func.count(PlanGoal.id))
        .join(Plan, PlanGoal.plan_id == Plan.id)
        .where(Plan.case_id == case_id, Plan.version == newest)
    )
    return int(count or 0)


def _person_ids(value: Any) -> Iterator[str]:
    """The strings in ``value`` that could be staff ids (not mail addresses), bounded."""
    stack = [value]
    visited = 0
    while stack and visited < _MOST_IDS:
        item = stack.pop()
        visited += 1
        if isinstance(item, str):
            text = item.strip()
            if len(text) <= 200 and "@" not in text and PERSON_ID.match(text):
                yield text
        elif isinstance(item, Mapping):
            stack.extend(list(item.values())[:_MOST_IDS])
        elif isinstance(item, list | tuple):
            stack.extend(item[:_MOST_IDS])
