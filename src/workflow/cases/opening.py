"""Opening a case by referral: the young person, the case row and its first step.

Called by :class:`workflow.cases.service.CaseService` inside its transaction, one referral
at a time (refer) or many (bulk intake). Refusals and repeated keys are returned, not
raised, so one bad row never spoils a batch.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from workflow.cases.idempotency import first_result
from workflow.cases.model import Referral, RejectedError, StepResult
from workflow.cases.recording import Step, record_step
from workflow.definitions.calendar import age_on
from workflow.definitions.vocabulary import CASEWORKER_ROLE, REFER_EVENT
from workflow.engine.decide import open_case
from workflow.engine.model import Rejection
from workflow.errors import WorkflowError
from workflow.store.repository import next_reference
from workflow.store.statements import (
    CASE_COLUMNS,
    INSERT_CASE,
    INSERT_GUARDIAN,
    INSERT_YOUNG_PERSON,
)
from workflow.store.tables import Case
from workflow.store.unit_of_work import UnitOfWork


def open_case_in(
    uow: UnitOfWork, session: Session, request: Referral, now: datetime
) -> StepResult | WorkflowError:
    """Open one case in the caller's transaction (or say why not)."""
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
    given = dict(request.inputs)
    if any(i.name == "age" for i in definition.referral.inputs):  # the form asks the age
        given["age"] = age_on(request.person.birth_date, local_day)
    decision = open_case(
        definition, "(new)", request.actor, given, now, born=request.person.birth_date
    )
    if isinstance(decision, Rejection):
        return RejectedError(decision)
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
