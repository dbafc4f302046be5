"""Small value types of the definition language: identifiers, texts, durations."""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]*$"

Identifier = Annotated[
    str,
    StringConstraints(pattern=IDENTIFIER_PATTERN, max_length=64),
    Field(description="A lower-case name: letters a-z, digits and _, starting with a letter."),
]

Locale = Literal["da", "en"]


class StrictModel(BaseModel):
    """Base of every definition model: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalizedText(StrictModel):
    """A text in Danish and, optionally, English."""

    da: str = Field(description="Danish text (the default language).")
    en: str | None = Field(default=None, description="English text; Danish is used when absent.")


Text = Annotated[
    str | LocalizedText,
    Field(description="Danish text, or a map with `da` and `en`."),
]


def text_in(text: str | LocalizedText, locale: str) -> str:
    """The text in the given locale, falling back to Danish."""
    if isinstance(text, str):
        return text
    if locale == "en" and text.en is not None:
        return text.en
    return text.da


def text_variants(text: str | LocalizedText) -> dict[str, str]:
    """Every language a text is written in."""
    if isinstance(text, str):
        return {"da": text}
    return {"da": text.da} | ({"en": text.en} if text.en is not None else {})


DurationUnit = Literal["minutes", "hours", "days", "weeks", "months", "business_days"]
#: Every unit, in the order an author is told them.
DURATION_UNITS: tuple[DurationUnit, ...] = typing.get_args(DurationUnit)
_DURATION = re.compile(r"^\s*(\d+)\s+([a-z_]+)\s*$")
#: Each unit written as an author may write it: plural ('2 days'), or singular for one ('1 day').
_UNIT_ALIASES: dict[str, DurationUnit] = {
    written: unit for unit in DURATION_UNITS for written in (unit.removesuffix("s"), unit)
}
_SINGULAR = "|".join(re.escape(unit.removesuffix("s")) for unit in DURATION_UNITS)
_PLURAL = "|".join(re.escape(unit) for unit in DURATION_UNITS)
#: The pattern of a duration in the JSON Schema: any amount with the plural, 1 with the singular.
DURATION_PATTERN = rf"^\s*(\d+\s+({_PLURAL})|0*1\s+({_SINGULAR}))\s*$"
_UNITS_IN_WORDS = f"{', '.join(DURATION_UNITS[:-1])} or {DURATION_UNITS[-1]}"


@dataclass(frozen=True)
class Duration:
    """An amount of time: calendar units, or Danish business days (holidays excluded)."""

    amount: int
    unit: DurationUnit

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}"


def parse_duration(value: Any) -> Duration:
    """Read ``'14 business_days'``, ``'2 weeks'``, ``'3 months'``; raise ValueError otherwise."""
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        raise ValueError(
            "a duration must be text such as '14 days', '2 weeks' or '10 business_days'"
        )
    match = _DURATION.match(value)
    if not match or match.group(2) not in _UNIT_ALIASES:
        raise ValueError(
            f"'{value}' is not a duration; write a whole number and a unit: {_UNITS_IN_WORDS} "
            "(e.g. '14 business_days')"
        )
    unit = _UNIT_ALIASES[match.group(2)]
    amount = int(match.group(1)[:12])
    if match.group(2) != unit and amount != 1:
        raise PydanticCustomError(
            "duration_singular",
            "'{value}' is not a duration: the unit is plural for any amount but 1",
            {"value": value, "hint": f"write '{amount} {unit}'"},
        )
    if amount > MAX_DURATION[unit]:
        raise ValueError(
            f"'{value}' is longer than any case lasts; at most {MAX_DURATION[unit]} {unit}"
        )
    return Duration(amount, unit)


#: The longest duration of each unit (about ten years): a case never lives longer.
MAX_DURATION: dict[DurationUnit, int] = {
    "minutes": 5_256_000,
    "hours": 87_600,
    "days": 3_660,
    "weeks": 522,
    "months": 120,
    "business_days": 2_600,
}


DurationField = Annotated[
    Duration,
    PlainValidator(parse_duration),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A whole number and a unit, e.g. '14 days', '2 weeks', "
            "'3 months', '10 business_days' (Danish public holidays excluded); "
            "the singular only for one: '1 day'.",
        }
    ),
]
