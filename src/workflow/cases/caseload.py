"""A person's caseload: the cases they take part in, filtered, each search audited
(its entry committed, with those of other reads at the moment, before it is answered)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from workflow.definitions.models import Definition
from workflow.store.audit import AuditAction, AuditObject, audit_row, commit_read_audit
from workflow.store.caseload import CaseloadQuery, CaseloadRow, caseload
from workflow.store.unit_of_work import UnitOfWork

__all__ = ["CaseloadPage", "CaseloadService"]


@dataclass(frozen=True)
class CaseloadPage:
    """A page of a caseload, with the definitions its cases are pinned to (for labels)."""

    query: CaseloadQuery
    rows: list[CaseloadRow]
    total: int
    definitions: dict[int, Definition]


class CaseloadService:
    """Searches over the cases a person takes part in."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def search(self, actor: str, query: CaseloadQuery, purpose: str = "caseload") -> CaseloadPage:
        """The matching cases; the search and its criteria go to the audit log."""
        now = self.uow.clock()
        # A pure read; its entry is committed before the page is handed out.
        with self.uow.brief_reading() as session:
            rows, total = caseload(session, query, now)
            definitions = {
                v: self.uow.catalog.pinned(session, v)
                for v in {r.definition_version_id for r in rows}
            }
        criteria = {k: v for k, v in asdict(query).items() if v not in (None, False, "")}
        commit_read_audit(
            self.uow.engine,
            audit_row(
                at=now,
                actor=actor,
                action=AuditAction.SEARCH,
                object_type=AuditObject.CASELOAD,
                object_id=query.person,
                purpose=purpose,
                details={"criteria": criteria, "results": total},
            ),
        )
        return CaseloadPage(query, rows, total, definitions)
