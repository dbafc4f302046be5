"""Applying the access rule to a case in a transaction: an access, or the right refusal.

The rule itself is :mod:`workflow.engine.access` (pure); the person's standing comes from the
store. Every service that reads or changes a case calls :func:`authorise` first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from workflow.engine.access import Access, Action, Standing, decide_access
from workflow.engine.model import Actor
from workflow.errors import CaseNotFoundError, NotAllowedError, PurposeRequiredError
from workflow.store.loading import StoredCase
from workflow.store.standing import standing_of

ACTION_WORDS = {Action.READ: "read", Action.TRIGGER: "take steps on", Action.EXPORT: "export"}


def authorise(
    session: Session, case: StoredCase, actor: Actor, action: Action, purpose: str | None = None
) -> Access:
    """The access rule for ``actor`` on ``case``, or a refusal.

    Someone with no standing at all is told the case does not exist; someone who may
    read it but not do ``action`` is told so; a legal basis needs a purpose.
    """
    # The case's caseworker (most steps) is known from the case row: no query at all.
    caseworker = actor.id is not None and case.caseworker == actor.id
    access = decide_access(Standing(caseworker=caseworker), action)
    if access is None:
        standing = standing_of(session, case, actor.id)
        access = decide_access(standing, action)
    if access is None:
        if action is not Action.READ and decide_access(standing, Action.READ):
            raise NotAllowedError(
                f"you may see {case.reference}, but not {ACTION_WORDS[action]} it: "
                "ask its caseworker or coordinator"
            )
        raise CaseNotFoundError(f"no case {case.reference}")
    if access.needs_purpose and not (purpose or "").strip():
        raise PurposeRequiredError(case.reference, access.basis or access.via.value)
    return access


def access_details(access: Access) -> dict[str, Any]:
    """How access was given, for the audit entry."""
    return {"via": access.via.value} | ({"basis": access.basis} if access.basis else {})
