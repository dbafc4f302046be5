"""Turn pydantic's validation errors into located problems an author can act on."""

from __future__ import annotations

import re
import types
import typing
from pathlib import PurePath
from typing import Any, Union

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from workflow.definitions.yamlsource import YAML11_BOOLEAN_WORDS, key_location, locate
from workflow.errors import Location, Problem, did_you_mean

# Pydantic adds the name of a union member to an error's location; these are not fields.
_UNION_TAG = re.compile(
    r"^(str|int|float|bool|list\[.*|dict\[.*|literal\[.*|constrained-str|function-.*"
    r"|[A-Z]\w*|json-or-python\[.*|lax-or-strict\[.*|nullable\[.*)$"
)
_SHAPE = {
    "string_type": "text",
    "dict_type": "a map",
    "model_type": "a map",
    "model_attributes_type": "a map",
    "list_type": "a list",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
}


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value)


def _clean(loc: tuple[str | int, ...], root: Any) -> tuple[tuple[str | int, ...], bool]:
    """The path without pydantic's union member names; and whether any were left out.

    The path is followed through the data: a step that names a key the author wrote is
    a field even if it looks like a member name (an unknown field 'Stages' or 'A').
    """
    node: Any = root
    dropped = False
    cleaned: list[str | int] = []
    for step in loc:
        written = (isinstance(node, dict) and step in node) or (
            isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        )
        if written:
            node = node[step]
        elif isinstance(step, str) and _UNION_TAG.match(step):
            dropped = True
            continue
        else:
            node = None
        cleaned.append(step)
    return tuple(cleaned), dropped


def problems_from_validation(
    error: ValidationError, root: Any, model: type[BaseModel]
) -> list[Problem]:
    """Located problems for every error pydantic found, union noise folded away."""
    errors = [(_clean(e["loc"], root), e) for e in error.errors()]
    deeper_union_locs = {loc for (loc, from_union), _ in errors if from_union}
    kept: dict[tuple[str | int, ...], list[ErrorDetails]] = {}
    for (loc, from_union), detail in errors:
        if (
            from_union
            and detail["type"] in _SHAPE
            and any(
                other[: len(loc)] == loc and len(other) > len(loc) for other in deeper_union_locs
            )
        ):
            continue  # the value had another branch's shape; that branch's errors explain it
        kept.setdefault(loc, []).append(detail)
    return [_problem(loc, details, root, model) for loc, details in kept.items()]


def _problem(
    loc: tuple[str | int, ...], details: list[ErrorDetails], root: Any, model: type[BaseModel]
) -> Problem:
    hint = details[0].get("ctx", {}).get("hint")
    if isinstance(hint, str):  # our own errors (PydanticCustomError) may carry a hint
        location, shown = locate(root, loc)
        return Problem(location, shown, str(details[0]["msg"]), hint)
    return _problem_of_kind(loc, details, root, model)


#: What a field with a pattern holds, and an example (by the last two parts of its path).
_PATTERN_HINTS: dict[tuple[str | int, ...], tuple[str, str]] = {
    ("municipality", "code"): (
        "a kommunekode",
        'the municipality\'s three-digit code, in quotes so a leading 0 stays, e.g. code: "340"',
    ),
    ("municipality", "case_prefix"): (
        "a case prefix",
        "2-5 capital letters A-Z that begin the case references, e.g. case_prefix: SOR",
    ),
}
#: Danish letters as ids write them (the shipped files: soroe, koebenhavn).
_DANISH_LETTERS = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "é": "e", "ü": "u"})


def _pattern_problem(
    loc: tuple[str | int, ...], first: ErrorDetails, location: Location | None, shown: str
) -> Problem | None:
    """A text not of its field's pattern: an id (with one spelled right), a kommunekode,
    a case prefix."""
    value = first.get("input")
    if "a-z" in str(first.get("ctx", {}).get("pattern")):
        spelled = str(value).lower().translate(_DANISH_LETTERS)  # sytten_år -> sytten_aar
        suggestion = re.sub(r"[^a-z0-9_]+", "_", spelled).strip("_")
        return Problem(
            location,
            shown,
            f"'{value}' is not a valid id",
            f"use lower-case letters a-z, digits and _, e.g. '{suggestion}'",
        )
    if loc[-2:] in _PATTERN_HINTS:
        what, hint = _PATTERN_HINTS[loc[-2:]]
        return Problem(location, shown, f"{_describe(value)} is not {what}", hint)
    return None


def _given_by_each(loc: tuple[str | int, ...], where: Location | None) -> str | None:
    """The fix for a missing ``id`` or ``version``: every file gives its own (a file that
    extends another never takes them from it)."""
    if loc == ("id",):
        name = PurePath(where.file).stem if where is not None else "holbaek"
        return f"give the file its own id, its file name: 'id: {name}'"
    if loc == ("version",):
        return (
            "give the file its own version, e.g. 'version: 1', raised by one whenever the "
            "definition changes once cases have used it"
        )
    return None


def _problem_of_kind(
    loc: tuple[str | int, ...], details: list[ErrorDetails], root: Any, model: type[BaseModel]
) -> Problem:
    first = details[0]
    kind = first["type"]
    location, shown = locate(root, loc)
    value = first.get("input")
    if kind == "missing":
        return Problem(
            location, shown, f"missing required field '{loc[-1]}'", _given_by_each(loc, location)
        )
    if kind == "extra_forbidden":
        key_loc = key_location(root, loc) or location
        known = _field_names(model, loc[:-1])
        hint = did_you_mean(str(loc[-1]), known)
        if " " in str(loc[-1]):
            hint = "inside {...} a comma starts a new entry; put text with commas in quotes"
        return Problem(key_loc, shown, f"unknown field '{loc[-1]}'", hint)
    if kind == "bool_type" and isinstance(value, str) and value in YAML11_BOOLEAN_WORDS:
        return Problem(
            location,
            shown,
            f"'{value}' is not a boolean",
            "write true or false; in YAML 1.2 yes/no/on/off are text",
        )
    if kind == "string_pattern_mismatch" and (
        found := _pattern_problem(loc, first, location, shown)
    ):
        return found
    if kind in ("literal_error", "enum"):
        expected = str(first.get("ctx", {}).get("expected", ""))
        options = re.findall(r"'([^']*)'", expected)
        return Problem(
            location,
            shown,
            f"{_describe(value)} is not one of: {', '.join(options)}",
            did_you_mean(str(value), options, list_known=False) if isinstance(value, str) else None,
        )
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "less_than_equal": ("at most", "le"),
        "too_short": ("at least", "min_length"),
        "too_long": ("at most", "max_length"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        limit = first.get("ctx", {}).get(key)
        unit = " item(s)" if kind in ("too_short", "too_long") else ""
        return Problem(location, shown, f"must be {words} {limit}{unit}, got {_describe(value)}")
    if kind.startswith(("datetime_", "date_", "time_")):
        example = {"datetime": "2026-03-02T09:00", "date": "2026-03-02", "time": "09:00"}
        what = kind.split("_")[0]
        return Problem(
            location,
            shown,
            f"expected a {what.replace('datetime', 'date and time')}"
            f" such as {example[what]}, got {_describe(value)}",
        )
    if kind == "value_error":
        message = str(first["msg"]).removeprefix("Value error, ")
        return Problem(location, shown, message)
    shapes = sorted({_SHAPE[d["type"]] for d in details if d["type"] in _SHAPE})
    if shapes:
        hint = None
        if "text" in shapes and isinstance(value, int | float):  # true and false are ints too
            hint = "YAML reads it as a number or true/false; put it in quotes to make it text"
        return Problem(
            location, shown, f"expected {' or '.join(shapes)}, got {_describe(value)}", hint
        )
    message = str(first["msg"])
    return Problem(location, shown, message[:1].lower() + message[1:])


def _field_names(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The field names (aliases) a model expects at ``loc`` — for did-you-mean."""
    current: Any = model
    for step in loc:
        if isinstance(step, int):
            current = _unwrap(current, want_list=True)
            continue
        field = _fields(current).get(step)
        if field is None:
            return []
        current = field.annotation
    return list(_fields(current))


def _fields(annotation: Any) -> dict[str, Any]:
    """The fields by name (alias) of the model at ``annotation``; of every model of a union
    (an effect is a union of one model per kind)."""
    bare = annotation
    while typing.get_origin(bare) is typing.Annotated:
        bare = typing.get_args(bare)[0]
    union = typing.get_origin(bare) in (Union, types.UnionType)
    fields: dict[str, Any] = {}
    for option in typing.get_args(bare) if union else (bare,):
        found = _unwrap(option, want_list=False)
        if isinstance(found, type) and issubclass(found, BaseModel):
            fields |= {f.alias or n: f for n, f in found.model_fields.items()}
    return fields


def _unwrap(annotation: Any, *, want_list: bool) -> Any:
    """Reach the model inside Optional[...] / list[...] / Annotated[...]."""
    for _ in range(5):
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is typing.Annotated:
            annotation = args[0]
        elif origin in (Union, types.UnionType):
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            lists = [a for a in args if typing.get_origin(a) is list]
            annotation = (
                (lists or models or [args[0]])[0] if want_list else (models or [args[0]])[0]
            )
        elif origin is list and want_list:
            return args[0]
        else:
            return annotation
    return annotation
