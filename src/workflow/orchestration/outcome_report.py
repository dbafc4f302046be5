"""The operators' monthly outcome counts: a Prefect table artifact, counts only.

Once a month (``monthly-outcomes``, served by `workflow up` on the 1st at 06:00 UTC)
one row per municipality for the month just ended: young people referred, cases ended,
open cases at the month's end. Municipality codes and numbers only — no names, no
references — and, as everywhere the figures are shown, a count of 1-4 young people is
written "< 5" (:mod:`workflow.privacy.small_cells`). The leaders' own figures are on
their outcome page; this is the machinery's view of the volume.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from prefect import flow
from prefect.artifacts import acreate_table_artifact

from workflow.privacy.small_cells import MIN_PEOPLE, count
from workflow.runtime import get_runtime
from workflow.store.figure_reading import Window, count_figures

KEY = "outcomes-monthly"
#: 06:00 UTC on the first of every month.
SCHEDULE = "0 6 1 * *"


def previous_month(today: date) -> tuple[int, int]:
    """The year and month before ``today``'s."""
    return (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)


def _shown(people: int) -> str | int:
    cell = count(people)
    return f"< {MIN_PEOPLE}" if cell.hidden else people


def monthly_rows(year: int, month: int) -> list[dict[str, Any]]:
    """One row per municipality for the month: codes and counts (small counts hidden)."""
    runtime = get_runtime()
    window = Window.of_year(year)
    with runtime.sessions() as session:
        found = count_figures(session, window, None)
    rows = []
    for code, figures in sorted(found.items()):
        index = month - 1
        open_now = figures.open_at_start + sum(
            figures.referred_by_month[:month] + [-n for n in figures.ended_by_month[:month]]
        )
        rows.append(
            {
                "municipality": code,
                "month": f"{year}-{month:02d}",
                "referred": _shown(figures.referred_by_month[index]),
                "ended": _shown(figures.ended_by_month[index]),
                "open_at_month_end": _shown(open_now),
            }
        )
    return rows


@flow(name="monthly-outcomes", log_prints=False)
async def monthly_outcomes(year: int | None = None, month: int | None = None) -> int:
    """Publish the month's counts (default: the month just ended) as a table artifact;
    the number of municipalities in it."""
    if year is None or month is None:
        year, month = previous_month(datetime.now(UTC).date())
    rows = monthly_rows(year, month)
    await acreate_table_artifact(
        key=KEY,
        table=rows
        or [
            {
                "municipality": "",
                "month": f"{year}-{month:02d}",
                "referred": 0,
                "ended": 0,
                "open_at_month_end": 0,
            }
        ],
        description=f"Outcome counts for {year}-{month:02d}: young people referred, cases "
        f"ended, open at the month's end, per municipality (counts of 1-4 shown as < 5)",
    )
    return len(rows)
