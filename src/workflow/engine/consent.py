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
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from workflow.definitions.models import Definition
from workflow.engine.vocabulary import DEPARTMENT_KINDS
from workflow.errors import Problem, did_you_mean

#: The roles that record a consent on the young person's behalf (a guardian gives the
#: parental one); and those that may withdraw it (the young person and a guardian too).
GIVES_CONSENT = frozenset({"caseworker", "coordinator", "guardian"})
WITHDRAWS_CONSENT = frozenset({"caseworker", "coordinator", "young_person", "guardian"})


def withheld_reason(kind: str, department: str, consented: Collection[str]) -> str | None:
    """Why a notification to a recipient must not be sent now, or None when it may.

    ``kind`` and ``department`` are the recipient's kind and id; ``consented`` the
    departments a consent in force covers at the moment of sending.
    """
    if kind not in DEPARTMENT_KINDS or department in consented:
        return None
    return f"no consent covers department {department}"


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


__all__ = [
    "GIVES_CONSENT",
    "WITHDRAWS_CONSENT",
    "GivenConsent",
    "consent_in_force",
    "consent_problems",
    "consented_departments",
    "guardian_needed",
    "withdraw_from",
    "withheld_reason",
]
