"""When consent arrives, which withheld notifications are still worth sending (issue 17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workflow.engine.consent import CaseNow, WithheldNotice, release_verdict

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
MEETING = {"key": 1, "sequence": 0, "starts_at": "2026-03-17T08:00:00+00:00"}


def _case(
    stage: str = "awaiting_first_meeting", closed: bool = False, **meeting: object
) -> CaseNow:
    booked = {"state": "booked", "sequence": 0, "starts_at": NOW + timedelta(days=7)} | meeting
    return CaseNow(stage=stage, closed=closed, meetings={1: booked}, now=NOW)


def test_an_invitation_to_a_meeting_still_ahead_is_released() -> None:
    assert release_verdict(WithheldNotice("awaiting_first_meeting", MEETING), _case()) is None


def test_an_invitation_is_kept_once_its_meeting_started_moved_or_was_cancelled() -> None:
    notice = WithheldNotice("awaiting_first_meeting", MEETING)
    started = _case(starts_at=NOW - timedelta(minutes=1))
    assert release_verdict(notice, started) == "the meeting it is about has started or passed"
    moved = _case(state="moved", sequence=1)
    assert release_verdict(notice, moved) == "the meeting it is about was moved since"
    cancelled = _case(state="cancelled", sequence=1)
    assert release_verdict(notice, cancelled) == "the meeting it is about is cancelled or held"
    unknown = WithheldNotice("awaiting_first_meeting", MEETING | {"key": 2})
    assert release_verdict(unknown, _case()) == "the meeting it is about is cancelled or held"


def test_other_news_is_released_while_the_case_is_still_where_the_step_left_it() -> None:
    assert release_verdict(WithheldNotice("follow_up"), _case("follow_up")) is None
    assert release_verdict(WithheldNotice("follow_up"), _case("handover")) == (
        "the case has moved on from stage follow_up"
    )


def test_nothing_is_released_on_a_closed_case() -> None:
    closed = _case("closed", closed=True)
    assert release_verdict(WithheldNotice("closed"), closed) == "the case is closed"
    assert release_verdict(WithheldNotice("x", MEETING), closed) == "the case is closed"
