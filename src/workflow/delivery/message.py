"""Rendering an outbox row into the message a recipient gets: text, HTML, invitation.

A department receives only what it needs: the case reference, the stage, its own part,
the meeting time and a link — never the young person's name, CPR number or notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Template

from workflow.definitions.models import Definition
from workflow.definitions.parts import Template as NotificationTemplate
from workflow.definitions.sandbox import BoundedSandbox
from workflow.definitions.templates import notification_context, render, when
from workflow.definitions.types import text_in, text_variants
from workflow.definitions.vocabulary import InputType
from workflow.delivery.ics import CalendarMeeting, CalendarPerson, invitation, meeting_calendar
from workflow.engine.vocabulary import DEPARTMENT_KINDS, RecipientKind
from workflow.texts import text

_html_env = BoundedSandbox(autoescape=True)
_html_env.filters["when"] = when


@lru_cache(maxsize=2048)
def _html_template(source: str) -> Template:
    """A body compiled once for HTML (autoescaped); compiling costs more than rendering."""
    return _html_env.from_string(source)


@dataclass(frozen=True)
class Address:
    """Where a message goes: a channel kind and its address."""

    kind: str  # email | webhook | file | sms
    address: str


@dataclass(frozen=True)
class OutgoingMessage:
    """A rendered notification, ready for a channel."""

    dedupe_key: str
    reference: str
    subject: str
    text: str
    html: str
    recipient: dict[str, Any]
    addresses: tuple[Address, ...]
    ics: str | None = None

    def webhook_body(self) -> dict[str, Any]:
        """What a webhook receives (no HTML; codes and references only)."""
        return {
            "dedupe_key": self.dedupe_key,
            "case": self.reference,
            "subject": self.subject,
            "text": self.text,
            "recipient": self.recipient,
            "invitation": self.ics,
        }


class UndeliverableError(Exception):
    """A business reason the message can never be sent (no address); not retried."""


def _named(names: tuple[str, ...], lang: str) -> str:
    """First names as a greeting lists them: "Anne og Peter", "Anne, Peter og Eva"."""
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} {'og' if lang == 'da' else 'and'} {names[-1]}"


def _recipient_name(definition: Definition, recipient: dict[str, Any], locale: str) -> str:
    if recipient["kind"] in DEPARTMENT_KINDS:
        department = definition.departments_by_id.get(recipient["id"])
        if department is not None:
            return text_in(department.name, locale)
    for role in definition.roles:
        if role.id == recipient["id"]:
            return text_in(role.name, locale)
    return str(recipient["id"])


def _written_in(template: NotificationTemplate, lang: str) -> bool:
    """Whether a template's subject and body are both written in ``lang``."""
    return all(lang in text_variants(part) for part in (template.subject, template.body))


def _in_words(definition: Definition, shared: dict[str, Any], lang: str) -> dict[str, Any]:
    """The step's shared values as a reader words them: a choice or theme by its label
    in the reader's language ("Skole", not "school"); dates and numbers as they are."""
    themes = {t.id: text_in(t.name, lang) for t in definition.themes}

    def word(value: Any) -> Any:
        if isinstance(value, list):
            return [word(v) for v in value]
        if isinstance(value, str):
            return themes.get(value) or definition.choice_label(value, lang)
        return value

    return {name: word(value) for name, value in shared.items()}


def addresses_of(definition: Definition, recipient: dict[str, Any]) -> tuple[Address, ...]:
    """A person id that is a mail address first; else the department's or role's channels."""
    person = recipient.get("person") or ""
    if "@" in person:
        return (Address("email", person),)
    channels = []
    if recipient["kind"] in DEPARTMENT_KINDS:
        department = definition.departments_by_id.get(recipient["id"])
        channels = list(department.channels) if department else []
    else:
        role = next((r for r in definition.roles if r.id == recipient["id"]), None)
        channels = list(role.channels) if role else []
    return tuple(Address(c.kind, c.address) for c in channels)


def compose(  # noqa: PLR0913 - one message's parts, keyword-only
    definition: Definition,
    *,
    reference: str,
    dedupe_key: str,
    template_id: str,
    recipient: dict[str, Any],
    payload: dict[str, Any],
    base_url: str,
    locale: str | None = None,
    own: tuple[Address, ...] | None = None,
    names: tuple[str, ...] = (),
) -> OutgoingMessage:
    """Render a notification for one recipient; raises UndeliverableError when it cannot go.

    ``own`` are a citizen recipient's own channels (the young person, a guardian): their
    link is their own page, and without own channels the role's channels (Digital Post)
    are used. ``names``: their first names, which ``recipient.name`` greets them by
    ("Hej Freja"; a role's name when there are none).
    """
    template = definition.templates_by_id[template_id]
    # A reader's own language only where the template is written in it, subject and body
    # alike (else one mail said its subject in English and its body in Danish).
    lang = locale if locale and _written_in(template, locale) else definition.locale
    stage = definition.stages_by_id.get(str(payload.get("stage")))
    assert definition.municipality is not None
    case = {
        "reference": reference,
        "municipality": definition.municipality.name,
        "stage": text_in(stage.name, lang) if stage else payload.get("stage"),
        "phase": payload.get("phase"),
        # The roles as the municipality names them ("din {{ case.roles.coordinator|lower }}").
        "roles": _role_names(definition, lang),
    }
    who = {
        "kind": recipient["kind"],
        "id": recipient["id"],
        "person": recipient.get("person"),
        "name": _named(names, lang) if names else _recipient_name(definition, recipient, lang),
    }
    timer = None
    if payload.get("timer"):
        timer_def = definition.timers_by_id[str(payload["timer"])]
        timer = {
            "id": timer_def.id,
            "name": text_in(timer_def.name, lang),
            "due": _local(definition, payload.get("timer_due")),
        }
    event = None if timer else {"id": payload.get("event"), "name": payload.get("event")}
    meeting = meeting_context(definition, payload.get("meeting"), lang, _stamp(payload))
    task = payload.get("task")
    if task is not None:
        event = None
        task = {
            **task,
            "due": _local(definition, task.get("due")),
            # In the mail's language (a reminder to an English reader had the Danish one).
            "title": definition.task_title(str(task.get("title") or ""), lang),
        }
    context = notification_context(
        case=case,
        recipient=who,
        event=event,
        shared=_in_words(definition, payload.get("shared") or {}, lang),
        timer=timer,
        meeting=meeting,
        task=task,
        link=f"{base_url.rstrip('/')}/"
        + (f"ung/cases/{reference}" if own is not None else f"cases/{reference}"),
    )
    subject = render(text_in(template.subject, lang), context).strip()
    text = render(text_in(template.body, lang), context)
    body_html = _html_template(text_in(template.body, lang)).render(**context)
    html = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{escape(subject)}</title></head><body>"
        + "".join(f"<p>{line}</p>" for line in body_html.split("\n\n") if line.strip()).replace(
            "\n", "<br>\n"
        )
        + "</body></html>"
    )
    addresses = own or addresses_of(definition, recipient)
    if not addresses:
        raise UndeliverableError(
            f"no address for {recipient['kind']} '{recipient['id']}': give the "
            f"{'role' if recipient['kind'] == RecipientKind.ROLE else 'department'} a channel "
            "in the definition"
        )
    return OutgoingMessage(
        dedupe_key=dedupe_key,
        reference=reference,
        subject=subject,
        text=text,
        html=html,
        recipient=who,
        addresses=addresses,
        ics=_calendar_part(definition, reference, payload, lang, addresses, _stamp(payload))
        if payload.get("meeting")
        else _invitation(definition, reference, dedupe_key, payload, lang),
    )


def _local(definition: Definition, moment: Any) -> str:
    """A stored time (ISO, in UTC as the store keeps it) in the municipality's own zone,
    as ``when`` writes it: a reminder said a task was due at 17.39 when it was 18.39."""
    if not isinstance(moment, str) or "T" not in moment:
        return str(moment or "")
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        return moment
    if parsed.tzinfo is None:
        return moment
    return parsed.astimezone(ZoneInfo(definition.calendar.timezone)).isoformat()


def _stamp(payload: dict[str, Any]) -> datetime:
    """When the step was taken: the invitation's DTSTAMP, the same in every copy sent."""
    at = payload.get("at")
    return datetime.fromisoformat(str(at)) if at else datetime.now(UTC)


def _registered_late(starts: datetime, step_at: datetime) -> bool:
    """Whether a step booked (or cancelled) a meeting that had already begun: a meeting
    registered after the fact (a caseworker entering last week's pre-meeting). Its
    message still tells the recipient, but carries no calendar invitation: a calendar
    entry for a meeting gone by would only clutter the calendar (and a cancellation of
    one is no news). Decided by the step's time, so every copy and re-send is the same."""
    if starts.tzinfo is None or step_at.tzinfo is None:
        return False
    return starts <= step_at


def meeting_context(
    definition: Definition, meeting: dict[str, Any] | None, lang: str, step_at: datetime
) -> dict[str, Any] | None:
    """What a template sees of the step's meeting: its kind's name, times, place, state,
    and ``calendar``: whether the message carries its calendar invitation (not for a
    meeting registered after it began, :func:`_registered_late`)."""
    if not meeting:
        return None
    starts = datetime.fromisoformat(str(meeting["starts_at"]))
    return {
        "calendar": not _registered_late(starts, step_at),
        "key": meeting["key"],
        "kind": meeting["kind"],
        "name": meeting_name(definition, str(meeting["kind"]), lang),
        "starts": meeting["starts_at"],
        "ends": meeting["ends_at"],
        "place": meeting.get("place") or "",
        "state": meeting["state"],
        "sequence": meeting.get("sequence", 0),
    }


def meeting_name(definition: Definition, kind: str, lang: str) -> str:
    """A kind of meeting's name (the definition's ``meetings.kinds``), else a general one."""
    found = definition.meeting_kinds_by_id.get(kind)
    return text_in(found.name, lang) if found else text("collaboration_meeting", lang)


def meeting_uid(reference: str, key: int) -> str:
    """The calendar UID of a case's meeting: the same through every move and the cancel."""
    return f"{reference}-m{key}@kui.workflow"


def _calendar_part(
    definition: Definition,
    reference: str,
    payload: dict[str, Any],
    lang: str,
    recipient: tuple[Address, ...],
    stamp: datetime,
) -> str | None:
    """The meeting's invitation (or cancellation) for one recipient: one stable UID, the
    SEQUENCE of its changes, the coordinator organising, the team's staff and the recipient
    attending (a citizen's own address goes only to themselves). None for a meeting the
    step registered after it began (see :func:`_registered_late`)."""
    meeting = payload["meeting"]
    if _registered_late(datetime.fromisoformat(str(meeting["starts_at"])), stamp):
        return None
    place = meeting.get("place")
    organizer, attendees = _people(definition, meeting)
    attendees += [CalendarPerson(a.address) for a in recipient if a.kind == "email"]
    unique = list({a.address: a for a in attendees}.values())
    name = meeting_name(definition, str(meeting["kind"]), lang)
    calendar = meeting_calendar(
        CalendarMeeting(
            uid=meeting_uid(reference, int(meeting["key"])),
            sequence=int(meeting.get("sequence") or 0),
            starts_at=datetime.fromisoformat(str(meeting["starts_at"])),
            ends_at=datetime.fromisoformat(str(meeting["ends_at"])),
            summary=text("meeting_summary", lang, title=name, reference=reference),
            description=reference,
            location=definition.choice_label(str(place), lang) if place else None,
            cancelled=meeting.get("state") == "cancelled",
        ),
        organizer or (unique[0] if unique else CalendarPerson("kui@kui.workflow")),
        unique,
        stamp=stamp,
        timezone=definition.calendar.timezone,
    )
    return calendar.decode("utf-8")


def _people(
    definition: Definition, meeting: dict[str, Any]
) -> tuple[CalendarPerson | None, list[CalendarPerson]]:
    """The organiser (the coordinator) and the staff attending, by their mail addresses."""
    organizer: CalendarPerson | None = None
    attendees: list[CalendarPerson] = []
    for person in meeting.get("participants") or []:
        role = person.get("role")
        if role == "coordinator":
            found = addresses_of(
                definition,
                {"kind": RecipientKind.ROLE, "id": "coordinator", "person": person["id"]},
            )
        elif role == "team_member" and person.get("department"):
            found = addresses_of(
                definition,
                {
                    "kind": RecipientKind.TEAM_MEMBER,
                    "id": person["department"],
                    "person": person["id"],
                },
            )
        else:
            continue
        mails = [CalendarPerson(a.address) for a in found if a.kind == "email"]
        if role == "coordinator" and mails:
            organizer = mails[0]
        attendees.extend(mails)
    return organizer, attendees


def _role_names(definition: Definition, lang: str) -> dict[str, str]:
    """Each role's name in the reader's language, by id."""
    return {role.id: text_in(role.name, lang) for role in definition.roles}


def _invitation(
    definition: Definition, reference: str, dedupe_key: str, payload: dict[str, Any], lang: str
) -> str | None:
    """An iCalendar invitation when the step shares a meeting time."""
    shared = payload.get("shared") or {}
    meeting_inputs = definition.input_names_by_type.get(InputType.MEETING, [])
    places = definition.input_names_by_type.get(InputType.MEETING_PLACE, [])
    for name in sorted(shared):
        if name in meeting_inputs and shared[name]:
            start = datetime.fromisoformat(str(shared[name]))
            if _registered_late(start, _stamp(payload)):
                return None
            place = next((shared[p] for p in places if shared.get(p)), None)
            title = text("collaboration_meeting", lang)
            return invitation(
                uid=f"{reference}-{name}-{start:%Y%m%dT%H%M}@workflow",
                start=start,
                end=start + timedelta(hours=1),
                summary=text("meeting_summary", lang, title=title, reference=reference),
                location=str(place) if place else None,
                sequence=0,
                description=f"{reference}",
            )
    return None
