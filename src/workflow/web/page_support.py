"""What every page route shares: the pages' refusals, safe redirects, form keys and refusals.

The logged-in user and checked form posts are dependencies (``workflow.web.dependencies``);
how each refusal is answered is in ``workflow.web.error_answers``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from workflow.definitions.calendar import WEEKDAYS
from workflow.definitions.models import Definition
from workflow.definitions.vocabulary import SYSTEM_ROLE
from workflow.engine.access import CONSENT_ACTOR
from workflow.engine.model import FieldError, Rejection
from workflow.settings import Settings
from workflow.texts import TEXTS, field_text, text
from workflow.web.context import scoped_key
from workflow.web.definition_texts import local
from workflow.web.forms import FormData
from workflow.web.identity import Authenticated
from workflow.web.meetings import kind_name
from workflow.web.rendering import when
from workflow.web.role_words import in_own_words


class LoginRequiredError(Exception):
    """The page needs a logged-in user."""


class PageNotFoundError(Exception):
    """A case, step or page that does not exist (or the user may not see)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CsrfError(Exception):
    """A form post without the session's CSRF token."""


#: The roles whose actor id is not a staff id (a case reference, a guardian's key, a timer).
_UNNAMED_ROLES = frozenset({SYSTEM_ROLE, "young_person", "guardian"})


def actor_person(label: str) -> str | None:
    """The staff id in a history actor (``role:staff-id``), if it names a person."""
    role, _, person = label.partition(":")
    return None if role in _UNNAMED_ROLES or person in ("", "-") else person


def actor_words(label: str, names: Mapping[str, str], lang: str, word: str | None = None) -> str:
    """Who took a step, in words: "Mette Sagsbehandler (sagsbehandler)" for a member of
    staff (the id when they have no account), the role alone for the young person, a
    guardian and the system ("den unge", "systemet"); the system telling the case of a
    consent names who gave or withdrew it ("systemet, ved Mette Sagsbehandler ...").
    ``word``: the municipality's word for the coordinator, said in the role only (a name
    is a name: "Karin Koordinator" became "Karin Ungekoordinator")."""
    role, _, ident = label.partition(":")
    if role == SYSTEM_ROLE and ident.startswith(CONSENT_ACTOR):  # a consent's step
        who = actor_words(ident.removeprefix(CONSENT_ACTOR), names, lang, word)
        return text("actor_with_consent", lang, who=who)
    key = f"actor_{role}"
    role_words = in_own_words(text(key, lang), word) if key in TEXTS else role
    person = actor_person(label)
    if person is None:
        return role_words
    return text("actor_named", lang, name=names.get(person, person), role=role_words)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site, never another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def secure_cookies(settings: Settings) -> bool:
    """Whether cookies are marked Secure (the site is served over https)."""
    return settings.base_url.startswith("https://")


def form_key(auth: Authenticated, form: FormData) -> str | None:
    """The form's one-time key, scoped to the user: a resent form repeats nothing."""
    return scoped_key("web", auth.user, form.get("idempotency_key"))


def refusal(
    rejection: Rejection,
    lang: str,
    definition: Definition | None = None,
    heading: str = "errors_heading",
) -> tuple[str, dict[str, str]]:
    """The message above a refused form, and the errors beside its fields (``heading``:
    the text over the list of field errors: a step's, a referral's, the young person's).

    Several errors on one field are shown together; the meeting rules' words (weekdays,
    a meeting's state and kind, dates) are put in the page's language.
    """
    errors: dict[str, str] = {}
    for error in rejection.field_errors:
        shown = field_error_text(error, lang, definition)
        errors[error.name] = f"{errors[error.name]}; {shown}" if error.name in errors else shown
    message = text(heading, lang) if errors else rejection_text(rejection, lang, definition)
    unplaced = rejection.params.get("unplaced")  # rules of a guard that name no field
    if errors and isinstance(unplaced, dict) and unplaced:
        message = unplaced.get(lang) or unplaced["da"]
    return message, errors


def field_error_text(error: FieldError, lang: str, definition: Definition | None = None) -> str:
    """A field error in the reader's language, its parameters in words too (a guard
    rule's own message as the definition words it)."""
    if error.custom_message:
        return error.custom_message.get(lang) or error.custom_message["da"]
    return field_text(error.code, lang, **localised(error.params, lang, definition))


def rejection_text(rejection: Rejection, lang: str, definition: Definition | None = None) -> str:
    """Why a step was refused, in the reader's language."""
    if rejection.custom_message:
        return rejection.text(lang)
    return text(rejection.reason.value, lang, **localised(rejection.params, lang, definition))


def _listed(items: list[str], lang: str) -> str:
    """'a, b og c' (Danish) or 'a, b and c'."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {text('and', lang)} {items[-1]}"


def _moment(value: str) -> str:
    """An engine's 'YYYY-MM-DD[ HH:MM]' as the pages write dates and times."""
    try:
        if len(value) > 10:
            return when(datetime.fromisoformat(value))
        return when(date.fromisoformat(value))
    except ValueError:
        return value


def localised(
    params: Mapping[str, Any], lang: str, definition: Definition | None
) -> dict[str, Any]:
    """A refusal's parameters in words: weekday names, a meeting's state and kind, theme
    names and dates as people write them (an engine names them by id)."""
    found = {  # a name given in each language (a department's): the reader's
        name: (value.get(lang) or value["da"])
        if isinstance(value, Mapping) and "da" in value
        else value
        for name, value in params.items()
    }
    if isinstance(found.get("days"), str):
        days = [
            text(f"weekday_{WEEKDAYS.index(d)}", lang) if d in WEEKDAYS else d
            for d in found["days"].split(", ")
        ]
        found["days"] = _listed(days, lang)
    if isinstance(found.get("state"), str):
        found["state"] = text(f"meeting_state_{found['state']}", lang).lower()
    for key in ("day", "starts", "from", "now", "held"):
        if isinstance(found.get(key), str):
            found[key] = _moment(found[key])
    part = found.get("field")
    if isinstance(part, str) and f"item_field_{part}" in TEXTS:  # a list row's part, in words
        found["field"] = text(f"item_field_{part}", lang)
    if definition is not None:
        if isinstance(found.get("kind"), str):
            found["kind"] = kind_name(definition, found["kind"], lang).lower()
        if isinstance(found.get("themes"), str):
            names = {t.id: local(t.name, lang) for t in definition.themes}
            found["themes"] = ", ".join(names.get(t, t) for t in found["themes"].split(", "))
        # Steps by the names the page shows on their buttons, not their ids.
        if isinstance(found.get("steps"), str):
            steps = [_step_name(definition, s, lang) for s in found["steps"].split(", ")]
            found["steps"] = _listed(steps, lang)
        event = found.get("event")
        if isinstance(event, str) and event in definition.transitions_by_event:
            found["event"] = local(definition.transitions_by_event[event][0].name, lang)
        stage = definition.stages_by_id.get(str(found.get("stage")))
        if stage is not None:
            found["stage"] = local(stage.name, lang)
    return found


def _step_name(definition: Definition, step: str, lang: str) -> str:
    """A transition's name (the referral: "Henvisning"), or its id if it has none."""
    if step == "refer":
        return text("referral", lang)
    found = definition.transitions_by_id.get(step)
    return local(found.name, lang) if found is not None else step
