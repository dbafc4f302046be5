"""The municipality's own word for the coordinator, on the young person's pages and the
staff's.

The pages' texts say "koordinator"; a municipality names the role in its definition
(Sorø: "Tovholder", the national base: "Ungekoordinator"), and its letters, meetings and
the coordinator's own mail use that word. A young person who has chosen their
"tovholder" reads "Min tovholder" on their page, not a word nobody said to them. Danish
only: the English texts keep "coordinator" (the definitions' English names explain
their own word, "Coordinator (tovholder)").
"""

from __future__ import annotations

import re
from typing import Any

from workflow.definitions.models import Definition
from workflow.definitions.vocabulary import CaseRole
from workflow.texts import text
from workflow.web.definition_texts import local

#: The texts' word, indefinite or definite ("koordinator", "Koordinatoren").
_COORDINATOR = re.compile(r"\b([Kk])oordinator(en)?\b")


def coordinator_word(definition: Definition | None, lang: str) -> str | None:
    """The definition's Danish name of the coordinator, lower case ("tovholder"), when it
    is one word other than "koordinator"; None keeps the texts' own word."""
    if definition is None or lang != "da":
        return None
    role = next((r for r in definition.roles if r.id == CaseRole.COORDINATOR), None)
    if role is None:
        return None
    name = local(role.name, "da").strip().lower()
    if not name.isalpha() or name == "koordinator":
        return None
    return name


def in_own_words(said: str, word: str | None) -> str:
    """A text with "koordinator" said in the municipality's ``word`` (definite form and
    capital letter kept: "Koordinatoren" -> "Tovholderen")."""
    if not word:
        return said

    def swap(match: re.Match[str]) -> str:
        definite = ("n" if word.endswith("e") else "en") if match.group(2) else ""
        own = word + definite
        return own[0].upper() + own[1:] if match.group(1) == "K" else own

    return _COORDINATOR.sub(swap, said)


def own_text(key: str, lang: str, word: str | None, **params: Any) -> str:
    """The text of ``key`` with "koordinator" in the municipality's ``word``, said in the
    text before its parameters are filled in: a name given to it is not changed ("Karin
    Koordinator" is not "Karin Tovholder")."""
    said = in_own_words(text(key, lang), word)
    if not params:
        return said
    try:
        return said.format(**params)
    except (KeyError, IndexError):
        return said


def role_name(definition: Definition, role: str, lang: str) -> str:
    """A role as the municipality names it ("Tovholder" in Sorø, "Ungekoordinator" in
    Horsens), for the staff's pages."""
    found = next((r for r in definition.roles if r.id == role), None)
    return local(found.name, lang) if found is not None else role
