"""The definition's fixed values named in a refusal's message: ``{{ target_ages.min }}``.

A guard's message (``guard_message``, or a rule's ``message``) may name the ages a
process is for and its parameters, so that a refused person is told what the rule asks
("Den unge skal være mellem 15 og 24 år") and a municipality that extends the base
with its own ages, or changes a parameter, is told its own figures without rewriting
the message (Ballerup's grant limit was written into its message by hand beside the
parameter it repeats).

Only these fixed values may be named: never the case's data or the step's inputs. A
refusal's words are shown to whoever was refused, and kept where personal data may not
go (the audit entry's reason, a flow's result).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from workflow.definitions.findings import Finding, Path, unknown
from workflow.definitions.models import Definition
from workflow.definitions.types import LocalizedText

#: ``{{ name }}`` in a message, spaces inside the braces optional.
PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def fixed_values(definition: Definition) -> dict[str, int | float | str | bool]:
    """What a message may name: ``target_ages.min``, ``target_ages.max``, ``params.<name>``."""
    values: dict[str, int | float | str | bool] = {
        "target_ages.min": definition.target_ages.min,
        "target_ages.max": definition.target_ages.max,
    }
    values.update({f"params.{name}": value for name, value in definition.parameters.items()})
    return values


def message_problems(
    path: Path, message: str | LocalizedText | None, definition: Definition
) -> Iterator[Finding]:
    """Each placeholder of a message that names no fixed value of the definition."""
    if message is None:
        return
    known = fixed_values(definition)
    texts = (
        [(path, message)]
        if isinstance(message, str)
        else [(path + (lang,), text) for lang, text in (("da", message.da), ("en", message.en))]
    )
    for where, text in texts:
        for name in PLACEHOLDER.findall(text or ""):
            if name not in known:
                found = unknown(where, "value in a message", name, known)
                yield (
                    found[0],
                    found[1],
                    found[2] or f"a message may name {', '.join(sorted(known))}",
                )


def filled(words: Mapping[str, str], definition: Definition) -> dict[str, str]:
    """A message's languages with the fixed values it names written in (numbers as each
    language writes them: 15.000 in Danish, 15,000 in English)."""
    if not any("{{" in text for text in words.values()):
        return dict(words)
    known = fixed_values(definition)

    def written(text: str, lang: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in known:  # refused at load; shown as written rather than lost
                return match.group(0)
            return _in_words(known[name], lang)

        return PLACEHOLDER.sub(value, text)

    return {lang: written(text, lang) for lang, text in words.items()}


def _in_words(value: int | float | str | bool, lang: str) -> str:
    """A value as a sentence in ``lang`` writes it."""
    if isinstance(value, bool):
        return {"da": "ja" if value else "nej"}.get(lang, "yes" if value else "no")
    if isinstance(value, int | float):
        text = f"{value:,}"
        if lang == "da":  # 15,000.5 -> 15.000,5
            text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
        return text
    return value
