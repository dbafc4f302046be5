"""iCalendar (RFC 5545) meeting invitations and cancellations (iTIP, RFC 5546).

One VCALENDAR with one VEVENT. A calendar client
applies a series of mails about one meeting in order by its UID and SEQUENCE: the booking
has sequence 0, every move raises it, and a cancellation (METHOD:CANCEL) carries its own
raised sequence. Start and end are written as wall-clock times in the meeting's time zone
(``DTSTART;TZID=Europe/Copenhagen:...``) with that zone's VTIMEZONE, so 09:00 stays 09:00
on either side of a daylight-saving change. Pure: no I/O.

The zone's VTIMEZONE is made by the ``icalendar`` library, once per zone and years; the
rest is written here line by line with the library's escaping and folding rules (writing
it through the library cost a millisecond per mail): the same bytes as
:func:`library_calendar`, which the tests compare it with.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vCalAddress
from icalendar.parser import foldline

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


def published_calendar(
    meeting: CalendarMeeting, *, stamp: datetime, timezone: str = DEFAULT_TIMEZONE
) -> bytes:
    """The meeting as a file someone puts into their own calendar (METHOD:PUBLISH: no
    invitation to answer, no organizer; RFC 5546 3.2.1), made at ``stamp``. The same UID
    and sequence as its invitations, so a calendar that has the meeting updates it."""
    return _calendar(meeting, None, (), stamp=stamp, timezone=timezone, publish=True)


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


def library_calendar(
    meeting: CalendarMeeting,
    organizer: CalendarPerson | None,
    attendees: Sequence[CalendarPerson],
    *,
    stamp: datetime,
    timezone: str,
) -> bytes:
    """The calendar as the ``icalendar`` library writes it (what :func:`_calendar` must
    equal byte for byte; also used for a zone it does not write itself)."""
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


#: Where a TEXT value (RFC 5545 3.3.11) needs a backslash, in the library's order.
_TEXT_ESCAPES = (
    ("\\N", "\n"),
    ("\\", "\\\\"),
    (";", "\\;"),
    (",", "\\,"),
    ("\r\n", "\\n"),
    ("\n", "\\n"),
)
#: A parameter value with one of these is quoted (the library's rule; CN also for ' and space).
_QUOTABLE = re.compile("[,;:\u2019]")
_RFC6868 = re.compile('\\^|\r\n|\r|\n|"')
_RFC6868_BY = {"^": "^^", "\n": "^n", "\r": "^n", "\r\n": "^n", '"': "^'"}
_UTC_NAMES = frozenset({"UTC", "ETC/UTC", "ETC/UCT", "UCT", "GMT", "ETC/GMT", "ZULU", "Z"})
_ATTENDING = ";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE"


def _text(value: str) -> str:
    for old, new in _TEXT_ESCAPES:
        if old in value:
            value = value.replace(old, new)
    return value


def _name_param(name: str | None) -> str:
    """``;CN=...`` for a person's name (quoted as the library quotes it), or nothing."""
    if not name:
        return ""
    value = _RFC6868.sub(lambda m: _RFC6868_BY[m.group(0)], name).replace('"', "'")
    if " " in name or "'" in name or _QUOTABLE.search(value):
        value = f'"{value}"'
    return f";CN={value}"


#: A line this short and ASCII is never folded (the library folds at 75 octets).
_SHORT = 74


def _folded(line: str) -> str:
    """A content line and its line break, folded as the library folds (only a line of
    more than 74 octets is: the library's own test, without its loop over characters)."""
    if len(line) <= 74 and (line.isascii() or len(line.encode("utf-8")) <= 74):
        return line + "\r\n"
    return foldline(line) + "\r\n"


def _stamp_utc(moment: datetime) -> str:
    return f"{moment:%Y%m%dT%H%M%S}Z"


@lru_cache(maxsize=64)
def _zone_lines(timezone: str, first_year: int, last_year: int) -> str:
    """The zone's VTIMEZONE for those years, as the library writes it (made once)."""
    zone = Timezone.from_tzid(
        timezone, first_date=date(first_year, 1, 1), last_date=date(last_year, 12, 31)
    )
    return zone.to_ical(sorted=False).decode("utf-8")


def _calendar(
    meeting: CalendarMeeting,
    organizer: CalendarPerson | None,
    attendees: Sequence[CalendarPerson],
    *,
    stamp: datetime,
    timezone: str,
    publish: bool = False,
) -> bytes:
    for what, moment in (("starts_at", meeting.starts_at), ("ends_at", meeting.ends_at)):
        _require_aware(what, moment)
    _require_aware("stamp", stamp)
    zone = ZoneInfo(timezone)
    starts_at, ends_at = meeting.starts_at.astimezone(zone), meeting.ends_at.astimezone(zone)
    if timezone.upper() in _UTC_NAMES:
        # A zone the library writes as UTC ("...Z", no TZID): left to the library.
        return library_calendar(meeting, organizer, attendees, stamp=stamp, timezone=timezone)
    method = "PUBLISH" if publish else "CANCEL" if meeting.cancelled else "REQUEST"
    lines = [
        f"PRODID:{_text(PRODID)}",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
    ]
    head = "BEGIN:VCALENDAR\r\n" + "".join(_folded(line) for line in lines)
    zone_lines = _zone_lines(timezone, starts_at.year, ends_at.year + 1)
    lines = [
        "BEGIN:VEVENT",
        f"UID:{_text(meeting.uid)}",
        f"SEQUENCE:{int(meeting.sequence)}",
        f"DTSTAMP:{_stamp_utc(stamp.astimezone(UTC))}",
        f"DTSTART;TZID={timezone}:{starts_at:%Y%m%dT%H%M%S}",
        f"DTEND;TZID={timezone}:{ends_at:%Y%m%dT%H%M%S}",
        f"SUMMARY:{_text(meeting.summary)}",
        f"DESCRIPTION:{_text(meeting.description)}",
    ]
    if meeting.location:
        lines.append(f"LOCATION:{_text(meeting.location)}")
    lines.append(f"STATUS:{'CANCELLED' if meeting.cancelled else 'CONFIRMED'}")
    if organizer is not None:
        lines.append(f"ORGANIZER{_name_param(organizer.name)}:mailto:{organizer.address}")
    lines += [f"ATTENDEE{_name_param(a.name)}{_ATTENDING}:mailto:{a.address}" for a in attendees]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    tail = "\r\n".join(
        line if len(line) <= _SHORT and line.isascii() else _folded(line)[:-2] for line in lines
    )
    tail += "\r\n"
    return (head + zone_lines + tail).encode("utf-8")
