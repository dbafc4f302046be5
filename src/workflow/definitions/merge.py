"""`extends`: how a municipality's definition is laid over the one it extends.

The rules (documented in docs/definitions.md):

* lists of items with an ``id`` (departments, roles, themes, milestones, stages,
  timers, templates, transitions) merge by id: an item whose id the parent has
  **replaces** the parent's item in place; a new id is **added** at the end;
  ``remove: {stages: [id, ...], ...}`` **removes** the parent's items;
* mappings (municipality, target_ages, parameters, calendar, referral, privacy) merge one
  level deep: each key the child gives replaces the parent's value for that key;
* anything else (id, version, title, locale) is the child's own; ``abstract`` and
  ``extends`` are never inherited.

Merging works on the located YAML values, so every merged item keeps the file and
position it was written at.
"""

from __future__ import annotations

from typing import Any

from workflow.definitions.yamlsource import YamlMap, YamlSeq
from workflow.errors import Location, Problem, did_you_mean

ID_LISTS = (
    "departments",
    "roles",
    "themes",
    "milestones",
    "stages",
    "timers",
    "templates",
    "transitions",
)
MERGED_MAPPINGS = (
    "municipality",
    "target_ages",
    "parameters",
    "calendar",
    "referral",
    "privacy",
)
NOT_INHERITED = ("abstract", "extends", "remove", "id", "version")


def duplicate_ids(doc: YamlMap) -> list[Problem]:
    """Ids given twice in one list of one file."""
    problems: list[Problem] = []
    for key in ID_LISTS:
        items = doc.get(key)
        if not isinstance(items, YamlSeq):
            continue
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            ident = item.get("id") if isinstance(item, YamlMap) else None
            if not isinstance(ident, str):
                continue
            if ident in seen:
                first = items.item_locs[seen[ident]]
                problems.append(
                    Problem(
                        item.value_locs.get("id", items.item_locs[index]),
                        f"{key}[{ident}].id",
                        f"duplicate id '{ident}' in {key}",
                        f"first given at line {first.line}; ids must be unique",
                    )
                )
            else:
                seen[ident] = index
    return problems


def merge(parent: YamlMap, child: YamlMap) -> tuple[YamlMap, list[Problem]]:
    """Lay ``child`` over ``parent`` by the rules above."""
    problems: list[Problem] = []
    merged = YamlMap(child.loc)
    for key, value in parent.items():
        if key not in NOT_INHERITED:
            merged[key] = value
            merged.key_locs[key] = parent.key_locs[key]
            merged.value_locs[key] = parent.value_locs[key]

    removals = child.get("remove")
    removed_ids = _removals(removals, parent, problems) if isinstance(removals, YamlMap) else {}
    merged.removed = dict(parent.removed)
    if isinstance(removals, YamlMap):
        for ids in removals.values():
            if isinstance(ids, YamlSeq):
                merged.removed.update(
                    (i, loc)
                    for i, loc in zip(ids, ids.item_locs, strict=True)
                    if isinstance(i, str)
                )

    for key, value in child.items():
        if key == "remove":
            continue
        key_loc, value_loc = child.key_locs[key], child.value_locs[key]
        base = merged.get(key)
        if key in ID_LISTS and isinstance(value, YamlSeq) and isinstance(base, YamlSeq):
            value = _merge_id_list(base, value, removed_ids.get(key, set()), key, problems)
            value_loc = base.loc
        elif key in MERGED_MAPPINGS and isinstance(value, YamlMap) and isinstance(base, YamlMap):
            value = _merge_mapping(base, value)
        merged[key] = value
        merged.key_locs[key] = key_loc
        merged.value_locs[key] = value_loc

    # Lists the child does not mention still lose their removed items.
    for key, ids in removed_ids.items():
        if key not in child and isinstance(merged.get(key), YamlSeq):
            merged[key] = _merge_id_list(merged[key], YamlSeq(merged[key].loc), ids, key, problems)
    return merged, problems


def _removals(removals: YamlMap, parent: YamlMap, problems: list[Problem]) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for key, ids in removals.items():
        if key not in ID_LISTS or not isinstance(ids, YamlSeq):
            continue  # the model reports the wrong shape
        known = [
            item.get("id")
            for item in parent.get(key) or []
            if isinstance(item, YamlMap) and isinstance(item.get("id"), str)
        ]
        for index, ident in enumerate(ids):
            if not isinstance(ident, str):
                continue
            if ident not in known:
                problems.append(
                    Problem(
                        ids.item_locs[index],
                        f"remove.{key}[{index}]",
                        f"cannot remove '{ident}': the extended definition has no such {key[:-1]}",
                        did_you_mean(ident, [k for k in known if isinstance(k, str)]),
                    )
                )
            result.setdefault(key, set()).add(ident)
    return result


def _merge_id_list(
    base: YamlSeq, child: YamlSeq, removed: set[str], key: str, problems: list[Problem]
) -> YamlSeq:
    result = YamlSeq(base.loc)
    by_id: dict[str, tuple[Any, Location]] = {}
    extra: list[tuple[Any, Location]] = []
    for item, loc in zip(child, child.item_locs, strict=True):
        ident = item.get("id") if isinstance(item, YamlMap) else None
        if isinstance(ident, str):
            if ident in removed:
                problems.append(
                    Problem(
                        loc,
                        f"{key}[{ident}]",
                        f"'{ident}' is both removed and defined",
                        "to change an item, define it with the same id (it replaces the "
                        "extended one); do not also remove it",
                    )
                )
            by_id.setdefault(ident, (item, loc))
        else:
            extra.append((item, loc))
    used: set[str] = set()
    for item, loc in zip(base, base.item_locs, strict=True):
        ident = item.get("id") if isinstance(item, YamlMap) else None
        if isinstance(ident, str) and ident in removed:
            continue
        if isinstance(ident, str) and ident in by_id:
            item, loc = by_id[ident]
            used.add(ident)
        result.append(item)
        result.item_locs.append(loc)
    for ident, (item, loc) in by_id.items():
        if ident not in used and ident not in removed:
            result.append(item)
            result.item_locs.append(loc)
    for item, loc in extra:
        result.append(item)
        result.item_locs.append(loc)
    return result


def _merge_mapping(base: YamlMap, child: YamlMap) -> YamlMap:
    result = YamlMap(child.loc)
    for source in (base, child):
        for key, value in source.items():
            result[key] = value
            result.key_locs[key] = source.key_locs[key]
            result.value_locs[key] = source.value_locs[key]
    return result
