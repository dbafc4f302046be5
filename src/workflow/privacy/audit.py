"""The audit log's own uses: exporting a case, a citizen's access log, and log retention.

Every read, search, change, export and delete of case data is written where it happens
(the service layer, in the same transaction); this module answers from the log. A
citizen may learn when and why their case was consulted (EU Court of Justice C-579/21),
normally without staff names: :meth:`AuditService.access_log` gives dates, actions, the
role that acted and the purpose — never who. The citizen's pages show it through
:meth:`AuditService.access_log_shown`, where repeated reads of the case by one person
within ten minutes are one line with their number (every read stays in the log).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from workflow.definitions.models import Definition
from workflow.engine.access import Action
from workflow.engine.model import Actor, RejectionReason
from workflow.privacy.authorisation import access_details, audited_refusal, authorise
from workflow.store.audit import CASE_OBJECTS, AuditAction, AuditObject, actor_label, write_audit
from workflow.store.reading import case_by_reference, read_case
from workflow.store.tables import AuditEntry
from workflow.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class AccessLogEntry:
    """One use of the citizen's data, as the citizen may see it: no staff names."""

    at: datetime
    action: str
    what: str
    role: str
    purpose: str


#: Reads of the case by the same person for the same purpose within this window are one
#: line of the access log as it is shown to the citizen (each is still its own entry).
READ_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class AccessLogLine:
    """One line of the access log as the citizen's pages show it: one use of the data, or
    ``count`` reads of the case by one person for one purpose from ``at`` to ``until``."""

    at: datetime
    action: str
    what: str
    role: str
    purpose: str
    count: int = 1
    until: datetime | None = None
    #: The reader's own use of the data ("you read the course"): a guardian's own reads
    #: are not "a parent's", which is the other parent's.
    own: bool = False


@dataclass(frozen=True)
class ShownAccessLog:
    """The access log as shown: its lines, and the case's definition (to name its steps)."""

    definition: Definition
    lines: list[AccessLogLine]


def collapse_reads(
    rows: Sequence[AuditEntry],
    window: timedelta | None = READ_WINDOW,
    reader: str | None = None,
) -> list[AccessLogLine]:
    """The entries as lines, in order, with repeated reads folded: a read of the case by
    the same person (``actor``, which is not shown) for the same purpose within ``window``
    of that person's first read joins its line (counted, with the time of the last).
    Every other entry — a change, an export, a CPR reveal, a refusal — is a line of its own;
    ``window`` None: every entry is (the full log). The lines of ``reader`` (an actor's
    label) are marked as their own.
    """
    lines: list[AccessLogLine] = []
    open_reads: dict[tuple[str, str], int] = {}  # (actor, purpose) -> index of its line
    for row in rows:
        purpose = _shown_purpose(row)
        line = AccessLogLine(
            row.at,
            row.action,
            row.object_type,
            row.actor.partition(":")[0],
            purpose,
            own=reader is not None and row.actor == reader,
        )
        if window is None or row.action != AuditAction.READ or row.object_type != AuditObject.CASE:
            lines.append(line)
            continue
        key = (row.actor, row.purpose)
        index = open_reads.get(key)
        if index is not None and row.at - lines[index].at <= window:
            first = lines[index]
            lines[index] = replace(first, count=first.count + 1, until=row.at)
            continue
        open_reads[key] = len(lines)
        lines.append(line)
    return lines


@dataclass(frozen=True)
class PruneResult:
    """What log retention removed (or would remove, in a dry run)."""

    cutoff: datetime
    entries: int
    dry_run: bool


class AuditService:
    """Exports a case and its access log; prunes the log after its retention period."""

    def __init__(self, uow: UnitOfWork, retention_days: int) -> None:
        self.uow = uow
        self.retention_days = retention_days

    def export(self, reference: str, actor: Actor, purpose: str | None) -> dict[str, Any]:
        """The whole case as JSON-ready data (CPR masked), logged as an export.

        Through a legal basis the purpose must be stated (PurposeRequiredError).
        """
        now = self.uow.clock()
        with (
            audited_refusal(self.uow, actor, AuditObject.CASE_EXPORT, reference, purpose),
            self.uow.transaction() as session,
        ):
            case = case_by_reference(session, reference)
            access = authorise(session, case, actor, Action.EXPORT, purpose, self.uow.today())
            definition = self.uow.catalog.pinned(session, case.definition_version_id)
            view = read_case(session, case, definition, self.uow.cpr.mask, now)
            write_audit(
                session,
                at=now,
                actor=actor_label(actor),
                action=AuditAction.EXPORT,
                object_type=AuditObject.CASE_EXPORT,
                object_id=reference,
                purpose=purpose or "export",
                details=access_details(access),
            )
        exported = asdict(view)
        # Who exports it is in the log, not the case; what they were offered is their page.
        for part in ("reader", "reader_roles", "refused_steps"):
            exported.pop(part, None)
        # The parents by name: their own mail and phone are theirs, not the case's.
        exported["guardians"] = [{"name": g["name"]} for g in view.guardians]
        return {"exported_at": now, "case": exported}

    def access_log(self, reference: str, actor: Actor, purpose: str | None) -> list[AccessLogEntry]:
        """When and why the case was read, changed, exported or deleted — without names.

        Given to the citizen on request; the export itself is logged too.
        """
        _, rows = self._case_log(reference, actor, purpose, lambda rows: {})
        return [
            AccessLogEntry(
                at=row.at,
                action=row.action,
                what=row.object_type,
                role=row.actor.partition(":")[0],
                purpose=_shown_purpose(row),
            )
            for row in rows
        ]

    def access_log_shown(
        self,
        reference: str,
        actor: Actor,
        purpose: str | None,
        window: timedelta | None = READ_WINDOW,
    ) -> ShownAccessLog:
        """The access log as the citizen's pages show it (:func:`collapse_reads`): repeated
        reads by one person within ``window`` are one line with their number, a citizen's
        form mistakes are left out. ``window`` None: the full log, every entry (the CLI's,
        which the municipality hands out on request); as codes it is :meth:`access_log`
        (the API). Producing it is logged as an export, as there."""
        shown: list[AccessLogLine] = []

        def folded(rows: Sequence[AuditEntry]) -> dict[str, Any]:
            kept = rows if window is None else [r for r in rows if not _a_form_mistake(r)]
            shown.extend(collapse_reads(kept, window, actor_label(actor)))
            return {"lines": len(shown)}

        definition, _ = self._case_log(reference, actor, purpose, folded)
        return ShownAccessLog(definition, shown)

    def _case_log(
        self,
        reference: str,
        actor: Actor,
        purpose: str | None,
        details: Callable[[Sequence[AuditEntry]], dict[str, Any]],
    ) -> tuple[Definition, Sequence[AuditEntry]]:
        """The case's own log entries, oldest first, for someone who may export the case;
        handing them out is logged as an export of the access log (a refusal is audited)."""
        now = self.uow.clock()
        with (
            audited_refusal(self.uow, actor, AuditObject.ACCESS_LOG, reference, purpose),
            self.uow.transaction() as session,
        ):
            case = case_by_reference(session, reference)
            access = authorise(session, case, actor, Action.EXPORT, purpose, self.uow.today())
            definition = self.uow.catalog.pinned(session, case.definition_version_id)
            rows = session.scalars(
                select(AuditEntry)
                .where(
                    AuditEntry.object_id == reference,
                    AuditEntry.object_type.in_(sorted(CASE_OBJECTS)),
                )
                .order_by(AuditEntry.at, AuditEntry.id)
            ).all()
            write_audit(
                session,
                at=now,
                actor=actor_label(actor),
                action=AuditAction.EXPORT,
                object_type=AuditObject.ACCESS_LOG,
                object_id=reference,
                purpose=purpose or "access log for the citizen",
                details=access_details(access) | {"entries": len(rows)} | details(rows),
            )
        return definition, rows

    def prune(self, actor: str, *, dry_run: bool = True) -> PruneResult:
        """Remove entries older than the retention period; the removal is itself logged."""
        now = self.uow.clock()
        cutoff = now - timedelta(days=self.retention_days)
        with self.uow.transaction() as session:
            older = AuditEntry.at < cutoff
            count = session.scalar(select(func.count()).select_from(AuditEntry).where(older)) or 0
            if not dry_run and count:
                session.execute(delete(AuditEntry).where(older))
                write_audit(
                    session,
                    at=now,
                    actor=actor,
                    action=AuditAction.DELETE,
                    object_type=AuditObject.AUDIT_LOG,
                    object_id=f"before {cutoff.date().isoformat()}",
                    purpose="log retention",
                    details={"entries": count, "retention_days": self.retention_days},
                )
        return PruneResult(cutoff, count, dry_run)


#: Refusals of a step for what its form said (a field missing, a rule of the step, the
#: wrong moment): someone on the case tried and fixed it; nothing was read or changed.
#: The citizen's page leaves them out (the log keeps them); refusals of who acted (a role
#: not held, a case not theirs, a purpose not given) it shows.
_FORM_MISTAKES = frozenset(RejectionReason) - {
    RejectionReason.ROLE_NOT_ALLOWED,
    RejectionReason.SEPARATION_OF_DUTIES,
}


def _a_form_mistake(row: AuditEntry) -> bool:
    return row.action == AuditAction.REFUSED and (row.details or {}).get("reason") in (
        _FORM_MISTAKES
    )


def _shown_purpose(row: AuditEntry) -> str:
    """The purpose the citizen reads: a refused attempt shows only the step it tried (a
    purpose stated by someone who was refused is their word, not a use of the data)."""
    if row.action != AuditAction.REFUSED:
        return row.purpose
    event = row.details.get("event") if isinstance(row.details, dict) else None
    return str(event) if event else ""
