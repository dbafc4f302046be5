"""A step's inputs checked against what only the service knows (its facts): the staff
ids it names as the account store knows them — nobody's, another municipality's, a
responsible caseworker who is not one, a team member put in another department than
their own — and the goals a review names against the plan's. Pure: the service looks
the facts up (:mod:`workflow.cases.staff`) and hands them over as :class:`InputFacts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from workflow.definitions.models import Definition
from workflow.definitions.parts import Input
from workflow.definitions.types import text_in
from workflow.definitions.vocabulary import CaseRole, InputType
from workflow.engine.model import FieldError

_ONE_PERSON = (InputType.PERSON, InputType.COORDINATOR)
MANY_PEOPLE = (InputType.TEAM, InputType.GOALS)
#: The input types whose values may name staff (checked against the account store).
STAFF_INPUT_TYPES = (*_ONE_PERSON, *MANY_PEOPLE)


@dataclass(frozen=True)
class StaffDirectory:
    """The staff ids a step names, as the service found them in the account store.

    The engine reads no store: the service looks the step's person ids up and passes
    what it found (:func:`workflow.cases.staff.staff_directory`).
    """

    #: Active accounts of the case's municipality (or of no municipality: national staff).
    known: frozenset[str] = frozenset()
    #: Active accounts of another municipality (never put on this municipality's cases).
    elsewhere: frozenset[str] = frozenset()
    #: Whether the municipality has accounts of its own to check against. An embedded
    #: set-up driven from the CLI alone has none; once it has one, every staff id must be
    #: known (an account of the municipality, or a national one of no municipality).
    checked: bool = True
    #: For an id that is nobody's: the staff the person most likely meant, as
    #: "id (name)" (a username, a first name or a slip of the keys: "anna" for
    #: "laerer-anna (Anna Lærer)").
    meant: Mapping[str, str] = field(default_factory=dict)
    #: The department of each known person whose account has one: on a team they are in
    #: it (a consent covers departments: a member put in another would see the case
    #: under a consent that does not cover theirs).
    departments: Mapping[str, str] = field(default_factory=dict)
    #: The known persons whose accounts are caseworkers' (a standing of caseworker is
    #: theirs only: a teacher made responsible caseworker would see every case detail).
    caseworkers: frozenset[str] = frozenset()

    def problem(self, person: str) -> str | None:
        """Why ``person`` cannot be named as staff on the case (a text key), or None."""
        if person in self.elsewhere:
            return "staff_elsewhere"
        if self.checked and person not in self.known:
            return "not_staff_meant" if person in self.meant else "not_staff"
        return None

    def refusal(self, name: str, person: str) -> FieldError | None:
        """The field error of naming ``person`` as staff in the input ``name``, or None."""
        problem = self.problem(person)
        if problem is None:
            return None
        params = {"value": person}
        if person in self.meant:
            params["meant"] = self.meant[person]
        return FieldError(name, problem, params)


@dataclass(frozen=True)
class InputFacts:
    """What only the service knows when a step's inputs are checked (None: not checked)."""

    #: The staff ids the step names, as the account store knows them.
    staff: StaffDirectory | None = None
    #: How many goals the case's current plan has (a review names one of them).
    plan_goals: int | None = None


def holds_a_standing(definition: Definition, item: Input) -> bool:
    """Whether an input names the holder of a standing on the case (the coordinator, the
    responsible caseworker...): staff only, never a mail address."""
    return item.type is InputType.COORDINATOR or (
        item.type is InputType.PERSON and item.name in {r.id for r in definition.roles}
    )


def _their_department(
    definition: Definition,
    staff: StaffDirectory,
    name: str,
    entry: Mapping[str, Any],
    number: int,
) -> FieldError | None:
    """A team entry that puts a person in another department than their account's."""
    theirs = staff.departments.get(entry["person"])
    if theirs is None or theirs == entry["department"]:
        return None
    known = definition.departments_by_id.get(theirs)
    words = {lang: text_in(known.name, lang) for lang in ("da", "en")} if known else None
    return FieldError(
        name, "staff_other_department",
        {"value": entry["person"], "theirs": words or theirs, "item": number},
    )  # fmt: skip


def against_facts(
    definition: Definition, item: Input, value: Any, facts: InputFacts
) -> list[FieldError]:
    """The errors only the service's facts show: unknown staff, goals not in the plan."""
    staff = facts.staff
    if staff is not None and isinstance(value, str) and item.type in _ONE_PERSON:
        refused = _one_person(definition, item, value, staff)
        return [] if refused is None else [refused]
    if staff is not None and item.type in MANY_PEOPLE:
        return _many_people(definition, item, value, staff)
    found: list[FieldError] = []
    if facts.plan_goals is not None and item.type is InputType.GOAL_REVIEWS:
        for review in value or []:
            if review["goal"] > facts.plan_goals:
                params = {"goal": review["goal"], "goals": facts.plan_goals}
                found.append(FieldError(item.name, "goal_not_in_plan", params))
        reviewed = {review["goal"] for review in value or []}
        left = [str(goal) for goal in range(1, facts.plan_goals + 1) if goal not in reviewed]
        if item.required and left and value:  # none at all: told as required already
            params = {"goals": ", ".join(left), "count": facts.plan_goals}
            found.append(FieldError(item.name, "goals_not_reviewed", params))
    return found


def _one_person(
    definition: Definition, item: Input, value: str, staff: StaffDirectory
) -> FieldError | None:
    """A person input naming no one who can be named there: nobody's id, another
    municipality's staff, a mail address for a standing, a responsible caseworker who
    is not a caseworker."""
    if "@" in value:
        if holds_a_standing(definition, item):
            return FieldError(item.name, "not_a_staff_id", {"value": value})
        return None
    refused = staff.refusal(item.name, value)
    if refused is not None:
        return refused
    if (
        item.type is InputType.PERSON
        and item.name == CaseRole.CASEWORKER
        and staff.checked
        and value not in staff.caseworkers
    ):
        return FieldError(item.name, "staff_not_caseworker", {"value": value})
    return None


def people_as_given(item: Input, raw: Any, staff: StaffDirectory) -> list[FieldError]:
    """Staff ids that are nobody's (or another municipality's) in a list that was refused
    for something else: told with its other errors."""
    key = "person" if item.type is InputType.TEAM else "owner"
    found: list[FieldError] = []
    for number, entry in enumerate(raw if isinstance(raw, list) else [], start=1):
        person = entry.get(key) if isinstance(entry, Mapping) else None
        if isinstance(person, str) and person.strip() and "@" not in person:
            refused = staff.refusal(item.name, person.strip())
            if refused is not None:
                found.append(replace(refused, params={**refused.params, "item": number}))
    return found


def _many_people(
    definition: Definition, item: Input, value: Any, staff: StaffDirectory
) -> list[FieldError]:
    """Each entry of a team or of goals naming no one who can be named there (each error
    names its entry), and a team member put in another department than their own."""
    found: list[FieldError] = []
    key = "person" if item.type is InputType.TEAM else "owner"
    for number, entry in enumerate(value or [], start=1):
        person = entry.get(key)
        # A mail address is an outside participant: not staff, and never a standing.
        if not isinstance(person, str) or "@" in person:
            continue
        refused = staff.refusal(item.name, person)
        if refused is not None:
            found.append(replace(refused, params={**refused.params, "item": number}))
        elif item.type is InputType.TEAM and (
            wrong := _their_department(definition, staff, item.name, entry, number)
        ):
            found.append(wrong)
    return found
