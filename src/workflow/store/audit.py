"""Writing to the audit log: who did what to which data, when and why.

The one writer of audit entries: case services, privacy services, the caseload and
the accounts' login events all go through :func:`write_audit`, in the caller's
transaction, so an entry commits or rolls back with the act it records.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from workflow.engine.model import Actor
from workflow.store.statements import WRITE_AUDIT


class AuditAction(StrEnum):
    """What an audit entry records: a use of case data, or an event of a login."""

    READ = "read"
    SEARCH = "search"
    CHANGE = "change"
    EXPORT = "export"
    DELETE = "delete"
    #: A step or read that was refused (no standing, a role not held, a rule of the model).
    REFUSED = "refused"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    #: A login refused unheard: too many failures from its address or for its username.
    LOGIN_LOCKED = "login_locked"
    #: Many failed logins for one username or from one address: an operator should look.
    LOGIN_ALERT = "login_alert"
    LOGOUT = "logout"


class AuditObject(StrEnum):
    """What an audit entry is about (its ``object_id`` names which one)."""

    CASE = "case"
    CPR = "cpr"
    CONSENT = "consent"
    CASE_EXPORT = "case_export"
    ACCESS_LOG = "access_log"
    CASELOAD = "caseload"
    TASK = "task"
    WORKLIST = "worklist"
    CONFERENCE = "conference"
    POOL = "pool"
    ACCOUNT = "account"
    CITIZEN_LOGIN = "citizen_login"
    ACCESS_GRANT = "access_grant"
    AUDIT_LOG = "audit_log"
    DEFINITION = "definition"
    RETENTION_REPORT = "retention_report"
    #: The operator's outbox commands (``object_id``: the case reference, ``*`` or
    #: ``outbox:<id>``): codes only, so not a case object (workflow.cases.machinery).
    OUTBOX = "outbox"
    #: The operator's machinery view of a case (codes only, not a case object).
    MACHINERY = "machinery"
    #: A municipality's outcome figures (``object_id``: its code, or ``*``: the national
    #: comparison): counts of many young people, not a case object.
    OUTCOMES = "outcomes"


#: Objects whose entries are about one case (``object_id`` is the case reference): the
#: citizen's access log shows every use of these. A new object type about a case goes here.
CASE_OBJECTS = frozenset(
    {
        AuditObject.CASE,
        AuditObject.CPR,
        AuditObject.CONSENT,
        AuditObject.CASE_EXPORT,
        AuditObject.TASK,
        AuditObject.ACCESS_LOG,
    }
)


def write_audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: AuditAction,
    object_type: AuditObject,
    object_id: str,
    purpose: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Add one entry in the caller's transaction (it commits or rolls back with the act)."""
    WRITE_AUDIT.execute(
        session.connection(),
        {
            "at": at,
            "actor": actor[:200],
            "action": action.value,
            "object_type": object_type.value,
            "object_id": object_id[:64],
            "purpose": purpose[:200],
            "details": details or {},
        },
    )


def actor_label(actor: Actor) -> str:
    """How the audit log and the history name an actor: ``role:staff-id``."""
    return f"{actor.role}:{actor.id or '-'}"
