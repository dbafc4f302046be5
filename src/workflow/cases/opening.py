"""Opening a case by referral: the young person, the case row and its first step.

Called by :class:`workflow.cases.service.CaseService` inside its transaction, one referral
at a time (refer) or many (bulk intake). Refusals and repeated keys are returned, not
raised, so one bad row never spoils a batch.

The young person's details are checked here, the one place every way in passes (the web
form, the API, ``workflow case refer`` and ``workflow intake``): :func:`person_problems`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from workflow.cases.idempotency import first_result
from workflow.cases.model import Referral, RejectedError, StepResult, YoungPersonDetails
from workflow.cases.recording import Step, record_step
from workflow.cases.staff import input_facts
from workflow.definitions.calendar import age_on
from workflow.definitions.models import Definition
from workflow.definitions.vocabulary import CASEWORKER_ROLE, REFER_EVENT
from workflow.engine.decide import open_case
from workflow.engine.inputs import FIRST_YEAR, name_problem
from workflow.engine.model import Decision, FieldError, Rejection, RejectionReason
from workflow.errors import WorkflowError
from workflow.privacy.cpr import cpr_birth_date, cpr_problem
from workflow.store.repository import next_reference
from workflow.store.statements import (
    CASE_COLUMNS,
    INSERT_CASE,
    INSERT_GUARDIAN,
    INSERT_YOUNG_PERSON,
)
from workflow.store.tables import Case
from workflow.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class _Opening:
    """A referral the engine accepted, not written yet."""

    definition: Definition
    decision: Decision
    given: dict[str, Any]
    local_day: date


def _decide_opening(
    uow: UnitOfWork, session: Session, request: Referral, now: datetime
) -> _Opening | StepResult | WorkflowError:
    """The engine's decision on a referral, its first result (a repeated key), or why not."""
    try:
        definition = uow.catalog.by_id(request.definition_id)
    except WorkflowError as exc:
        return exc
    assert definition.municipality is not None
    try:
        repeated = first_result(session, request.idempotency_key, None, REFER_EVENT)
    except WorkflowError as exc:
        return exc
    if repeated:
        return repeated
    local_day = now.astimezone(ZoneInfo(definition.calendar.timezone)).date()
    problems = person_problems(request.person, local_day)
    if problems:
        return person_refused(problems)
    given = dict(request.inputs)
    if any(i.name == "age" for i in definition.referral.inputs):  # the form asks the age
        given["age"] = age_on(request.person.birth_date, local_day)
    facts = input_facts(session, definition.municipality.code, given)
    decision = open_case(
        definition, "(new)", request.actor, given, now, born=request.person.birth_date, facts=facts
    )
    if isinstance(decision, Rejection):
        return RejectedError(decision)
    return _Opening(definition, decision, given, local_day)


def check_referral(
    uow: UnitOfWork, session: Session, request: Referral, now: datetime
) -> WorkflowError | None:
    """Why a referral would be refused (nothing is written), or None: the same checks as
    :func:`open_case_in` (a bulk intake checks a whole file before it opens any case)."""
    outcome = _decide_opening(uow, session, request, now)
    return outcome if isinstance(outcome, WorkflowError) else None


def open_case_in(
    uow: UnitOfWork, session: Session, request: Referral, now: datetime
) -> StepResult | WorkflowError:
    """Open one case in the caller's transaction (or say why not)."""
    opening = _decide_opening(uow, session, request, now)
    if not isinstance(opening, _Opening):
        return opening
    definition, decision, given = opening.definition, opening.decision, opening.given
    assert definition.municipality is not None
    local_day = opening.local_day
    reference = next_reference(session, definition.municipality.case_prefix, local_day.year)
    decision = replace(decision, case=replace(decision.case, reference=reference))
    new = decision.case
    connection = session.connection()
    person = request.person
    young_id = connection.execute(
        INSERT_YOUNG_PERSON,
        {
            "name": person.name,
            "cpr": uow.cpr.encrypt(person.cpr),
            "cpr_key": uow.cpr.lookup_key(person.cpr),
            "birth_date": person.birth_date,
            "email": person.email,
            "phone": person.phone,
        },
    ).scalar_one()
    # The case is inserted in its opened state (version 1, step 1) in one statement.
    case = Case(
        reference=reference,
        municipality_code=definition.municipality.code,
        kle=definition.municipality.kle,
        definition_version_id=uow.catalog.register(session, definition),
        stage=new.stage,
        previous_stage=None,
        data=dict(new.data),
        milestones=sorted(new.milestones),
        counts=dict(new.counts),
        young_person_id=young_id,
        caseworker=new.holder(CASEWORKER_ROLE),
        opened_at=now,
        closed_at=None,
        version=1,
        last_seq=1,
        timing=new.timing.as_data(),
    )
    case.id = connection.execute(
        INSERT_CASE, {c: getattr(case, c) for c in CASE_COLUMNS}
    ).scalar_one()
    for guardian in person.guardians:
        connection.execute(
            INSERT_GUARDIAN,
            {
                "case_id": case.id,
                "name": guardian.name,
                "cpr": uow.cpr.encrypt(guardian.cpr),
                "cpr_key": uow.cpr.lookup_key(guardian.cpr),
                "email": guardian.email,
                "phone": guardian.phone,
                "since": now,
                "until": None,
            },
        )
    step = Step(
        definition=definition,
        case=case,
        decision=decision,
        actor=request.actor,
        inputs=given,
        at=now,
        purpose=request.purpose,
        idempotency_key=request.idempotency_key,
        opening=True,
    )
    return record_step(session, step)


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
