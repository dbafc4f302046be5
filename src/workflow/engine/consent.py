"""The young person's consent as pure rules, shared by production and the simulator.

* :func:`withheld_reason` — a notification to a department (or to a team member for a
  department) is sent only while a consent in force covers the department; otherwise it
  is withheld. Delivery applies it when a row is sent (:mod:`workflow.delivery.outbox`),
  the simulator when a step's notifications are shown.
* :func:`consent_problems` — what is wrong with a consent for a definition: unknown
  departments or data categories, none named, or a young person under the definition's
  ``privacy.guardian_consent_under`` without a custodial parent's consent.
* :class:`GivenConsent`, :func:`consent_in_force`, :func:`withdraw_from` — consents given
  and withdrawn, and the consent in force as expressions see it (``consent.given``,
  ``departments``, ``categories``, ``guardian``), as the store keeps them: withdrawing a
  department ends it in every consent that covers it, and a consent with no department
  left is withdrawn as a whole (its categories and the parent's part go with it).
* :func:`records_consent` — whether a step a person takes says the young person has
  consented (it records the milestone ``consent_given``): its form asks the consent's
  departments and data categories too, and a consent record is made with the step.
* :func:`release_verdict` — whether a notification withheld for want of consent is still
  worth sending when a consent covering its department is recorded later.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflow.definitions.effects import MilestoneEffect
from workflow.definitions.models import Definition
from workflow.definitions.parts import Transition
from workflow.definitions.vocabulary import SYSTEM_ROLE
from workflow.engine.vocabulary import DEPARTMENT_KINDS
from workflow.errors import Problem, did_you_mean

#: The roles a simulation lets record a consent (staff from the signed form; a guardian's
#: stands for the yes of both, as a script gives it at once: the service records the
#: young person's and a parent's yes as parts until both are given, see
#: privacy.consents.ConsentService.give_part); and those that may withdraw it (the young
#: person and a guardian too).
GIVES_CONSENT = frozenset({"caseworker", "coordinator", "guardian"})
WITHDRAWS_CONSENT = frozenset({"caseworker", "coordinator", "young_person", "guardian"})
#: The milestone that says the young person has consented to sharing.
CONSENT_MILESTONE = "consent_given"


def records_consent(transition: Transition) -> bool:
    """Whether taking this step says the young person has consented: a person's step (not
    only the system's) that records the milestone ``consent_given`` unconditionally, such
    as the base's "Start forløbet". Such a step records a consent of its own, with the
    departments and data categories asked with it (a yes/no alone shares nothing)."""
    if set(transition.roles) <= {SYSTEM_ROLE}:
        return False
    return any(
        isinstance(effect, MilestoneEffect)
        and effect.milestone == CONSENT_MILESTONE
        and effect.when is None
        for effect in transition.effects
    )


#: Marks an outbox row as a meeting's cancellation to a team member whose department's
#: consent was withdrawn (:mod:`workflow.privacy.uninvited`): the one kind of row the
#: delivery lets through to a department no consent covers.
UNINVITED_MARK = "uninvited"


def withheld_reason(kind: str, department: str, consented: Collection[str]) -> str | None:
    """Why a notification to a recipient must not be sent now, or None when it may.

    ``kind`` and ``department`` are the recipient's kind and id; ``consented`` the
    departments a consent in force covers at the moment of sending.
    """
    if kind not in DEPARTMENT_KINDS or department in consented:
        return None
    return f"no consent covers department {department}"


def shared_meeting(meeting: Mapping[str, Any], consented: Collection[str]) -> dict[str, Any]:
    """A meeting as a message may tell it: of its team members only those of departments
    a consent in force covers (``consented``). A department no consent covers is not
    invited — its invitation is withheld, a withdrawal cancelled it — so the calendar
    entries sent to the others do not name its staff as attendees."""
    people = meeting.get("participants")
    if not isinstance(people, list):
        return dict(meeting)
    return {
        **meeting,
        "participants": [
            p
            for p in people
            if not (isinstance(p, Mapping) and p.get("role") == "team_member")
            or p.get("department") in consented
        ],
    }


def guardian_needed(definition: Definition, age: int) -> bool:
    """Whether a consent given at ``age`` needs a custodial parent's consent too."""
    under = definition.privacy.guardian_consent_under
    return under is not None and age < under


def consent_problems(
    definition: Definition,
    departments: Sequence[str],
    categories: Sequence[str],
    guardian: bool,
    age: int | None,
) -> list[Problem]:
    """What is wrong with a consent (field by field); ``age`` is the young person's age on
    the day it is given (None: not known, so the parent's part is not checked)."""
    problems = _unknown("departments", "department", departments, definition.departments_by_id)
    problems += _unknown(
        "categories", "data category", categories, definition.data_categories_by_id
    )
    if not departments:
        problems.append(
            Problem(None, "departments", "name at least one department the consent covers")
        )
    if age is not None and guardian_needed(definition, age) and not guardian:
        under = definition.privacy.guardian_consent_under
        problems.append(
            Problem(
                None,
                "guardian",
                f"the young person is {age}: under {under} a custodial parent must consent too",
                "record the parent's consent, or wait until it is given",
            )
        )
    return problems


def _unknown(path: str, what: str, values: Iterable[str], known: Iterable[str]) -> list[Problem]:
    known = list(known)
    return [
        Problem(None, path, f"unknown {what} '{value}'", did_you_mean(value, known))
        for value in values
        if value not in known
    ]


@dataclass(frozen=True)
class GivenConsent:
    """One consent as it stands: the departments it still covers, its data categories,
    and whether a custodial parent consented too."""

    departments: frozenset[str]
    categories: frozenset[str] = frozenset()
    guardian: bool = False


def consent_in_force(consents: Iterable[GivenConsent]) -> dict[str, Any]:
    """The consent as expressions see it (``consent.*``): the union of the consents in
    force (as :func:`workflow.store.loading.consent_state` reads it from the store)."""
    departments: set[str] = set()
    categories: set[str] = set()
    guardian = False
    for consent in consents:
        if not consent.departments:
            continue
        departments |= consent.departments
        categories |= consent.categories
        guardian = guardian or consent.guardian
    return {
        "given": bool(departments),
        "departments": sorted(departments),
        "categories": sorted(categories),
        "guardian": guardian,
    }


def withdraw_from(
    consents: Sequence[GivenConsent], departments: Collection[str] | None
) -> tuple[tuple[GivenConsent, ...], list[str], list[Problem]]:
    """Withdraw consent for ``departments`` (None: all): the consents left in force, the
    departments withdrawn (sorted), and the problems (a department no consent covers),
    in which case nothing is withdrawn."""
    shared = {d for c in consents for d in c.departments}
    if departments is not None:
        problems = _unknown("departments", "consented department", departments, shared)
        if problems:
            return tuple(consents), [], problems
    chosen = shared if departments is None else set(departments)
    left = tuple(
        GivenConsent(c.departments - chosen, c.categories, c.guardian)
        for c in consents
        if c.departments - chosen
    )
    return left, sorted(chosen & shared), []


def consented_departments(consents: Iterable[GivenConsent]) -> frozenset[str]:
    """The departments the case may be shared with now."""
    return frozenset(d for c in consents for d in c.departments)


@dataclass(frozen=True)
class WithheldNotice:
    """A withheld notification as the release rule needs it: the stage its step left the
    case in, and the meeting it is about (as the row's payload holds it), if any."""

    stage: str
    meeting: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class CaseNow:
    """The case as it stands when the consent is recorded: its stage, whether it is
    closed, and its meetings by key (``state``, ``sequence``, ``starts_at``)."""

    stage: str
    closed: bool
    meetings: Mapping[int, Mapping[str, Any]]
    now: datetime


def release_verdict(notice: WithheldNotice, case: CaseNow) -> str | None:
    """None when a withheld notification is still relevant and is released for delivery
    now that consent covers its department; else why it stays withheld.

    Still relevant means: the case is not closed, and
    * a notification about a meeting (an invitation, a move): the meeting is still booked
      as the notification described it (not cancelled, held or moved since — a move sent
      its own notice, released on its own) and has not started;
    * any other notification: the case is still in the stage the step that wrote it
      left it in (the news is still current).
    """
    if case.closed:
        return "the case is closed"
    if notice.meeting is not None:
        key = notice.meeting.get("key")
        current = case.meetings.get(int(key)) if isinstance(key, int) else None
        if current is None or current.get("state") in ("cancelled", "held"):
            return "the meeting it is about is cancelled or held"
        if int(current.get("sequence") or 0) != int(notice.meeting.get("sequence") or 0):
            return "the meeting it is about was moved since"
        starts = current.get("starts_at")
        if not isinstance(starts, datetime) or starts <= case.now:
            return "the meeting it is about has started or passed"
        return None
    if notice.stage != case.stage:
        return f"the case has moved on from stage {notice.stage}"
    return None


__all__ = [
    "GIVES_CONSENT",
    "WITHDRAWS_CONSENT",
    "CaseNow",
    "GivenConsent",
    "WithheldNotice",
    "consent_in_force",
    "consent_problems",
    "consented_departments",
    "guardian_needed",
    "records_consent",
    "release_verdict",
    "withdraw_from",
    "withheld_reason",
]
