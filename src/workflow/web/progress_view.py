"""A young person's progression meeting by meeting, as the case pages show it.

The same small chart and table on the case page, in meeting mode and on the young
person's own page: the level agreed at each meeting (on the definition's progression
scale) and how many of the previous plan's goals were met.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workflow.cases.outcome_tables import meeting_name
from workflow.definitions.models import Definition
from workflow.texts import text
from workflow.web import charts
from workflow.web.definition_texts import local
from workflow.web.rendering import when


@dataclass(frozen=True)
class ProgressRow:
    """One meeting: which, when, the level agreed, the goals met."""

    meeting: str
    held: str
    level: str
    goals: str


@dataclass(frozen=True)
class Progress:
    """The chart and its rows (no chart before a level or a review is recorded)."""

    chart: charts.Chart | None
    rows: list[ProgressRow]


def progress_of(
    progress: Sequence[Mapping[str, Any]], definition: Definition, lang: str
) -> Progress:
    """The case's progress as the pages show it."""
    levels = definition.progression.levels if definition.progression else []
    names = [local(level.name, lang) for level in levels]
    rows, labels, ranks, shares = [], [], [], []
    for point in progress:
        label = meeting_name(int(point["number"]), lang)
        rank = point.get("level")
        reviewed, met = int(point.get("goals_reviewed") or 0), int(point.get("goals_met") or 0)
        rows.append(
            ProgressRow(
                meeting=label,
                held=when(point["held_at"], "date"),
                level=names[rank - 1] if rank and 0 < rank <= len(names) else "–",
                goals=text("outcomes_goals_met_of", lang, met=met, reviewed=reviewed)
                if reviewed
                else "–",
            )
        )
        labels.append(label)
        ranks.append(rank)
        shares.append(met / reviewed if reviewed else None)
    chart = None
    if names and any(r is not None for r in ranks):
        chart = charts.progression(
            labels,
            ranks,
            names,
            shares,
            (text("outcomes_level", lang), text("outcomes_goals_met_share", lang)),
            text("outcomes_my_progress_h", lang),
        )
    return Progress(chart, rows)
