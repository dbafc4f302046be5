"""Who may see and act on a case: the access rule, as a pure function.

A person sees a case only

* as its **caseworker** or its **coordinator** (read, trigger, export);
* as a **member of its team** whose department the young person's consent covers, and
  has not withdrawn (read, trigger) — a team member does not export the case;
* through a **recorded legal basis** in the case's municipality, e.g. a manager's
  oversight: the actions the grant names (usually read and export), and a read only
  with a stated purpose.

Everyone else is refused exactly as if the case did not exist. The store works out a
person's :class:`Standing` on a case; :func:`decide_access` applies the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    """What someone wants to do with a case."""

    READ = "read"
    TRIGGER = "trigger"
    EXPORT = "export"


class Via(StrEnum):
    """Why access was given (kept in the audit entry)."""

    CASEWORKER = "caseworker"
    COORDINATOR = "coordinator"
    TEAM = "team"
    LEGAL_BASIS = "legal_basis"


@dataclass(frozen=True)
class LegalBasis:
    """A recorded legal basis: what it rests on, and what it allows."""

    label: str  # "oversight: Serviceloven § 146"
    actions: frozenset[Action] = frozenset({Action.READ, Action.EXPORT})


@dataclass(frozen=True)
class Standing:
    """What the store knows of one person and one case."""

    caseworker: bool = False
    coordinator: bool = False
    #: Departments the person is on the team for (active memberships).
    team_departments: frozenset[str] = frozenset()
    #: Departments an active consent of the case covers.
    consented_departments: frozenset[str] = frozenset()
    #: Recorded legal bases of the person in the case's municipality.
    legal_bases: tuple[LegalBasis, ...] = ()


@dataclass(frozen=True)
class Access:
    """An allowed access: how, and whether it needs a purpose stated by the person."""

    via: Via
    basis: str | None = None

    @property
    def needs_purpose(self) -> bool:
        """Access through a legal basis must say why (the team's own work need not)."""
        return self.via is Via.LEGAL_BASIS


BY_RELATION: dict[Via, frozenset[Action]] = {
    Via.CASEWORKER: frozenset(Action),
    Via.COORDINATOR: frozenset(Action),
    Via.TEAM: frozenset({Action.READ, Action.TRIGGER}),
}


def decide_access(standing: Standing, action: Action) -> Access | None:
    """The closest relation that allows ``action``, or None (refused)."""
    relations = [
        (standing.caseworker, Via.CASEWORKER),
        (standing.coordinator, Via.COORDINATOR),
        (bool(standing.team_departments & standing.consented_departments), Via.TEAM),
    ]
    for holds, via in relations:
        if holds and action in BY_RELATION[via]:
            return Access(via)
    return next(
        (
            Access(Via.LEGAL_BASIS, basis.label)
            for basis in standing.legal_bases
            if action in basis.actions
        ),
        None,
    )
