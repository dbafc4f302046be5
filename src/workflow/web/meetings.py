"""A case's meetings as the pages show them: the next one, their names, who was invited.

The case view lists every meeting the case has had (``CaseView.meetings``): booked,
moved, cancelled or held. Only a booked or moved one that has not ended is still to
come; "the next meeting" is the earliest of those, never a cancelled or held one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from workflow.definitions.models import Definition
from workflow.definitions.parts import Transition
from workflow.definitions.vocabulary import InputType
from workflow.engine.meetings import OPEN_STATES
from workflow.texts import text
from workflow.web.definition_texts import local
from workflow.web.rendering import when

Meeting = Mapping[str, Any]


def state_of(meeting: Meeting) -> str:
    """The meeting's state (a row from before meetings had a lifecycle is booked)."""
    return str(meeting.get("state") or "booked")


def is_open(meeting: Meeting) -> bool:
    """Booked or moved: still to be held (or to be moved, cancelled or held)."""
    return state_of(meeting) in OPEN_STATES


def open_meetings(meetings: Sequence[Meeting]) -> list[Meeting]:
    """The booked and moved meetings, earliest first."""
    return sorted((m for m in meetings if is_open(m)), key=lambda m: m["starts_at"])


def next_meeting(meetings: Sequence[Meeting], now: datetime) -> Meeting | None:
    """The earliest booked or moved meeting that has not ended (None: none is booked)."""
    upcoming = [m for m in open_meetings(meetings) if (m.get("ends_at") or m["starts_at"]) >= now]
    return upcoming[0] if upcoming else None


def unrecorded_meeting(meetings: Sequence[Meeting], now: datetime) -> Meeting | None:
    """The latest booked or moved meeting that has ended but is not recorded as held (or
    cancelled): what the case is waiting for when no meeting lies ahead."""
    ended = [m for m in open_meetings(meetings) if (m.get("ends_at") or m["starts_at"]) < now]
    return ended[-1] if ended else None


def kind_name(definition: Definition, kind: str | None, lang: str) -> str:
    """What a kind of meeting is called (the definition's name), else a plain "meeting"."""
    found = definition.meeting_kinds_by_id.get(kind or "")
    return local(found.name, lang) if found else text("meeting_kind", lang)


def meeting_label(definition: Definition, meeting: Meeting, lang: str) -> str:
    """A meeting in a list or a select: its kind and its local time."""
    return f"{kind_name(definition, meeting.get('kind'), lang)} – {when(meeting['starts_at'])}"


def held_meeting(transition: Transition, meetings: Sequence[Meeting]) -> Meeting | None:
    """The meeting a "meeting held" step records: the earliest booked one of its kind."""
    action = transition.meeting
    if action is None or action.action != "hold":
        return None
    kind = action.kind
    return next((m for m in open_meetings(meetings) if kind is None or m.get("kind") == kind), None)


def invited(meeting: Meeting) -> list[Mapping[str, Any]]:
    """Who was invited: ``{id, role, department?}`` each (older rows: ids only)."""
    found = meeting.get("invited")
    if isinstance(found, list):
        return [p for p in found if isinstance(p, Mapping)]
    return [{"id": p, "role": "team_member"} for p in meeting.get("participants") or []]


def participant_name(
    participant: Mapping[str, Any], names: Mapping[str, str], young_person: str, lang: str
) -> str:
    """A participant in words: the young person's name, "parent", a colleague's name."""
    ident, role = str(participant.get("id")), participant.get("role")
    if role == "young_person" or ident.startswith("young-person/"):
        if young_person:
            return text("participant_young_person", lang, name=young_person)
        return text("role_young_person", lang)
    if role == "guardian" or ident == "guardian":
        return names.get(PARENTS) or text("participant_guardian", lang)
    return names.get(ident, ident)


#: The key :func:`with_parents` names the custodial parents by among the staff's names.
PARENTS = "guardian"


def with_parents(
    names: Mapping[str, str], guardians: Sequence[Mapping[str, Any]], lang: str
) -> dict[str, str]:
    """The names with the custodial parents' ("Mette Mor og Frank Far (forælder/værge)"),
    so a meeting's parent is said by name, not only as "Forælder/værge"."""
    named = [str(g["name"]) for g in guardians if g.get("name")]
    if not named:
        return dict(names)
    joined = f" {text('and', lang)} ".join(
        [", ".join(named[:-1]), named[-1]] if len(named) > 1 else named
    )
    return {**names, PARENTS: text("participant_parents", lang, names=joined)}


def participant_names(
    meeting: Meeting,
    names: Mapping[str, str],
    young_person: str,
    lang: str,
    left: Collection[str] = (),
) -> dict[str, str]:
    """Every invited participant's id and name, in the order they were invited; a team
    member of a department in ``left`` (its consent withdrawn: they were sent the
    meeting's cancellation) is said to be no longer taking part."""
    return {
        str(p.get("id")): participant_name(p, names, young_person, lang)
        + (f" ({text('member_consent_withdrawn', lang)})" if _left(p, left) else "")
        for p in invited(meeting)
    }


def left_out(meeting: Meeting, left: Collection[str]) -> list[str]:
    """The ids of the team members of departments in ``left`` invited to the meeting
    (taken out of it: their department's consent was withdrawn)."""
    return [str(p.get("id")) for p in invited(meeting) if _left(p, left)]


def _left(person: Mapping[str, Any], left: Collection[str]) -> bool:
    return person.get("role") == "team_member" and person.get("department") in left


def names_of(ids: Sequence[str], names: Mapping[str, str], young_person: str, lang: str) -> str:
    """Participants given by id (a plan's meeting), in words, joined."""
    return ", ".join(participant_name({"id": i}, names, young_person, lang) for i in ids)


def staff_ids(meetings: Sequence[Meeting]) -> set[str]:
    """The staff among every meeting's participants (for looking up their names)."""
    return {
        str(p.get("id"))
        for m in meetings
        for p in invited(m)
        if p.get("role") not in ("young_person", "guardian")
    }


def chooses_meeting(transition: Transition) -> bool:
    """Whether the step's form names one of the case's booked meetings."""
    return any(i.type is InputType.BOOKED_MEETING for i in transition.inputs)


__all__ = [
    "chooses_meeting",
    "held_meeting",
    "invited",
    "is_open",
    "kind_name",
    "meeting_label",
    "names_of",
    "next_meeting",
    "open_meetings",
    "participant_name",
    "participant_names",
    "staff_ids",
    "state_of",
]
