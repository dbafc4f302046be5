"""The definition versions a store knows: listing them, and reading one by its number.

A version is stored (``definition_versions``) when its first case opens or a migration
targets it; the current file of each definition counts as a version too, stored or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.definitions.models import Definition
from workflow.errors import did_you_mean
from workflow.store.catalog import UnknownDefinitionError
from workflow.store.tables import Case, DefinitionVersion
from workflow.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class StoredVersion:
    """A version of a definition (stored, or the current file), and its open cases."""

    definition_id: str
    version: int
    content_hash: str
    #: None for the current file while no case has used it yet.
    registered_at: datetime | None
    open_cases: int
    current: bool


class DefinitionVersions:
    """Stored and current versions of the definitions, with their open cases."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def versions(self, definition_id: str | None = None) -> list[StoredVersion]:
        """Every stored version (of one definition), with its open cases."""
        current = {d.content_hash for d in self.uow.catalog.current.values()}
        open_cases = (
            select(Case.definition_version_id, func.count().label("n"))
            .where(Case.closed_at.is_(None))
            .group_by(Case.definition_version_id)
            .subquery()
        )
        query = (
            select(DefinitionVersion, func.coalesce(open_cases.c.n, 0))
            .outerjoin(open_cases, open_cases.c.definition_version_id == DefinitionVersion.id)
            .order_by(DefinitionVersion.definition_id, DefinitionVersion.version)
        )
        if definition_id is not None:
            query = query.where(DefinitionVersion.definition_id == definition_id)
        with self.uow.reading() as session:
            found = [
                StoredVersion(
                    row.definition_id,
                    row.version,
                    row.content_hash,
                    row.registered_at,
                    count,
                    row.content_hash in current,
                )
                for row, count in session.execute(query)
            ]
        stored = {v.content_hash for v in found}
        found += [
            StoredVersion(d.id, d.version, d.content_hash, None, 0, True)
            for d in self.uow.catalog.current.values()
            if d.content_hash not in stored and not d.abstract and definition_id in (None, d.id)
        ]
        return sorted(found, key=lambda v: (v.definition_id, v.version, v.registered_at is None))

    def stored(self, definition_id: str, version: int) -> Definition:
        """A version of a definition: the current file if it has that number, else the store's."""
        with self.uow.reading() as session:
            return self.uow.catalog.pinned(
                session, self.version_id(session, definition_id, version)
            )

    def version_id(self, session: Session, definition_id: str, version: int) -> int:
        """The stored id of a version (the current file is stored if it has that number)."""
        catalog = self.uow.catalog
        current = catalog.current.get(definition_id)
        if current is not None and current.version == version:
            return catalog.register(session, current)
        row_id = session.scalar(
            select(DefinitionVersion.id)
            .where(
                DefinitionVersion.definition_id == definition_id,
                DefinitionVersion.version == version,
            )
            .order_by(DefinitionVersion.registered_at.desc(), DefinitionVersion.id.desc())
            .limit(1)
        )
        if row_id is None:
            known = sorted(
                set(
                    session.scalars(
                        select(DefinitionVersion.version).where(
                            DefinitionVersion.definition_id == definition_id
                        )
                    )
                )
                | ({current.version} if current else set())
            )
            if current is None and not known:
                hint = did_you_mean(definition_id, catalog.current)
                raise UnknownDefinitionError(
                    f"unknown definition '{definition_id}'" + (f" ({hint})" if hint else "")
                )
            raise UnknownDefinitionError(
                f"{definition_id} has no version {version}; known versions: "
                + ", ".join(str(v) for v in known)
                + " (a new version is taken from its file in the definitions folder)"
            )
        return row_id
