"""What a step of a case changes in the outcome figures: a pure projection of a decision.

The outcome pages (a municipality's, the national comparison) count figures over many
thousands of cases; reading every case's history for that would take seconds. So every
step writes, in its own transaction, the few facts the figures are made of — computed
here from the decision, the step's inputs and the definition:

* when the pre-meeting was held (the case first reaches a stage of the ``first_meeting``
  phase or later) and when the first collaboration meeting was (``follow_up`` or later),
  in whole days since the referral;
* a deadline of the definition that fell due on the way there (a timer of the stage the
  case was in fired: the definition's own deadlines, business days and all);
* a meeting held (a transition with ``meeting: {action: hold}``; numbered 1, 2, ... by
  how many such steps the case has had) or a pre-meeting that recorded a progression
  level (number 0): the level agreed, and the goals of the previous plan reviewed and met;
* the case's end: its final stage and its closing status (the step's ``outcome`` input).

The store writes these as rows (``workflow.store.figures``); rebuilding them from the
history replays this same function, so the figures never depend on which way they came.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflow.definitions.models import Definition
from workflow.definitions.vocabulary import InputType, Phase, StageKind

#: Reaching a stage of one of these phases means the pre-meeting has been held.
AFTER_PRE_MEETING = frozenset({Phase.FIRST_MEETING, Phase.FOLLOW_UP, Phase.HANDOVER})
#: Reaching a stage of one of these phases means the first meeting has been held.
AFTER_FIRST_MEETING = frozenset({Phase.FOLLOW_UP, Phase.HANDOVER})
#: The input a closing step gives its status at closing in (education, employment, ...).
OUTCOME_INPUT = "outcome"
#: A goal review that counts as met.
MET = "met"


@dataclass(frozen=True, slots=True)
class MeetingFigure:
    """A meeting as the figures count it (no names, no words: numbers and codes)."""

    number: int  # 0: the pre-meeting; 1: the first collaboration meeting; 2...: follow-ups
    level: int | None  # the progression level's rank (1: lowest), when one was recorded
    goals_reviewed: int  # goals of the previous plan reviewed at this meeting
    goals_met: int  # of which met
    #: When the meeting was: a held meeting's own start (registered as held later, it
    #: was still held then), else the step's time (a pre-meeting's level).
    held_at: datetime


@dataclass(frozen=True, slots=True)
class StepFigures:
    """What one step changes in its case's figures."""

    stage: str
    #: The step took the case to another stage (an overdue deadline is then behind it).
    moved: bool
    #: Whole days since the referral, at this step.
    days: int
    reached_pre_meeting: bool
    reached_first_meeting: bool
    #: Timers of the stage the case was in that fired at this step (deadlines missed).
    deadlines: tuple[str, ...]
    meeting: MeetingFigure | None
    #: The step ended the case (a final stage): which, and its status at closing.
    ended: bool
    outcome: str | None


def held_meeting_events(definition: Definition) -> frozenset[str]:
    """The events of the steps that record a meeting as held."""
    return definition.meeting_holding_events  # computed once per definition


def step_figures(  # noqa: PLR0913 - the parts of one recorded step
    definition: Definition,
    *,
    event: str,
    transition: str,
    from_stage: str | None,
    to_stage: str,
    fired: tuple[str, ...],
    counts: Mapping[str, int],
    values: Mapping[str, Any],
    given: frozenset[str],
    opened_at: datetime,
    at: datetime,
    held_start: datetime | None = None,
) -> StepFigures:
    """The figures of one step.

    ``fired``: the timers that fired at this step; ``counts``: the case's event counts
    after it; ``values``: the case data after it; ``given``: the inputs the step gave;
    ``held_start``: the start of the meeting the step records as held, if it holds one.
    """
    stages = definition.stages_by_id
    stage = stages[to_stage]
    before = stages.get(from_stage) if from_stage else None
    phase = stage.phase
    deadlines = tuple(t for t in fired if before is not None and t in before.timers)
    meeting = _meeting(definition, event, transition, counts, values, given, held_start or at)
    ended = stage.kind is StageKind.FINAL and (before is None or before.kind is not StageKind.FINAL)
    outcome = values.get(OUTCOME_INPUT) if ended and OUTCOME_INPUT in given else None
    return StepFigures(
        stage=to_stage,
        moved=from_stage != to_stage,
        days=max(0, (at - opened_at).days),
        reached_pre_meeting=phase in AFTER_PRE_MEETING,
        reached_first_meeting=phase in AFTER_FIRST_MEETING,
        deadlines=deadlines,
        meeting=meeting,
        ended=ended,
        outcome=str(outcome) if isinstance(outcome, str) else None,
    )


def _meeting(
    definition: Definition,
    event: str,
    transition: str,
    counts: Mapping[str, int],
    values: Mapping[str, Any],
    given: frozenset[str],
    held_at: datetime,
) -> MeetingFigure | None:
    holds = held_meeting_events(definition)
    step = definition.transitions_by_id.get(transition)
    inputs = step.inputs if step is not None else []
    level_inputs = [i.name for i in inputs if i.type is InputType.PROGRESSION and i.name in given]
    level = None
    if level_inputs and definition.progression is not None:
        level = definition.progression.ranks.get(str(values.get(level_inputs[0])))
    if event not in holds and level is None:
        return None
    number = sum(counts.get(e, 0) for e in holds) if event in holds else 0
    reviewed = met = 0
    for item in inputs:
        if item.type is InputType.GOAL_REVIEWS and item.name in given:
            reviews = values.get(item.name) or []
            reviewed += len(reviews)
            met += sum(1 for r in reviews if isinstance(r, Mapping) and r.get("status") == MET)
    return MeetingFigure(number, level, reviewed, met, held_at)
