"""JSON as the store writes it: orjson, with the standard library's behaviour wherever
orjson would differ.

A step writes five JSON values (the case's data, counts and timing, the history
event's inputs and effects, the audit entry's details); with the standard library's
``json.dumps`` they cost several times what orjson (a well-kept C library, installed
with Prefect already) does. Reading stays with the standard library: orjson reads an
integer beyond 64 bits as a float.

What is stored stays what ``json.dumps`` accepts, no more: orjson's own extensions
(datetimes, dataclasses) are switched off, and what orjson refuses (an integer beyond
64 bits) is handed to ``json.dumps`` as before, which stores it or raises the same
``TypeError``. The text differs in spacing, in keeping non-ASCII letters as UTF-8
rather than ``\\u`` escapes (both read back the same), and in NaN and infinities: null
(they are not JSON; PostgreSQL refused them before, and inputs never hold one).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def dumps(value: Any) -> str:
    """The JSON text of ``value`` (``TypeError`` for what JSON cannot hold)."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value)
