"""The fixed words of what the engine decides: who an effect is for.

The engine writes them into effects (a notification's or a task's recipient); the
store keeps them (a task's assignee kind, an outbox row's recipient) and delivery reads
them back. The words are stored as they are, so a member's value never changes.
"""

from __future__ import annotations

from enum import StrEnum


class RecipientKind(StrEnum):
    """Who a notification or a task is for."""

    #: A role on the case (caseworker, coordinator...); its holder, if the case names one.
    ROLE = "role"
    #: A department, reached through its channels.
    DEPARTMENT = "department"
    #: One member of the young person's team: a person in a department.
    TEAM_MEMBER = "team_member"


#: Recipients whose id is a department: sharing with them needs the young person's consent,
#: and they are named and reached as the department.
DEPARTMENT_KINDS = frozenset({RecipientKind.DEPARTMENT, RecipientKind.TEAM_MEMBER})
