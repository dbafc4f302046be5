"""The JSON Schema of definition files, for editors: it accepts every valid definition.

Generated from the pydantic models, then adjusted where a file says less than the
resolved definition the models describe:

* a file with ``extends`` gives its own ``id`` and ``version`` and may leave out every
  other field it inherits; the mappings that merge one level deep (``municipality``,
  ``target_ages``, ``referral``...; see :mod:`workflow.definitions.merge`) may leave out
  any of their own fields too, since each one given replaces the extended definition's.
  Items of the id lists replace the extended item whole, so they stay complete. A file
  without ``extends`` gives every required field;
* ``extends`` is the id of a definition, or a path to its file relative to this one;
* a time of day is written as ``09:00`` (JSON Schema's ``time`` format would want
  seconds and a time zone).

What the schema cannot say (ids that must exist, one start stage, cross-field rules)
is left to ``workflow validate``.
"""

from __future__ import annotations

import copy
from typing import Any

from workflow.definitions.merge import MERGED_MAPPINGS
from workflow.definitions.models import Definition

SCHEMA_ID = "https://schemas.workflow.invalid/definition.schema.json"
#: The name of a merged mapping's part in a file with ``extends``: ``ReferralOverride``.
OVERRIDE_SUFFIX = "Override"
#: A time of day as pydantic reads it: 09:00, 09:00:30, optionally with a UTC offset.
CLOCK_TIME_PATTERN = (
    r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
)
#: ``extends``: an id (found beside the file, then in the definitions folder), or a path
#: relative to the file, to a YAML file.
EXTENDS_PATTERN = r"^([a-z][a-z0-9_]{0,63}|[^/\\].*\.ya?ml)$"


def json_schema() -> dict[str, Any]:
    """JSON Schema for definition files (a file that extends another may omit most fields)."""
    schema = Definition.model_json_schema(by_alias=True, mode="validation")
    _clock_times(schema)
    complete = list(schema["required"])
    whole: dict[str, Any] = {}
    for key in MERGED_MAPPINGS:
        prop = schema["properties"].get(key)
        partial = _override(schema["$defs"], prop) if prop is not None else None
        if partial is not None:
            whole[key] = prop
            schema["properties"][key] = partial
    schema["properties"]["extends"] = {
        "anyOf": [
            {"type": "string", "pattern": EXTENDS_PATTERN, "maxLength": 255},
            {"type": "null"},
        ],
        "default": None,
        "description": "The definition this one extends: its id (looked up beside this file, "
        "then in the definitions folder), or a path relative to this file (e.g. "
        "'../base.yaml').",
    }
    schema["required"] = ["id", "version"]
    # Without 'extends' the file is the whole definition: every part is complete.
    schema["if"] = {"required": ["extends"], "properties": {"extends": {"type": "string"}}}
    schema["else"] = {"required": complete, "properties": whole}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "description": "A KUI process definition: the national base or a municipality's own. "
        "A file with 'extends' gives its own id and version and may leave out the rest of "
        "what it inherits.",
    }


def _override(defs: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any] | None:
    """The property with its part's required fields optional (None if it has none)."""
    options = prop.get("anyOf", [prop])
    refs = [o["$ref"] for o in options if "$ref" in o]
    if len(refs) != 1:
        return None
    name = refs[0].rsplit("/", 1)[-1]
    part = defs[name]
    if not part.get("required"):
        return None
    override = f"{name}{OVERRIDE_SUFFIX}"
    defs[override] = {k: v for k, v in part.items() if k != "required"} | {
        "title": override,
        "description": f"{part.get('description', name)} In a file with 'extends', each field "
        "may be left out: the extended definition's is kept.",
    }
    result = copy.deepcopy(prop)
    for option in result.get("anyOf", [result]):
        if option.get("$ref") == refs[0]:
            option["$ref"] = f"#/$defs/{override}"
    return result


def _clock_times(node: Any) -> None:
    """Times of day as a pattern, in place (the ``time`` format wants seconds and a zone)."""
    if isinstance(node, dict):
        if node.get("format") == "time" and node.get("type") == "string":
            del node["format"]
            node["pattern"] = CLOCK_TIME_PATTERN
        for value in node.values():
            _clock_times(value)
    elif isinstance(node, list):
        for value in node:
            _clock_times(value)
