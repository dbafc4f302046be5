"""A plan goal is in the young person's own words; no text may hide or reverse itself.

Issue 17: the first-person check looked only at the first word — it refused "Efter
sommerferien vil jeg starte på HF" and accepted "I skal sørge for at Freja møder op"
(Danish "I" is "you"); U+2028 and the bidi overrides were accepted in names and goals
(an RLO visibly reversed "I gang" on the case page).
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.unit.conftest import at
from workflow.definitions.models import Definition
from workflow.engine.decide import decide, open_case
from workflow.engine.model import Actor, CaseState, Decision, Event, Rejection

CW = Actor("caseworker", "cw-mette")
COORD = Actor("coordinator", "tovholder-lise")


def _awaiting_first_meeting(soroe: Definition) -> CaseState:
    inputs = {"source": "school", "age": 16, "caseworker": "cw-mette"}
    case = open_case(
        soroe, "SOR-2026-0042", CW, inputs, at("2026-03-02 09:00"), born=date(2009, 9, 1)
    )
    assert isinstance(case, Decision)
    for event, actor, given, moment in (
        ("accept_referral", CW, {"young_person_agrees": True, "consent": True}, "03-03"),
        (
            "hold_pre_meeting",
            CW,
            {
                "team": [{"department": "skole", "person": "laerer-anna"}],
                "coordinator": "tovholder-lise",
                "agenda": ["uddannelse"],
                "first_meeting_at": "2026-03-17T09:00",
                "meeting_room": "raadhuset_storskaerm",
            },
            "03-05",
        ),
    ):
        case = decide(soroe, case.case, Event(event, actor, given), at(f"2026-{moment} 10:00"))
        assert isinstance(case, Decision), str(case)
    return case.case


def _plan(soroe: Definition, text: str) -> Decision | Rejection:
    goal = {"text": text, "department": "skole", "theme": "uddannelse"}
    inputs = {"plan": [goal], "next_meeting_at": "2026-04-28T09:00"}
    return decide(
        soroe,
        _awaiting_first_meeting(soroe),
        Event("hold_first_meeting", COORD, inputs),
        at("2026-03-17 11:00"),
    )


@pytest.mark.parametrize(
    "text",
    [
        "Efter sommerferien vil jeg starte på HF",
        "Jeg skal møde op i skole 3 dage om ugen",
        "Til jul vil min mor og jeg lave en plan",
        "I will go to school every day",
        "I'll call my mentor on Mondays",
    ],
)
def test_a_goal_in_the_young_persons_own_words_is_taken(soroe: Definition, text: str) -> None:
    assert isinstance(_plan(soroe, text), Decision)


@pytest.mark.parametrize(
    "text",
    ["I skal sørge for at Freja møder op", "Freja skal møde op", "Skolen ringer hver mandag"],
)
def test_a_goal_about_the_young_person_is_refused(soroe: Definition, text: str) -> None:
    result = _plan(soroe, text)
    assert isinstance(result, Rejection)
    assert [(e.name, e.code) for e in result.field_errors] == [("plan", "goal_not_first_person")]


@pytest.mark.parametrize("mark", ["\u202e", "\u2066", "\u2028", "\u2029"])
def test_text_that_hides_or_reverses_itself_is_refused(soroe: Definition, mark: str) -> None:
    result = _plan(soroe, f"Jeg vil {mark}gnag I")
    assert isinstance(result, Rejection)
    assert [(e.name, e.code) for e in result.field_errors] == [("plan", "bad_character")]


@pytest.mark.parametrize(
    ("reviews", "code"),
    [
        ([{"goal": -1, "status": "met"}], "too_small"),
        ([{"goal": 999, "status": "met"}], "too_large"),
        ([{"goal": 1, "status": "met"}, {"goal": 1, "status": "partly"}], "duplicate"),
    ],
)
def test_a_review_names_each_goal_once_by_its_number(
    soroe: Definition, reviews: list[dict[str, object]], code: str
) -> None:
    """Issue 17: reviews of goal -1, 999 and the same goal twice were accepted."""
    from workflow.definitions.parts import Input
    from workflow.definitions.vocabulary import InputType
    from workflow.engine.inputs import validate_inputs

    item = Input(name="reviews", type=InputType.GOAL_REVIEWS, label="Evaluering")
    _values, errors = validate_inputs(soroe, [item], {"reviews": reviews})
    assert [(e.name, e.code) for e in errors] == [("reviews", code)]
    _values, errors = validate_inputs(soroe, [item], {"reviews": [{"goal": 2, "status": "met"}]})
    assert errors == []
