"""The access log on the citizen's pages, in their words: who (a role, never a name),
did what, when and why, written to the young person ("Din sagsbehandler læste dit
forløb") or to a guardian ("Sagsbehandleren læste forløbet")."""

from __future__ import annotations

from typing import Any

from workflow.definitions.models import Definition
from workflow.definitions.vocabulary import REFER_EVENT, CaseRole
from workflow.privacy.audit import ShownAccessLog
from workflow.texts import TEXTS, text
from workflow.web.privacy_pages import purpose_words
from workflow.web.role_words import coordinator_word, in_own_words

_ROLE_WORDS = frozenset(
    {
        "user",
        "caseworker",
        "coordinator",
        "team_member",
        "leader",
        "young_person",
        "guardian",
        "system",
        "citizen",
    }
)
_ACTION_WORDS = frozenset({"read", "change", "export", "refused", "search", "delete"})
_CITIZEN_ROLES = frozenset({"young_person", "guardian", "citizen", "system"})


def ended_by_wish(definition: Definition, stage_id: str) -> bool:
    """Whether a stage is an end the young person or a guardian may choose (a final
    stage a transition of theirs leads to)."""
    stage = definition.stages_by_id.get(stage_id)
    citizens = {CaseRole.YOUNG_PERSON.value, CaseRole.GUARDIAN.value}
    return (
        stage is not None
        and stage.kind == "final"
        and any(t.to == stage_id and citizens & set(t.roles) for t in definition.transitions)
    )


def _why(definition: Definition, purpose: str, own_line: bool, lang: str) -> str:
    """A line's purpose in the citizen's words: ending a course by wish is said as such
    (the step's name, "Den unge stopper forløbet", is not true of a parent's ending)."""
    if purpose in (REFER_EVENT, "referral"):
        return text("ung_purpose_referral", lang)
    ending = next((t for t in definition.transitions if purpose in (t.id, t.event_name)), None)
    if ending is not None and ending.to and ended_by_wish(definition, ending.to):
        return text("ung_purpose_ended", lang)
    key = _CITIZEN_PURPOSES.get(purpose)
    if key:  # the citizen's own purposes in the reader's words, not staff's
        return text(key if own_line else f"{key}_other", lang)
    return purpose_words(definition, purpose, lang)


#: The citizen's own logged purposes, said to them ("Din egen side", not "Den unges").
_CITIZEN_PURPOSES = {
    "den unges egen side": "ung_purpose_own_page",
    "samtykke (egen del)": "ung_purpose_consent_part",
}


def _as_read_by(key: str, guardian: bool, lang: str) -> str:
    """A text as the reader is addressed: a guardian reads of "the young person's
    course" (the ``_g`` variant), the young person of "your course"."""
    return text(f"{key}_g" if guardian and f"{key}_g" in TEXTS else key, lang)


def log_who(role: str, action: str, guardian: bool, lang: str, own: bool = False) -> str:
    """Who a line of the access log names: a role in the reader's words; the reader's own
    use "you" (a guardian's own reads are not "a parent's": that is the other parent). A
    refusal for who tried (not on the case, a role not held) names no role they
    claimed: "a member of staff"."""
    if own and role in _CITIZEN_ROLES:
        return _as_read_by("ung_who_self", guardian, lang)
    if action == "refused" and role not in _CITIZEN_ROLES:
        return text("ung_who_user", lang)
    if role not in _ROLE_WORDS:
        return text("ung_who_other", lang)
    return _as_read_by(f"ung_who_{role}", guardian, lang)


def _did(action: str, what: str, guardian: bool, lang: str) -> str:
    """What a line's person did, in words: the access log taken out is "looked at who
    has read your course", not "took a copy of your course" (which a case export is); the
    CPR number shown in full is "saw your CPR number", not a read of the course."""
    if action == "export" and what == "access_log":
        return _as_read_by("ung_did_access_log", guardian, lang)
    if action == "read" and what == "cpr":  # the full number shown: said as such
        return _as_read_by("ung_did_read_cpr", guardian, lang)
    return _as_read_by(f"ung_did_{action}", guardian, lang) if action in _ACTION_WORDS else action


def log_rows(shown: ShownAccessLog, guardian: bool, lang: str) -> list[dict[str, Any]]:
    """The log's lines, newest first, as the page shows them (``guardian``: the reader is
    a guardian)."""
    word = coordinator_word(shown.definition, lang)
    return [
        {
            "at": e.at,
            "until": e.until,
            "count": e.count,
            "who": in_own_words(log_who(e.role, e.action, guardian, lang, e.own), word),
            "did": _did(e.action, e.what, guardian, lang),
            # A step's id, a deadline, the services' own purposes: in words.
            "why": _why(shown.definition, e.purpose, e.own, lang),
        }
        for e in reversed(shown.lines)
    ]
