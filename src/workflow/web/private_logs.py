"""Errors in the web app's log by type and code location only (docs/privacy.md).

An exception's message can hold what a request carried — a field name with a CPR
number in it, a name, a goal — and a traceback's frames hold values. So the app's log
gets neither: :func:`summary` names the exception's type and where it was raised
(file:line in function), and :class:`PrivateTracebacks`, the formatter of the web
server's loggers (:data:`LOG_CONFIG`), writes every traceback as its frames' locations
and the exceptions' types, without messages, source lines or local values.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path, PurePath
from types import TracebackType
from typing import Any

from fastapi.telemetry import TelemetryConfig

#: Where our own code lives (its frames are named first in a summary).
PACKAGE = "workflow"


def _file(filename: str) -> str:
    """A frame's file from its package down (``workflow/web/pages.py``, ``starlette/...``),
    else from the working folder (``tests/...``), else its name: not the host's folders."""
    parts = PurePath(filename).parts
    for marker in ("site-packages", "src"):
        if marker in parts:
            return "/".join(parts[len(parts) - parts[::-1].index(marker) :])
    path = PurePath(filename)
    return path.relative_to(Path.cwd()).as_posix() if path.is_relative_to(Path.cwd()) else path.name


def locations(tb: TracebackType | None) -> list[str]:
    """Each frame of a traceback as ``file:line in function``, outermost first.

    Read from the code objects only: no source line, no local value is looked at.
    """
    return [
        f"{_file(frame.f_code.co_filename)}:{line} in {frame.f_code.co_name}"
        for frame, line in traceback.walk_tb(tb)
    ]


def summary(error: BaseException) -> str:
    """The exception's type and where it was raised — and, if that is not in our own
    code, the innermost frame that is: ``KeyError at workflow/web/forms.py:88 in read``."""
    where = locations(error.__traceback__)
    if not where:
        return type(error).__name__
    text = f"{type(error).__name__} at {where[-1]}"
    ours = [w for w in where if w.startswith(f"{PACKAGE}/")]
    if ours and ours[-1] != where[-1]:
        text += f" (from {ours[-1]})"
    return text


def private_traceback(error: BaseException) -> str:
    """A traceback without data: the chain of exceptions, each by type and its frames'
    locations (the message, source lines and values left out)."""
    blocks = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(f"\n  at {where}" for where in locations(current.__traceback__))
        blocks.append(f"{type(current).__name__} (message left out){frames}")
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    heading = "Traceback (messages and values left out; frames outermost first):\n"
    return heading + "\nraised while handling:\n".join(blocks)


class PrivateTracebacks(logging.Formatter):
    """A formatter whose tracebacks are :func:`private_traceback`'s."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        error = ei[1] if isinstance(ei, tuple) else None
        if not isinstance(error, BaseException):
            return "(an exception, left out)"
        return private_traceback(error)


#: uvicorn's loggers (its own errors and "Exception in ASGI application"), written to
#: standard error with :class:`PrivateTracebacks`; no access log (it would name paths
#: and addresses of every request).
LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "private": {
            "()": f"{__name__}.PrivateTracebacks",
            "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        }
    },
    "handlers": {
        "private": {
            "formatter": "private",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "uvicorn": {"handlers": ["private"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}


#: FastAPI's own OpenTelemetry (spans, metrics and logs of every request, exported when
#: a provider is configured in the process or by OTEL_* variables): off in every app.
#: Its spans carry the paths (case references) and its logs exception messages, which
#: may quote what a person typed; and it costs every request a wrapper even when idle.
NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}
