"""The JSON API's case endpoints: caseload, a case, referral and steps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from workflow.cases.model import GuardianDetails, StepResult, YoungPersonDetails
from workflow.definitions.models import Definition
from workflow.engine.model import Actor
from workflow.engine.steps import acting_role
from workflow.privacy.consents import ConsentRequest
from workflow.store.caseload import CaseloadQuery
from workflow.store.reading import CaseView
from workflow.web.api_models import (
    CaseDetail,
    Caseload,
    CaseloadParams,
    CaseParams,
    CaseSummary,
    ReferRequest,
    StepInfo,
    StepResponse,
    TriggerRequest,
    YoungPersonOut,
)
from workflow.web.api_support import (
    ApiProblemError,
    Caller,
    CaseReference,
    EventName,
    inputs_info,
    responses,
)
from workflow.web.context import (
    WebContext,
    acting_as,
    case_roles,
    holds_the_case,
    scoped_key,
    shared_history,
    steps_for,
)
from workflow.web.definition_texts import local
from workflow.web.dependencies import Caseloads, Cases, Web
from workflow.web.identity import Authenticated

router = APIRouter(prefix="/v1", tags=["cases"])


def _step_response(result: StepResult) -> StepResponse:
    return StepResponse(
        reference=result.reference,
        event=result.event,
        from_stage=result.from_stage,
        to_stage=result.to_stage,
        seq=result.seq,
        notifications=result.notifications,
        repeated=result.repeated,
        consent=result.consent,
    )


@router.get(
    "/cases",
    response_model=Caseload,
    responses=responses(401),
    summary="My caseload (as coordinator, caseworker or team member)",
)
def list_cases(
    caseloads: Caseloads, auth: Caller, params: Annotated[CaseloadParams, Query()]
) -> Caseload:
    limit, offset = params.limit, params.offset
    query = CaseloadQuery(
        person=auth.user.person_id,
        relation=params.standing,
        stage=params.stage,
        overdue=params.overdue,
        search=params.q,
        limit=limit,
        offset=offset,
    )
    page = caseloads.search(auth.user.audit_name, query, purpose="api caseload")
    cases = []
    for row in page.rows:
        stage_def = page.definitions[row.definition_version_id].stages_by_id.get(row.stage)
        cases.append(
            CaseSummary(
                reference=row.reference,
                municipality_code=row.municipality_code,
                stage=row.stage,
                stage_name=local(stage_def.name, auth.user.locale) if stage_def else row.stage,
                opened_at=row.opened_at,
                closed_at=row.closed_at,
                relations=list(row.relations),
                next_due=row.next_due,
                overdue=row.overdue,
            )
        )
    return Caseload(total=page.total, limit=limit, offset=offset, cases=cases)


def _case(
    web: WebContext, auth: Authenticated, reference: str, channel: str, purpose: str | None = None
) -> tuple[CaseView, Definition]:
    # A store that stayed busy (ConflictError) is answered 409 by the API's error answers.
    found = web.visible_case(auth.user, reference, channel, purpose)
    if found is None:
        raise ApiProblemError(404, "not_found", f"no case {reference} you have access to")
    return found


def _carried_out(web: WebContext, result: StepResult) -> StepResponse:
    if not result.repeated:
        web.on_step(result)
    return _step_response(result)


@router.get(
    "/cases/{reference}",
    response_model=CaseDetail,
    responses=responses(401, 404, 409),
    summary="A case: stage, team, plan, meetings, timers, timeline and your next steps",
)
def get_case(
    reference: CaseReference,
    web: Web,
    auth: Caller,
    params: Annotated[CaseParams, Query()],
) -> CaseDetail:
    view, definition = _case(web, auth, reference, "api", params.purpose)
    lang = auth.user.locale
    stage = definition.stages_by_id.get(view.stage)
    person = view.young_person
    return CaseDetail(
        reference=view.reference,
        definition=view.definition,
        definition_version=view.version,
        version=view.version,
        stage=view.stage,
        stage_name=local(stage.name, lang) if stage else view.stage,
        timezone=definition.calendar.timezone,
        opened_at=view.opened_at,
        closed_at=view.closed_at,
        young_person=YoungPersonOut(**person) if person else None,
        coordinator=view.coordinator,
        caseworker=view.caseworker,
        team=view.team,
        plan_version=view.plan_version,
        reviewed=view.reviewed,
        plan=view.plan,
        meetings=view.meetings,
        timers=view.timers,
        tasks=view.tasks,
        milestones=view.milestones,
        # (who does not hold the case reads the answers steps share, as on its page)
        history=view.history
        if holds_the_case(case_roles(web, auth.user, view))
        else shared_history(definition, view.history),
        next_steps=[
            StepInfo(
                id=t.id,
                event=t.event_name,
                name=local(t.name, lang),
                inputs=inputs_info(definition, list(t.inputs), lang, view.meetings),
            )
            for t in steps_for(web, definition, view, auth.user, offered=True)
        ],
    )


@router.post(
    "/cases",
    status_code=201,
    response_model=StepResponse,
    responses=responses(401, 403, 404, 409, 422),
    summary="Refer a young person: open a case",
)
def refer(body: ReferRequest, web: Web, cases: Cases, auth: Caller) -> Any:
    # The service's refusals (unknown case, rejected inputs, a reused key, a conflict)
    # are answered by the API's error answers.
    definition = next((d for d in web.definitions_for(auth.user) if d.id == body.definition), None)
    if definition is None:
        raise ApiProblemError(404, "not_found", f"no process '{body.definition}' you can refer to")
    role = acting_role(definition.referral.roles, auth.user.roles)
    if role is None:
        raise ApiProblemError(
            422, "rejected", f"your roles may not refer; these may: {definition.referral.roles}"
        )
    # The young person's details are checked by the service, as on every way in.
    person = body.young_person
    result = cases.refer(
        definition.id,
        YoungPersonDetails(
            person.name,
            person.cpr,
            person.birth_date,
            person.email,
            person.phone,
            tuple(GuardianDetails(g.name, g.cpr, g.email, g.phone) for g in person.guardians),
        ),
        auth.user.actor(role),
        body.inputs,
        idempotency_key=scoped_key("api", auth.user, body.idempotency_key),
    )
    return _carried_out(web, result)


@router.post(
    "/cases/{reference}/events/{event}",
    response_model=StepResponse,
    responses=responses(401, 403, 404, 409, 422),
    summary="Take a step: trigger an event on a case with its inputs",
)
def trigger(
    reference: CaseReference,
    event: EventName,
    body: TriggerRequest,
    web: Web,
    cases: Cases,
    auth: Caller,
) -> StepResponse:
    # The step is the purpose of the read before it (a legal basis needs one).
    view, definition = _case(web, auth, reference, f"api:{event}", purpose=event)
    if event not in definition.transitions_by_event:
        raise ApiProblemError(404, "not_found", f"the process has no step '{event}'")
    roles = case_roles(web, auth.user, view)
    candidates = [t for t in definition.transitions_by_event[event] if set(t.roles) & set(roles)]
    allowed = candidates[0].roles if candidates else []
    # The role asked for ("act as"), else the first one the step allows; a role the caller
    # does not hold on the case is refused by the service with what they are instead.
    role = body.act_as or acting_as(allowed, roles, None) or (roles[0] if roles else "-")
    scope = body.consent
    consent = (
        ConsentRequest(scope.departments, scope.categories, scope.given_on, scope.guardian)
        if scope
        else None
    )
    result = cases.trigger(
        reference,
        event,
        body.inputs,
        Actor(role, auth.user.person_id),
        idempotency_key=scoped_key("api", auth.user, body.idempotency_key),
        purpose=event,
        consent=consent,
        consent_required=True,
    )
    return _carried_out(web, result)
