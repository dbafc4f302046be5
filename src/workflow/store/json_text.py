"""JSON as the store writes and reads it: orjson, with the standard library's results
wherever orjson's would differ.

A step writes five JSON values (the case's data, counts and timing, the history
event's inputs and effects, the audit entry's details) and reads four; a page reads
many. With the standard library's ``json`` they cost several times what orjson (a
well-kept C library, installed with Prefect already) does.

Writing: orjson's extensions for datetimes and dataclasses are switched off, and what
orjson refuses (a key that is not a string, an integer beyond 64 bits) is handed to
``json.dumps`` as before, which stores it or raises the same ``TypeError``. orjson still
writes two things ``json.dumps`` refuses, neither of which the store is ever given: a
plain ``Enum`` (as its value) and a ``UUID``. The text differs in spacing, in keeping
non-ASCII letters as UTF-8 rather than ``\\u`` escapes (both read back the same; a
PostgreSQL store's database is UTF-8, see docs/operations.md), and in NaN and
infinities: null (they are not JSON; PostgreSQL refused them before, and neither inputs
nor computed values may hold one).

Reading: orjson refuses what is not strict JSON (NaN, a lone surrogate) and reads an
integer beyond 64 bits as a float; a text with a run of 19 digits or more, and one
orjson refuses, is read by ``json.loads`` instead, so every value reads as it did.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
#: A number orjson might read inexactly (|n| >= 2**63 has 19 digits at least): found as
#: a run of 19 ones in the text's bytes with every ASCII digit made a one and every other
#: byte a zero (two passes in C, a twentieth of what a regular expression's search costs;
#: a JSON number is ASCII digits, and a run inside a string only sends the text to
#: ``json.loads``, which reads it the same).
_DIGITS_AS_ONES = bytes(0x31 if 0x30 <= byte <= 0x39 else 0x30 for byte in range(256))
_LONG_NUMBER = b"1" * 19


def dumps(value: Any) -> str:
    """The JSON text of ``value`` (``TypeError`` for what JSON cannot hold)."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value)


def loads(text: str | bytes) -> Any:
    """The value of a JSON text, as ``json.loads`` reads it (``ValueError`` if it is none)."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    if _LONG_NUMBER not in raw.translate(_DIGITS_AS_ONES):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)
