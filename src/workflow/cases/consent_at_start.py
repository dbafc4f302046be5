"""The consent a step gives: checked before the step, recorded with it (issue 17).

A step a person takes that records the milestone ``consent_given`` (the base's "Start
forløbet", :func:`workflow.engine.consent.records_consent`) says the young person has
consented to sharing. A ticked box alone shares nothing, so such a step carries a consent
scope — the departments and data categories the consent covers, and whether a custodial
parent consented too — and the case service records it as a consent record in the step's
own transaction: the step and its consent are saved together or not at all.

The rule is the same on every way in (web form, JSON API, CLI): they pass the scope they
were given to :meth:`workflow.cases.service.CaseService.trigger` with
``consent_required=True``, and the service

* refuses the step when the scope is missing (nothing saved; the problem names the
  ``consent`` field and what to send),
* refuses it field by field when the scope is not valid for the case
  (``consent.departments``, ``consent.categories``, ``consent.guardian``,
  ``consent.given_on``; nothing saved),
* refuses a scope sent with a step that records no consent (record such a consent on its
  own, through the consent service),
* records the consent with the step otherwise (the same record, rules, release of
  withheld notifications and audit entry as the consent service's own ``give``).

The engine's own callers (flows, the simulator's scripts, tests that set a case up) leave
``consent_required`` off: their steps record no consent unless a scope is given.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from workflow.definitions.models import Definition
from workflow.definitions.parts import Transition
from workflow.engine.consent import records_consent
from workflow.engine.model import Actor
from workflow.errors import InvalidRequestError, Problem
from workflow.privacy.consents import ConsentRequest, ConsentService
from workflow.store.loading import StoredCase
from workflow.store.tables import Case
from workflow.store.unit_of_work import UnitOfWork

#: The field of a step's request that carries its consent scope.
CONSENT_FIELD = "consent"
#: What a missing scope asks for (the API's and CLI's words for the fields).
SEND_SCOPE = (
    "send the consent's scope with the step: consent.departments (the departments the case "
    "may be shared with, at least one), consent.categories (data categories) and "
    "consent.guardian (true when a custodial parent consented too)"
)


class ConsentScopeError(InvalidRequestError):
    """The consent scope of a step is missing or not valid; nothing was saved. Its
    problems are located at ``consent`` or ``consent.<field>``."""


def consent_problems(problems: list[Problem]) -> list[Problem]:
    """The consent service's problems, located in the step's ``consent`` field."""
    return [
        replace(p, path=f"{CONSENT_FIELD}.{p.path}" if p.path else CONSENT_FIELD) for p in problems
    ]


def missing_scope(transition: Transition) -> ConsentScopeError:
    """The refusal of a consent-recording step sent without its scope."""
    message = f"step '{transition.id}' records the young person's consent"
    return ConsentScopeError([Problem(None, CONSENT_FIELD, message, SEND_SCOPE)])


def unwanted_scope(step: str) -> ConsentScopeError:
    """The refusal of a scope sent with a step that records no consent."""
    message = f"step '{step}' records no consent"
    hint = "leave consent out, or record the consent on its own (POST .../consents)"
    return ConsentScopeError([Problem(None, CONSENT_FIELD, message, hint)])


@dataclass(frozen=True)
class StepConsent:
    """The consent scope a step request carries, and whether the way in requires one."""

    scope: ConsentRequest | None = None
    #: A person's way in (web, API, CLI): a consent-recording step needs a scope.
    required: bool = False


def consent_with_step(
    uow: UnitOfWork,
    session: Session,
    case: StoredCase,
    definition: Definition,
    step: tuple[str, Actor, datetime],
    consent: StepConsent,
) -> int | None:
    """Check and record the consent a step (transition id, actor, time) gives, in the
    step's transaction; returns the consent's id (None: the step records none). Raises
    ConsentScopeError (see above)."""
    transition_id, actor, now = step
    transition = definition.transitions_by_id.get(transition_id)
    if transition is None or not records_consent(transition):
        if consent.scope is not None:
            raise unwanted_scope(transition_id)
        return None
    if consent.scope is None:
        if consent.required:
            raise missing_scope(transition)
        return None
    try:
        stored = session.get(Case, case.id)
        assert stored is not None  # the step has just read it
        recorded, _ = ConsentService(uow).give_in(session, stored, actor, consent.scope, now)
    except InvalidRequestError as refused:
        raise ConsentScopeError(consent_problems(list(refused.problems))) from None
    return recorded
