"""Opening a case by referral: the young person, the case row and its first step.

Called by :class:`workflow.cases.service.CaseService` inside its transaction, one referral
at a time (refer) or many (bulk intake: a chunk of 1,000 is decided first, then written
with a handful of statements, not ten round trips a referral). Refusals and repeated keys
are returned, not raised, so one bad row never spoils a batch.

The young person's details are checked here, the one place every way in passes (the web
form, the API, ``workflow case refer`` and ``workflow intake``): :func:`person_problems`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy.orm import Session

from workflow.cases.idempotency import repeated_result, stored_results
from workflow.cases.model import Referral, RejectedError, StepResult, YoungPersonDetails
from workflow.cases.recording import Step, record_step
from workflow.cases.referred_again import NewCourse, tell_open_courses
from workflow.cases.staff import staff_directories
from workflow.definitions.calendar import age_on
from workflow.definitions.models import Definition
from workflow.definitions.vocabulary import CASEWORKER_ROLE, REFER_EVENT
from workflow.engine.decide import open_case
from workflow.engine.inputs import FIRST_YEAR, InputFacts, StaffDirectory, name_problem
from workflow.engine.model import Decision, FieldError, Rejection, RejectionReason
from workflow.errors import WorkflowError
from workflow.privacy.cpr import cpr_birth_date, cpr_problem
from workflow.store.catalog import UnknownDefinitionError
from workflow.store.driver import DriverStatement, deferred_inserts
from workflow.store.repository import next_references
from workflow.store.statements import CASE_COLUMNS, insert_columns
from workflow.store.tables import Case, Guardian, YoungPerson
from workflow.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class _Opening:
    """A referral the engine accepted, not written yet."""

    request: Referral
    definition: Definition
    decision: Decision
    given: dict[str, Any]
    local_day: date


@dataclass(frozen=True)
class _Asked:
    """A referral that passed the checks that need no store: its staff ids are next."""

    request: Referral
    definition: Definition
    given: dict[str, Any]
    local_day: date


@dataclass(frozen=True)
class _SameKey:
    """A referral whose key an earlier referral of the same batch opened a case with."""

    first: int  # that referral's index


_Outcome = _Opening | StepResult | WorkflowError | _SameKey


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
    asked = _ask_store(uow, session, requests, now)
    if checks is None or checks.now != now:
        checks = ReferralChecks(now)
    decided: list[_Outcome] = [
        checks.decided(o, asked.staff[id(o)]) if isinstance(o, _Asked) else o
        for o in asked.outcomes
    ]
    if batch:
        _same_keys(requests, decided, asked.stored)
    return decided


@dataclass(frozen=True)
class _Answers:
    """What the store knows of a batch of referrals."""

    #: Each referral after the checks that need no engine (an :class:`_Asked` passed them).
    outcomes: list[_Outcome | _Asked]
    #: The staff each :class:`_Asked` names, by its id().
    staff: dict[int, StaffDirectory]
    #: The stored results of the referrals' idempotency keys.
    stored: dict[str, dict[str, Any]]


def _ask_store(
    uow: UnitOfWork, session: Session, requests: Sequence[Referral], now: datetime
) -> _Answers:
    """Each referral after the checks that need no engine, and the staff it names.

    What the store knows is asked set-wise: the stored results of all the keys in one
    query, the staff ids of a municipality's referrals in one (and one to learn whether
    it has accounts). Each referral means what it means alone, in order.
    """
    keys = [r.idempotency_key for r in requests if r.idempotency_key]
    stored = stored_results(session.connection(), keys) if keys else {}
    outcomes: list[_Outcome | _Asked] = [
        _first_checks(uow, request, now, stored) for request in requests
    ]
    asked = [o for o in outcomes if isinstance(o, _Asked)]
    staff: dict[int, StaffDirectory] = {}
    for municipality in dict.fromkeys(_municipality(a.definition) for a in asked):
        mine = [a for a in asked if _municipality(a.definition) == municipality]
        directories = staff_directories(session, municipality, [a.given for a in mine])
        staff.update((id(a), d) for a, d in zip(mine, directories, strict=True))
    return _Answers(outcomes, staff, stored)


def _municipality(definition: Definition) -> str:
    assert definition.municipality is not None
    return definition.municipality.code


def _first_checks(
    uow: UnitOfWork, request: Referral, now: datetime, stored: dict[str, dict[str, Any]]
) -> _Asked | StepResult | WorkflowError:
    """The checks of a referral that need no store beyond its key's stored result."""
    try:
        definition = uow.catalog.by_id(request.definition_id)
    except WorkflowError as exc:
        return exc
    assert definition.municipality is not None
    key = request.idempotency_key
    if key and key in stored:
        try:
            return repeated_result(stored[key], key, None, REFER_EVENT)
        except WorkflowError as exc:
            return exc
    local_day = now.astimezone(ZoneInfo(definition.calendar.timezone)).date()
    problems = person_problems(request.person, local_day)
    if problems:
        return person_refused(problems)
    given = dict(request.inputs)
    if any(i.name == "age" for i in definition.referral.inputs):  # the form asks the age
        given["age"] = age_on(request.person.birth_date, local_day)
    return _Asked(request, definition, given, local_day)


def _decide(asked: _Asked, now: datetime, staff: StaffDirectory) -> _Opening | WorkflowError:
    """The engine's decision on a referral that passed the first checks (all it is given
    but ``now`` is :func:`_engine_arguments`: keep the two together)."""
    request, definition = asked.request, asked.definition
    decision = open_case(
        definition,
        "(new)",
        request.actor,
        asked.given,
        now,
        born=request.person.birth_date,
        facts=InputFacts(staff=staff),
    )
    if isinstance(decision, Rejection):
        return RejectedError(decision)
    return _Opening(request, definition, decision, asked.given, asked.local_day)


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
        elif isinstance(outcome, _Opening):
            first[key] = index


def check_referral(
    uow: UnitOfWork, session: Session, request: Referral, now: datetime
) -> WorkflowError | None:
    """Why a referral would be refused (nothing is written), or None."""
    return check_referrals(uow, session, [request], now)[0]


def check_referrals(
    uow: UnitOfWork,
    session: Session,
    requests: Sequence[Referral],
    now: datetime,
    checks: ReferralChecks | None = None,
) -> list[WorkflowError | None]:
    """Why each referral would be refused (nothing is written), or None: the same checks
    as :func:`open_cases_in` (a bulk intake checks a whole file before it opens any case).

    ``checks``: the answers so far of a check made as of ``now`` (a bulk intake's, across
    its chunks)."""
    if checks is None or checks.now != now:
        checks = ReferralChecks(now)
    asked = _ask_store(uow, session, requests, now)
    answers: list[WorkflowError | None] = []
    for outcome in asked.outcomes:
        if isinstance(outcome, _Asked):
            answers.append(checks.refusal(outcome, asked.staff[id(outcome)]))
        else:  # refused before the engine, or a key's stored result (no refusal)
            answers.append(outcome if isinstance(outcome, WorkflowError) else None)
    return answers


class ReferralChecks:
    """The engine's decisions on referrals taken in as of one moment (a bulk intake's).

    The engine's decision is a function of what it is given alone: the definition, who
    refers, the inputs, the young person's birth date, the staff the inputs name as the
    account store knows them, and the moment. Referrals alike in all of these get the
    same decision, so each such set is decided once: a file of 50,000 young people has a
    few thousand birth dates. A file's check and the opening of its cases share them (an
    intake opens its cases as of the moment its check began). The decisions are kept in
    the process for the intake's length only, keyed by those arguments (never a
    person's name or CPR number, which the engine is not given); the checks before the
    engine's (the CPR number, the name, the key) are made for every referral.
    """

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._decisions: dict[tuple[Any, ...], Decision | WorkflowError] = {}
        #: The definitions decided for, kept while their id() is in a key.
        self._definitions: dict[int, Definition] = {}

    def refusal(self, asked: _Asked, staff: StaffDirectory) -> WorkflowError | None:
        """Why the engine refuses the referral, or None."""
        decided = self.decided(asked, staff)
        return decided if isinstance(decided, WorkflowError) else None

    def decided(self, asked: _Asked, staff: StaffDirectory) -> _Opening | WorkflowError:
        """The engine's decision on the referral as of :attr:`now` (taken from an alike
        referral's where there is one: the same decision, which its writing copies)."""
        key = _engine_arguments(asked, staff)
        known = None if key is None else self._decisions.get(key)
        if known is None:
            decided = _decide(asked, self.now, staff)
            if key is not None:
                self._definitions.setdefault(id(asked.definition), asked.definition)
                self._decisions[key] = (
                    decided.decision if isinstance(decided, _Opening) else decided
                )
            return decided
        if isinstance(known, WorkflowError):
            return known
        return _Opening(asked.request, asked.definition, known, asked.given, asked.local_day)


def _engine_arguments(asked: _Asked, staff: StaffDirectory) -> tuple[Any, ...] | None:
    """All that :func:`_decide` gives the engine but the moment, as a key (None: an
    input's value cannot be one)."""
    key = (
        id(asked.definition),
        asked.request.actor,
        tuple(sorted(asked.given.items())),
        asked.request.person.birth_date,
        staff.known,
        staff.elsewhere,
        staff.checked,
        tuple(sorted(staff.meant.items())),
    )
    try:
        hash(key)
    except TypeError:  # a list or a mapping among the inputs
        return None
    return key


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
    openings = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, _Opening)]
    results: dict[int, StepResult] = {}
    if openings:
        results = _write_openings(uow, session, openings, now, written_at or now)
    done: list[StepResult | WorkflowError] = []
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, _Opening):
            done.append(results[index])
        elif isinstance(outcome, _SameKey):
            done.append(replace(results[outcome.first], repeated=True))
        else:
            done.append(outcome)
    return done


def _write_openings(
    uow: UnitOfWork,
    session: Session,
    openings: list[tuple[int, _Opening]],
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
                "email": person.email,
                "phone": person.phone,
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
                            "email": guardian.email,
                            "phone": guardian.phone,
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


#: Where the young person's details are named in a refusal (the API body's own path).
PERSON_FIELD = "young_person"


def person_problems(person: YoungPersonDetails, today: date) -> tuple[FieldError, ...]:
    """What is wrong with a referral's young person and guardians, field by field.

    A name is one printable line; a CPR number is valid (:func:`workflow.privacy.cpr.
    cpr_problem`: a real date in the century its 7th digit gives) and gives the birth date,
    century and all; the birth date is not in the future. Fields are named
    ``young_person.name``, ``young_person.cpr``, ``young_person.guardians.1.cpr``...
    The errors hold no personal data (a refusal may reach a log or an intake report).
    """
    problems: list[FieldError] = []

    def add(where: str, error: FieldError | None) -> None:
        if error is not None:
            problems.append(FieldError(f"{where}.{error.name}", error.code, error.params))

    add(PERSON_FIELD, name_problem(person.name))
    add(PERSON_FIELD, _cpr_error(person.cpr, person.birth_date, today))
    born = person.birth_date
    if not isinstance(born, date) or not born.year >= FIRST_YEAR or born > today:
        add(PERSON_FIELD, FieldError("birth_date", "birth_date_not_past"))
    for number, guardian in enumerate(person.guardians, start=1):
        where = f"{PERSON_FIELD}.guardians.{number}"
        add(where, name_problem(guardian.name))
        add(where, _cpr_error(guardian.cpr, None, today))
    return tuple(problems)


def _cpr_error(cpr: str, born: date | None, today: date) -> FieldError | None:
    if not isinstance(cpr, str) or not cpr.strip():
        return FieldError("cpr", "required")
    problem = cpr_problem(cpr, today)
    if problem is not None:
        return FieldError("cpr", problem)
    given = cpr_birth_date(cpr)
    if born is None or given is None or given == born:
        return None
    same_digits = given.strftime("%d%m%y") == born.strftime("%d%m%y")
    return FieldError("cpr", "cpr_century" if same_digits else "cpr_not_birth_date")


def person_refused(problems: tuple[FieldError, ...]) -> RejectedError:
    """The refusal of a referral whose young person's details are wrong."""
    fields = ", ".join(dict.fromkeys(p.name for p in problems))
    return RejectedError(Rejection(RejectionReason.INVALID_INPUT, {"fields": fields}, problems))
