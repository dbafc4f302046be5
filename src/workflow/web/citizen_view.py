"""What the young person's (or a guardian's) course page shows, in plain words.

The values of ``citizen/case.html`` from a :class:`CitizenPage`: the plan, team, next
meeting, progression, consent asked for and given, her own words and answers — staff by
name, never another citizen; a guardian is not shown what the young person wrote or did.
The routes are :mod:`workflow.web.citizen_pages`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from workflow.cases.citizens import (
    CitizenPage,
    CitizenService,
    departments_withdrawn,
    departments_without_consent,
)
from workflow.definitions.models import Definition
from workflow.definitions.parts import Transition
from workflow.definitions.templates import when as written_when
from workflow.definitions.vocabulary import CaseRole, InputType
from workflow.privacy.staff_roster import StaffRoster
from workflow.store.audit import actor_label
from workflow.store.reading import CaseView
from workflow.texts import TEXTS, text
from workflow.web.citizen_log import ended_by_wish, log_who
from workflow.web.context import choice_label, day_gone, displayed, entered_by
from workflow.web.definition_texts import local
from workflow.web.meetings import next_meeting, unrecorded_meeting
from workflow.web.progress_view import progress_of
from workflow.web.role_words import coordinator_word, in_own_words


def step_name(step: Transition, lang: str) -> str:
    """A step's name as the citizen reads it (ending the course in their own words)."""
    return text("ung_step_withdraw", lang) if step.to == "withdrawn" else local(step.name, lang)


def next_meeting_of(page: CitizenPage, now: datetime) -> dict[str, Any] | None:
    """The next booked (or moved) meeting that has not ended; never a cancelled or held one."""
    found = next_meeting(page.view.meetings, now)
    return dict(found) if found is not None else None


def meeting_title(page: CitizenPage, meeting: dict[str, Any], lang: str) -> str:
    """What the meeting is called: its kind's name, else a collaboration meeting."""
    kind = page.definition.meeting_kinds_by_id.get(meeting.get("kind") or "")
    return local(kind.name, lang) if kind else text("collaboration_meeting", lang)


def stage_words(definition: Definition, stage_id: str, lang: str) -> str:
    """A stage's name as a citizen reads it; an end chosen by wish is "Stoppet", whoever
    chose it (the name "Afbrudt af den unge" is not true of a parent's choice)."""
    if ended_by_wish(definition, stage_id):
        return text("ung_stage_stopped", lang)
    stage = definition.stages_by_id.get(stage_id)
    return local(stage.name, lang) if stage else stage_id


def ended_by(page: CitizenPage, lang: str) -> str | None:
    """Who ended the course and when, in the reader's words ("Du stoppede forløbet ...",
    "Din forælder/værge stoppede ..."), when the step that closed it is one the young
    person or a guardian may take (ending by wish, whoever took it); None otherwise (a
    course closed by its plan, a move, an age limit is told by its stage's name)."""
    view, definition = page.view, page.definition
    last = entered_by(view)
    if last is None or view.closed_at is None or not ended_by_wish(definition, view.stage):
        return None
    role = str(last.get("actor") or "").partition(":")[0]
    own = last.get("actor") == actor_label(CitizenService.actor(page.membership))
    day = written_when(last["at"].astimezone(ZoneInfo(definition.calendar.timezone)).date(), lang)
    if own:
        return text("ung_ended_by_self", lang, date=day)
    who = in_own_words(
        log_who(role, "change", page.is_guardian, lang), coordinator_word(definition, lang)
    )
    return text("ung_ended_by", lang, who=who, date=day)


def paused(page: CitizenPage, lang: str, today: date) -> dict[str, Any] | None:
    """A course on pause, as her page says it: the pause, and the day it is expected to
    end when the step that paused it gave one (its date input, e.g. "Forventet
    genoptagelse"), and whether that day has passed; None when the course is not
    paused."""
    view, definition = page.view, page.definition
    stage = definition.stages_by_id.get(view.stage)
    if stage is None or not stage.pause:
        return None
    last = entered_by(view) or {}
    transition = definition.transitions_by_id.get(last.get("transition") or "")
    given = last.get("inputs") or {}
    days = [
        given[item.name]
        for item in (transition.inputs if transition else [])
        if item.type is InputType.DATE and isinstance(given.get(item.name), str)
    ]
    return {
        "expected": written_when(days[0], lang) if days else None,
        "passed": bool(days) and day_gone(days[0], today),
    }


def _passed_meeting(page: CitizenPage, now: datetime, lang: str) -> str | None:
    """The meeting whose time has passed but is not yet recorded, in words; None."""
    found = unrecorded_meeting(page.view.meetings, now)
    if found is None:
        return None
    local_start = found["starts_at"].astimezone(ZoneInfo(page.definition.calendar.timezone))
    return text(
        "ung_meeting_passed",
        lang,
        title=meeting_title(page, dict(found), lang),
        when=written_when(local_start, lang),
    )


#: Who withdrew a department's consent, as the young person reads it ("af din
#: forælder/værge"); her own: "af dig".
_WITHDRAWN_BY = {
    "guardian": "ung_by_guardian",
    "caseworker": "ung_by_caseworker",
    "coordinator": "ung_by_coordinator",
}


def _taken_back(page: CitizenPage, departments: Mapping[str, str], lang: str) -> list[str]:
    """To the young person: each department whose consent was withdrawn, when and by whom
    ("Skole: trukket tilbage 20.03.2026 af din forælder/værge"), so a parent's withdrawal
    is not read as her own. Not to a guardian (who is not shown what she did)."""
    if page.is_guardian:
        return []
    me = actor_label(CitizenService.actor(page.membership))
    word = coordinator_word(page.definition, lang)
    said = []
    for given in page.view.consents:
        for d in given["departments"]:
            if not d.get("withdrawn_at"):
                continue
            # Rows withdrawn before the department kept who (migration 0017): the
            # consent's own withdrawer only if it was that same withdrawal.
            same = d["withdrawn_at"] == given.get("withdrawn_at")
            by = str(d.get("withdrawn_by") or (given.get("withdrawn_by") if same else "") or "")
            key = "ung_by_self" if by == me else _WITHDRAWN_BY.get(by.partition(":")[0])
            who = in_own_words(text(key, lang), word) if key else ""
            day = written_when(
                d["withdrawn_at"].astimezone(ZoneInfo(page.definition.calendar.timezone)).date(),
                lang,
            )
            name = departments.get(d["department"], d["department"])
            said.append(text("ung_taken_back", lang, department=name, date=day, who=who).strip())
    return said


def _off_the_path(definition: Definition, step: Transition) -> int:
    """How far a step is off her course's main path: 0 her own steps, 1 a pause or its
    end, 2 ending the course."""
    if step.to and ended_by_wish(definition, step.to):
        return 2
    into = definition.stages_by_id.get(step.to or "")
    pausing = into is not None and bool(into.pause)
    return 1 if pausing or step.to == "@previous" else 0


def course_values(
    page: CitizenPage, staff: StaffRoster, now: datetime, lang: str
) -> dict[str, Any]:
    """What the course page shows, in plain words (names of staff, never of other
    citizens)."""
    definition, view = page.definition, page.view
    people = {m["person"] for m in view.team} | {view.coordinator, view.caseworker}
    names = staff.names(p for p in people if p)
    emails = staff.emails(p for p in people if p)
    departments = {d.id: local(d.name, lang) for d in definition.departments}
    themes = {t.id: local(t.name, lang) for t in definition.themes}
    helpers: dict[str, str] = {}
    for member in view.team:
        helpers.setdefault(member["department"], names.get(member["person"], member["person"]))
    closed = view.closed_at is not None
    withdrawn = departments_withdrawn(view)
    plan = [
        {
            "text": goal.get("text", ""),
            "status": _goal_status(goal.get("status") or "open", closed),
            "department": departments.get(goal.get("department") or "", ""),
            # A department whose consent was taken back helps no more: no name is shown
            # as helping (the team card says they are no longer part of the course).
            "helper": ""
            if goal.get("department") in withdrawn
            else helpers.get(goal.get("department") or "", ""),
            "left": goal.get("department") in withdrawn,
            "theme": themes.get(goal.get("theme") or "", ""),
        }
        for goal in view.plan
    ]
    uncovered = set(departments_without_consent(view)) if not closed else set()
    team = [
        {
            "name": names.get(m["person"], m["person"]),
            "department": departments.get(m["department"], m["department"]),
            # No longer part of the course: the consent for their department was taken back.
            "withdrawn": m["department"] in withdrawn,
            # Not yet part of the course: no consent covers their department (see below).
            "waiting": m["department"] in uncovered,
            # Nor is one written to once the course has ended (the contact line says how).
            "email": None
            if closed or m["department"] in withdrawn or m["department"] in uncovered
            else emails.get(m["person"]),
        }
        for m in view.team
    ]
    meeting = next_meeting_of(page, now)
    today = now.astimezone(ZoneInfo(definition.calendar.timezone)).date()
    pause = paused(page, lang, today)  # (a meeting gone by is not written in while paused)
    if meeting is not None:
        local_start = meeting["starts_at"].astimezone(ZoneInfo(definition.calendar.timezone))
        meeting = meeting | {
            "place": choice_label(definition, meeting["place"], lang),
            # As the letters say it: "torsdag den 10. december 2026 kl. 14.00", and which.
            "written": written_when(local_start, lang),
            "title": meeting_title(page, meeting, lang),
        }
    active = sorted(
        {
            d["department"]
            for given in view.consents
            if not given.get("withdrawn_at")
            for d in given["departments"]
            if not d.get("withdrawn_at")
        }
    )
    shared = [{"id": d, "name": departments.get(d, d)} for d in active]
    own_words = (
        None
        if page.is_guardian
        else {
            "topics": [themes.get(t, t) for t in view.data.get("my_topics") or []],
            "wishes": view.data.get("my_wishes") or "",
            "feedback": view.data.get("feedback_words") or "",
            # Her answers to her own steps' questions, as the forms asked them.
            "answers": _answers(definition, view, lang),
        }
    )
    return {
        "reference": view.reference,
        "municipality": local(definition.title, lang),
        "stage": stage_words(definition, view.stage, lang),
        # Who ended it, said as such: a stage named "ended by the young person" is not
        # what her mother, who ended it, or she herself should read of it.
        "ended_by": ended_by(page, lang),
        "paused": pause,
        # A meeting whose time has passed and is not yet written in: said as such (the
        # card said no meeting was booked, under a stage saying one was called).
        "passed": _passed_meeting(page, now, lang)
        if meeting is None and not closed and not pause
        else None,
        "closed": closed,
        "plan": plan,
        "progress": progress_of(view.progress, definition, lang),
        "team": team,
        "coordinator": names.get(view.coordinator or "", view.coordinator or ""),
        "coordinator_email": emails.get(view.coordinator or ""),
        "caseworker": names.get(view.caseworker or "", view.caseworker or ""),
        "meeting": meeting,
        "displayed": displayed(definition, view.data, lang, young_person=True),
        # Offered: not a step its guard refuses on the case as it is (feedback on a meeting
        # before any is held); its form still answers with the reason if opened anyway.
        # Her own steps first (preparing, feedback), then pausing, then ending the course.
        "steps": [
            {"event": t.event_name, "name": step_name(t, lang), "danger": t.to == "withdrawn"}
            for t in sorted(page.steps, key=lambda t: _off_the_path(definition, t))
            if t.id not in view.refused_steps
        ],
        "shared": shared,
        "taken_back": _taken_back(page, departments, lang),
        "guardian": page.is_guardian,
        **_consent_asked(page, departments),
        "own_words": own_words,
        "networks": _networks(definition, view.data, lang),
        "coordinator_word": coordinator_word(definition, lang),
    }


def _answers(definition: Definition, view: CaseView, lang: str) -> list[str]:
    """The choices the young person made in the steps she took herself, each with its
    question ("Blev jeg hørt på mødet? Delvist"), as the forms asked them; her latest
    answer to each. Not a staff member's answer to the same question (a caseworker's
    "Behandling eller indlæggelse" for a pause was shown as hers), nor a pause's reason
    once the pause is over."""
    answers: dict[str, str] = {}
    steps = definition.transitions_by_id
    # The step that put the course where it is: a pause's reason is said only if hers
    # began this pause (not an earlier pause's, in a pause staff began).
    current = (entered_by(view) or {}).get("seq")
    for entry in sorted(view.history, key=lambda h: h["seq"]):
        transition = steps.get(entry.get("transition") or "")
        if (
            transition is None
            or entry.get("refused")
            or not str(entry.get("actor") or "").startswith(CaseRole.YOUNG_PERSON.value + ":")
        ):
            continue
        into = definition.stages_by_id.get(transition.to or "")
        if into is not None and into.pause and entry["seq"] != current:
            continue  # a pause's reason, said while the pause she began lasts
        given = entry.get("inputs") or {}
        for item in transition.inputs:
            value = given.get(item.name)
            if not isinstance(value, str) or not value.strip():
                continue
            if item.type is InputType.CHOICE:
                answer = next((c.label for c in item.choices if c.value == value), None)
                said = local(answer, lang) if answer else value
            elif item.type is InputType.TEXT and item.name not in _SAID_APART:
                said = value.strip()  # her own words ("Andet": what the pause is for)
            else:
                continue
            answers.pop(item.name, None)  # the latest last
            answers[item.name] = f"{local(item.label, lang)} {said}"
    return list(answers.values())


#: Her words the card says on their own lines (her wishes, her feedback), not as answers.
_SAID_APART = frozenset({"my_wishes", "feedback_words"})


def genitive(name: str, lang: str) -> str:
    """Whose, as each language writes it: Danish "Emmas", "Jonas'"; English "Emma's",
    "Jonas'"."""
    if name[-1:].lower() in ("s", "x", "z"):
        return f"{name}'"
    return f"{name}s" if lang == "da" else f"{name}'s"


def _consent_asked(page: CitizenPage, departments: Mapping[str, str]) -> dict[str, Any]:
    """The team's departments no consent covers yet, by name: those the reader's yes is
    asked for (``ask``), those their yes is given for and waiting for the other's
    (``waiting``), and, to the young person, those a parent has said yes to
    (``parent_said_yes``; a guardian is not shown what the young person did)."""
    me = page.membership.role.value
    # An ended course asks no one's yes: no department takes part any more.
    uncovered = departments_without_consent(page.view) if page.view.closed_at is None else []
    parts = page.consent_parts
    ask = [d for d in uncovered if me not in parts.get(d, set())]
    parent = [d for d in ask if "guardian" in parts.get(d, set())] if me != "guardian" else []
    return {
        "ask": [departments.get(d, d) for d in ask],
        "waiting": [departments.get(d, d) for d in uncovered if d not in ask],
        "parent_said_yes": [departments.get(d, d) for d in parent],
        "consent_under": page.definition.privacy.guardian_consent_under,
    }


def _networks(definition: Definition, data: Mapping[str, Any], lang: str) -> list[str]:
    """The networks and communities the young person goes on with after the course (the
    handover's list), each as "Sorø Fodboldklub (Fritid)"."""
    shown: list[str] = []
    for name in definition.input_names_by_type.get(InputType.NETWORKS, []):
        for network in data.get(name) or []:
            if isinstance(network, Mapping) and network.get("name"):
                kind = f"kind_{network.get('kind')}"
                said = f" ({text(kind, lang)})" if kind in TEXTS else ""
                shown.append(f"{network['name']}{said}")
    return shown


def _goal_status(status: str, closed: bool) -> str:
    """A goal's status as the page words it: after the course has ended, a goal nobody
    marked is not "under way", and one not met is not "not met yet"."""
    return f"{status}_ended" if closed and status in ("open", "not_met") else status


def earlier_answers(page: CitizenPage, event: str) -> dict[str, list[str]]:
    """What the young person gave the last time she took this step, when it was for the
    meeting still to come (taken after the last meeting held): her form opens with it, so
    adding a topic does not mean writing everything again. Nothing from before the last
    held meeting (that was for another meeting), nothing to a guardian. Only a step that
    keeps the course where it is (a preparation), taken by her: a pause's old reason and
    day, or what a caseworker gave for the same step, is not hers to resend."""
    if page.is_guardian:
        return {}
    if any(t.to is not None for t in page.definition.transitions if t.event_name == event):
        return {}
    own = CaseRole.YOUNG_PERSON.value + ":"
    taken = [
        h
        for h in page.view.history
        if h["event"] == event and not h.get("refused") and str(h.get("actor")).startswith(own)
    ]
    if not taken:
        return {}
    last = max(taken, key=lambda h: h["seq"])
    held = [m["starts_at"] for m in page.view.meetings if m.get("state") == "held"]
    if held and last["at"] <= max(held):
        return {}
    given: dict[str, list[str]] = {}
    for name, value in (last.get("inputs") or {}).items():
        if isinstance(value, list):
            given[name] = [str(v) for v in value if isinstance(v, str | int)]
        elif isinstance(value, bool):
            given[name] = ["true"] if value else []
        elif isinstance(value, str | int):
            given[name] = [str(value)]
    return given
