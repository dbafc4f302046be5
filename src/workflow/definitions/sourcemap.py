"""Where each part of a loaded definition was written: file, line and column.

The loader keeps the located YAML of a definition (everything it extends merged in) as
a :class:`SourceMap` on the :class:`~workflow.definitions.models.Definition`, so that
a problem found later — a guard that fails at run time, say — can name the place in
the file, as load-time problems do. Paths are the definition's own, with the keys as
the author writes them: ``("transitions", 3, "guard")``, ``("transitions", 0, "from")``.

A definition read back from the store (a version a case is pinned to) has no file:
its source map is empty and locates nothing.
"""

from __future__ import annotations

from typing import Any

from workflow.definitions.yamlsource import locate
from workflow.errors import Location

#: A place in a definition: keys (as written in YAML) and list indices.
SourcePath = tuple[str | int, ...]


class SourceMap:
    """The located YAML of a definition, or nothing (a definition made in code or stored).

    Two source maps are always equal: where a definition was written is no part of what
    it is, so a definition read from its file equals the same definition read from the
    store (pydantic compares private attributes too).
    """

    __slots__ = ("root",)

    def __init__(self, root: Any = None) -> None:
        self.root = root

    def locate(self, path: SourcePath) -> Location | None:
        """The location of the value at ``path``, else of the nearest part that encloses it."""
        if self.root is None:
            return None
        return locate(self.root, path)[0]

    def shown(self, path: SourcePath) -> str:
        """The path as problems show it (items named by id: ``transitions[hold].guard``)."""
        return locate(self.root, path)[1]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SourceMap)

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        where = getattr(self.root, "loc", None)
        return f"SourceMap({where.file if where else None!r})"
