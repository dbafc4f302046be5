"""iCalendar (RFC 5545) meeting invitations and cancellations (iTIP, RFC 5546).

One VCALENDAR with one VEVENT, written with the ``icalendar`` library. A calendar client
applies a series of mails about one meeting in order by its UID and SEQUENCE: the booking
has sequence 0, every move raises it, and a cancellation (METHOD:CANCEL) carries its own
raised sequence. Start and end are written as wall-clock times in the meeting's time zone
(``DTSTART;TZID=Europe/Copenhagen:...``) with that zone's VTIMEZONE, so 09:00 stays 09:00
on either side of a daylight-saving change. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vCalAddress

#: Who wrote the calendar object (RFC 5545 3.7.3).
PRODID = "-//workflow//KUI//DA"
#: The zone of every meeting unless a caller names another.
DEFAULT_TIMEZONE = "Europe/Copenhagen"


@dataclass(frozen=True)
class CalendarPerson:
    """An organizer or attendee: an e-mail address and, if known, a display name (CN)."""

    address: str
    name: str | None = None


@dataclass(frozen=True)
class CalendarMeeting:
    """One meeting as a calendar sees it; the same ``uid`` updates the same meeting."""

    uid: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    summary: str
    description: str
    location: str | None
    cancelled: bool = False


def meeting_calendar(
    meeting: CalendarMeeting,
    organizer: CalendarPerson,
    attendees: Sequence[CalendarPerson],
    *,
    stamp: datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> bytes:
    """The UTF-8 iCalendar object inviting to (METHOD:REQUEST) or cancelling a meeting.

    ``stamp`` is when the message was made (DTSTAMP, written in UTC). All datetimes must
    be timezone-aware; a naive one raises ValueError, as does an unknown ``timezone``.
    """
    return _calendar(meeting, organizer, attendees, stamp=stamp, timezone=timezone)


def invitation(
    *,
    uid: str,
    start: datetime,
    end: datetime,
    summary: str,
    location: str | None,
    sequence: int,
    description: str,
    stamp: datetime | None = None,
) -> str:
    """The old entry point: a METHOD:REQUEST calendar as text, without organizer or attendees.

    Kept for the callers not yet moved to :func:`meeting_calendar`, which should be used
    instead (it names the organizer and attendees RFC 5546 asks for and can cancel). Naive
    datetimes are taken as Copenhagen wall-clock times; ``stamp`` defaults to ``start``.
    """
    zone = ZoneInfo(DEFAULT_TIMEZONE)

    def aware(moment: datetime) -> datetime:
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)

    meeting = CalendarMeeting(
        uid=uid,
        sequence=sequence,
        starts_at=aware(start),
        ends_at=aware(end),
        summary=summary,
        description=description,
        location=location,
    )
    body = _calendar(meeting, None, (), stamp=aware(stamp or start), timezone=DEFAULT_TIMEZONE)
    return body.decode("utf-8")


def _calendar(
    meeting: CalendarMeeting,
    organizer: CalendarPerson | None,
    attendees: Sequence[CalendarPerson],
    *,
    stamp: datetime,
    timezone: str,
) -> bytes:
    for what, moment in (("starts_at", meeting.starts_at), ("ends_at", meeting.ends_at)):
        _require_aware(what, moment)
    _require_aware("stamp", stamp)
    zone = ZoneInfo(timezone)
    starts_at, ends_at = meeting.starts_at.astimezone(zone), meeting.ends_at.astimezone(zone)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if meeting.cancelled else "REQUEST")
    # The zone's rules for the years the meeting touches; the TZID must match DTSTART's.
    calendar.add_component(
        Timezone.from_tzid(
            timezone,
            first_date=date(starts_at.year, 1, 1),
            last_date=date(ends_at.year + 1, 12, 31),
        )
    )

    event = Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", starts_at)
    event.add("dtend", ends_at)
    event.add("summary", meeting.summary)
    event.add("description", meeting.description)
    if meeting.location:
        event.add("location", meeting.location)
    event.add("status", "CANCELLED" if meeting.cancelled else "CONFIRMED")
    if organizer is not None:
        event.add("organizer", _address(organizer))
    for attendee in attendees:
        event.add(
            "attendee",
            _address(
                attendee,
                {"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"},
            ),
        )
    calendar.add_component(event)
    return calendar.to_ical(sorted=False)


def _require_aware(what: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {moment.isoformat()}")


def _address(person: CalendarPerson, params: dict[str, str] | None = None) -> vCalAddress:
    """A mailto: calendar address with the person's name (CN) and the given parameters."""
    named = {"CN": person.name} if person.name else {}
    return vCalAddress(f"mailto:{person.address}", params={**named, **(params or {})})
