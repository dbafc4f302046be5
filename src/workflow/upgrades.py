"""Moving running cases to a newer version of their definition: planned, refused or done.

A case stays on the definition version it started on (see :mod:`workflow.catalog`); a
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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from workflow.catalog import UnknownDefinitionError
from workflow.definitions import Definition
from workflow.definitions.vocabulary import StageKind
from workflow.errors import Problem, WorkflowError, did_you_mean
from workflow.service_types import InvalidRequestError
from workflow.services import CaseService
from workflow.store.audit import write_audit
from workflow.store.tables import Case, CaseTimer, DefinitionVersion, HistoryEvent, OutboxRow

MIGRATED_EVENT = "definition_migrated"
_UNDELIVERED = ("pending", "sending")


class MigrationRefusedError(WorkflowError):
    """The migration would strand cases; nothing was changed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"migration refused: {len(problems)} problem(s)")


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


@dataclass(frozen=True)
class CaseMove:
    """What a migration does (or would do) to one case."""

    reference: str
    from_version: int
    from_stage: str
    to_stage: str
    from_previous: str | None
    to_previous: str | None
    timers_kept: tuple[str, ...]
    timers_cancelled: tuple[str, ...]


@dataclass
class MigrationPlan:
    """The cases a migration moves, and the target they move to."""

    definition_id: str
    to_version: int
    to_hash: str
    mapping: dict[str, str]
    moves: list[CaseMove] = field(default_factory=list)
    dry_run: bool = True

    def by_stage(self) -> dict[tuple[str, str], int]:
        """How many cases move from each stage to each stage."""
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for move in self.moves:
            counts[(move.from_stage, move.to_stage)] += 1
        return dict(counts)


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``old=new`` pairs as a mapping; a malformed or repeated pair is refused."""
    mapping: dict[str, str] = {}
    problems: list[Problem] = []
    for pair in pairs:
        old, sep, new = (part.strip() for part in pair.partition("="))
        if not sep or not old or not new:
            problems.append(Problem(None, "--map", f"'{pair}' is not old_stage=new_stage"))
        elif old in mapping and mapping[old] != new:
            problems.append(Problem(None, "--map", f"stage '{old}' is mapped twice"))
        else:
            mapping[old] = new
    if problems:
        raise InvalidRequestError(problems)
    return mapping


class UpgradeService:
    """Lists definition versions in the store and migrates running cases between them."""

    def __init__(self, cases: CaseService) -> None:
        self.cases = cases

    # --- versions ------------------------------------------------------------------

    def versions(self, definition_id: str | None = None) -> list[StoredVersion]:
        """Every stored version (of one definition), with its open cases."""
        current = {d.content_hash for d in self.cases.catalog.current.values()}
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
        with self.cases.sessions() as session:
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
            for d in self.cases.catalog.current.values()
            if d.content_hash not in stored and not d.abstract and definition_id in (None, d.id)
        ]
        return sorted(found, key=lambda v: (v.definition_id, v.version, v.registered_at is None))

    def stored(self, definition_id: str, version: int) -> Definition:
        """A version of a definition: the current file if it has that number, else the store's."""
        with self.cases.sessions() as session:
            return self.cases.catalog.pinned(
                session, self._version_id(session, definition_id, version)
            )

    def _version_id(self, session: Session, definition_id: str, version: int) -> int:
        catalog = self.cases.catalog
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
        catalog = self.cases.catalog
        now = self.cases.clock()
        with self.cases.transaction() as session:
            target_id = self._version_id(session, definition_id, to_version)
            target = catalog.pinned(session, target_id)
            cases = self._candidates(session, definition_id, target_id, references)
            sources = {
                v: catalog.pinned(session, v) for v in {c.definition_version_id for c in cases}
            }
            problems = self._mapping_problems(mapping, sources.values(), target)
            plan = MigrationPlan(
                definition_id, target.version, target.content_hash, mapping, dry_run=dry_run
            )
            timers = self._running_timers(session, [c.id for c in cases])
            waiting = self._undelivered(session, [c.id for c in cases])
            for case in cases:
                source = sources[case.definition_version_id]
                move, stranded = self._plan_case(
                    case, source, target, mapping, timers.get(case.id, []), waiting.get(case.id)
                )
                problems.extend(stranded)
                if move is not None:
                    plan.moves.append(move)
            if problems:
                raise MigrationRefusedError(problems)
            write_audit(
                session,
                at=now,
                actor=actor,
                action="read" if dry_run else "change",
                object_type="definition",
                object_id=definition_id,
                purpose="definition migration (dry run)" if dry_run else "definition migration",
                details={"to_version": target.version, "cases": len(plan.moves), "map": mapping},
            )
            if not dry_run:
                by_reference = {c.reference: c for c in cases}
                for move in plan.moves:
                    case = by_reference[move.reference]
                    self._apply(session, case, move, target_id, plan, actor, now)
                    write_audit(
                        session,
                        at=now,
                        actor=actor,
                        action="change",
                        object_type="case",
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
    def _mapping_problems(
        mapping: dict[str, str], sources: Any, target: Definition
    ) -> list[Problem]:
        known_old = {s.id for source in sources for s in source.stages}
        problems: list[Problem] = []
        for old, new in mapping.items():
            if known_old and old not in known_old:
                hint = did_you_mean(old, known_old)
                problems.append(
                    Problem(
                        None,
                        f"--map {old}={new}",
                        f"no running case's version has stage '{old}'",
                        hint,
                    )
                )
            stage = target.stages_by_id.get(new)
            if stage is None:
                hint = did_you_mean(new, target.stages_by_id)
                problems.append(
                    Problem(
                        None,
                        f"--map {old}={new}",
                        f"version {target.version} has no stage '{new}'",
                        hint,
                    )
                )
            elif stage.kind is StageKind.FINAL:
                problems.append(
                    Problem(
                        None,
                        f"--map {old}={new}",
                        f"'{new}' is a final stage; a migration does not close cases",
                        "close the cases with their own step, or map to an open stage",
                    )
                )
        return problems

    @staticmethod
    def _running_timers(session: Session, case_ids: list[int]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = defaultdict(list)
        for start in range(0, len(case_ids), 500):
            rows = session.execute(
                select(CaseTimer.case_id, CaseTimer.timer).where(
                    CaseTimer.case_id.in_(case_ids[start : start + 500]),
                    CaseTimer.state == "running",
                )
            )
            for case_id, timer in rows:
                found[case_id].append(timer)
        return found

    @staticmethod
    def _undelivered(session: Session, case_ids: list[int]) -> dict[int, list[OutboxRow]]:
        found: dict[int, list[OutboxRow]] = defaultdict(list)
        for start in range(0, len(case_ids), 500):
            rows = session.scalars(
                select(OutboxRow).where(
                    OutboxRow.case_id.in_(case_ids[start : start + 500]),
                    OutboxRow.state.in_(_UNDELIVERED),
                )
            )
            for row in rows:
                found[row.case_id].append(row)
        return found

    @staticmethod
    def _plan_case(
        case: Case,
        source: Definition,
        target: Definition,
        mapping: dict[str, str],
        timers: list[str],
        undelivered: list[OutboxRow] | None,
    ) -> tuple[CaseMove | None, list[Problem]]:
        problems: list[Problem] = []

        def mapped(stage: str, what: str) -> str | None:
            if stage in mapping:
                return mapping[stage]
            if stage in target.stages_by_id:
                return stage
            problems.append(
                Problem(
                    None,
                    case.reference,
                    f"{what} '{stage}' (version {source.version}) is not in version "
                    f"{target.version}",
                    f"map it: --map {stage}=NEW_STAGE",
                )
            )
            return None

        to_stage = mapped(case.stage, "stage")
        to_previous = (
            mapped(case.previous_stage, "stage to resume to")
            if case.previous_stage is not None
            else None
        )
        for row in undelivered or []:
            recipient = row.recipient or {}
            lacking = (
                f"template '{row.template}'"
                if row.template not in target.templates_by_id
                else f"department '{recipient.get('id')}'"
                if recipient.get("kind") == "department"
                and recipient.get("id") not in target.departments_by_id
                else None
            )
            if lacking:
                problems.append(
                    Problem(
                        None,
                        case.reference,
                        f"a notification not yet delivered needs {lacking}, which version "
                        f"{target.version} does not have",
                        "let the sweep deliver it first (workflow sweep), then migrate",
                    )
                )
        if to_stage is None or problems:
            return None, problems
        kept = tuple(t for t in timers if t in target.timers_by_id)
        cancelled = tuple(t for t in timers if t not in target.timers_by_id)
        return (
            CaseMove(
                case.reference,
                source.version,
                case.stage,
                to_stage,
                case.previous_stage,
                to_previous,
                kept,
                cancelled,
            ),
            [],
        )

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
                    CaseTimer.state == "running",
                    CaseTimer.timer.in_(move.timers_cancelled),
                )
                .values(state="cancelled")
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
                effects=[{"type": "CancelTimer", "timer": t} for t in move.timers_cancelled],
                actor_role="operator",
                actor_id=actor.removeprefix("operator:"),
                at=now,
            )
        )


class _StaleError(Exception):
    """A case changed between planning and writing."""
