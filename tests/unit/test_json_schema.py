"""The JSON Schema editors use accepts every valid definition and refuses the wrong shapes.

Every shipped definition, every valid golden definition and the tests' own definitions
(``tests/definitions/``) are checked against the committed schema with ``jsonschema``
(formats asserted, as strict editors do); every golden definition whose error is one of
shape (a wrong type, value, missing or unknown field) is refused by it. Errors only
``workflow validate`` can find (references, the stage graph, cross-field rules, YAML
itself) are listed apart, so that a new golden case has to be put in one list or the
other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from workflow.definitions.yamlsource import read_yaml_file

GOLDEN = Path("tests/golden/definitions")
SCHEMA = json.loads(Path("schema/definition.schema.json").read_text(encoding="utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)

#: Golden cases whose error is one of shape: the schema refuses them too.
SHAPE_ERRORS = {
    "bad_duration",
    "bad_enum",
    "bad_time",
    "duration_singular",
    "effect_two_kinds",
    "extends_not_an_id",
    "extends_without_id",
    "extends_without_version",
    "follow_on_errors",
    "invalid_id",
    "invalid_id_danish",
    "missing_field",
    "municipality_code",
    "multiple_errors",
    "not_a_map",
    "remove_bad_shape",
    "unknown_field",
    "version_not_a_number",
    "weekend_meeting_day",
    "wrong_type",
    "yaml11_boolean",
}
#: Golden cases only the loader and its checks can refuse.
NOT_SHAPE_ERRORS = {
    # Values of kinds that cannot work together (expression_kinds), an expression in
    # another language's operators.
    "anchor_not_a_date",
    "comparison_kinds",
    "expression_other_operator",
    # YAML itself: no value to validate, or one the schema cannot see the fault in.
    "yaml_syntax",
    "yaml_indent",
    "yaml_quoted_then_more",
    "yaml_tab",
    "yaml_list_indent",
    "yaml_missing_colon",
    "yaml_unquoted_colon",
    "alias_loop",
    "duplicate_key",
    # The file system and the extends chain.
    "extends_cycle",
    "extends_missing",
    "id_not_file_name",
    "remove_unknown",
    "remove_without_extends",
    "remove_breaks_graph",
    # Rules across fields, and bounds the schema does not spell out.
    "ages_inverted",
    "input_min_above_max",
    "date_bound_not_whole_days",
    "fires_both",
    "repeat_both",
    "duration_too_long",
    "municipality_required",
    "timer_without_after",
    "instant_timer_loop",
    "choices_missing",
    "choices_not_allowed",
    "first_person_not_goals",
    "shared_free_text",
    "themes_input_without_themes",
    "team_input_wrong_type",
    "meaning_by_name",
    "no_recipients",
    "refer_is_reserved",
    "not_from_without_star",
    "input_given_twice",
    "duplicate_id",
    "placeholder_address",
    # References, expressions, templates and the stage graph.
    "unknown_case_attribute",
    "unknown_department",
    "unknown_event",
    "unknown_expression_name",
    "message_unknown_value",
    "cancel_unknown_tasks",
    "task_due_by_no_meeting",
    "meetings_never_held",
    "unreachable_through_resume",
    "template_misspelt",
    "unknown_input",
    "unknown_milestone",
    "unknown_role",
    "unknown_stage",
    "unknown_template",
    "unknown_timer",
    "unknown_timezone",
    "expression_syntax",
    "template_syntax",
    "template_undefined",
    "dead_end",
    "from_final_stage",
    "no_final_stage",
    "two_start_stages",
    "unreachable_stage",
}


def _plain(value: Any) -> Any:
    """Plain dicts and lists, as an editor's YAML reader gives them."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _read(path: Path) -> Any:
    data, problems = read_yaml_file(path)
    assert data is not None, problems
    return _plain(data)


def _errors(data: Any) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in VALIDATOR.iter_errors(data)
    ]


def _golden(kind: str) -> list[str]:
    expected = {p.stem for p in GOLDEN.glob("*.expected")}
    valid = sorted(p.stem for p in GOLDEN.glob("*.yaml") if p.stem not in expected)
    return valid if kind == "valid" else sorted(expected)


def test_the_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", sorted(Path("definitions").glob("*.yaml")), ids=str)
def test_every_shipped_definition_is_accepted(path: Path) -> None:
    assert _errors(_read(path)) == []


@pytest.mark.parametrize(
    "path",
    [GOLDEN / f"{name}.yaml" for name in _golden("valid")]
    + [Path("tests/golden/minimal.yaml"), *sorted(Path("tests/definitions").glob("*.yaml"))],
    ids=str,
)
def test_every_valid_golden_and_test_definition_is_accepted(path: Path) -> None:
    assert _errors(_read(path)) == []


@pytest.mark.parametrize("name", sorted(SHAPE_ERRORS))
def test_every_golden_shape_error_is_refused(name: str) -> None:
    assert _errors(_read(GOLDEN / f"{name}.yaml"))


def test_every_golden_error_is_classified() -> None:
    invalid = set(_golden("invalid"))
    assert invalid == SHAPE_ERRORS | NOT_SHAPE_ERRORS
    assert not SHAPE_ERRORS & NOT_SHAPE_ERRORS


def test_a_file_with_extends_may_override_part_of_a_merged_mapping() -> None:
    child = {"id": "child", "version": 1, "extends": "base", "referral": {"guard": "true"}}
    assert _errors(child) == []
    child["referral"] = {"gaurd": "true"}  # an unknown field is still refused
    assert _errors(child)
    # Items of id lists replace the extended item whole: they stay complete.
    child["referral"] = {}
    child["stages"] = [{"id": "referred", "name": "Henvist"}]
    assert any("'kind' is a required property" in e for e in _errors(child))


def test_a_file_without_extends_is_the_whole_definition() -> None:
    whole = _read(Path("tests/golden/minimal.yaml"))
    whole["referral"] = {"inputs": []}
    assert any("'roles' is a required property" in e for e in _errors(whole))
    del whole["title"]
    assert any("'title' is a required property" in e for e in _errors(whole))


@pytest.mark.parametrize(
    ("duration", "valid"),
    [
        ("1 day", True),
        ("1 business_day", True),
        ("1 days", True),
        ("3 months", True),
        ("14 business_days", True),
        ("3 month", False),
        ("0 day", False),
        ("2 fortnights", False),
    ],
)
def test_durations_are_spelled_as_the_loader_reads_them(duration: str, valid: bool) -> None:
    whole = _read(Path("tests/golden/minimal.yaml"))
    whole["timers"][0]["after"] = duration
    assert (_errors(whole) == []) is valid


@pytest.mark.parametrize(
    ("time", "valid"), [("09:00", True), ("16:30:00", True), ("9:00", False), ("25:00", False)]
)
def test_times_of_day_are_written_as_the_loader_reads_them(time: str, valid: bool) -> None:
    whole = _read(Path("tests/golden/minimal.yaml"))
    whole["calendar"] = {"meeting_time": time}
    assert (_errors(whole) == []) is valid


@pytest.mark.parametrize(
    ("extends", "valid"),
    [
        ("base", True),
        ("../base.yaml", True),
        ("shared/base.yml", True),
        ("../other/base", False),
        ("/etc/base.yaml", False),
        ("Base", False),
    ],
)
def test_extends_is_an_id_or_a_relative_path(extends: str, valid: bool) -> None:
    child = {"id": "child", "version": 1, "extends": extends}
    assert (_errors(child) == []) is valid
