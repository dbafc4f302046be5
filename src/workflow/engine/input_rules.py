"""The rules a step's inputs answer to beyond their own form, read against the case and
the day of the step: a date input's bounds in days from today, a plan's goals with
deadlines still to come and helped by departments the young person's consent allows.

Said with the inputs' own errors, every wrong field at once (they came in rounds).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from workflow.definitions.models import Definition
from workflow.definitions.parts import StepSpec
from workflow.definitions.vocabulary import InputType
from workflow.engine.model import CaseState, FieldError


class _Step(NamedTuple):
    definition: Definition
    spec: StepSpec
    case: CaseState
    now: datetime


def case_input_errors(
    definition: Definition,
    spec: StepSpec,
    case: CaseState,
    values: Mapping[str, Any],
    now: datetime,
) -> list[FieldError]:
    """The errors of a step's valid inputs against the case and the day of the step."""
    step = _Step(definition, spec, case, now)
    return [
        *_past_deadlines(step, values),
        *_goals_outside_consent(step, values),
        *_days_out_of_bounds(step, values),
    ]


def _days_out_of_bounds(step: _Step, values: Mapping[str, Any]) -> list[FieldError]:
    """A date input's ``min`` and ``max`` are days from the day of the step (in the
    municipality's zone): a pause's expected resumption ``min: 0`` is today or later."""
    bounded = [
        i
        for i in step.spec.inputs
        if i.type is InputType.DATE
        and (i.min is not None or i.max is not None)
        and values.get(i.name)
    ]
    if not bounded:  # most steps: nothing to look at
        return []
    today = step.now.astimezone(ZoneInfo(step.definition.calendar.timezone)).date()
    errors = []
    for item in bounded:
        day = date.fromisoformat(values[item.name])
        if item.min is not None and day < (first := today + timedelta(days=int(item.min))):
            errors.append(FieldError(item.name, "date_too_early", {"day": f"{first:%d.%m.%Y}"}))
        if item.max is not None and day > (last := today + timedelta(days=int(item.max))):
            errors.append(FieldError(item.name, "date_too_late", {"day": f"{last:%d.%m.%Y}"}))
    return errors


def _past_deadlines(step: _Step, values: Mapping[str, Any]) -> list[FieldError]:
    """A plan's goal may not have a deadline that has passed (the day of the step in the
    municipality's zone is the earliest): a plan is for the coming period."""
    plans = [i for i in step.spec.inputs if i.type is InputType.GOALS and values.get(i.name)]
    if not plans:  # most steps: nothing to look at
        return []
    today = step.now.astimezone(ZoneInfo(step.definition.calendar.timezone)).date()
    errors = []
    for item in plans:
        for goal in values[item.name]:
            deadline = goal.get("deadline")
            if deadline and date.fromisoformat(deadline) < today:
                errors.append(
                    FieldError(
                        item.name,
                        "goal_deadline_passed",
                        {"item": goal["id"], "day": f"{today:%d.%m.%Y}"},
                    )
                )
    return errors


def _goals_outside_consent(step: _Step, values: Mapping[str, Any]) -> list[FieldError]:
    """A goal of the plan may name as its helper only a department of the young person's
    team (one whose consent was not taken back) or one the consent covers: the plan goes
    to the whole team, and a goal given to another told them of that department's part in
    the young person's life (health, substance abuse) while the department itself was told
    nothing and could not open the case. The store loads the consent for every step with
    a plan (None: not loaded, nothing checked)."""
    consent = step.case.consent
    if consent is None:
        return []
    team = {str(m.get("department")) for m in step.case.team_members()}
    for item in step.spec.inputs:  # a team given by the step itself
        if item.type is InputType.TEAM:
            team |= {str(m.get("department")) for m in values.get(item.name) or ()}
    allowed = set(consent.get("departments") or ()) | (team - set(consent.get("withdrawn") or ()))
    errors = []
    for item in step.spec.inputs:
        if item.type is not InputType.GOALS:
            continue
        for goal in values.get(item.name) or ():
            department = goal.get("department")
            if department and department not in allowed:
                errors.append(
                    FieldError(
                        item.name,
                        "goal_department_not_consented",
                        {"item": goal["id"], "goal": True},
                    )
                )
    return errors
