"""A loaded definition can say where each of its parts was written (for run-time errors)."""

from __future__ import annotations

from workflow.definitions.loader import load_definition
from workflow.definitions.models import Definition
from workflow.errors import Location


def test_a_loaded_definition_locates_its_parts_in_the_files_they_come_from() -> None:
    soroe = load_definition("definitions/soroe.yaml")
    version = soroe.locate(("version",))
    assert version is not None
    assert version.file == "definitions/soroe.yaml"
    assert "version:" in _line(version)
    # An inherited transition's guard is in the base's file, at the guard itself.
    index, transition = next((i, t) for i, t in enumerate(soroe.transitions) if t.guard)
    guard = soroe.locate(("transitions", index, "guard"))
    assert guard is not None
    assert transition.guard is not None
    assert _line(guard)[guard.column - 1 :].startswith(transition.guard[:10])


def test_a_part_not_written_is_located_at_what_encloses_it() -> None:
    soroe = load_definition("definitions/soroe.yaml")
    index = next(i for i, t in enumerate(soroe.transitions) if t.guard is None)
    assert soroe.locate(("transitions", index, "guard")) == soroe.locate(("transitions", index))


def test_a_definition_without_a_file_locates_nothing_and_equals_the_loaded_one() -> None:
    soroe = load_definition("definitions/soroe.yaml")
    stored = Definition.model_validate(soroe.model_dump(mode="json", by_alias=True))
    assert stored.locate(("version",)) is None
    assert stored == soroe
    assert stored.content_hash == soroe.content_hash


def _line(location: Location) -> str:
    with open(location.file, encoding="utf-8") as handle:
        return handle.read().splitlines()[location.line - 1]
