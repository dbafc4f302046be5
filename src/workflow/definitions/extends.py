"""Finding the file a definition ``extends``: by id, or by a path relative to the file.

``extends: base`` is the id of a definition: the file ``base.yaml`` beside the extending
file, else in the definitions folder (``WORKFLOW_DEFINITIONS_DIR``, by default
``definitions/``), so that a municipality's definition written anywhere extends the
national base. ``extends: ../base.yaml`` or ``extends: shared/base.yaml`` is a path,
relative to the extending file. Where nothing is found, the problem lists every place
looked in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path, PurePath

from workflow.definitions.types import IDENTIFIER_PATTERN
from workflow.errors import Location, Problem, did_you_mean

_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
_SUFFIXES = (".yaml", ".yml")


def extended_file(
    written: object,
    where: Location,
    extending: Path,
    definitions_dir: Path | None,
    display: Callable[[Path], str],
) -> tuple[Path | None, Problem | None]:
    """The file ``written`` (the value of ``extends``) names, or the problem why there is none.

    ``display`` writes a path as problems show it (relative to the working directory).
    """
    if isinstance(written, str) and len(written) <= 64 and _IDENTIFIER.match(written):
        return _by_id(written, where, extending, definitions_dir, display)
    if isinstance(written, str) and written.endswith(_SUFFIXES) and len(written) <= 255:
        return _by_path(written, where, extending, display)
    return None, Problem(
        where,
        "extends",
        f"'{written}' is neither the id of a definition nor the path of its file",
        "write an id, e.g. 'base', or a path relative to this file, e.g. '../base.yaml'",
    )


def _by_id(
    ident: str,
    where: Location,
    extending: Path,
    definitions_dir: Path | None,
    display: Callable[[Path], str],
) -> tuple[Path | None, Problem | None]:
    folders = [extending.parent]
    if definitions_dir is not None and definitions_dir.resolve() != extending.parent.resolve():
        folders.append(definitions_dir)
    places = [folder / f"{ident}.yaml" for folder in folders]
    for place in places:
        if place.is_file():
            return place, None
    known = {p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.yaml")}
    close = did_you_mean(ident, known - {extending.stem}, list_known=False)
    looked = ", then ".join(display(p) for p in places)
    return None, Problem(
        where,
        "extends",
        f"cannot find the extended definition '{ident}'",
        f"looked for {looked}" + (f"; {close}" if close else ""),
    )


def _by_path(
    written: str, where: Location, extending: Path, display: Callable[[Path], str]
) -> tuple[Path | None, Problem | None]:
    if PurePath(written).is_absolute() or written.startswith(("/", "\\")):
        return None, Problem(
            where,
            "extends",
            f"'{written}' is an absolute path",
            "write a path relative to this file, e.g. '../base.yaml', so the folder can move",
        )
    place = extending.parent / written
    if place.is_file():
        return place, None
    return None, Problem(
        where,
        "extends",
        f"cannot find the extended definition '{written}'",
        f"looked for {display(place)} (a path is relative to the extending file)",
    )
