"""The `workflow` command as a user runs it: real processes, exit codes, output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

WORKFLOW = str(Path(sys.executable).with_name("workflow"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WORKFLOW, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_validate_all_shipped_definitions_exits_0() -> None:
    result = run("validate", *sorted(str(p) for p in Path("definitions").glob("*.yaml")))
    assert result.returncode == 0, result.stderr
    assert "definitions/soroe.yaml: ok (soroe v7" in result.stdout


def test_validate_reports_located_errors_and_exits_1() -> None:
    result = run(
        "validate", "tests/golden/definitions/multiple_errors.yaml", "tests/golden/minimal.yaml"
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "tests/golden/definitions/multiple_errors.yaml:3:10: version: must be at least 1, got 0"
    )
    assert len(result.stderr.splitlines()) == 4
    assert "tests/golden/minimal.yaml: ok" in result.stdout
    assert "Traceback" not in result.stderr


def test_validate_missing_file_is_a_clear_error() -> None:
    result = run("validate", "definitions/nowhere.yaml")
    assert result.returncode == 1
    assert result.stderr.strip() == "definitions/nowhere.yaml: file not found"
    # A slip of the keys in a definition's name is told the one beside it.
    slipped = run("graph", "sorow")
    assert slipped.returncode == 1
    assert "definitions/sorow.yaml: file not found (did you mean 'soroe'?)" in slipped.stderr


def test_graph_draws_mermaid() -> None:
    result = run("graph", "soroe")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert '    state "Tovholder' not in result.stdout  # stages, not roles
    assert "    [*] --> referred: refer" in lines
    assert "    follow_up --> follow_up: hold_follow_up" in lines
    assert "    paused --> follow_up: resume" in lines  # '@previous' expanded
    assert "    closed --> [*]" in lines


def test_simulate_prints_the_timeline() -> None:
    result = run("simulate", "soroe", "definitions/examples/soroe.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "2026-03-02 09:00  refer by caseworker:cw-mette: (new) -> referred"
    )
    assert "follow_up_due timer: follow_up -> follow_up" in result.stdout
    assert "handover -> closed" in result.stdout


def test_simulate_fails_on_an_unmet_expectation(tmp_path: Path) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text(
        "definition: soroe\ncase: SOR-1\nstart: '2026-03-02T09:00:00'\nsteps:\n"
        "  - event: refer\n    inputs: {source: school, age: 40, caseworker: cw}\n",
        encoding="utf-8",
    )
    result = run("simulate", "soroe", str(script))
    assert result.returncode == 1
    assert "REFUSED guard_false" in result.stdout
    assert "refer: refused: guard_false" in result.stderr


def test_simulate_script_errors_are_located(tmp_path: Path) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text(
        "definition: soroe\ncase: SOR-1\nstart: soon\nsteps:\n  - wait: 2 dage\n", encoding="utf-8"
    )
    result = run("simulate", "soroe", str(script))
    assert result.returncode == 1
    errors = result.stderr.splitlines()
    assert errors[0].endswith(
        "bad.yaml:3:8: start: expected a date and time such as 2026-03-02T09:00, got 'soon'"
    )
    assert "bad.yaml:5:11: steps[0].wait: '2 dage' is not a duration" in errors[1]


def test_schema_is_json() -> None:
    result = run("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout)["$defs"]["Transition"]["additionalProperties"] is False
