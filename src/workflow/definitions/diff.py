"""What changed between two versions of a definition, and which stage renames it suggests.

Pure: compares two resolved definitions item by item (stages, transitions, timers, ...
by id; settings such as the calendar key by key). A stage that disappears strands the
running cases in it unless a migration maps it to a stage of the new version, so the
diff names the removed stages and, where a removed and an added stage look alike (same
kind and phase), suggests the ``--map old=new`` to give.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from workflow.definitions.merge import ID_LISTS, MERGED_MAPPINGS
from workflow.definitions.models import Definition

ChangeKind = Literal["added", "removed", "changed"]
_SCALARS = ("title", "locale", "abstract")
_SIGNS = {"added": "+", "removed": "-", "changed": "~"}


@dataclass(frozen=True)
class Change:
    """One difference: an item added, removed or changed (with the fields that changed)."""

    kind: ChangeKind
    section: str
    item: str
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        what = f"{self.section}[{self.item}]" if self.item else self.section
        fields = f": {', '.join(self.fields)}" if self.fields else ""
        return f"{_SIGNS[self.kind]} {self.kind:<7} {what}{fields}"


@dataclass(frozen=True)
class DefinitionDiff:
    """The differences between an old and a new version of one definition."""

    old_id: str
    old_version: int
    new_id: str
    new_version: int
    changes: tuple[Change, ...]
    removed_stages: tuple[str, ...]
    #: old stage -> new stage, where exactly one added stage looks like a removed one.
    suggested_map: dict[str, str]

    @property
    def same(self) -> bool:
        """Nothing but (perhaps) the version number differs."""
        return not self.changes

    def lines(self) -> list[str]:
        """The diff as text, one change per line, then what a migration will need."""
        head = f"{self.old_id} v{self.old_version} -> {self.new_id} v{self.new_version}"
        if self.same:
            return [head, "no differences"]
        out = [head, *(f"  {change}" for change in self.changes)]
        if self.removed_stages:
            out.append(
                "Running cases in a removed stage need a mapping when they are migrated "
                "(workflow cases migrate ... --map OLD=NEW): " + ", ".join(self.removed_stages)
            )
        if self.suggested_map:
            maps = " ".join(f"--map {old}={new}" for old, new in self.suggested_map.items())
            out.append(f"Suggested (same kind and phase): {maps}")
        return out

    def as_json(self) -> dict[str, Any]:
        """A plain-data form for tools."""
        return {
            "old": {"id": self.old_id, "version": self.old_version},
            "new": {"id": self.new_id, "version": self.new_version},
            "changes": [
                {"kind": c.kind, "section": c.section, "item": c.item, "fields": list(c.fields)}
                for c in self.changes
            ],
            "removed_stages": list(self.removed_stages),
            "suggested_map": self.suggested_map,
        }


def _dump(definition: Definition) -> dict[str, Any]:
    dumped: dict[str, Any] = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k)))


def _id_list_changes(section: str, old: list[Any], new: list[Any]) -> list[Change]:
    before = {item["id"]: item for item in old}
    after = {item["id"]: item for item in new}
    changes = [Change("removed", section, ident) for ident in before if ident not in after]
    for ident, item in after.items():
        if ident not in before:
            changes.append(Change("added", section, ident))
        elif before[ident] != item:
            changes.append(Change("changed", section, ident, _changed_keys(before[ident], item)))
    if [i for i in before if i in after] != [i for i in after if i in before]:
        changes.append(Change("changed", section, "", ("order",)))
    return changes


def _suggest(old: Definition, new: Definition, removed: list[str]) -> dict[str, str]:
    added = [s for s in new.stages if s.id not in old.stages_by_id]
    suggested: dict[str, str] = {}
    for ident in removed:
        stage = old.stages_by_id[ident]
        alike = [s.id for s in added if s.kind is stage.kind and s.phase == stage.phase]
        if len(alike) == 1:
            suggested[ident] = alike[0]
    # Two removed stages claiming the same added stage: neither suggestion is safe.
    claimed = list(suggested.values())
    return {old_id: new_id for old_id, new_id in suggested.items() if claimed.count(new_id) == 1}


def diff_definitions(old: Definition, new: Definition) -> DefinitionDiff:
    """Compare two resolved definitions (usually two versions of one municipality's)."""
    before, after = _dump(old), _dump(new)
    changes: list[Change] = []
    if old.id != new.id:
        changes.append(Change("changed", "id", "", (f"{old.id} -> {new.id}",)))
    for key in _SCALARS:
        if before.get(key) != after.get(key):
            changes.append(Change("changed", key, ""))
    for key in MERGED_MAPPINGS:
        old_map, new_map = before.get(key) or {}, after.get(key) or {}
        if old_map != new_map:
            changes.append(Change("changed", key, "", _changed_keys(old_map, new_map)))
    for key in ID_LISTS:
        changes.extend(_id_list_changes(key, before.get(key) or [], after.get(key) or []))
    removed = [s.id for s in old.stages if s.id not in new.stages_by_id]
    return DefinitionDiff(
        old_id=old.id,
        old_version=old.version,
        new_id=new.id,
        new_version=new.version,
        changes=tuple(dict.fromkeys(changes)),
        removed_stages=tuple(removed),
        suggested_map=_suggest(old, new, removed),
    )
