"""A sweep's summary as the operator reads it: "0 step runs, False handed to the
workers" said a yes/no as a count (an operator's report)."""

from __future__ import annotations

from workflow.cli.sweep_words import swept_words


def test_a_yes_or_no_is_said_in_words_not_as_a_count() -> None:
    quiet = {"timers_fired": 0, "reminders": 0, "step_runs": 0, "handed_to_workers": False}
    assert swept_words(quiet | {"delivered": {}}) == (
        "Swept: 0 timers fired, 0 task reminders queued, 0 step runs; delivered: nothing"
    )
    busy = quiet | {"step_runs": 2, "handed_to_workers": True, "delivered": {"sent": 3}}
    assert "2 step runs, the steps handed to the workers; delivered: sent 3" in swept_words(busy)
