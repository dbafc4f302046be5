"""Golden files: each kind of definition error, with its exact located message.

Each ``tests/golden/definitions/<case>.yaml`` with a ``<case>.expected`` beside it must
fail to load with exactly the expected lines. Set ``UPDATE_GOLDEN=1`` to rewrite the
expected files after a deliberate change of wording (and review the diff).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workflow.definitions.loader import load_definition
from workflow.errors import DefinitionError

GOLDEN = Path("tests/golden/definitions")
CASES = sorted(
    p.stem
    for p in Path(__file__).parent.parent.joinpath("golden", "definitions").glob("*.expected")
)


def _messages(name: str) -> str:
    with pytest.raises(DefinitionError) as caught:
        load_definition(GOLDEN / f"{name}.yaml")
    return "\n".join(str(p) for p in caught.value.problems) + "\n"


@pytest.mark.parametrize("name", CASES)
def test_error_message_is_exactly_the_golden_one(name: str) -> None:
    expected_file = GOLDEN / f"{name}.expected"
    actual = _messages(name)
    if os.environ.get("UPDATE_GOLDEN"):
        expected_file.write_text(actual, encoding="utf-8")
    assert actual == expected_file.read_text(encoding="utf-8")


def test_every_golden_case_has_an_expected_file() -> None:
    helpers = {"parent", "child_ok", "extends_cycle_other", "placeholder_parent"}
    inputs = {p.stem for p in GOLDEN.glob("*.yaml")} - helpers
    assert inputs == set(CASES)
    assert len(CASES) >= 30


def test_golden_helpers_are_valid_definitions() -> None:
    child = load_definition(GOLDEN / "child_ok.yaml")
    assert [d.id for d in child.departments] == ["skole"]
    assert child.departments[0].name == "Skolen i byen"  # replaced by id
    assert [s.id for s in child.stages] == ["referred", "follow_up", "closed", "paused"]
    load_definition("tests/golden/minimal.yaml")
    # An abstract definition may keep placeholder addresses: it opens no cases.
    assert load_definition(GOLDEN / "placeholder_parent.yaml").abstract


def test_all_errors_are_reported_at_once() -> None:
    lines = _messages("multiple_errors").splitlines()
    assert len(lines) == 4
    assert all(line.startswith("tests/golden/definitions/multiple_errors.yaml:") for line in lines)
