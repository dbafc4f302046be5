"""A guard that compares or computes with a value that may be unset is a load-time warning.

Before, such a guard loaded silently and failed at run time with a bare TypeError. Now
``workflow validate`` prints a located ``warning:`` line for it (and still exits 0);
a test of the value first (``is not none``, a bare ``if``, ``or`` a default) or a value
that every way to the step gives is no warning.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from workflow.cli.main import app
from workflow.definitions.loader import check_file, load_definition
from workflow.definitions.unset_values import unsafe_reads, unset_value_warnings

MINIMAL = Path("tests/golden/minimal.yaml").read_text(encoding="utf-8")
#: The step that moves a case on from follow-up, and a step that stays there.
BOOK = """  - id: book
    name: Book møde
    from: follow_up
    roles: [coordinator]
    inputs:
      - {name: next_review_on, type: date, label: Næste opfølgning}
      - {name: note_count, type: integer, required: false, label: Antal}
"""


def _definition(tmp_path: Path, guard: str, *, extra: str = BOOK) -> Path:
    text = MINIMAL.replace(
        "    guard: \"'plan_agreed' in case.milestones\"",
        f"    guard: {guard}\n" + extra.rstrip("\n"),
    )
    assert text != MINIMAL
    path = tmp_path / "minimal.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _warnings(tmp_path: Path, guard: str, *, extra: str = BOOK) -> list[str]:
    definition, problems = check_file(_definition(tmp_path, guard, extra=extra))
    assert definition is not None, problems  # a warning does not stop the definition
    assert all(p.is_warning for p in problems)
    return [str(p) for p in problems]


def test_a_guard_comparing_data_a_step_may_not_have_given_warns(tmp_path: Path) -> None:
    [warning] = _warnings(tmp_path, '"case.data.next_review_on < today"')
    line = (
        (tmp_path / "minimal.yaml")
        .read_text(encoding="utf-8")
        .splitlines()
        .index('    guard: "case.data.next_review_on < today"')
    )
    assert warning == (
        f"{tmp_path / 'minimal.yaml'}:{line + 1}:12: warning: transitions[close].guard: "
        "'case.data.next_review_on' may be unset here (only 'book' gives it, and a case "
        "need not have taken that step), and comparing it fails when it is (test it first "
        "(case.data.next_review_on is not none and ...) or give a default "
        "((case.data.next_review_on or ...)))"
    )


def test_validate_prints_the_warning_and_succeeds(tmp_path: Path) -> None:
    path = _definition(tmp_path, '"case.data.next_review_on < today"')
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert ": warning: transitions[close].guard: 'case.data.next_review_on' may be unset" in (
        result.output
    )
    assert "minimal.yaml: ok (minimal v1" in result.output
    assert "1 warning." in result.output
    assert load_definition(path).transitions[1].guard == "case.data.next_review_on < today"


@pytest.mark.parametrize(
    "guard",
    [
        '"case.data.next_review_on is not none and case.data.next_review_on < today"',
        '"case.data.next_review_on and case.data.next_review_on < today"',
        '"case.data.next_review_on is none or case.data.next_review_on < today"',
        '"not case.data.next_review_on or case.data.next_review_on < today"',
        '"(case.data.next_review_on < today) if case.data.next_review_on else false"',
        '"false if case.data.next_review_on is none else case.data.next_review_on < today"',
        '"(case.data.next_review_on or today) <= today"',
        '"case.data.next_review_on == none"',
        '"case.data.next_review_on is none"',
        '"case.data.meeting_at < now"',  # 'start' gives it on the only way here
        "\"'plan_agreed' in case.milestones and case.counts.start >= 1\"",
        '"date(case.data.next_review_on) == today"',  # date(none) is none
    ],
)
def test_a_value_tested_first_defaulted_or_sure_is_no_warning(tmp_path: Path, guard: str) -> None:
    assert _warnings(tmp_path, guard) == []


@pytest.mark.parametrize(
    ("guard", "read", "use"),
    [
        ('"case.data.age + 1 > 16"', "case.data.age", None),  # the referral's required input
        ('"case.data.next_review_on > today"', "case.data.next_review_on", "comparing it"),
        ('"today >= case.data.next_review_on"', "case.data.next_review_on", "comparing it"),
        ('"case.data.note_count - 1 > 0"', "case.data.note_count", "computing with it"),
        ('"-case.data.note_count < 0"', "case.data.note_count", "computing with it"),
        (
            '"days_between(today, case.data.next_review_on) > 2"',
            "case.data.next_review_on",
            "days_between(...)",
        ),
        ("\"'x' in case.data.next_review_on\"", "case.data.next_review_on", "looking in it"),
        (
            '"case.data.next_review_on is none and case.data.next_review_on < today"',
            "case.data.next_review_on",
            "comparing it",
        ),
    ],
)
def test_what_fails_on_none_warns(tmp_path: Path, guard: str, read: str, use: str | None) -> None:
    warnings = _warnings(tmp_path, guard)
    if use is None:
        assert warnings == []
    else:
        [warning] = warnings
        assert f"'{read}' may be unset here" in warning
        assert f"and {use} fails when it is" in warning


def test_an_optional_input_of_the_step_itself_warns(tmp_path: Path) -> None:
    step = BOOK.replace(
        "    roles: [coordinator]\n", "    roles: [coordinator]\n    guard: inputs.note_count > 2\n"
    )
    [warning] = _warnings(tmp_path, "\"'plan_agreed' in case.milestones\"", extra=step)
    assert "transitions[book].guard: 'inputs.note_count' may be unset here (the input " in warning
    assert "'note_count' is optional), and comparing it fails" in warning


def test_a_guard_of_rules_is_checked_rule_by_rule(tmp_path: Path) -> None:
    rules = (
        "\n      - {rule: \"'plan_agreed' in case.milestones\", message: Planen mangler}"
        "\n      - {rule: case.data.next_review_on < today, message: Mødet er ikke holdt}"
    )
    [warning] = _warnings(tmp_path, rules)
    assert ": warning: transitions[close].guard[1].rule: 'case.data.next_review_on'" in warning


def test_computed_values_and_conditions_see_what_the_step_gives(tmp_path: Path) -> None:
    step = BOOK + (
        "    set:\n"
        "      days_left: days_between(today, case.data.next_review_on)\n"
        "      more: case.data.note_count + 1\n"
    )
    [warning] = _warnings(tmp_path, "\"'plan_agreed' in case.milestones\"", extra=step)
    # The step's own required input is set when it computes; its optional one may not be.
    assert "transitions[book].set.more: 'case.data.note_count' may be unset" in warning


def test_the_shipped_definitions_give_no_warnings() -> None:
    for path in sorted(Path("definitions").glob("*.yaml")):
        definition, problems = check_file(path)
        assert definition is not None
        assert problems == [], path
        assert unset_value_warnings(definition) == []


def test_the_walker_takes_any_expression() -> None:
    unset = frozenset({"case.data.x", "inputs.y"})
    found = unsafe_reads("case.data.x + inputs.y > 3 and inputs.y < 2", unset)
    assert [(u.read, u.use) for u in found] == [
        ("case.data.x", "computing with it"),
        ("inputs.y", "computing with it"),
    ]
    assert unsafe_reads("case.data.x <", unset) == ()  # a syntax error is another check's
