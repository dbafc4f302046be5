"""What the store knows that a step's inputs are checked against: staff and the plan.

The engine checks inputs without a store; what only the store knows the service looks
up here and hands over as :class:`~workflow.engine.inputs.InputFacts`:

- the staff ids a step names (a responsible caseworker, a coordinator, team members,
  goal owners), as the account store knows them for the case's municipality: an id of
  nobody, or of another municipality's staff, is refused beside its field;
- the number of goals of the case's current plan (a review names one of them).

A mail address (with ``@``) is never looked up: it names an outside participant on a
team, and gives no standing on the case.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from workflow.definitions.models import Definition
from workflow.engine.inputs import PERSON_ID, STAFF_INPUT_TYPES, InputFacts, StaffDirectory
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
    wanted = set(_person_ids(inputs))
    if not wanted:
        return StaffDirectory()
    own = or_(Account.municipality_code == municipality_code, Account.municipality_code.is_(None))
    rows = session.execute(
        select(Account.person_id, own).where(
            Account.person_id.in_(sorted(wanted)), Account.active.is_(True)
        )
    ).all()
    # Checked once the municipality has accounts of its own (national accounts, of no
    # municipality, are staff everywhere but do not make a municipality's staff known).
    local = Account.municipality_code == municipality_code
    checked = bool(session.scalar(select(exists().where(local, Account.active.is_(True)))))
    return StaffDirectory(
        known=frozenset(person for person, ours in rows if ours),
        elsewhere=frozenset(person for person, ours in rows if not ours),
        checked=checked,
    )


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
