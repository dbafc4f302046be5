"""The operator's view of the machinery: the outbox and one case's steps, timers and
deliveries — codes only — and putting given-up deliveries back in line. Every use audited.

The operator stands outside the cases: they see no personal data (no names, addresses,
inputs, payloads or error texts; see :mod:`workflow.store.outbox_admin`), so every case's
machinery is theirs to see, and "no case" means no case has that reference. Each use is
written to the audit log in the same transaction: who (``operator:<staff id>``), what
(``outbox`` or ``machinery``, the case reference or ``outbox:<id>``) and why (the purpose
given). These entries are about the machinery, not the young person's data, so they are
not in :data:`workflow.store.audit.CASE_OBJECTS` (the citizen's access log).

Built from a session factory and a clock only — no definitions, no runtime, no Prefect —
so the commands answer at once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from workflow.errors import CaseNotFoundError, WorkflowError
from workflow.store.audit import AuditAction, AuditObject, write_audit
from workflow.store.outbox_admin import (
    Machinery,
    OutboxLine,
    case_id_of,
    machinery,
    outbox_lines,
    put_back_in_line,
    step_codes,
)
from workflow.store.states import OutboxState

#: How the audit log names an operator: ``operator:<staff id>`` (as ``workflow access``,
#: ``retention`` and ``audit prune`` do).
OPERATOR = "operator"


@dataclass(frozen=True)
class RetryResult:
    """What a retry did: the rows put back in line, and the asked-for rows left as they
    were (sent, pending or sending; withheld without the flag), with their state."""

    retried: list[OutboxLine]
    left: list[OutboxLine]
    missing: list[int]


class MachineryService:
    """The operator's commands on the store (codes only; every use audited)."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.clock = clock

    @staticmethod
    def _who(by: str) -> str:
        if not by.strip():
            raise WorkflowError("say who you are: --by STAFF-ID (kept in the audit log)")
        return f"{OPERATOR}:{by.strip()}"

    def outbox(
        self,
        by: str,
        purpose: str,
        *,
        states: Collection[str] = (),
        reference: str | None = None,
        limit: int | None = 50,
    ) -> list[OutboxLine]:
        """Outbox rows (newest first), by state and case; the read is audited."""
        who = self._who(by)
        unknown = sorted(set(states) - {s.value for s in OutboxState})
        if unknown:
            raise WorkflowError(
                f"unknown state {', '.join(unknown)}; "
                f"known: {', '.join(s.value for s in OutboxState)}"
            )
        with self.sessions() as session, session.begin():
            case_id = None
            if reference is not None:
                case_id = case_id_of(session, reference)
            if reference is not None and case_id is None:
                lines: list[OutboxLine] = []
            else:
                lines = outbox_lines(session, states=states, case_id=case_id, limit=limit)
            write_audit(
                session,
                at=self.clock(),
                actor=who,
                action=AuditAction.SEARCH,
                object_type=AuditObject.OUTBOX,
                object_id=reference or "*",
                purpose=purpose,
                details={"states": sorted(states), "rows": len(lines)},
            )
        if reference is not None and case_id is None:
            raise CaseNotFoundError(f"no case {reference}")
        return lines

    def retry(
        self,
        by: str,
        purpose: str,
        *,
        ids: Sequence[int] = (),
        reference: str | None = None,
        all_dead: bool = False,
        include_withheld: bool = False,
    ) -> RetryResult:
        """Put given-up rows back in line (pending, due now, no attempts, no error): the
        next delivery or sweep sends them. Asked by ids, by case, or every dead row; a
        withheld row only with ``include_withheld`` (its consent is checked again when it
        is sent). One transaction, an audit entry per row put back."""
        who = self._who(by)
        if sum((bool(ids), reference is not None, all_dead)) != 1:
            raise WorkflowError("name the rows: outbox ids, or --case REF, or --all-dead")
        retryable = {OutboxState.DEAD.value}
        if include_withheld:
            retryable.add(OutboxState.WITHHELD.value)
        now = self.clock()
        with self.sessions() as session, session.begin():
            no_case = False
            if reference is not None:
                case_id = case_id_of(session, reference)
                no_case = case_id is None
                asked = [] if no_case else outbox_lines(session, case_id=case_id)
                asked = [x for x in asked if x.state != OutboxState.SENT]
            elif all_dead:
                asked = outbox_lines(session, states=(OutboxState.DEAD,))
            else:
                asked = outbox_lines(session, ids=ids)
            chosen = [x.id for x in asked if x.state in retryable]
            changed = set(put_back_in_line(session, chosen, now))
            for line in sorted(asked, key=lambda x: x.id):
                if line.id not in changed:
                    continue
                write_audit(
                    session,
                    at=now,
                    actor=who,
                    action=AuditAction.CHANGE,
                    object_type=AuditObject.OUTBOX,
                    object_id=f"outbox:{line.id}",
                    purpose=purpose,
                    details={
                        "case": line.reference,
                        "from": line.state,
                        "to": OutboxState.PENDING.value,
                    },
                )
            if no_case:  # the attempt is on record too
                write_audit(
                    session,
                    at=now,
                    actor=who,
                    action=AuditAction.CHANGE,
                    object_type=AuditObject.OUTBOX,
                    object_id=reference or "",
                    purpose=purpose,
                    details={"found": False},
                )
        if no_case:
            raise CaseNotFoundError(f"no case {reference}")
        found = {x.id for x in asked}
        return RetryResult(
            retried=sorted((x for x in asked if x.id in changed), key=lambda x: x.id),
            left=sorted((x for x in asked if x.id not in changed), key=lambda x: x.id),
            missing=sorted(set(ids) - found),
        )

    def step_codes(self, lines: Sequence[OutboxLine]) -> list[tuple[str, int, str, str, str]]:
        """The steps of these rows by their codes (reference, step number, municipality,
        stage, event), each once, in order: what a redelivery run is tagged with."""
        wanted = sorted({(x.reference, x.step) for x in lines if x.step is not None})
        if not wanted:
            return []
        with self.sessions() as session:
            return step_codes(session, wanted)

    def case(self, reference: str, by: str, purpose: str) -> Machinery:
        """One case's stage, steps, timers and deliveries (codes); the read is audited."""
        who = self._who(by)
        with self.sessions() as session, session.begin():
            view = machinery(session, reference)
            write_audit(
                session,
                at=self.clock(),
                actor=who,
                action=AuditAction.READ,
                object_type=AuditObject.MACHINERY,
                object_id=reference,
                purpose=purpose,
                details={"found": view is not None},
            )
        if view is None:
            raise CaseNotFoundError(f"no case {reference}")
        return view
