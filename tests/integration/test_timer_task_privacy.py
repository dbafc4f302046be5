"""The operator's view of a step's timers carries no date read off the young person.

A timer anchored to the young person falls due on a birthday (the 18th, the day past the
upper age): its due time is the birth date, the first six digits of the CPR number. The
step's task run in Prefect says the timer's state, and the due time only of timers that
are not anchored to the young person.
"""

from __future__ import annotations

from tests.integration.scripted import PERSON
from tests.support.case_api import CASEWORKER, REFERRAL_INPUTS
from workflow.orchestration.flows import timer_effect
from workflow.runtime import Runtime


def test_a_birthday_timer_is_shown_without_its_due_time(runtime: Runtime) -> None:
    reference = runtime.service.refer("soroe", PERSON, CASEWORKER, REFERRAL_INPUTS).reference
    birth = PERSON.birth_date
    for timer in ("eighteenth_birthday", "upper_age_reached"):
        message = str(timer_effect.fn(reference, timer, "start").message)
        assert message == f"timer {timer}: running, due on a date of the young person's (not shown)"
        assert f"{birth.month:02d}-{birth.day:02d}" not in message
    # A deadline counted from the step is the machinery's own: shown with its due time.
    decision = str(timer_effect.fn(reference, "referral_decision_due", "start").message)
    assert decision.startswith("timer referral_decision_due: running, due 2026-")
