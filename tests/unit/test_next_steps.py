"""The steps a case page offers: none that could only be refused for want of a meeting."""

from __future__ import annotations

from workflow.definitions.loader import load_definition
from workflow.engine.steps import next_steps, open_meeting_kinds


def test_moving_or_cancelling_is_offered_only_while_a_meeting_is_booked() -> None:
    soroe = load_definition("definitions/soroe.yaml")
    stage, roles = "awaiting_first_meeting", ["coordinator"]

    def offered(meetings: list[dict[str, str]]) -> set[str]:
        return {t.id for t in next_steps(soroe, stage, roles, open_meeting_kinds(meetings))}

    booked = [{"kind": "first_meeting", "state": "booked"}]
    assert {"move_meeting", "cancel_meeting"} <= offered(booked)
    assert "book_first_meeting" not in offered(booked)  # it would replace the one booked
    assert {"move_meeting", "cancel_meeting"} <= offered([{**booked[0], "state": "moved"}])
    cancelled = [{"kind": "first_meeting", "state": "cancelled"}]
    assert not {"move_meeting", "cancel_meeting"} & offered(cancelled)
    assert "book_first_meeting" in offered(cancelled)
    # Holding it too: there is none booked to hold (it would write the plan on no meeting).
    assert "hold_first_meeting" in offered(booked)
    assert "hold_first_meeting" not in offered(cancelled)
    # Without the meetings (a caller that does not know them, or a case from before
    # meetings were kept, which has none): every step, as before.
    everything = {t.id for t in next_steps(soroe, stage, roles)}
    assert offered([]) == everything
    assert everything - offered(cancelled) == {
        "move_meeting",
        "cancel_meeting",
        "hold_first_meeting",
    }
    assert everything - offered(booked) == {"book_first_meeting"}
