"""Consent on a step's form: the consent a step records, and the team it does not cover.

* A step that says the young person has consented (``records_consent``: the base's
  "Start forløbet") asks on its form which departments and data categories the consent
  covers, and whether a custodial parent consented too. The consent is checked before
  the step is taken and recorded with it by the case service, in the step's transaction
  (:mod:`workflow.cases.consent_at_start`: the same record, rules and audit entry as the
  **Samtykke** card), so a ticked box is never a consent that shares nothing.
* A step that names the young person's team warns, before it is saved, about every
  person whose department no consent covers: that person is not sent the step's
  notifications (they are withheld until a consent covers the department) and cannot
  see the case. The form is saved only once the warning is confirmed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workflow.cases.consent_at_start import CONSENT_FIELD
from workflow.definitions.models import Definition
from workflow.definitions.parts import Transition
from workflow.definitions.types import text_in
from workflow.definitions.vocabulary import InputType
from workflow.engine.consent import records_consent
from workflow.errors import Problem
from workflow.privacy.consents import ConsentRequest
from workflow.store.reading import CaseView
from workflow.texts import TEXTS, text
from workflow.web.forms import FormData

#: The form fields of a step's consent: ``consent_scope.departments`` and so on.
SCOPE = "consent_scope"
#: The box that confirms saving a team some of whom no consent covers.
CONFIRM_WITHHELD = "confirm_withheld"


@dataclass(frozen=True)
class ConsentScope:
    """What the step's form offers for its consent, in the page's language."""

    departments: list[tuple[str, str]]
    categories: list[tuple[str, str]]


def scope_of(definition: Definition, transition: Transition, lang: str) -> ConsentScope | None:
    """The consent fields of the step's form (None: the step records no consent)."""
    if not records_consent(transition):
        return None
    return ConsentScope(
        departments=[(d.id, text_in(d.name, lang)) for d in definition.departments],
        categories=[(c.id, text_in(c.name, lang)) for c in definition.privacy.data_categories],
    )


def scope_request(transition: Transition, form: FormData) -> ConsentRequest | None:
    """The consent the posted form gives with the step (None: the step records none)."""
    if not records_consent(transition):
        return None
    return ConsentRequest(
        departments=[v for v in form.getlist(f"{SCOPE}.departments") if v][:100],
        categories=[v for v in form.getlist(f"{SCOPE}.categories") if v][:100],
        guardian=form.get(f"{SCOPE}.guardian") == "1",
    )


def scope_errors(problems: Sequence[Problem], lang: str) -> dict[str, str]:
    """A refused consent's problems beside the form's consent fields, in ``lang``."""
    errors: dict[str, str] = {}
    for problem in problems:
        # The case service locates a step's consent at consent.<field>; the form at
        # consent_scope.<field>.
        path = problem.path.removeprefix(f"{CONSENT_FIELD}.")
        key = f"consent_problem_{path}"
        shown = text(key, lang) if key in TEXTS else str(problem)
        name = f"{SCOPE}.{path}"
        errors[name] = f"{errors[name]} {shown}" if name in errors else shown
    return errors


def covered_departments(view: CaseView) -> set[str]:
    """The departments a consent in force covers on the case."""
    return {
        d["department"]
        for consent in view.consents
        for d in consent.get("departments", [])
        if d.get("withdrawn_at") is None
    }


def uncovered_team(
    definition: Definition,
    transition: Transition,
    inputs: Mapping[str, Any],
    covered: set[str],
    names: Mapping[str, str],
    lang: str,
) -> list[str]:
    """The team persons the step names whose department no consent covers, in words
    ("Anna Lærer (Skole)"), in the order given; none when the step names no team."""
    found: list[str] = []
    for item in transition.inputs:
        if item.type is not InputType.TEAM or not isinstance(inputs.get(item.name), list):
            continue
        for row in inputs[item.name]:
            if not isinstance(row, dict):
                continue
            department, person = str(row.get("department") or ""), str(row.get("person") or "")
            if not department or department in covered:
                continue
            known = definition.departments_by_id.get(department)
            where = text_in(known.name, lang) if known else department
            who = names.get(person, person) if person else text("withheld_no_person", lang)
            line = f"{who} ({where})"
            if line not in found:
                found.append(line)
    return found


def team_people(transition: Transition, inputs: Mapping[str, Any]) -> set[str]:
    """The staff ids the step's team rows name (to look up their names)."""
    people: set[str] = set()
    for item in transition.inputs:
        rows = inputs.get(item.name) if item.type is InputType.TEAM else None
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and row.get("person"):
                people.add(str(row["person"]))
    return people
