"""How a closed task says who closed it and why, in the page's words."""

from __future__ import annotations

from datetime import UTC, datetime

from workflow.web.task_views import task_rows

CLOSED = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def _closed(closed_by: str) -> str:
    task = {
        "id": 1,
        "title": "Bekræft deltagelse",
        "details": None,
        "assignee": "skole",
        "due_at": None,
        "state": "cancelled",
        "closed_at": CLOSED,
        "closed_by": closed_by,
        "note": None,
    }
    (row,) = task_rows(
        [task], names={}, departments={"skole": "Skole"}, stages={}, lang="da", now=CLOSED
    )
    return row.closed


def test_a_task_a_step_ended_by_name_says_so() -> None:
    assert _closed("system:step") == (
        "Lukket af systemet 10.03.2026 09:00, da et skridt i sagen gjorde den overflødig"
    )
    # One that ended with its stage says the case left it (moved on, or was paused: it
    # said "da sagen gik videre" of a pause too).
    assert _closed("system") == (
        "Lukket af systemet 10.03.2026 09:00, da sagen forlod det trin, opgaven hørte til"
    )
