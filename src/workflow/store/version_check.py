"""A changed definition must say so: its version is checked against the versions stored.

A case pins the version it started on, and the store keeps each version's resolved
definition. A definition file edited without raising ``version:`` would be stored as a
second, different "version 1", and "version 1" would no longer say which rules a case
runs on. So a definition whose version the store already holds with other content is
refused, and so is one whose version is below the highest stored, each with the version
to write (one above the highest stored).

"Other content" is judged on the stored definition read with today's models: an upgrade
of this software that adds a field with a default changes every content hash, but not
what any definition says.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from workflow.definitions.models import Definition
from workflow.errors import Problem
from workflow.store.tables import DefinitionVersion


@dataclass(frozen=True)
class StoredVersion:
    """A version of a definition as the store holds it."""

    version: int
    content_hash: str
    body: Mapping[str, Any]

    def same_as(self, definition: Definition) -> bool | None:
        """Whether it says what ``definition`` says (None: today's models cannot read it)."""
        if self.content_hash == definition.content_hash:
            return True
        try:
            return Definition.model_validate(self.body).content_hash == definition.content_hash
        except ValidationError:
            return None


def version_problems(definition: Definition, stored: Sequence[StoredVersion]) -> list[Problem]:
    """Why ``definition`` may not be used with the versions stored (none: it may)."""
    if not stored:
        return []
    version = definition.version
    highest = max(s.version for s in stored)
    same_number = [s for s in stored if s.version == version]
    if same_number:
        if any(s.same_as(definition) is not False for s in same_number):
            return []
        message = (
            f"{definition.id} has changed since its version {version} was stored (cases may "
            f"run on it), but its version is still {version}"
        )
    elif version < highest:
        message = (
            f"{definition.id} says version {version}, but the store already holds "
            f"version {highest}: versions only go up"
        )
    else:
        return []
    hint = f"raise version to {highest + 1}"
    if definition.extends:
        hint += f"; the change may be in '{definition.extends}', which it extends"
    return [Problem(definition.locate(("version",)), "version", message, hint)]


def stored_versions(session: Session, ids: Collection[str]) -> dict[str, list[StoredVersion]]:
    """The versions the store holds of the definitions ``ids``, by id."""
    found: dict[str, list[StoredVersion]] = {}
    rows = session.execute(
        select(
            DefinitionVersion.definition_id,
            DefinitionVersion.version,
            DefinitionVersion.content_hash,
            DefinitionVersion.body,
        ).where(DefinitionVersion.definition_id.in_(sorted(ids)))
    )
    for ident, version, content_hash, body in rows:
        found.setdefault(ident, []).append(StoredVersion(version, content_hash, body))
    return found


def check_versions(session: Session, definitions: Iterable[Definition]) -> dict[str, list[Problem]]:
    """The problems of each definition whose version does not fit the versions stored, by id."""
    by_id = {d.id: d for d in definitions if not d.abstract}
    stored = stored_versions(session, by_id)
    found = {ident: version_problems(d, stored.get(ident, [])) for ident, d in by_id.items()}
    return {ident: problems for ident, problems in found.items() if problems}


def check_versions_in(
    engine: Engine, definitions: Iterable[Definition]
) -> dict[str, list[Problem]]:
    """:func:`check_versions` against a store as it is (not migrated; none yet: no problems)."""
    if not inspect(engine).has_table(DefinitionVersion.__tablename__):
        return {}
    with Session(engine) as session:
        return check_versions(session, definitions)
