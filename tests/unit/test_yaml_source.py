"""The located YAML reader: YAML 1.2 scalars, duplicate keys, positions."""

from __future__ import annotations

from workflow.definitions.yamlsource import YamlMap, YamlSeq, locate, parse_yaml


def test_yaml_1_1_booleans_are_text() -> None:
    value, problems = parse_yaml(
        "a: on\nb: no\nc: yes\nd: true\ne: off\nf: ~\ng: 0x1f\nh: 1.5\n", "f.yaml"
    )
    assert problems == []
    assert value == {
        "a": "on",
        "b": "no",
        "c": "yes",
        "d": True,
        "e": "off",
        "f": None,
        "g": 31,
        "h": 1.5,
    }


def test_keys_on_and_no_stay_text() -> None:
    value, _ = parse_yaml("on: 1\nno: 2\n", "f.yaml")
    assert set(value) == {"on", "no"}


def test_quoted_scalars_are_always_text() -> None:
    value, _ = parse_yaml("a: '1'\nb: \"true\"\n", "f.yaml")
    assert value == {"a": "1", "b": "true"}


def test_every_duplicate_key_is_reported() -> None:
    value, problems = parse_yaml("a: 1\nb: 2\na: 3\nb: 4\n", "f.yaml")
    assert value == {"a": 1, "b": 2}
    assert [str(p) for p in problems] == [
        "f.yaml:3:1: duplicate key 'a' (first given at line 1; keep one of them)",
        "f.yaml:4:1: duplicate key 'b' (first given at line 2; keep one of them)",
    ]


def test_locations_follow_paths_and_name_items_by_id() -> None:
    value, _ = parse_yaml("stages:\n  - id: one\n    kind: start\n  - {id: two}\n", "f.yaml")
    assert isinstance(value, YamlMap)
    assert isinstance(value["stages"], YamlSeq)
    loc, shown = locate(value, ("stages", 0, "kind"))
    assert (str(loc), shown) == ("f.yaml:3:11", "stages[one].kind")
    loc, shown = locate(value, ("stages", 1, "kind"))  # missing: the item's own place
    assert (str(loc), shown) == ("f.yaml:4:5", "stages[two].kind")


def test_empty_file_is_a_problem() -> None:
    value, problems = parse_yaml("", "f.yaml")
    assert value is None
    assert str(problems[0]) == "f.yaml:1:1: the file is empty"
