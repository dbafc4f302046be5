"""The fixed words of the definition language: phases, stage kinds, input types, markers."""

from __future__ import annotations

from enum import StrEnum

#: Stage ``to`` value meaning "back to the stage the case was in before this one" (resume).
PREVIOUS_STAGE = "@previous"
#: Stage ``from`` value meaning "any stage that is not final".
ANY_ACTIVE = "*"
#: The role the engine acts as when a timer fires an event.
SYSTEM_ROLE = "system"
#: The role of the caseworker of record (the case data ``caseworker`` names who holds it).
CASEWORKER_ROLE = "caseworker"


class CaseRole(StrEnum):
    """The roles steps name: each is held through one standing on the case.

    The caseworker *of record*, the coordinator the young person chose, a team member whose
    department the consent covers, the young person, a guardian of a minor, and a leader
    through a recorded legal basis (see workflow.engine.access).
    """

    CASEWORKER = "caseworker"
    COORDINATOR = "coordinator"
    TEAM_MEMBER = "team_member"
    YOUNG_PERSON = "young_person"
    GUARDIAN = "guardian"
    LEADER = "leader"


#: The event name that opens a case through the ``referral`` block.
REFER_EVENT = "refer"

#: Events the system raises on a case when a definition handles them: the young person
#: did not come to a meeting; a consent was recorded; a consent was withdrawn.
SYSTEM_EVENTS = ("young_person_no_show", "consent_given", "consent_withdrawn")


class Phase(StrEnum):
    """The phases of the collaboration model every stage belongs to."""

    REFERRAL = "referral"
    PRE_MEETING = "pre_meeting"
    FIRST_MEETING = "first_meeting"
    FOLLOW_UP = "follow_up"
    HANDOVER = "handover"
    CLOSED = "closed"


class StageKind(StrEnum):
    """What a stage is: where cases start, where work happens, a wait, or an end."""

    START = "start"
    ACTIVE = "active"
    WAITING = "waiting"
    FINAL = "final"


class InputType(StrEnum):
    """The types of value a person gives when triggering a transition."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    CHOICE = "choice"
    MULTICHOICE = "multichoice"
    DEPARTMENT = "department"
    DEPARTMENTS = "departments"
    THEME = "theme"
    THEMES = "themes"
    PERSON = "person"
    #: The coordinator the young person chose (a staff id): recorded as the case's coordinator.
    COORDINATOR = "coordinator"
    TEAM = "team"
    GOALS = "goals"
    GOAL_REVIEWS = "goal_reviews"
    NETWORKS = "networks"
    #: A date and time that books a meeting of the case (recorded, and sent as an invitation).
    MEETING = "meeting"
    #: Where the step's meeting is held: one of the input's ``choices`` (e.g. rooms).
    MEETING_PLACE = "meeting_place"
    #: One of the case's booked meetings (the one a move, cancel or hold acts on).
    BOOKED_MEETING = "booked_meeting"
    #: Who came to the meeting held: the participants absent (sent word) and not showing up.
    ATTENDANCE = "attendance"
    #: The young person's level on the definition's progression scale, agreed at a meeting.
    PROGRESSION = "progression"


#: Input types whose values may be shared with departments in notifications: they carry
#: no free text about the young person.
SHAREABLE_INPUT_TYPES = frozenset(
    {
        InputType.DATE,
        InputType.DATETIME,
        InputType.MEETING,
        InputType.MEETING_PLACE,
        InputType.CHOICE,
        InputType.MULTICHOICE,
        InputType.DEPARTMENT,
        InputType.DEPARTMENTS,
        InputType.THEME,
        InputType.THEMES,
        InputType.INTEGER,
        InputType.BOOLEAN,
    }
)
