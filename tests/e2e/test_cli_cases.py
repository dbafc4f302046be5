"""`workflow case ...` as a caseworker runs it: a real process on the default SQLite store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

WORKFLOW = str(Path(sys.executable).with_name("workflow"))


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WORKFLOW_"))}
    env["WORKFLOW_HOME"] = str(home)
    return subprocess.run(
        [WORKFLOW, *args], capture_output=True, text=True, timeout=120, check=False, env=env
    )


def test_refer_trigger_show_and_refusals(tmp_path: Path) -> None:
    home = tmp_path / "var"
    opened = run(
        home,
        "case",
        "refer",
        "soroe",
        "--name",
        "Test Person",
        "--cpr",
        "0101101234",
        "--birth-date",
        "2010-01-01",
        "--actor",
        "caseworker:cw-mette",
        "--input",
        "source=school",
        "--input",
        "caseworker=cw-mette",
    )
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.splitlines()[0] == "SOR-2026-0001: opened in referred"

    accept = [
        "case",
        "trigger",
        "SOR-2026-0001",
        "accept_referral",
        "--input",
        "young_person_agrees=true",
        "--input",
        "consent=true",
        "--idempotency-key",
        "k1",
    ]
    first, repeat = run(home, *accept), run(home, *accept)
    assert first.stdout.splitlines()[0] == "SOR-2026-0001: referred -> pre_meeting"
    assert repeat.stdout.splitlines()[0] == (
        "SOR-2026-0001: referred -> pre_meeting (repeated request: first result)"
    )

    team = json.dumps([{"department": "skole", "person": "laerer-anna"}])
    refused = run(
        home,
        "case",
        "trigger",
        "SOR-2026-0001",
        "hold_pre_meeting",
        "--input",
        f"team={team}",
        "--input",
        "coordinator=lise",
        "--input",
        'agenda=["uddannelse"]',
        "--input",
        "first_meeting_at=2026-12-01T09:00",
        "--input",
        "meeting_room=kantinen",
    )
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        "Refused: Nogle felter mangler eller er udfyldt forkert: meeting_room.",
        "  meeting_room: 'kantinen' er ikke et af valgene: raadhuset_storskaerm, "
        "ungecentret_storskaerm",
    ]

    shown = run(home, "case", "show", "SOR-2026-0001", "--purpose", "opfølgning")
    assert shown.returncode == 0, shown.stderr
    assert "stage: pre_meeting" in shown.stdout.splitlines()[0]
    assert "accept_referral          referred -> pre_meeting" in shown.stdout
    assert "Test Person" not in shown.stdout  # the timeline shows no personal data

    missing = run(home, "case", "show", "SOR-2026-0999")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "Error: no case SOR-2026-0999"
