"""What the engine tells people when it refuses something, in Danish and English.

Rejections and field errors carry a code and parameters; the text is looked up
here, so the web app and CLI show the same words in the user's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MESSAGES: dict[str, dict[str, str]] = {
    "case_closed": {
        "da": "Sagen er afsluttet ({stage}) og tager ikke imod flere hændelser.",
        "en": "The case is closed ({stage}) and accepts no more events.",
    },
    "unknown_event": {
        "da": "Processen kender ikke hændelsen '{event}'.",
        "en": "The process has no event '{event}'.",
    },
    "wrong_stage": {
        "da": "'{event}' kan ikke ske i fasen '{stage}'; det kan ske i: {allowed}.",
        "en": "'{event}' cannot happen in stage '{stage}'; it can in: {allowed}.",
    },
    "role_not_allowed": {
        "da": "Rollen '{role}' må ikke udføre '{event}'; det må: {allowed}.",
        "en": "The role '{role}' may not trigger '{event}'; these may: {allowed}.",
    },
    "invalid_input": {
        "da": "Nogle felter mangler eller er udfyldt forkert: {fields}.",
        "en": "Some fields are missing or wrong: {fields}.",
    },
    "guard_false": {
        "da": "Betingelsen for '{event}' er ikke opfyldt.",
        "en": "The condition for '{event}' is not met.",
    },
    "guard_error": {
        "da": "Betingelsen for '{event}' kunne ikke afgøres: {detail}.",
        "en": "The condition for '{event}' could not be evaluated: {detail}.",
    },
    "timer_not_running": {
        "da": "Fristen '{timer}' kører ikke på sagen.",
        "en": "The timer '{timer}' is not running on this case.",
    },
    "timer_not_due": {
        "da": "Fristen '{timer}' udløber først {due}.",
        "en": "The timer '{timer}' is not due until {due}.",
    },
    # Field errors
    "required": {"da": "skal udfyldes", "en": "is required"},
    "unknown_field": {"da": "kendes ikke i dette trin", "en": "is not an input of this step"},
    "not_text": {"da": "skal være tekst", "en": "must be text"},
    "too_long": {"da": "må højst være {max} tegn", "en": "must be at most {max} characters"},
    "bad_character": {
        "da": "indeholder et tegn, der ikke kan bruges ({char})",
        "en": "contains a character that cannot be used ({char})",
    },
    "not_integer": {"da": "skal være et helt tal", "en": "must be a whole number"},
    "not_number": {"da": "skal være et tal", "en": "must be a number"},
    "too_small": {"da": "skal være mindst {min}", "en": "must be at least {min}"},
    "too_large": {"da": "må højst være {max}", "en": "must be at most {max}"},
    "not_boolean": {"da": "skal være ja eller nej", "en": "must be yes or no"},
    "not_date": {"da": "skal være en dato (ÅÅÅÅ-MM-DD)", "en": "must be a date (YYYY-MM-DD)"},
    "not_datetime": {
        "da": "skal være dato og klokkeslæt (ÅÅÅÅ-MM-DDTTT:MM)",
        "en": "must be a date and time (YYYY-MM-DDTHH:MM)",
    },
    "not_a_choice": {
        "da": "'{value}' er ikke et af valgene: {choices}",
        "en": "'{value}' is not one of: {choices}",
    },
    "not_a_list": {"da": "skal være en liste", "en": "must be a list"},
    "too_few": {"da": "skal have mindst {min}", "en": "needs at least {min}"},
    "too_many": {"da": "må højst have {max}", "en": "may have at most {max}"},
    "duplicate": {"da": "'{value}' står der to gange", "en": "'{value}' is given twice"},
    "item_field_required": {
        "da": "punkt {item}: '{field}' skal udfyldes",
        "en": "item {item}: '{field}' is required",
    },
    "item_not_a_map": {
        "da": "punkt {item} er ikke udfyldt rigtigt",
        "en": "item {item} is not filled in correctly",
    },
    "goal_not_first_person": {
        "da": "mål {item} er ikke skrevet i jeg-form; skriv det, som den unge siger det: "
        "'Jeg skal ...'",
        "en": "goal {item} is not in first person; write it as the young person says it: "
        "'I will ...'",
    },
}


def message(code: str, params: Mapping[str, Any], locale: str = "da") -> str:
    """The text of a message code in a locale (Danish when the locale is unknown)."""
    texts = MESSAGES.get(code)
    if texts is None:
        return code
    template = texts.get(locale, texts["da"])
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template
