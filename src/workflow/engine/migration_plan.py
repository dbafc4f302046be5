"""Planning a migration of running cases to another definition version (pure).

Which stage each case lands in, which of its running timers the target keeps, and what
strands a case: an unmapped stage (or stage to resume to), a mapping to a missing or
final stage, an undelivered notification needing what the target lacks. The store side
(selecting cases, writing the moves) is :mod:`workflow.cases.upgrades`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from workflow.definitions.models import Definition
from workflow.definitions.vocabulary import StageKind
from workflow.engine.vocabulary import RecipientKind
from workflow.errors import InvalidRequestError, Problem, WorkflowError, did_you_mean


@dataclass(frozen=True)
class CaseSnapshot:
    """The parts of a case a migration plan looks at."""

    reference: str
    stage: str
    previous_stage: str | None


class MigrationRefusedError(WorkflowError):
    """The migration would strand cases; nothing was changed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"migration refused: {len(problems)} problem(s)")


@dataclass(frozen=True)
class CaseMove:
    """What a migration does (or would do) to one case."""

    reference: str
    from_version: int
    from_stage: str
    to_stage: str
    from_previous: str | None
    to_previous: str | None
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


def mapping_problems(
    mapping: dict[str, str], sources: Iterable[Definition], target: Definition
) -> list[Problem]:
    """A mapping from a stage no source version has, or to a missing or final stage."""
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


def plan_case(
    case: CaseSnapshot,
    source: Definition,
    target: Definition,
    mapping: dict[str, str],
    timers: list[str],
    undelivered: list[tuple[str, dict[str, Any]]],
) -> tuple[CaseMove | None, list[Problem]]:
    """What migrating one case does, or the problems that strand it."""
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
                f"{what} '{stage}' (version {source.version}) is not in version {target.version}",
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
    for template, recipient in undelivered:
        lacking = (
            f"template '{template}'"
            if template not in target.templates_by_id
            else f"department '{recipient.get('id')}'"
            if recipient.get("kind") == RecipientKind.DEPARTMENT
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
    cancelled = tuple(t for t in timers if t not in target.timers_by_id)
    return (
        CaseMove(
            case.reference,
            source.version,
            case.stage,
            to_stage,
            case.previous_stage,
            to_previous,
            cancelled,
        ),
        [],
    )
