"""`workflow definitions diff`: what changed between two versions of a definition."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from tests.support.upgrades import copy_v1, ship_v2
from workflow.cli.main import app
from workflow.definitions.diff import Change, diff_definitions
from workflow.definitions.loader import load_definition


def test_a_renamed_and_an_added_stage_are_named_with_the_mapping_to_give(tmp_path: Path) -> None:
    v1 = load_definition("definitions/soroe.yaml")
    v2 = load_definition(ship_v2(copy_v1(tmp_path)))
    diff = diff_definitions(v1, v2)
    assert diff.changes == (
        Change("removed", "stages", "handover"),
        Change("added", "stages", "network_handover"),
        Change("added", "stages", "aftercare"),
        Change("changed", "transitions", "move_meeting", ("from",)),
        Change("changed", "transitions", "cancel_meeting", ("from",)),
        Change("changed", "transitions", "book_follow_up", ("from",)),
        Change("changed", "transitions", "start_handover", ("to",)),
        Change("changed", "transitions", "resume_follow_up", ("from",)),
        Change("changed", "transitions", "close_case", ("from",)),
        Change("changed", "transitions", "young_person_feedback", ("from",)),
        Change("changed", "transitions", "ask_to_come_back", ("from",)),
        Change("added", "transitions", "start_aftercare"),
    )
    assert diff.removed_stages == ("handover",)
    assert diff.suggested_map == {"handover": "network_handover"}
    assert diff_definitions(v1, v1).same


def test_settings_and_items_changed_field_by_field() -> None:
    soroe = load_definition("definitions/soroe.yaml")
    horsens = load_definition("definitions/horsens.yaml")
    lines = diff_definitions(soroe, horsens).lines()
    assert lines[0] == "soroe v7 -> horsens v7"
    assert "  ~ changed municipality: case_prefix, code, name" in lines
    assert "  + added   timers[case_conference_due]" in lines
    assert not any("stages" in line for line in lines)  # same lifecycle


def test_the_command_prints_text_or_json_and_locates_a_broken_file(tmp_path: Path) -> None:
    new = ship_v2(copy_v1(tmp_path / "v2"))
    runner = CliRunner()
    result = runner.invoke(app, ["definitions", "diff", "soroe", str(new)])
    assert result.exit_code == 0, result.output
    assert "  - removed stages[handover]" in result.output.splitlines()
    assert "Suggested (same kind and phase): --map handover=network_handover" in result.output

    result = runner.invoke(app, ["definitions", "diff", "soroe", str(new), "--json"])
    assert json.loads(result.output)["suggested_map"] == {"handover": "network_handover"}

    broken = tmp_path / "v2" / "soroe.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("version: 2", "version: two"))
    result = runner.invoke(app, ["definitions", "diff", "soroe", str(broken)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert re.search(rf"^{re.escape(str(broken))}:\d+:\d+: version: ", result.output, re.M)
