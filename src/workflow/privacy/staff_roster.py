"""The staff roster: who works here, by staff id — the names pages show beside the
ids a case stores, the colleagues a form offers, and the work addresses a young person
reaches their team at. Read from the accounts; nothing here logs anyone in. (Whether a
step's inputs name known staff is checked by ``workflow.cases.staff``.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import String, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY

from workflow.store.database import READ_ONLY
from workflow.store.driver import DriverStatement, read_alone
from workflow.store.tables import Account
from workflow.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class StaffMember:
    """A colleague as forms offer them: staff id and name."""

    person_id: str
    display_name: str


#: Staff names by person id, prebuilt whatever the number of ids (every case page asks):
#: the ids are one parameter, an array on PostgreSQL, a JSON list on SQLite.
_NAMES = {
    "postgresql": DriverStatement(
        select(Account.person_id, Account.display_name).where(
            Account.person_id == any_(bindparam("b_ids", type_=ARRAY(String)))
        )
    ),
    "sqlite": DriverStatement(
        select(Account.person_id, Account.display_name).where(
            Account.person_id.in_(
                select(literal_column("value")).select_from(func.json_each(bindparam("b_ids")))
            )
        )
    ),
}


class StaffRoster:
    """Staff names, colleagues and work addresses, read from the accounts."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.sessions, self.engine = uow.sessions, uow.engine

    def members(self, municipality_code: str | None = None) -> list[StaffMember]:
        """Active staff (of a municipality): who can be chosen for a team."""
        query = (
            select(Account.person_id, Account.display_name)
            .where(Account.active.is_(True))
            .order_by(Account.display_name)
        )
        if municipality_code:
            query = query.where(Account.municipality_code == municipality_code)
        with self.sessions(execution_options={READ_ONLY: True}) as session:
            return [StaffMember(*row) for row in session.execute(query)]

    def names(self, person_ids: Iterable[str]) -> dict[str, str]:
        """The display names of those staff ids that have an account."""
        wanted = {p for p in person_ids if p}
        if not wanted:
            return {}
        dialect, ids = self.engine.dialect.name, sorted(wanted)
        rows = read_alone(
            self.engine,
            _NAMES[dialect],
            {"b_ids": ids if dialect == "postgresql" else json.dumps(ids)},
        )
        return {person: name for person, name in rows}

    def emails(self, person_ids: Iterable[str]) -> dict[str, str]:
        """The work e-mail addresses of those staff ids whose account has one (how the
        young person reaches their coordinator and team)."""
        wanted = {p for p in person_ids if p}
        if not wanted:
            return {}
        query = select(Account.person_id, Account.email).where(
            Account.person_id.in_(wanted), Account.email.is_not(None), Account.active.is_(True)
        )
        with self.sessions(execution_options={READ_ONLY: True}) as session:
            return {person: email for person, email in session.execute(query) if email}
