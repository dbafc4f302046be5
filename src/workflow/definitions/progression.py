"""The progression scale: how far the young person has come, assessed at each meeting.

The KUI field measures progress with the youth-progression taxonomy of the *Unge med
kant* projects — from *contact-ready* through *guidance-ready* towards *education- or
job-ready* — assessed by the team together with the young person, not only "ready / not
ready". A definition declares its scale once (the national base ships one; a
municipality replaces it whole by writing its own ``progression:``); a ``progression``
input records the young person's level at a meeting, and the outcome figures count
movement up and down the scale.
"""

from __future__ import annotations

from functools import cached_property

from pydantic import Field, model_validator

from workflow.definitions.types import Identifier, StrictModel, Text

#: The fewest levels a scale can measure movement on.
MIN_LEVELS = 2


class ProgressionLevel(StrictModel):
    """One level of the scale, with what the team looks for to place the young person."""

    id: Identifier
    name: Text = Field(description="The level's name, as the young person and the team read it.")
    indicators: list[Text] = Field(
        default_factory=list,
        description="What the team and the young person look for to agree on this level "
        "(shown beside the choice when it is recorded).",
    )


class Progression(StrictModel):
    """A progression scale: its levels from the first (lowest) to the last (highest)."""

    name: Text = Field(description="The scale's name (e.g. 'Ungeprogression').")
    levels: list[ProgressionLevel] = Field(
        description="The levels, lowest first; a level's place in this list is its rank.",
        min_length=MIN_LEVELS,
    )

    @model_validator(mode="after")
    def _unique_levels(self) -> Progression:
        ids = [level.id for level in self.levels]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"level id '{twice[0]}' is given twice; give each level its own id")
        return self

    @cached_property
    def ranks(self) -> dict[str, int]:
        """Each level's rank: 1 for the lowest."""
        return {level.id: rank for rank, level in enumerate(self.levels, start=1)}
