"""A problem a load-time check finds, before the loader locates it in the source."""

from __future__ import annotations

from collections.abc import Iterable

#: Where in the resolved definition: keys and list indices, e.g. ("transitions", 3, "to").
Path = tuple[str | int, ...]
#: A problem before it is located: path, message, hint.
Finding = tuple[Path, str, str | None]


def unknown(path: Path, what: str, name: str, known: Iterable[str]) -> Finding:
    """A reference to something the definition does not have, with a "did you mean"."""
    from workflow.errors import did_you_mean

    return path, f"unknown {what} '{name}'", did_you_mean(name, known)


__all__ = ["Finding", "Path", "unknown"]
