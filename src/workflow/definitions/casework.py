"""The work around a case, as a definition declares it: meetings, conferences, pools, display.

- ``meetings:`` the kinds of meeting a case has and the **meeting rules** (fixed weekdays,
  the hours a meeting may start, its rooms, how early it may be recorded as held, whether
  the agenda comes only from the young person's own themes). Declared once, checked at
  every booking and every move, by the engine.
- A transition's ``meeting:`` says which meeting step it is: ``move``, ``cancel`` or
  ``hold`` (booking is any ``type: meeting`` input).
- ``conferences:`` a recurring case-conference session (Horsens): how often, how many cases,
  how long per case, and the step each case's outcome is recorded with.
- ``pool:`` a budget per municipality that departments pay into and grants draw from
  (Ballerup).
- ``display:`` which case data the case page (and the young person's page) shows.
"""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import Field, StrictBool, StrictInt, model_validator

from workflow.definitions.parts import ClockTime, Weekday
from workflow.definitions.types import DurationField, Identifier, StrictModel, Text


class MeetingKind(StrictModel):
    """A kind of meeting of a case (pre-meeting, collaboration, follow-up, conference...)."""

    id: Identifier
    name: Text = Field(description="What the meeting is called in invitations and on pages.")
    minutes: StrictInt = Field(
        default=60, ge=5, le=480, description="How long it lasts (the calendar invitation)."
    )


class Room(StrictModel):
    """A room meetings may be held in."""

    value: Identifier
    label: Text


class MeetingRules(StrictModel):
    """Rules every booking and every move of a meeting must keep."""

    weekdays: list[Weekday] = Field(
        default_factory=list,
        description="Meetings only on these weekdays (e.g. Sorø: tuesday, thursday); "
        "empty allows any business day.",
    )
    earliest: ClockTime | None = Field(
        default=None, description="A meeting starts no earlier than this time of day."
    )
    latest: ClockTime | None = Field(
        default=None, description="A meeting starts no later than this time of day."
    )
    rooms: list[Room] = Field(
        default_factory=list,
        description="The rooms meetings are held in; a `meeting_place` input without its own "
        "choices offers these.",
    )
    held_early: DurationField | None = Field(
        default=None,
        description="How long before its start a meeting may be recorded as held; "
        "absent: not before it starts.",
    )
    own_themes_only: StrictBool = Field(
        default=False,
        description="Every goal of a plan written at a meeting has one of the young person's "
        "own agenda themes (Sorø: the agenda comes only from the young person).",
    )
    business_days_only: StrictBool = Field(
        default=True, description="No meeting on a weekend, public holiday or closing day."
    )

    @model_validator(mode="after")
    def _window(self) -> MeetingRules:
        if self.earliest and self.latest and self.earliest > self.latest:
            raise ValueError(
                f"earliest ({self.earliest:%H:%M}) is after latest ({self.latest:%H:%M})"
            )
        return self


class Meetings(StrictModel):
    """The meetings of a case: their kinds and the rules they keep."""

    kinds: list[MeetingKind] = Field(
        default_factory=list, description="Kinds of meeting; a `meeting` input names its kind."
    )
    rules: MeetingRules = Field(
        default_factory=MeetingRules, description="Checked at every booking and move."
    )


class Conferences(StrictModel):
    """A recurring case-conference session of the municipality (e.g. Horsens, every 14 days)."""

    name: Text = Field(description="What the session is called.")
    every: DurationField = Field(description="How often a session is held, e.g. '14 days'.")
    weekday: Weekday = Field(description="The weekday sessions are held on.")
    starts: ClockTime = Field(default=time(9, 0), description="When a session starts.")
    min_cases: StrictInt = Field(
        default=1,
        ge=1,
        le=50,
        description="Fewest cases a session is planned for (shown with its agenda).",
    )
    max_cases: StrictInt = Field(default=12, ge=1, le=50, description="Most cases on an agenda.")
    minutes_per_case: StrictInt = Field(
        default=60, ge=5, le=240, description="Time set aside for each case."
    )
    records: Identifier = Field(
        description="The transition each case's outcome is recorded with at the session; its "
        "inputs are asked on the big-screen page."
    )

    @model_validator(mode="after")
    def _range(self) -> Conferences:
        if self.min_cases > self.max_cases:
            raise ValueError(f"min_cases ({self.min_cases}) is greater than max_cases")
        return self


class Pool(StrictModel):
    """A budget of the municipality that departments pay into and grants draw from."""

    name: Text = Field(description="The pool's name.")
    grants: Identifier = Field(description="The transition that grants from the pool.")
    amount: Identifier = Field(description="The input of that transition with the amount (DKK).")


DisplayFormat = Literal["text", "money", "date", "datetime", "number"]


class DisplayField(StrictModel):
    """A piece of case data the case page shows."""

    field: Identifier = Field(description="The case data's name (an input or a `set:` value).")
    label: Text
    format: DisplayFormat = Field(default="text", description="How the value is written.")
    young_person: StrictBool = Field(
        default=False, description="Also shown on the young person's own page."
    )


__all__ = [
    "Conferences",
    "DisplayField",
    "MeetingKind",
    "MeetingRules",
    "Meetings",
    "Pool",
    "Room",
]
