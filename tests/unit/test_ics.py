"""Calendar invitations and cancellations, parsed back as a calendar client would read them.

Also the mail that carries one: charsets declared, Danish text intact, the calendar part's
Content-Type naming the iTIP method.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Component, Timezone

from workflow.delivery.ics import (
    CalendarMeeting,
    CalendarPerson,
    invitation,
    meeting_calendar,
)
from workflow.delivery.mail import build_email
from workflow.delivery.message import OutgoingMessage

CPH = ZoneInfo("Europe/Copenhagen")
UID = "SOR-2026-0042-m3@kui.workflow"
ORGANIZER = CalendarPerson("sagsbehandler@soroe.example", "Søren Bæk")
ATTENDEES = (
    CalendarPerson("ung@example.org", "Åse Ørsted"),
    CalendarPerson("skole@soroe.example", None),
)
STAMP = datetime(2026, 6, 1, 12, 30, tzinfo=UTC)


def meeting(
    starts_at: datetime = datetime(2026, 7, 7, 9, 0, tzinfo=CPH),
    *,
    sequence: int = 0,
    cancelled: bool = False,
    location: str | None = "Rådhuset, mødelokale Ærø",
) -> CalendarMeeting:
    return CalendarMeeting(
        uid=UID,
        sequence=sequence,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        summary="Opfølgningsmøde (sag SOR-2026-0042)",
        description="Vi taler om din plan; tag gerne en forælder med.\nHusk: ingen CPR-numre.",
        location=location,
        cancelled=cancelled,
    )


def parsed(body: bytes) -> tuple[Component, Component]:
    """The calendar and its one event, read back with icalendar's parser."""
    calendar = Calendar.from_ical(body.decode("utf-8"))
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def test_an_invitation_has_every_property_a_client_needs() -> None:
    body = meeting_calendar(meeting(), ORGANIZER, ATTENDEES, stamp=STAMP)
    calendar, event = parsed(body)

    assert calendar.name == "VCALENDAR"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"])
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == UID
    assert int(event["SEQUENCE"]) == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTAMP") == STAMP
    assert b"DTSTAMP:20260601T123000Z" in body  # written in UTC
    assert str(event["SUMMARY"]) == "Opfølgningsmøde (sag SOR-2026-0042)"
    assert str(event["DESCRIPTION"]) == meeting().description
    assert str(event["LOCATION"]) == "Rådhuset, mødelokale Ærø"


def test_organizer_and_each_attendee_are_mailto_addresses_with_their_names() -> None:
    _, event = parsed(meeting_calendar(meeting(), ORGANIZER, ATTENDEES, stamp=STAMP))

    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:sagsbehandler@soroe.example"
    assert organizer.params["CN"] == "Søren Bæk"

    attendees = event["ATTENDEE"]
    assert [str(a) for a in attendees] == ["mailto:ung@example.org", "mailto:skole@soroe.example"]
    for attendee in attendees:
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert attendee.params["RSVP"] == "TRUE"
    assert attendees[0].params["CN"] == "Åse Ørsted"
    assert "CN" not in attendees[1].params  # no name, no CN


def test_a_single_attendee_is_still_an_attendee() -> None:
    _, event = parsed(meeting_calendar(meeting(), ORGANIZER, ATTENDEES[:1], stamp=STAMP))
    assert str(event["ATTENDEE"]) == "mailto:ung@example.org"  # one, not a list
    assert event["ATTENDEE"].params["CN"] == "Åse Ørsted"


@pytest.mark.parametrize(
    ("starts_at", "utc_hour"),
    [
        (datetime(2026, 7, 7, 9, 0, tzinfo=CPH), 7),  # summer time, UTC+2
        (datetime(2027, 1, 12, 9, 0, tzinfo=CPH), 8),  # winter time, UTC+1
    ],
    ids=["July", "January"],
)
def test_the_wall_clock_time_is_kept_in_copenhagen_across_daylight_saving(
    starts_at: datetime, utc_hour: int
) -> None:
    body = meeting_calendar(meeting(starts_at), ORGANIZER, ATTENDEES, stamp=STAMP)
    calendar, event = parsed(body)

    day = starts_at.strftime("%Y%m%d")
    assert f"DTSTART;TZID=Europe/Copenhagen:{day}T090000\r\n".encode() in body
    assert f"DTEND;TZID=Europe/Copenhagen:{day}T100000\r\n".encode() in body
    for name, hour in (("DTSTART", 9), ("DTEND", 10)):
        assert event[name].params["TZID"] == "Europe/Copenhagen"
        local = event.decoded(name)
        assert (local.hour, local.minute) == (hour, 0)
        assert local.astimezone(UTC).hour == utc_hour + hour - 9

    # The calendar carries its own VTIMEZONE, and by its rules alone 09:00 is the same instant.
    zones = calendar.walk("VTIMEZONE")
    assert [str(z["TZID"]) for z in zones] == ["Europe/Copenhagen"]
    assert isinstance(zones[0], Timezone)
    own_rules = zones[0].to_tz(lookup_tzid=False)
    assert starts_at.replace(tzinfo=own_rules).astimezone(UTC).hour == utc_hour


def test_a_time_given_in_another_zone_is_written_as_copenhagen_wall_clock() -> None:
    starts_at = datetime(2026, 3, 17, 8, 0, tzinfo=UTC)  # 09:00 in Copenhagen
    body = meeting_calendar(meeting(starts_at), ORGANIZER, ATTENDEES, stamp=STAMP)
    assert b"DTSTART;TZID=Europe/Copenhagen:20260317T090000\r\n" in body


def test_a_cancellation_says_cancel_and_raises_the_sequence() -> None:
    series = [
        meeting(sequence=0),
        meeting(datetime(2026, 7, 8, 13, 0, tzinfo=CPH), sequence=1),  # moved
        meeting(datetime(2026, 7, 8, 13, 0, tzinfo=CPH), sequence=2, cancelled=True),
    ]
    read = [parsed(meeting_calendar(m, ORGANIZER, ATTENDEES, stamp=STAMP)) for m in series]

    assert [str(c["METHOD"]) for c, _ in read] == ["REQUEST", "REQUEST", "CANCEL"]
    assert [str(e["STATUS"]) for _, e in read] == ["CONFIRMED", "CONFIRMED", "CANCELLED"]
    assert [int(e["SEQUENCE"]) for _, e in read] == [0, 1, 2]
    assert {str(e["UID"]) for _, e in read} == {UID}  # one meeting, updated in order
    cancel = read[2][1]
    assert str(cancel["ORGANIZER"]) == "mailto:sagsbehandler@soroe.example"
    assert len(cancel["ATTENDEE"]) == 2


def test_without_a_location_there_is_no_location() -> None:
    body = meeting_calendar(meeting(location=None), ORGANIZER, ATTENDEES, stamp=STAMP)
    _, event = parsed(body)
    assert "LOCATION" not in event
    assert b"LOCATION" not in body


def test_danish_letters_survive_as_utf8_in_folded_lines() -> None:
    long_place = "Sorø Rådhus, Rådhusvej 8, mødelokale Ærø på første sal, gå ind ad gården"
    body = meeting_calendar(meeting(location=long_place), ORGANIZER, ATTENDEES, stamp=STAMP)

    text = body.decode("utf-8")  # raises if a fold split a letter's bytes
    assert "Opfølgningsmøde" in text
    assert all(len(line.encode("utf-8")) <= 75 for line in body.decode().split("\r\n"))
    _, event = parsed(body)
    assert str(event["LOCATION"]) == long_place
    assert str(event["SUMMARY"]) == "Opfølgningsmøde (sag SOR-2026-0042)"


@pytest.mark.parametrize(
    ("naive", "field"),
    [
        (replace(meeting(), starts_at=datetime(2026, 7, 7, 9, 0)), "starts_at"),
        (replace(meeting(), ends_at=datetime(2026, 7, 7, 10, 0)), "ends_at"),
    ],
)
def test_a_naive_meeting_time_is_refused(naive: CalendarMeeting, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        meeting_calendar(naive, ORGANIZER, ATTENDEES, stamp=STAMP)


def test_a_naive_stamp_is_refused() -> None:
    with pytest.raises(ValueError, match="stamp"):
        meeting_calendar(meeting(), ORGANIZER, ATTENDEES, stamp=datetime(2026, 6, 1, 12, 0))


def test_the_old_entry_point_still_writes_a_request_in_copenhagen_time() -> None:
    text = invitation(
        uid=UID,
        start=datetime(2026, 3, 17, 9, 0),  # naive: Copenhagen wall clock, as elsewhere
        end=datetime(2026, 3, 17, 10, 0),
        summary="Samarbejdsmøde (sag SOR-2026-0042)",
        location="Rådhuset",
        sequence=0,
        description="SOR-2026-0042",
    )
    assert isinstance(text, str)
    assert "DTSTART;TZID=Europe/Copenhagen:20260317T090000\r\n" in text
    calendar, event = parsed(text.encode("utf-8"))
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == UID
    assert str(event["LOCATION"]) == "Rådhuset"
    assert event.decoded("DTSTAMP") == datetime(2026, 3, 17, 8, 0, tzinfo=UTC)  # = start
    assert calendar.walk("VTIMEZONE")


# The mail that carries a calendar.

SUBJECT = "Indkaldelse til opfølgningsmøde – Søren og Åse"
TEXT = "Kære Åse\n\nMødet på Rådhuset i Sorø er flyttet.\nVenlig hilsen, Søren Bæk\n"
HTML = "<p>Kære Åse</p><p>Mødet på Rådhuset i Sorø er flyttet.</p>"


def mail_with(ics: str | None, text: str = TEXT) -> EmailMessage:
    """The mail build_email makes, as bytes on the wire and parsed back by a receiver."""
    message = OutgoingMessage(
        dedupe_key="SOR-2026-0042:7:1:role:young_person",
        reference="SOR-2026-0042",
        subject=SUBJECT,
        text=text,
        html=HTML,
        recipient={"kind": "role", "id": "young_person"},
        addresses=(),
        ics=ics,
    )
    wire = bytes(build_email(message, "kui@soroe.example", "ung@example.org"))
    received = email.message_from_bytes(wire, policy=email.policy.default)
    assert isinstance(received, EmailMessage)
    return received


def part(mail: EmailMessage, content_type: str) -> EmailMessage:
    found = [p for p in mail.walk() if p.get_content_type() == content_type]
    assert len(found) == 1, content_type
    return found[0]


@pytest.mark.parametrize("text", [TEXT, "Plain ASCII only.\n"], ids=["Danish", "ASCII"])
def test_the_text_parts_declare_utf8_and_danish_text_arrives_intact(text: str) -> None:
    mail = mail_with(None, text)

    assert mail["Subject"] == SUBJECT
    plain = part(mail, "text/plain")
    assert plain.get_param("charset") == "utf-8"
    assert 'charset="utf-8"' in plain["Content-Type"]
    assert plain.get_content() == text
    html = part(mail, "text/html")
    assert html.get_param("charset") == "utf-8"
    assert html.get_content().strip() == HTML
    assert not [p for p in mail.walk() if p.get_content_type() == "text/calendar"]


def test_an_invitation_is_attached_as_a_calendar_request() -> None:
    ics = meeting_calendar(meeting(), ORGANIZER, ATTENDEES, stamp=STAMP).decode("utf-8")
    calendar_part = part(mail_with(ics), "text/calendar")

    assert calendar_part.get_param("method") == "REQUEST"
    assert calendar_part.get_param("charset") == "utf-8"
    assert calendar_part.get_filename() == "invitation.ics"
    assert calendar_part.get_content() == ics
    calendar, event = parsed(calendar_part.get_content().encode("utf-8"))
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["LOCATION"]) == "Rådhuset, mødelokale Ærø"


def test_a_cancellation_is_attached_with_method_cancel() -> None:
    cancelling = meeting(sequence=3, cancelled=True)
    ics = meeting_calendar(cancelling, ORGANIZER, ATTENDEES, stamp=STAMP).decode("utf-8")
    mail = mail_with(ics)
    calendar_part = part(mail, "text/calendar")

    assert calendar_part.get_content_type() == "text/calendar"
    assert calendar_part.get_param("method") == "CANCEL"
    assert calendar_part.get_param("charset") == "utf-8"
    assert calendar_part.get_filename() == "cancel.ics"
    calendar, event = parsed(calendar_part.get_content().encode("utf-8"))
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 3
    assert part(mail, "text/plain").get_content() == TEXT


def test_a_description_quoting_the_method_does_not_cancel() -> None:
    quoting = CalendarMeeting(
        uid=UID,
        sequence=0,
        starts_at=meeting().starts_at,
        ends_at=meeting().ends_at,
        summary="Møde",
        description="METHOD:CANCEL\nstår ikke her",
        location=None,
    )
    ics = meeting_calendar(quoting, ORGANIZER, ATTENDEES, stamp=STAMP).decode("utf-8")
    assert part(mail_with(ics), "text/calendar").get_param("method") == "REQUEST"
