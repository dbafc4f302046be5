"""A person's caseload: the cases they take part in, filtered, each search audited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from workflow.catalog import DefinitionCatalog
from workflow.definitions import Definition
from workflow.store.caseload import CaseloadQuery, CaseloadRow, caseload
from workflow.store.statements import INSERT_AUDIT

__all__ = ["CaseloadPage", "CaseloadQuery", "CaseloadRow", "CaseloadService"]


@dataclass(frozen=True)
class CaseloadPage:
    """A page of a caseload, with the definitions its cases are pinned to (for labels)."""

    query: CaseloadQuery
    rows: list[CaseloadRow]
    total: int
    definitions: dict[int, Definition]


class CaseloadService:
    """Searches over the cases a person takes part in."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: DefinitionCatalog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.catalog = catalog
        self.clock = clock

    def search(self, actor: str, query: CaseloadQuery, purpose: str = "caseload") -> CaseloadPage:
        """The matching cases; the search and its criteria go to the audit log."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            rows, total = caseload(session, query, now)
            definitions = {
                v: self.catalog.pinned(session, v) for v in {r.definition_version_id for r in rows}
            }
            criteria = {k: v for k, v in asdict(query).items() if v not in (None, False, "")}
            session.connection().execute(
                INSERT_AUDIT,
                {
                    "at": now,
                    "actor": actor,
                    "action": "search",
                    "object_type": "caseload",
                    "object_id": query.person[:64],
                    "purpose": purpose,
                    "details": {"criteria": criteria, "results": total},
                },
            )
        return CaseloadPage(query, rows, total, definitions)
