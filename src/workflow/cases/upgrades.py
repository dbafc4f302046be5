"""Moving running cases to a newer version of their definition: planned, refused or done.

A case stays on the definition version it started on (see :mod:`workflow.store.catalog`); a
municipality that ships version 2 moves its running cases explicitly:

* every open case of the definition that is not on the target is planned: its stage and
  the stage it would resume to (``@previous``) must exist in the target, either under the
  same id or through ``--map old=new``; a mapping into a final stage is refused (closing
  a case is a caseworker's step, not an upgrade);
* a case whose undelivered notifications use a template or department the target lacks
  is not moved until the sweep has delivered them;
* a plan with any stranded case is refused whole, listing each case and stage, and
  nothing is written; otherwise every case is moved in one transaction, each with a
  history event (``definition_migrated``) and an audit entry, its running timers kept
  where the target still has them and cancelled where it does not.

Cases not selected stay on their version and keep working.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from workflow.cases.definition_versions import DefinitionVersions
from workflow.engine.migration_plan import (
    CaseMove,
    CaseSnapshot,
    MigrationPlan,
    MigrationRefusedError,
    mapping_problems,
    plan_case,
)
from workflow.engine.model import CancelTimer
from workflow.errors import InvalidRequestError, Problem, WorkflowError
from workflow.store.audit import AuditAction, AuditObject, write_audit
from workflow.store.states import OutboxState, TimerState
from workflow.store.tables import Case, CaseTimer, DefinitionVersion, HistoryEvent, OutboxRow
from workflow.store.unit_of_work import UnitOfWork

MIGRATED_EVENT = "definition_migrated"
RUNNING = select(CaseTimer.case_id, CaseTimer.timer).where(CaseTimer.state == TimerState.RUNNING)
UNDELIVERED = select(OutboxRow.case_id, OutboxRow.template, OutboxRow.recipient).where(
    OutboxRow.state.in_((OutboxState.PENDING, OutboxState.SENDING))
)


class UpgradeService:
    """Lists definition versions in the store and migrates running cases between them."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.versions = DefinitionVersions(uow)

    # --- migration -----------------------------------------------------------------

    def migrate(
        self,
        definition_id: str,
        to_version: int,
        mapping: dict[str, str],
        *,
        actor: str,
        references: list[str] | None = None,
        dry_run: bool = True,
    ) -> MigrationPlan:
        """Plan the migration and, unless ``dry_run``, carry it out; refuse if it strands."""
        for _attempt in range(3):
            try:
                return self._migrate_once(
                    definition_id, to_version, mapping, actor, references, dry_run
                )
            except _DryRun as planned:  # rolled back: a dry run registers no version either
                with self.uow.transaction() as session:
                    write_audit(session, **planned.entry)
                return planned.plan
            except _StaleError:
                continue  # a caseworker changed a case meanwhile: plan again
        raise WorkflowError("cases kept changing during the migration; run it again")

    def _migrate_once(
        self,
        definition_id: str,
        to_version: int,
        mapping: dict[str, str],
        actor: str,
        references: list[str] | None,
        dry_run: bool,
    ) -> MigrationPlan:
        catalog = self.uow.catalog
        now = self.uow.clock()
        with self.uow.transaction() as session:
            target_id = self.versions.version_id(session, definition_id, to_version)
            target = catalog.pinned(session, target_id)
            cases = self._candidates(session, definition_id, target_id, references)
            sources = {
                v: catalog.pinned(session, v) for v in {c.definition_version_id for c in cases}
            }
            problems = mapping_problems(mapping, sources.values(), target)
            plan = MigrationPlan(
                definition_id, target.version, target.content_hash, mapping, dry_run=dry_run
            )
            ids = [c.id for c in cases]
            timers = self._by_case(session, RUNNING, ids)
            waiting = self._by_case(session, UNDELIVERED, ids)
            for case in cases:
                source = sources[case.definition_version_id]
                move, stranded = plan_case(
                    CaseSnapshot(case.reference, case.stage, case.previous_stage),
                    source,
                    target,
                    mapping,
                    [timer for (timer,) in timers.get(case.id, [])],
                    waiting.get(case.id, []),
                )
                problems.extend(stranded)
                if move is not None:
                    plan.moves.append(move)
            if problems:
                raise MigrationRefusedError(problems)
            entry: dict[str, Any] = {
                "at": now,
                "actor": actor,
                "action": AuditAction.READ if dry_run else AuditAction.CHANGE,
                "object_type": AuditObject.DEFINITION,
                "object_id": definition_id,
                "purpose": "definition migration (dry run)" if dry_run else "definition migration",
                "details": {"to_version": target.version, "cases": len(plan.moves), "map": mapping},
            }
            if dry_run:  # what was read is logged; the version it registered is rolled back
                raise _DryRun(plan, entry)
            write_audit(session, **entry)
            by_reference = {c.reference: c for c in cases}
            for move in plan.moves:
                case = by_reference[move.reference]
                self._apply(session, case, move, target_id, plan, actor, now)
                write_audit(
                    session,
                    at=now,
                    actor=actor,
                    action=AuditAction.CHANGE,
                    object_type=AuditObject.CASE,
                    object_id=move.reference,
                    purpose="definition migration",
                    details={
                        "definition": definition_id,
                        "from_version": move.from_version,
                        "to_version": target.version,
                        "from_stage": move.from_stage,
                        "to_stage": move.to_stage,
                    },
                )
        return plan

    @staticmethod
    def _candidates(
        session: Session, definition_id: str, target_id: int, references: list[str] | None
    ) -> list[Case]:
        query = (
            select(Case)
            .join(DefinitionVersion, DefinitionVersion.id == Case.definition_version_id)
            .where(
                DefinitionVersion.definition_id == definition_id,
                Case.definition_version_id != target_id,
                Case.closed_at.is_(None),
            )
            .order_by(Case.id)
        )
        if references is None:
            return list(session.scalars(query))
        wanted = list(dict.fromkeys(references))
        found = {c.reference: c for c in session.scalars(query.where(Case.reference.in_(wanted)))}
        missing = [ref for ref in wanted if ref not in found]
        if missing:
            raise InvalidRequestError(
                [
                    Problem(
                        None,
                        ref,
                        f"no open case of {definition_id} on another version than the target",
                        "check the reference; closed cases and cases already on the target "
                        "are not migrated",
                    )
                    for ref in missing
                ]
            )
        return [found[ref] for ref in wanted]

    @staticmethod
    def _by_case(
        session: Session, query: Select[*tuple[Any, ...]], case_ids: list[int]
    ) -> dict[int, list[Any]]:
        """Rows of ``query`` (case id first) for these cases, 500 cases per statement."""
        found: dict[int, list[Any]] = defaultdict(list)
        case_id = query.selected_columns[0]
        for start in range(0, len(case_ids), 500):
            for row in session.execute(query.where(case_id.in_(case_ids[start : start + 500]))):
                found[row[0]].append(tuple(row[1:]))
        return found

    @staticmethod
    def _apply(
        session: Session,
        case: Case,
        move: CaseMove,
        target_id: int,
        plan: MigrationPlan,
        actor: str,
        now: datetime,
    ) -> None:
        connection = session.connection()
        seq = case.last_seq + 1
        changed = connection.execute(
            update(Case)
            .where(Case.id == case.id, Case.version == case.version)
            .values(
                definition_version_id=target_id,
                stage=move.to_stage,
                previous_stage=move.to_previous,
                version=case.version + 1,
                last_seq=seq,
            )
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:
            raise _StaleError(case.reference)
        if move.timers_cancelled:
            connection.execute(
                update(CaseTimer)
                .where(
                    CaseTimer.case_id == case.id,
                    CaseTimer.state == TimerState.RUNNING,
                    CaseTimer.timer.in_(move.timers_cancelled),
                )
                .values(state=TimerState.CANCELLED)
                .execution_options(synchronize_session=False)
            )
        session.add(
            HistoryEvent(
                case_id=case.id,
                seq=seq,
                event=MIGRATED_EVENT,
                transition=MIGRATED_EVENT,
                from_stage=move.from_stage,
                to_stage=move.to_stage,
                inputs={
                    "definition": plan.definition_id,
                    "from_version": move.from_version,
                    "to_version": plan.to_version,
                    "to_hash": plan.to_hash,
                    "previous_stage": [move.from_previous, move.to_previous],
                },
                effects=[{"type": CancelTimer.__name__, "timer": t} for t in move.timers_cancelled],
                actor_role="operator",
                actor_id=actor.removeprefix("operator:"),
                at=now,
            )
        )


class _StaleError(Exception):
    """A case changed between planning and writing."""


class _DryRun(Exception):  # noqa: N818 - a signal, not an error
    """A dry run's plan, raised so that its transaction is rolled back."""

    def __init__(self, plan: MigrationPlan, entry: dict[str, Any]) -> None:
        super().__init__(plan.definition_id)
        self.plan = plan
        self.entry = entry
