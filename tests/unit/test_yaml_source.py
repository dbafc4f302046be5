"""The located YAML reader: YAML 1.2 scalars, duplicate keys, positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.definitions import loader, yamlsource
from workflow.definitions.loader import load_definition
from workflow.definitions.yamlsource import YamlMap, YamlSeq, locate, parse_yaml
from workflow.errors import DefinitionError


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


def _located(value: object) -> object:
    """A value with every location it holds, to compare two readings exactly."""
    if isinstance(value, YamlMap):
        return (
            str(value.loc),
            [
                (k, str(value.key_locs[k]), str(value.value_locs[k]), _located(v))
                for k, v in value.items()
            ],
        )
    if isinstance(value, YamlSeq):
        return (
            str(value.loc),
            [(str(at), _located(v)) for at, v in zip(value.item_locs, value, strict=True)],
        )
    return (type(value).__name__, value)


def _read_both(text: str) -> tuple[object, object]:
    """What PyYAML's own composer and the libyaml path make of ``text``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yamlsource, "_fast_loader", lambda: None)
        value, problems = parse_yaml(text, "f.yaml")
        python = (_located(value), [str(p) for p in problems])
    value, problems = parse_yaml(text, "f.yaml")
    return python, (_located(value), [str(p) for p in problems])


needs_libyaml = pytest.mark.skipif(
    yamlsource._fast_loader() is None, reason="PyYAML is installed without libyaml"
)


@needs_libyaml
@pytest.mark.parametrize("path", sorted(Path("definitions").glob("**/*.yaml")), ids=str)
def test_libyaml_reads_the_shipped_files_as_pyyaml_does(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert yamlsource._compose_fast(text) is not None  # the fast path is taken
    python, fast = _read_both(text)
    assert fast == python


@needs_libyaml
@pytest.mark.parametrize(
    "text",
    [
        "a: {min: 15, max: }\n",  # libyaml places the empty value one column later
        "a: [b: ]\n",
        "a: {x?y: 1}\n",  # PyYAML refuses a '?' in an unquoted text in a flow collection
        "a: [closed?]\n",
        "a: {phase: !x, b: 1}\n",  # ... and a flow indicator in a tag
        "a: |#\n  text\n",  # ... and a comment right after a block scalar's header
        "a:\tb\n",  # ... and tabs where libyaml allows them
        "a: 1\n\ufeffb: 2\n",
        "a: '\\x'\n",
        'a: "\\ud800"\n',
        "- " * 70 + "x\n",  # deeper than the builder allows
        "a: " + "[" * 500 + "]" * 500 + "\n",  # deeper than PyYAML can read
        "a: &x [*x]\n",
        "a: 1\n---\nb: 2\n",
        "a: *nowhere\n",
        "a: &x 1\nb: &x 2\n",
    ],
)
def test_where_libyaml_differs_pyyaml_decides(text: str) -> None:
    python, fast = _read_both(text)
    assert fast == python


@needs_libyaml
def test_nesting_deeper_than_libyaml_reads_is_left_to_pyyaml() -> None:
    deep = "[" * 1001 + "]" * 1001  # libyaml refuses it rather than overflow the stack
    assert yamlsource._compose_fast("[" * 999 + "]" * 999) is None  # too deep to build
    assert yamlsource._compose_fast(deep) is None


def test_a_changed_file_is_read_anew_and_problems_are_not_shared(tmp_path: Path) -> None:
    path = tmp_path / "minimal.yaml"
    minimal = Path("tests/golden/minimal.yaml").read_text(encoding="utf-8")
    path.write_text(minimal.replace("version: 1", "version: 1\nversion: 2"), encoding="utf-8")
    first = [str(p) for p in loader._load(path)[1]]
    assert len(first) == 1
    assert "duplicate key 'version'" in first[0]
    assert [str(p) for p in loader._load(path)[1]] == first  # nothing piles up
    path.write_text(minimal.replace("version: 1", "version: 3"), encoding="utf-8")
    assert load_definition(path).version == 3


def test_merge_keys_lay_a_map_under_another_and_written_keys_win() -> None:
    text = (
        "defaults: &defaults {kind: active, phase: follow_up}\n"  # line 1
        "stage:\n"
        "  <<: *defaults\n"
        "  id: follow_up\n"
        "  kind: waiting\n"  # line 5: overrides the merged kind
    )
    value, problems = parse_yaml(text, "f.yaml")
    assert problems == []
    assert value["stage"] == {"id": "follow_up", "kind": "waiting", "phase": "follow_up"}
    stage = value["stage"]
    assert "<<" not in stage
    assert (stage.value_locs["kind"].line, stage.value_locs["phase"].line) == (5, 1)
    assert locate(value, ("stage", "phase"))[0] == stage.value_locs["phase"]


def test_a_list_of_merged_maps_the_first_wins_and_written_before_or_after_alike() -> None:
    text = "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  w: 0\n  <<: [*a, *b]\n  x: 9\n"
    value, problems = parse_yaml(text, "f.yaml")
    assert problems == []
    assert value["c"] == {"w": 0, "x": 9, "y": 1, "z": 2}


def test_a_quoted_double_less_than_is_an_ordinary_key() -> None:
    value, problems = parse_yaml("a: &a {x: 1}\nb: {'<<': *a}\n", "f.yaml")
    assert problems == []
    assert value["b"] == {"<<": {"x": 1}}


NOT_MAPS = "a merge key (<<) takes a map, or a list of maps"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &a 1\nb:\n  <<: *a\n", "f.yaml:3:3: a merge key (<<) takes a map, or a list of maps"),
        (
            "a: &a {x: 1}\nb:\n  <<: [*a, 1]\n",
            "f.yaml:3:3: a merge key (<<) takes a map, or a list of maps",
        ),
        ("a: &a {x: 1}\nb:\n  <<: *a\n  <<: *a\n", "f.yaml:4:3: duplicate key '<<'"),
        ("a: &a {x: 1}\nb:\n  <<: *a\n  y: 1\n  y: 2\n", "f.yaml:5:3: duplicate key 'y'"),
    ],
)
def test_wrong_merge_keys_and_duplicates_beside_them_are_located(text: str, message: str) -> None:
    _value, problems = parse_yaml(text, "f.yaml")
    assert [f"{p.location}: {p.message}" for p in problems] == [message]


def test_a_definition_may_share_parts_with_merge_keys(tmp_path: Path) -> None:
    minimal = Path("tests/golden/minimal.yaml").read_text(encoding="utf-8")
    shared = minimal.replace(
        "  - {id: follow_up, name: Opfølgning, kind: active, phase: follow_up, timers: [reminder]}",
        "  - &active {id: follow_up, name: Opfølgning, kind: active, phase: follow_up,"
        " timers: [reminder]}\n"
        "  - {<<: *active, id: follow_up_2, name: Opfølgning 2, timers: []}",
    )
    path = tmp_path / "minimal.yaml"
    path.write_text(shared, encoding="utf-8")
    with pytest.raises(DefinitionError) as refused:  # the copy is unreachable: said at the copy
        load_definition(path)
    [problem] = [str(p) for p in refused.value.problems]
    assert "stages[follow_up_2]: stage 'follow_up_2' cannot be reached" in problem
    copy = "  - {<<: *active, id: follow_up_2, name: Opfølgning 2, timers: []}"
    assert problem.startswith(f"{path}:{shared.splitlines().index(copy) + 1}:5:")


@needs_libyaml
@pytest.mark.parametrize(
    "text", ["a: &a {x: 1}\nb:\n  <<: *a\n  y: 2\n", "a: &a {x: 1}\nb: {<<: [*a], x: 2}\n"]
)
def test_libyaml_reads_merge_keys_as_pyyaml_does(text: str) -> None:
    python, fast = _read_both(text)
    assert fast == python


MISALIGNED = """\
meetings:
  kinds:
    - {id: pre_meeting, name: {da: Formøde, en: "Pre-meeting {x}"},
       minutes: 60}
    - {id: follow_up, name: Opfølgning, minutes: 60}   # a comment: {
  rules:
    weekdays: [tuesday,
               thursday]

   latest: "15:00"
"""


def test_a_misaligned_line_is_told_the_levels_it_could_line_up_with() -> None:
    """The entries above it are at 0, 2 and 4 spaces: a flow mapping's continued line
    (7 spaces), a list's (15), a blank line, a comment and braces in quotes or in a
    comment are no entries."""
    _, problems = parse_yaml(MISALIGNED, "soroe.yaml")
    (problem,) = problems
    assert str(problem.location) == "soroe.yaml:10:4"
    assert problem.message == (
        "YAML syntax error: line 10 is indented 3 spaces, which lines up with no entry above it"
    )
    assert problem.hint is not None
    assert problem.hint.startswith("indent it 0, 2 or 4 spaces, as the entries it belongs with")


def test_a_key_of_a_list_item_is_told_the_items_own_level() -> None:
    """A department's second key indented 3 spaces under "  - id: mentor": the hint
    offered 0 or 2 spaces, both wrong (each gave another error); the item's keys are at
    4, and that is offered too. A flow item ("- {id: x}") has no keys below it."""
    text = "departments:\n  - id: skole\n    name: Skole\n  - id: mentor\n   name: Mentor\n"
    _, problems = parse_yaml(text, "x.yaml")
    (problem,) = problems
    assert problem.hint is not None
    assert problem.hint.startswith("indent it 0, 2 or 4 spaces, as the entries it belongs with")


def test_a_line_indented_under_a_value_is_told_it_continues_that_value() -> None:
    _, problems = parse_yaml("id: x\n version: 1\n", "x.yaml")
    (problem,) = problems
    assert problem.message == (
        "YAML syntax error: line 2 is indented further than line 1, so it is read as the "
        "rest of that line's value"
    )
    assert problem.hint == "indent it 0 spaces, as the entries it belongs with"
