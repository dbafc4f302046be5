"""The definitions a running installation knows, and the versions cases are pinned to.

New cases start on the current file of their municipality's definition; the resolved
definition is stored (``definition_versions``) by content hash, so a case keeps running
on exactly the definition it started on, whatever happens to the files later.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from workflow.definitions.loader import load_directory, load_each
from workflow.definitions.models import Definition
from workflow.errors import DefinitionError, Problem, WorkflowError
from workflow.store.tables import DefinitionVersion
from workflow.store.version_check import check_versions, stored_versions, version_problems


class UnknownDefinitionError(WorkflowError):
    """No definition with that id (or municipality) exists."""


class DefinitionCatalog:
    """Current definitions by id, and pinned versions by their stored id."""

    def __init__(self, directory: Path, *, lenient: bool = False) -> None:
        """``lenient``: a file that cannot be loaded is left out (see :meth:`stand_in`)
        instead of refusing them all."""
        self.current: dict[str, Definition]
        #: The files left out (lenient), by name, with their problems.
        self.broken: dict[str, list[Problem]] = {}
        if lenient:
            self.current, self.broken = load_each(directory)
        else:
            self.current = load_directory(directory)
        self._pinned: dict[int, Definition] = {}
        self._registered: dict[tuple[str, str], int] = {}

    def stand_in(self, session: Session) -> dict[str, list[Problem]]:
        """Lenient: each definition whose file cannot be loaded, or was changed without
        raising its version, goes on as the newest version the store holds (its cases
        run on their pinned versions anyway; new cases start on that one). The
        definitions left as they were or stood in for, with their problems.

        A running installation re-reads the folder in each process it starts (a flow
        run, a web worker): a draft saved into it half-written stopped every sweep, for
        every municipality, until it was mended."""
        for ident, problems in check_versions(session, self.current.values()).items():
            del self.current[ident]
            self.broken[ident] = problems
        for ident in self.broken:
            row = session.scalar(
                select(DefinitionVersion)
                .where(DefinitionVersion.definition_id == ident)
                .order_by(DefinitionVersion.version.desc(), DefinitionVersion.id.desc())
                .limit(1)
            )
            if row is not None:
                self.current[ident] = Definition.model_validate(row.body)
        return dict(self.broken)

    def by_id(self, definition_id: str) -> Definition:
        """The current definition with this id."""
        try:
            return self.current[definition_id]
        except KeyError:
            known = ", ".join(sorted(self.current))
            raise UnknownDefinitionError(
                f"unknown definition '{definition_id}'; known: {known}"
            ) from None

    def register(self, session: Session, definition: Definition) -> int:
        """The stored id of this exact definition (stored the first time it is used).

        A definition the store holds another content of under the same version (or a
        higher version) is refused with a :class:`DefinitionError`: raise its version.

        An id is remembered across transactions only once its transaction has committed,
        so a rollback can never leave the catalog pointing at a row that does not exist.
        """
        key = (str(session.get_bind().engine.url), definition.content_hash)
        if key in self._registered:
            return self._registered[key]
        pending: dict[tuple[str, str], int] = session.info.setdefault("registrations", {})
        if key in pending:
            return pending[key]
        row = session.scalar(
            select(DefinitionVersion).where(
                DefinitionVersion.content_hash == definition.content_hash
            )
        )
        if row is None:
            stored = stored_versions(session, [definition.id]).get(definition.id, [])
            refused = version_problems(definition, stored)
            if refused:
                raise DefinitionError(refused)
            row = DefinitionVersion(
                definition_id=definition.id,
                version=definition.version,
                content_hash=definition.content_hash,
                body=definition.model_dump(mode="json", by_alias=True, exclude_none=True),
                registered_at=datetime.now(UTC),
            )
            session.add(row)
            session.flush()
        pending[key] = row.id
        self._pinned[row.id] = definition

        def remember(committed: Session) -> None:
            self._registered.update(committed.info.pop("registrations", {}))

        if len(pending) == 1:
            event.listen(session, "after_commit", remember, once=True)
            event.listen(
                session,
                "after_rollback",
                lambda rolled: rolled.info.pop("registrations", None),
                once=True,
            )
        return row.id

    def pinned(self, session: Session, version_id: int) -> Definition:
        """The definition a case was pinned to (the current file's, if it is that one).

        Remembered by id once its row is committed: a version registered in a transaction
        that is rolled back (a migration's dry run) leaves its id free for another."""
        found = self._pinned.get(version_id)
        if found is not None:
            return found
        row = session.get(DefinitionVersion, version_id)
        if row is None:
            raise UnknownDefinitionError(f"no stored definition version {version_id}")
        stored = Definition.model_validate(row.body)
        current = self.current.get(stored.id)
        same = current is not None and current.content_hash == stored.content_hash
        # The current one knows where its parts are written (run-time errors say so).
        found = current if current is not None and same else stored
        if version_id not in session.info.get("registrations", {}).values():
            self._pinned[version_id] = found
        return found

    def check_store(self, session: Session) -> list[Problem]:
        """Definitions changed without raising their version (see :mod:`.version_check`)."""
        found = check_versions(session, self.current.values())
        return [problem for problems in found.values() for problem in problems]
