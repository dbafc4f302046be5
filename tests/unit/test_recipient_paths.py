"""A person on a case is an id or a mail address — never a path (issue 17, first part).

Before, a team person ``../../../dir/evil@x`` or ``/some/dir/evil@x`` was taken as a mail
address and the file mail channel wrote ``.eml`` files outside ``var/``; a pre-meeting
could name 5,000 team members (5,002 outbox rows). Now the engine refuses such a person
beside the field, every list input holds at most 100 items, and the file channel writes
only inside its folder.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.unit.conftest import at
from workflow.definitions.models import Definition
from workflow.delivery.channels import FileChannel
from workflow.delivery.message import Address, OutgoingMessage, UndeliverableError
from workflow.engine.decide import decide, open_case
from workflow.engine.inputs import MAX_LIST_ITEMS
from workflow.engine.model import Actor, CaseState, Decision, Event, Rejection

CW = Actor("caseworker", "cw-mette")


def _pre_meeting(soroe: Definition) -> CaseState:
    inputs = {"source": "school", "age": 16, "caseworker": "cw-mette"}
    opened = open_case(
        soroe, "SOR-2026-0042", CW, inputs, at("2026-03-02 09:00"), born=date(2009, 9, 1)
    )
    assert isinstance(opened, Decision)
    accepted = decide(
        soroe,
        opened.case,
        Event("accept_referral", CW, {"young_person_agrees": True, "consent": True}),
        at("2026-03-03 09:00"),
    )
    assert isinstance(accepted, Decision)
    return accepted.case


def _pre_meeting_with(soroe: Definition, team: list[dict[str, str]]) -> Decision | Rejection:
    inputs = {
        "team": team,
        "coordinator": "tovholder-lise",
        "agenda": ["uddannelse"],
        "first_meeting_at": "2026-03-17T09:00",
        "meeting_room": "raadhuset_storskaerm",
    }
    return decide(
        soroe, _pre_meeting(soroe), Event("hold_pre_meeting", CW, inputs), at("2026-03-05 10:00")
    )


@pytest.mark.parametrize(
    "person",
    ["../../../tmp/evil@x.dk", "/some/absolute/dir/evil@x.dk", "a b@x.dk", "x/y", "-rf"],
)
def test_a_team_person_that_is_a_path_is_refused_beside_the_field(
    soroe: Definition, person: str
) -> None:
    result = _pre_meeting_with(soroe, [{"department": "skole", "person": person}])
    assert isinstance(result, Rejection)
    assert [(e.name, e.code) for e in result.field_errors] == [("team", "not_a_person_id")]


@pytest.mark.parametrize("person", ["laerer-anna", "mentor@firma.dk", "søren.ø", "cw_1"])
def test_staff_ids_and_mail_addresses_are_people(soroe: Definition, person: str) -> None:
    result = _pre_meeting_with(soroe, [{"department": "skole", "person": person}])
    assert isinstance(result, Decision), str(result)


def test_a_list_input_holds_at_most_a_hundred_items(soroe: Definition) -> None:
    team = [{"department": "skole", "person": f"laerer-{n}"} for n in range(MAX_LIST_ITEMS + 1)]
    result = _pre_meeting_with(soroe, team)
    assert isinstance(result, Rejection)
    assert [(e.name, e.code) for e in result.field_errors] == [("team", "too_many")]


def test_the_file_channel_writes_only_inside_its_folder(tmp_path: Path) -> None:
    root = tmp_path / "var" / "mail"
    channel = FileChannel("kui@example.org", root)
    message = OutgoingMessage("SOR-1:1:0:x", "SOR-1", "Emne", "Tekst", "<p>Tekst</p>", {}, ())
    channel.send(message, Address("email", "mentor@firma.dk"))
    assert len(list((root / "mentor@firma.dk").iterdir())) == 1
    for outside in ("../../evil@x.dk", str(tmp_path / "elsewhere")):
        with pytest.raises(UndeliverableError, match="outside its folder"):
            channel.send(message, Address("email", outside))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["var"]
    assert not (tmp_path / "var" / "evil@x.dk").exists()


def test_a_date_outside_a_lifetime_is_refused_beside_the_field(soroe: Definition) -> None:
    """A meeting at 9999-12-31T23:30 was accepted; its mails went dead (OverflowError)
    and the case page answered 500 from then on."""
    case = _pre_meeting(soroe)
    for when in ("9999-12-31T23:30", "0001-01-01T09:00", "1899-12-31T09:00"):
        inputs = {
            "team": [{"department": "skole", "person": "laerer-anna"}],
            "coordinator": "tovholder-lise",
            "agenda": ["uddannelse"],
            "first_meeting_at": when,
            "meeting_room": "raadhuset_storskaerm",
        }
        result = decide(soroe, case, Event("hold_pre_meeting", CW, inputs), at("2026-03-05 10:00"))
        assert isinstance(result, Rejection), when
        assert [(e.name, e.code) for e in result.field_errors] == [
            ("first_meeting_at", "date_out_of_range")
        ]
        assert result.field_errors[0].text("da") == "skal ligge mellem år 1900 og 2200"


def test_a_team_role_that_is_not_text_is_refused(soroe: Definition) -> None:
    team = [{"department": "skole", "person": "laerer-anna", "role": ["x"]}]
    result = _pre_meeting_with(soroe, team)
    assert isinstance(result, Rejection)
    assert [(e.name, e.code) for e in result.field_errors] == [("team", "not_text")]


def test_a_form_row_number_is_ascii_digits_only() -> None:
    """``team.².person`` answered 500 ("²".isdigit() is true, int("²") fails)."""
    from workflow.web.forms import FormData

    form = FormData([("team.².person", "x"), ("team.1.person", "laerer-anna")])
    assert form.rows("team") == 2
