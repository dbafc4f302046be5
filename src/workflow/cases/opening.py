"""Opening a case by referral: the young person, the case row and its first step.

Called by :class:`workflow.cases.service.CaseService` inside its transaction, one referral
at a time (refer) or many (bulk intake: a chunk of 1,000 is decided first, then written
with a handful of statements, not ten round trips a referral). Refusals and repeated keys
are returned, not raised, so one bad row never spoils a batch. What a referral is
checked for and how it is decided is :mod:`workflow.cases.referral_checks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from workflow.cases.model import Referral, StepResult
from workflow.cases.recording import Step, record_step
from workflow.cases.referral_checks import Asked, Opening, ReferralChecks, ask_store
from workflow.cases.referred_again import NewCourse, tell_open_courses
from workflow.definitions.vocabulary import CASEWORKER_ROLE
from workflow.engine.model import Decision
from workflow.errors import WorkflowError
from workflow.store.catalog import UnknownDefinitionError
from workflow.store.driver import DriverStatement, deferred_inserts
from workflow.store.repository import next_references
from workflow.store.statements import CASE_COLUMNS, insert_columns
from workflow.store.tables import Case, Guardian, YoungPerson
from workflow.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class _SameKey:
    """A referral whose key an earlier referral of the same batch opened a case with."""

    first: int  # that referral's index


_Outcome = Opening | StepResult | WorkflowError | _SameKey


def _decide_openings(
    uow: UnitOfWork,
    session: Session,
    requests: Sequence[Referral],
    now: datetime,
    *,
    batch: bool,
    checks: ReferralChecks | None = None,
) -> list[_Outcome]:
    """Each referral's decision, its key's first result (a repeated key), or why not.

    ``batch`` (the referrals are opened together) makes a key an earlier referral opens a
    case with give that case, as if that one's key had been stored first. ``checks``: the
    decisions of a check made as of ``now`` (a bulk intake's), taken where alike.
    """
    asked = ask_store(uow, session, requests, now)
    if checks is None or checks.now != now:
        checks = ReferralChecks(now)
    decided: list[_Outcome] = [
        checks.decided(o, asked.staff[id(o)]) if isinstance(o, Asked) else o for o in asked.outcomes
    ]
    if batch:
        _same_keys(requests, decided, asked.stored)
    return decided


def _same_keys(
    requests: Sequence[Referral], decided: list[_Outcome], stored: dict[str, dict[str, Any]]
) -> None:
    """A key an earlier referral of the batch opens a case with: that case, as one by one
    (its key stored first: the later referral is not checked further)."""
    first: dict[str, int] = {}
    for index, (request, outcome) in enumerate(zip(requests, decided, strict=True)):
        key = request.idempotency_key
        if not key or key in stored or isinstance(outcome, UnknownDefinitionError):
            continue
        if key in first:
            decided[index] = _SameKey(first[key])
        elif isinstance(outcome, Opening):
            first[key] = index


def open_case_in(
    uow: UnitOfWork, session: Session, request: Referral, now: datetime
) -> StepResult | WorkflowError:
    """Open one case in the caller's transaction (or say why not)."""
    return open_cases_in(uow, session, [request], now)[0]


def open_cases_in(
    uow: UnitOfWork,
    session: Session,
    requests: Sequence[Referral],
    now: datetime,
    checks: ReferralChecks | None = None,
    written_at: datetime | None = None,
) -> list[StepResult | WorkflowError]:
    """Open many cases in the caller's transaction, each as if opened alone and in order
    (refusals and repeated keys are returned, and write nothing).

    ``checks``: the decisions of a check made as of ``now`` (a bulk intake opens its
    file's cases as of the moment its check began), taken for referrals alike.
    ``written_at``: when the cases are written, for their audit entries (default ``now``).

    Decided first, then written together: the references of a municipality and year in
    one statement (in the referrals' order), the young people and the cases in one
    INSERT ... RETURNING each, and each case's first step (history, timers, outbox,
    audit entry, figures, idempotency key) recorded as one referral records it, its
    INSERTs sent as one executemany per statement (:func:`deferred_inserts`).
    """
    outcomes = _decide_openings(uow, session, requests, now, batch=True, checks=checks)
    openings = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, Opening)]
    results: dict[int, StepResult] = {}
    if openings:
        results = _write_openings(uow, session, openings, now, written_at or now)
    done: list[StepResult | WorkflowError] = []
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, Opening):
            done.append(results[index])
        elif isinstance(outcome, _SameKey):
            done.append(replace(results[outcome.first], repeated=True))
        else:
            done.append(outcome)
    return done


def _write_openings(
    uow: UnitOfWork,
    session: Session,
    openings: list[tuple[int, Opening]],
    now: datetime,
    written_at: datetime,
) -> dict[int, StepResult]:
    """Write the accepted referrals' cases, opened as of ``now`` (their audit entries at
    ``written_at``); their first steps' results by index."""
    references: dict[int, str] = {}
    by_counter: dict[tuple[str, int], list[int]] = {}
    for index, opening in openings:
        municipality = opening.definition.municipality
        assert municipality is not None
        by_counter.setdefault((municipality.case_prefix, opening.local_day.year), []).append(index)
    for (prefix, year), indexes in by_counter.items():
        references.update(
            zip(indexes, next_references(session, prefix, year, len(indexes)), strict=True)
        )
    connection = session.connection()
    people = [opening.request.person for _, opening in openings]
    young_ids = INSERT_YOUNG_PEOPLE.inserted(
        connection,
        [
            {
                "name": person.name,
                "cpr": uow.cpr.encrypt(person.cpr),
                "cpr_key": uow.cpr.lookup_key(person.cpr),
                "birth_date": person.birth_date,
                # As checked (referral_checks): an address with spaces around it was
                # taken and stored so, and every mail to it failed.
                "email": _trimmed(person.email),
                "phone": _trimmed(person.phone),
            }
            for person in people
        ],
    )
    versions = {
        id(definition): uow.catalog.register(session, definition)
        for definition in {id(o.definition): o.definition for _, o in openings}.values()
    }
    rows: list[dict[str, Any]] = []
    decisions: list[Decision] = []
    for (index, opening), young_id in zip(openings, young_ids, strict=True):
        definition, reference = opening.definition, references[index]
        assert definition.municipality is not None
        decision = replace(
            opening.decision, case=replace(opening.decision.case, reference=reference)
        )
        new = decision.case
        # The case is inserted in its opened state (version 1, step 1).
        rows.append(
            {
                "reference": reference,
                "municipality_code": definition.municipality.code,
                "kle": definition.municipality.kle,
                "definition_version_id": versions[id(definition)],
                "stage": new.stage,
                "previous_stage": None,
                "data": dict(new.data),
                "milestones": sorted(new.milestones),
                "counts": dict(new.counts),
                "young_person_id": young_id,
                "caseworker": new.holder(CASEWORKER_ROLE),
                "opened_at": now,
                "closed_at": None,
                "version": 1,
                "last_seq": 1,
                "timing": new.timing.as_data(),
            }
        )
        decisions.append(decision)
    case_ids = INSERT_CASES.inserted(connection, rows)
    tell_open_courses(
        session,
        [
            NewCourse(
                case_id,
                row["reference"],
                row["municipality_code"],
                row["caseworker"],
                tuple(uow.cpr.lookup_keys(opening.request.person.cpr)),
                opening.definition.locale,
            )
            for (_, opening), row, case_id in zip(openings, rows, case_ids, strict=True)
        ],
        now,
    )
    results: dict[int, StepResult] = {}
    with deferred_inserts(connection):
        for (index, opening), row, case_id, decision in zip(
            openings, rows, case_ids, decisions, strict=True
        ):
            case = _NewCase(
                case_id,
                row["reference"],
                row["municipality_code"],
                row["definition_version_id"],
                row["caseworker"],
                row["young_person_id"],
            )
            guardians = opening.request.person.guardians
            if guardians:
                INSERT_GUARDIANS.executemany(
                    connection,
                    [
                        {
                            "case_id": case_id,
                            "name": guardian.name,
                            "cpr": uow.cpr.encrypt(guardian.cpr),
                            "cpr_key": uow.cpr.lookup_key(guardian.cpr),
                            "email": _trimmed(guardian.email),
                            "phone": _trimmed(guardian.phone),
                            "since": now,
                            "until": None,
                        }
                        for guardian in guardians
                    ],
                )
            step = Step(
                definition=opening.definition,
                case=case,
                decision=decision,
                actor=opening.request.actor,
                inputs=opening.given,
                at=now,
                purpose=opening.request.purpose,
                idempotency_key=opening.request.idempotency_key,
                opening=True,
                written_at=written_at,
            )
            results[index] = record_step(session, step)
    return results


@dataclass(frozen=True, slots=True)
class _NewCase:
    """A case row just inserted (what recording its first step reads of it)."""

    id: int
    reference: str
    municipality_code: str
    definition_version_id: int
    caseworker: str | None
    young_person_id: int | None
    version: int = 1
    last_seq: int = 1
    closed_at: datetime | None = None


#: INSERT ... RETURNING the new id, for many rows at once (DriverStatement.inserted).
INSERT_YOUNG_PEOPLE = DriverStatement(
    insert(YoungPerson).returning(YoungPerson.id), insert_columns(YoungPerson)
)
INSERT_CASES = DriverStatement(insert(Case).returning(Case.id), CASE_COLUMNS)
INSERT_GUARDIANS = DriverStatement(insert(Guardian), insert_columns(Guardian))


def _trimmed(value: str | None) -> str | None:
    """A contact detail without the spaces around it (None when nothing is left)."""
    return (value or "").strip() or None
