"""Who may see and act on a case: the access rule, as a pure function.

A person sees a case only

* as its **caseworker** or its **coordinator** (read, trigger, export);
* as a **member of its team** whose department the young person's consent covers, and
  has not withdrawn (read, trigger) — a team member does not export the case;
* as **the young person** themself, or a **guardian** of a minor (read, trigger: their own
  steps; what they see is chosen by the citizen pages, not by this rule);
* through a **recorded legal basis** in the case's municipality, e.g. a manager's
  oversight: the actions the grant names (usually read and export), and a read only
  with a stated purpose.

Everyone else is refused exactly as if the case did not exist. The store works out a
person's :class:`Standing` on a case; :func:`decide_access` applies the rule.

A standing also says which **roles** of a definition the person may act in on this case
(:func:`roles_held`): the caseworker *of record* acts as ``caseworker``, the coordinator the
young person chose as ``coordinator``, and so on. Account roles only say which standings a
person may be given; they never let anyone act on a case.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from workflow.definitions.vocabulary import CaseRole


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
    YOUNG_PERSON = "young_person"
    GUARDIAN = "guardian"
    LEGAL_BASIS = "legal_basis"


#: How citizens are named as actors: the young person of a case, and a guardian (by the
#: guardian's record). Staff ids never contain "/" (accounts refuse it).
YOUNG_PERSON_ACTOR = "young-person/"
GUARDIAN_ACTOR = "guardian/"


#: The actor id of the system's step that tells a case of a consent: who gave or withdrew
#: it follows (``consent:caseworker:cw-mette``), so the timeline says whose act it was.
CONSENT_ACTOR = "consent:"


def young_person_actor(reference: str) -> str:
    """The actor id of the young person of a case (no personal data: the case reference)."""
    return YOUNG_PERSON_ACTOR + reference


def guardian_actor(guardian_id: int) -> str:
    """The actor id of a guardian (their record's number)."""
    return f"{GUARDIAN_ACTOR}{guardian_id}"


def guardian_id_of(actor_id: str) -> int | None:
    """The guardian record an actor id names, or None."""
    number = actor_id.removeprefix(GUARDIAN_ACTOR)
    return int(number) if actor_id.startswith(GUARDIAN_ACTOR) and number.isdigit() else None


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
    #: The person is the young person of the case.
    young_person: bool = False
    #: The person is a guardian (custodial parent) of the young person, who is a minor.
    guardian: bool = False

    @property
    def on_team(self) -> bool:
        """On the team for a department the young person's consent covers."""
        return bool(self.team_departments & self.consented_departments)


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
    # The citizen's own data: read, their steps, and their access log (GDPR art. 15).
    Via.YOUNG_PERSON: frozenset(Action),
    Via.GUARDIAN: frozenset(Action),
}


def decide_access(standing: Standing, action: Action) -> Access | None:
    """The closest relation that allows ``action``, or None (refused)."""
    relations = [
        (standing.caseworker, Via.CASEWORKER),
        (standing.coordinator, Via.COORDINATOR),
        (standing.on_team, Via.TEAM),
        (standing.young_person, Via.YOUNG_PERSON),
        (standing.guardian, Via.GUARDIAN),
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


def roles_held(standing: Standing) -> tuple[CaseRole, ...]:
    """The roles a person may act in on the case, most specific first."""
    held = [
        (standing.coordinator, CaseRole.COORDINATOR),
        (standing.caseworker, CaseRole.CASEWORKER),
        (standing.on_team, CaseRole.TEAM_MEMBER),
        (standing.young_person, CaseRole.YOUNG_PERSON),
        (standing.guardian, CaseRole.GUARDIAN),
        (bool(standing.legal_bases), CaseRole.LEADER),
    ]
    return tuple(role for holds, role in held if holds)
