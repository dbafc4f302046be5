"""A sweep's summary in words, as the operator reads it after `workflow sweep`."""

from __future__ import annotations

from typing import Any

#: A sweep's summary, in words (the run's own names for what it counted).
_SWEPT = {
    "timers_fired": "timers fired",
    "reminders": "task reminders queued",
    "step_runs": "step runs",
    "handed_to_workers": "the steps handed to the workers",
    "announced": "dead deliveries announced",
    "pruned_files": "old files removed",
    "stalled_runs_ended": "stalled runs ended",
}


def swept_words(summary: dict[str, Any]) -> str:
    """``Swept: 1 timers fired, 0 task reminders queued; delivered: sent 1`` (what the
    operator reads; the counts are the sweep's)."""
    counted = [
        # A yes/no is said when yes ("handed to the workers"), not as "False handed ...".
        words if summary[key] is True else f"{summary[key]} {words}"
        for key, words in _SWEPT.items()
        if key in summary and summary[key] is not False
    ]
    parts = [f"Swept: {', '.join(counted)}"]
    for key in ("delivered", "runs_ended"):
        counts = summary.get(key)
        if isinstance(counts, dict):
            said = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
            parts.append(f"{key.replace('_', ' ')}: {said or 'nothing'}")
    return "; ".join(parts)
