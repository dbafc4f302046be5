"""The tutorial in docs/definitions.md is a working definition (docs examples run as tests)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.unit.conftest import at
from workflow.definitions.loader import load_definition
from workflow.engine.decide import open_case
from workflow.engine.model import Actor, Decision


def _tutorial_yaml() -> str:
    text = Path("docs/definitions.md").read_text(encoding="utf-8")
    tutorial = text.split("## Tutorial", 1)[1]
    blocks = re.findall(r"```yaml\n(.*?)```", tutorial, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_tutorial_definition_validates_and_behaves(tmp_path: Path) -> None:
    shutil.copy("definitions/base.yaml", tmp_path / "base.yaml")
    (tmp_path / "eksempel.yaml").write_text(_tutorial_yaml(), encoding="utf-8")
    d = load_definition(tmp_path / "eksempel.yaml")
    assert d.calendar.meeting_weekdays == ["wednesday"]
    assert d.calendar.closed_days  # kept from base
    assert d.departments_by_id["jobcenter"].name == "Jobcenter Eksempelkøbing"
    assert "mentor" in d.departments_by_id
    assert "okonomi" not in {t.id for t in d.themes}
    assert d.stages_by_id["follow_up"].timers == ["follow_up_due", "not_seen"]
    opened = open_case(
        d,
        "EKS-2026-0001",
        Actor("caseworker", "cw"),
        {"source": "school", "age": 25, "caseworker": "cw"},
        at("2026-03-02 09:00"),
    )
    assert isinstance(opened, Decision)
