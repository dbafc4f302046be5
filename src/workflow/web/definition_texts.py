"""Definition texts in the reader's language, for the pages and the API.

The app's own words are in :mod:`workflow.texts`; a definition's texts (stage names,
labels, button names) come from the definition, in Danish and optionally English.
"""

from __future__ import annotations

from workflow.definitions.types import LocalizedText, text_in


def local(text: str | LocalizedText | None, locale: str) -> str:
    """A definition text in ``locale`` (falling back to Danish)."""
    return "" if text is None else text_in(text, locale)
