"""Applying the access rule to a case in a transaction: an access, or the right refusal.

The rule itself is :mod:`workflow.engine.access` (pure); the person's standing comes from the
store. Every service that reads or changes a case calls :func:`authorise` first; a step is
authorised by :func:`authorise_step`, which also checks that the role the actor claims is one
their standing on *this* case gives them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from workflow.definitions.vocabulary import SYSTEM_ROLE, CaseRole
from workflow.engine.access import (
    Access,
    Action,
    Standing,
    Via,
    decide_access,
    roles_held,
)
from workflow.engine.model import Actor
from workflow.errors import CaseNotFoundError, NotAllowedError, PurposeRequiredError
from workflow.store.audit import AuditAction, AuditObject, actor_label, write_audit
from workflow.store.loading import StoredCase
from workflow.store.standing import standing_of
from workflow.store.unit_of_work import UnitOfWork

ACTION_WORDS = {Action.READ: "read", Action.TRIGGER: "take steps on", Action.EXPORT: "export"}

#: How a refusal names a role the actor does not hold on the case.
ROLE_WORDS = {
    CaseRole.CASEWORKER: "its caseworker",
    CaseRole.COORDINATOR: "its coordinator",
    CaseRole.TEAM_MEMBER: "on its team",
    CaseRole.YOUNG_PERSON: "its young person",
    CaseRole.GUARDIAN: "a guardian of its young person",
    CaseRole.LEADER: "a leader with a legal basis for it",
}


def authorise(
    session: Session,
    case: StoredCase,
    actor: Actor,
    action: Action,
    purpose: str | None = None,
    today: date | None = None,
) -> Access:
    """The access rule for ``actor`` on ``case``, or a refusal.

    Someone with no standing at all is told the case does not exist; someone who may
    read it but not do ``action`` is told so; a legal basis needs a purpose.
    """
    # The case's caseworker (most steps) is known from the case row: no query at all.
    caseworker = may_stand(actor.id) and case.caseworker == actor.id
    access = decide_access(Standing(caseworker=caseworker), action)
    if access is None:
        access = _decide(case, standing_on(session, case, actor.id, today), action)
    return _with_purpose(case, access, purpose)


def authorise_step(
    session: Session,
    case: StoredCase,
    actor: Actor,
    purpose: str | None = None,
    today: date | None = None,
) -> Access:
    """May ``actor`` take a step on ``case`` in the role they claim?

    The role must be one their standing on this case gives them (the caseworker *of
    record*, the coordinator the young person chose, ...): an account's roles never let
    anyone act on a case. Refused as :func:`authorise` refuses, or with a message that
    says what the person is on the case and which role they claimed.
    """
    if actor.role == CaseRole.CASEWORKER and may_stand(actor.id) and case.caseworker == actor.id:
        return Access(Via.CASEWORKER)  # the caseworker of record: known from the case row
    standing = standing_on(session, case, actor.id, today)
    if actor.role not in roles_held(standing):
        if decide_access(standing, Action.READ) is None:
            raise CaseNotFoundError(f"no case {case.reference}")
        if actor.role == SYSTEM_ROLE:
            raise NotAllowedError(
                f"'{SYSTEM_ROLE}' is the engine's own role (timers act in it); "
                "act in your own role on the case"
            )
        raise NotAllowedError(role_refusal(actor, case.reference, standing))
    return _with_purpose(case, _decide(case, standing, Action.TRIGGER), purpose)


def may_stand(person: str | None) -> bool:
    """Whether ``person`` may have a standing on a case: an id, never a mail address.

    A mail address on a team names an outside participant, who is told of meetings and
    nothing more; were an account's id a mail address, naming it on a team would give it
    a standing, so a mail address never stands on a case (issue 17)."""
    return bool(person) and "@" not in (person or "")


def standing_on(
    session: Session, case: StoredCase, person: str | None, today: date | None = None
) -> Standing:
    """The standing of ``person`` on ``case`` for the access rule: none for a mail address."""
    if not may_stand(person):
        return Standing()
    return standing_of(session, case, person, today)


def role_refusal(actor: Actor, reference: str, standing: Standing) -> str:
    """Why ``actor`` may not act in the role they claim: what they are on the case instead."""
    what: list[str] = []
    if standing.caseworker:
        what.append(f"the caseworker of {reference}")
    if standing.coordinator:
        what.append(f"the coordinator of {reference}")
    departments = sorted(standing.team_departments & standing.consented_departments)
    if departments:
        what.append(f"on the team of {reference} as {', '.join(departments)}")
    if standing.young_person:
        what.append(f"the young person of {reference}")
    if standing.guardian:
        what.append(f"a guardian on {reference}")
    if standing.legal_bases:
        what.append(f"a reader of {reference} through a legal basis")
    claimed = ROLE_WORDS.get(CaseRole(actor.role)) if actor.role in set(CaseRole) else None
    return (
        f"{actor.id or 'this person'} is {' and '.join(what)}, "
        f"not {claimed or f'a {actor.role}'}: act in a role you hold on the case"
    )


def _decide(case: StoredCase, standing: Standing, action: Action) -> Access:
    access = decide_access(standing, action)
    if access is None:
        if action is not Action.READ and decide_access(standing, Action.READ):
            raise NotAllowedError(
                f"you may see {case.reference}, but not {ACTION_WORDS[action]} it: "
                "ask its caseworker or coordinator",
                text_key=f"not_allowed_{action.value}",
                params={"reference": case.reference},
            )
        raise CaseNotFoundError(f"no case {case.reference}")
    return access


def _with_purpose(case: StoredCase, access: Access, purpose: str | None) -> Access:
    if access.needs_purpose and not (purpose or "").strip():
        raise PurposeRequiredError(case.reference, access.basis or access.via.value)
    return access


def access_details(access: Access) -> dict[str, Any]:
    """How access was given, for the audit entry."""
    return {"via": access.via.value} | ({"basis": access.basis} if access.basis else {})


@contextmanager
def audited_refusal(
    uow: UnitOfWork, actor: Actor, what: AuditObject, reference: str, purpose: str | None
) -> Iterator[None]:
    """Keep a refused attempt to use a case in the audit log: who tried what, and why it
    was refused (no standing on the case, or an action their standing does not cover).

    Written in a transaction of its own (the refused one rolls back). The purpose the
    person stated is kept for the auditors; the citizen's access log shows the entry as
    an attempt that was refused, never as a use of their data, and without that purpose
    (:meth:`workflow.privacy.audit.AuditService.access_log`).
    """
    try:
        yield
    except (CaseNotFoundError, NotAllowedError) as refusal:
        with uow.transaction() as session:
            write_audit(
                session,
                at=uow.clock(),
                actor=actor_label(actor),
                action=AuditAction.REFUSED,
                object_type=what,
                object_id=reference[:64],
                purpose=(purpose or "").strip()[:200] or "-",
                details={"reason": type(refusal).__name__, "role": actor.role},
            )
        raise
