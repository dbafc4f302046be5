"""Writing to the audit log: who did what to which data, when and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from workflow.store.statements import WRITE_AUDIT

#: What an audit entry records.
ACTIONS = ("read", "search", "change", "export", "delete")


def write_audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    purpose: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Add one entry in the caller's transaction (it commits or rolls back with the act)."""
    assert action in ACTIONS, action
    WRITE_AUDIT.execute(
        session.connection(),
        {
            "at": at,
            "actor": actor[:200],
            "action": action,
            "object_type": object_type,
            "object_id": object_id[:64],
            "purpose": purpose[:200],
            "details": details or {},
        },
    )
