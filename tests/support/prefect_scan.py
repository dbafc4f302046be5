"""Everything Prefect keeps, as bytes to scan for personal data.

A Prefect home holds the server's database (flow and task runs, parameters, tags, logs,
artifacts, events, automations, blocks), its log file, and the result storage of the
processes that use it — where background tasks' parameters and results are kept as
base64 cloudpickles (inside JSON), which a plain byte scan would not read. Each such
file is decoded and its repr added.
"""

from __future__ import annotations

import base64
import binascii
import json
import pickle
from pathlib import Path


def _decoded(raw: bytes) -> bytes:
    """The repr of what a stored result or parameters file holds (b"" if not one)."""
    encoded: bytes | str = raw
    try:
        document = json.loads(raw)
        if isinstance(document, dict) and "result" in document:
            encoded = document["result"]
    except (ValueError, UnicodeDecodeError):
        pass
    try:
        value = pickle.loads(base64.b64decode(encoded, validate=False))
    except (
        binascii.Error,
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        ImportError,
        IndexError,
        KeyError,
    ):
        return b""
    return repr(value).encode()


def prefect_contents(home: Path) -> tuple[bytes, int]:
    """Every file under ``home``, raw and decoded; and how many stored files were decoded."""
    parts: list[bytes] = []
    decoded = 0
    for path in sorted(home.rglob("*")):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        parts.append(raw)
        if "storage" in path.parts:
            text = _decoded(raw)
            decoded += bool(text)
            parts.append(text)
    return b"\n".join(parts), decoded
