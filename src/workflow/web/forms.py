"""Forms generated from a step's declared inputs, and form posts read back into inputs.

Each input type has one widget. List inputs (team, goals, networks) are rows of fields
named ``<input>.<row>.<field>``; rows left empty are ignored, so a form can offer a few
blank rows without JavaScript. Goal reviews are one choice per goal of the current plan.
A booked meeting is a choice of the case's booked (or moved) meetings; attendance is one
choice per participant invited to the meeting being held (present, sent apologies, did
not show up), its rows ``<input>.<row>.id`` and ``<input>.<row>.status``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from workflow.definitions.models import Definition
from workflow.definitions.parts import Input
from workflow.definitions.vocabulary import InputType
from workflow.engine.inputs import NETWORK_KINDS, REVIEW_STATUSES
from workflow.texts import text
from workflow.web.definition_texts import local
from workflow.web.meetings import meeting_label, open_meetings

#: Form fields per row of each list input type.
ROW_FIELDS: dict[InputType, tuple[str, ...]] = {
    InputType.TEAM: ("department", "person", "role"),
    InputType.GOALS: ("text", "department", "theme", "owner", "deadline"),
    InputType.NETWORKS: ("name", "kind"),
}
MAX_ROWS = 30
#: What a participant's attendance can be; present is everyone not named.
ATTENDANCE = ("present", "absent", "no_show")
_WIDGETS = {
    InputType.TEXT: "textarea",
    InputType.INTEGER: "number",
    InputType.DECIMAL: "decimal",
    InputType.BOOLEAN: "checkbox",
    InputType.DATE: "date",
    InputType.DATETIME: "datetime",
    InputType.MEETING: "datetime",
    InputType.MEETING_PLACE: "select",
    InputType.CHOICE: "select",
    InputType.DEPARTMENT: "select",
    InputType.THEME: "select",
    InputType.MULTICHOICE: "checkboxes",
    InputType.DEPARTMENTS: "checkboxes",
    InputType.THEMES: "checkboxes",
    InputType.PERSON: "person",
    InputType.COORDINATOR: "person",
    InputType.TEAM: "rows",
    InputType.GOALS: "rows",
    InputType.NETWORKS: "rows",
    InputType.GOAL_REVIEWS: "reviews",
    InputType.BOOKED_MEETING: "select",
    InputType.ATTENDANCE: "attendance",
    InputType.PROGRESSION: "select",
}


@dataclass(frozen=True)
class FormField:
    """One generated field: what the template needs to render it."""

    name: str
    type: str
    widget: str
    label: str
    help: str
    required: bool
    choices: list[tuple[str, str]] = field(default_factory=list)
    columns: tuple[str, ...] = ()
    column_choices: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    first_person: bool = False
    #: The value chosen when the form is blank (e.g. the next booked meeting).
    default: str = ""
    #: Attendance: each invited participant's id and name.
    participants: list[tuple[str, str]] = field(default_factory=list)
    #: Attendance: those set as absent on a blank form (taken out of the meeting: their
    #: department's consent was withdrawn).
    absent: frozenset[str] = frozenset()
    #: Attendance: the meeting it is recorded for, in words ("" when none is booked).
    meeting: str = ""
    #: A date's earliest and latest day (ISO), from its ``min`` and ``max`` in days from
    #: today: the date picker offers no day the step would refuse ("" when unbounded).
    earliest: str = ""
    latest: str = ""


@dataclass(frozen=True)
class FormCase:
    """What a step's form shows of its case: the meetings, and who was invited to the
    meeting the step records as held (ids and names)."""

    meetings: Sequence[Mapping[str, Any]] = ()
    held: Mapping[str, Any] | None = None
    participants: Mapping[str, str] = field(default_factory=dict)
    #: Of those invited, the ones no longer taking part (absent unless the form says else).
    absent: frozenset[str] = frozenset()
    #: The themes a goal may have (own-themes-only: the young person's own); None: any.
    goal_themes: frozenset[str] | None = None
    #: The day of the step in the municipality (dates' bounds count from it); None: unknown.
    today: date | None = None


def _choices(
    definition: Definition, item: Input, locale: str, case: FormCase
) -> list[tuple[str, str]]:
    """What a select or a set of checkboxes offers."""
    if item.type in (InputType.CHOICE, InputType.MULTICHOICE):
        return [(c.value, local(c.label, locale)) for c in item.choices]
    if item.type is InputType.MEETING_PLACE:  # its own choices, else the rules' rooms
        return [(c.value, local(c.label, locale)) for c in item.choices] or [
            (r.value, local(r.label, locale)) for r in definition.meeting_rules.rooms
        ]
    if item.type in (InputType.DEPARTMENT, InputType.DEPARTMENTS):
        return [(d.id, local(d.name, locale)) for d in definition.departments]
    if item.type in (InputType.THEME, InputType.THEMES):
        return [(t.id, local(t.name, locale)) for t in definition.themes]
    if item.type is InputType.PROGRESSION and definition.progression:
        return [(v.id, local(v.name, locale)) for v in definition.progression.levels]
    if item.type is InputType.BOOKED_MEETING:
        return [
            (str(m["key"]), meeting_label(definition, m, locale))
            for m in open_meetings(case.meetings)
        ]
    return []


def form_fields(
    definition: Definition,
    inputs: Sequence[Input],
    locale: str,
    case: FormCase | None = None,
) -> list[FormField]:
    """The fields of a step's form, labelled in ``locale`` (``case``: the case's meetings)."""
    case = case or FormCase()
    departments = [(d.id, local(d.name, locale)) for d in definition.departments]
    themes = [
        (t.id, local(t.name, locale))
        for t in definition.themes
        if case.goal_themes is None or t.id in case.goal_themes
    ]
    column_choices = {
        "department": departments,
        "theme": themes,
        "kind": [(k, text(f"kind_{k}", locale)) for k in NETWORK_KINDS],
        "status": [(s, text(f"status_{s}", locale)) for s in REVIEW_STATUSES],
        "attendance": [(a, text(f"attendance_{a}", locale)) for a in ATTENDANCE],
    }
    fields = []
    for item in inputs:
        choices = _choices(definition, item, locale, case)
        attendance = item.type is InputType.ATTENDANCE and case.held is not None
        fields.append(
            FormField(
                name=item.name,
                type=item.type.value,
                widget=_WIDGETS[item.type],
                label=local(item.label, locale),
                help=local(item.help, locale),
                required=item.required,
                choices=choices,
                columns=ROW_FIELDS.get(item.type, ()),
                column_choices=column_choices,
                min=item.min,
                max=item.max,
                first_person=item.first_person,
                # A booked meeting left blank is the earliest one: shown chosen.
                default=choices[0][0] if item.type is InputType.BOOKED_MEETING and choices else "",
                participants=list(case.participants.items()) if attendance else [],
                absent=case.absent if attendance else frozenset(),
                meeting=meeting_label(definition, case.held, locale)
                if attendance and case.held is not None
                else "",
                earliest=_day(item, item.min, case.today),
                latest=_day(item, item.max, case.today),
            )
        )
    return fields


def _day(item: Input, days: float | None, today: date | None) -> str:
    """A date input's bound as a day (ISO), ``days`` from today; "" when unbounded."""
    if item.type is not InputType.DATE or days is None or today is None:
        return ""
    return (today + timedelta(days=int(days))).isoformat()


class FormData:
    """A posted form as lists of values per name (what Starlette's FormData gives)."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for key, value in pairs:
            self._values.setdefault(key, []).append(value)

    def get(self, name: str) -> str:
        """The last value given for ``name`` ('' if none)."""
        values = self._values.get(name)
        return values[-1] if values else ""

    def getlist(self, name: str) -> list[str]:
        """Every value given for ``name``."""
        return list(self._values.get(name, []))

    def rows(self, name: str) -> int:
        """How many rows of a list input the form holds (the highest row number + 1)."""
        prefix = f"{name}."
        numbers = [
            int(key[len(prefix) :].split(".", 1)[0])
            for key in self._values
            if key.startswith(prefix) and _is_number(key[len(prefix) :].split(".", 1)[0])
        ]
        return min(max(numbers, default=-1) + 1, MAX_ROWS)


def without_blank_rows(inputs: Sequence[Input], form: FormData) -> FormData:
    """The form with the blank rows of its list inputs left out and the others numbered
    from 0, as the service numbers the entries: "række 2" in a refusal is the second row
    the page shows again, not the third one the user filled in below a blank."""
    listed = {item.name: ROW_FIELDS[item.type] for item in inputs if item.type in ROW_FIELDS}
    if not listed:
        return form
    pairs: list[tuple[str, str]] = []
    for key, values in form._values.items():
        name, _, rest = key.partition(".")
        if name not in listed or not _is_number(rest.split(".", 1)[0]):
            pairs.extend((key, value) for value in values)
    for name, columns in listed.items():
        number = 0
        had = form.rows(name)
        for index in range(had):
            row = {c: form.getlist(f"{name}.{index}.{c}") for c in columns}
            if any(v.strip() for values in row.values() for v in values):
                pairs.extend(
                    (f"{name}.{number}.{c}", v) for c, values in row.items() for v in values
                )
                number += 1
        # As many rows as the user had: the blank ones after the filled (a refused form
        # neither shrinks nor grows by itself).
        pairs.extend((f"{name}.{n}.{columns[0]}", "") for n in range(number, had))
    return FormData(pairs)


def read_form(inputs: Sequence[Input], form: FormData, plan_goals: Sequence[int]) -> dict[str, Any]:
    """The step's inputs from a posted form, ready for the engine to validate."""
    values: dict[str, Any] = {}
    for item in inputs:
        name = item.name
        if item.type is InputType.BOOLEAN:
            values[name] = form.get(name) == "true"
        elif item.type in (InputType.MULTICHOICE, InputType.DEPARTMENTS, InputType.THEMES):
            values[name] = [v for v in form.getlist(name) if v]
        elif item.type in ROW_FIELDS:
            values[name] = _rows(name, ROW_FIELDS[item.type], form)
        elif item.type is InputType.GOAL_REVIEWS:
            values[name] = [
                {"goal": number, "status": form.get(f"{name}.{number}.status")}
                for number in plan_goals
                if form.get(f"{name}.{number}.status")
            ]
        elif item.type is InputType.ATTENDANCE:
            values[name] = _attendance(name, form)
        else:
            text = form.get(name).strip()
            values[name] = text or None
    return values


def _attendance(name: str, form: FormData) -> dict[str, list[str]] | None:
    """Who did not come, from one choice per participant (None: the form asked no one)."""
    rows = form.rows(name)
    if rows == 0:
        return None
    found: dict[str, list[str]] = {"absent": [], "no_show": []}
    for index in range(rows):
        who = form.get(f"{name}.{index}.id").strip()
        status = form.get(f"{name}.{index}.status")
        if who and status in found:
            found[status].append(who)
    return found


def _rows(name: str, columns: Sequence[str], form: FormData) -> list[dict[str, Any]]:
    rows = []
    for index in range(form.rows(name)):
        row = {c: form.get(f"{name}.{index}.{c}").strip() for c in columns}
        if any(row.values()):
            rows.append({c: v for c, v in row.items() if v})
    return rows


def _is_number(text: str) -> bool:
    """A row number as a form writes it: ASCII digits only (``"²".isdigit()`` is true)."""
    return text.isascii() and text.isdigit() and len(text) < 6
