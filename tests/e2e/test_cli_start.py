"""The `workflow` command as a person meets it: its help, who acts, and a quiet terminal.

Real processes: ``--help`` shows flags as flags and says what a default means; ``--actor``
is asked for with a clear message (or comes from WORKFLOW_ACTOR), never a default the
command then refuses; and in a terminal (a pseudo-terminal here) no command prints
Prefect's first-run telemetry notice, telemetry being off.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

WORKFLOW = str(Path(sys.executable).with_name("workflow"))
#: Environment variables by which Prefect recognises a CI run (and keeps quiet by itself).
CI_VARIABLES = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "BUILDKITE", "CI_NAME")


def _env(home: Path, **more: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREFECT_", "WORKFLOW_")) and k not in {"DO_NOT_TRACK", *CI_VARIABLES}
    }
    return env | {"WORKFLOW_HOME": str(home), "COLUMNS": "100"} | more


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WORKFLOW, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(home, **env),
    )


def test_help_shows_flags_as_flags_and_says_what_a_default_means(tmp_path: Path) -> None:
    helps = {
        args: run(tmp_path, *args, "--help").stdout
        for args in [(), ("up",), ("case", "trigger"), ("task", "list"), ("sweep",)]
    }
    for args, shown in helps.items():
        assert "Usage:" in shown, args
        assert "<bool>" not in shown, (args, shown)
    up = helps[("up",)]
    assert "--demo " in up
    assert "[default: 0]" not in up
    assert "WORKFLOW_WEB_PORT, else 8000" in up
    trigger = helps[("case", "trigger")]
    assert "--actor ROLE:STAFF-ID" in trigger
    assert "WORKFLOW_ACTOR" in trigger
    assert "[default: caseworker]" not in trigger


def test_the_actor_is_asked_for_clearly_or_comes_from_workflow_actor(tmp_path: Path) -> None:
    nobody = run(tmp_path, "case", "show", "SOR-2026-0001")
    assert nobody.returncode == 2
    assert "--actor role:staff-id" in nobody.stderr
    assert "WORKFLOW_ACTOR" in nobody.stderr
    assert "'caseworker'" not in nobody.stderr  # not a default the user never wrote
    assert "Traceback" not in nobody.stderr
    mette = run(tmp_path, "case", "show", "SOR-2026-0001", WORKFLOW_ACTOR="caseworker:cw-mette")
    assert mette.returncode == 1
    assert mette.stderr.strip() == "Error: no case SOR-2026-0001"  # asked as Mette
    tasks = run(tmp_path, "task", "list", WORKFLOW_ACTOR="team_member:laerer-anna")
    assert tasks.returncode == 0, tasks.stderr
    assert tasks.stdout.strip() == "No tasks."


def _in_a_terminal(home: Path, *args: str) -> str:
    """What the command writes to a terminal (stdout and stderr on a pseudo-terminal)."""
    main, child = pty.openpty()
    (home / "prefect-home").mkdir(parents=True)  # a fresh Prefect home: never told before
    env = _env(home, PREFECT_HOME=str(home / "prefect-home"))
    with subprocess.Popen(
        [WORKFLOW, *args], stdin=child, stdout=child, stderr=child, env=env
    ) as process:
        os.close(child)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the terminal closed: the command ended
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=120)
    os.close(main)
    return b"".join(chunks).decode(errors="replace")


def test_no_prefect_telemetry_notice_in_a_terminal(tmp_path: Path) -> None:
    referrals = tmp_path / "referrals.csv"
    referrals.write_text("definition,name,cpr,birth_date\n", encoding="utf-8")
    shown = _in_a_terminal(tmp_path / "var", "intake", str(referrals))  # imports Prefect
    assert "Henvisninger" in shown, shown  # the command ran (its progress bar, in Danish)
    assert "anonymous usage data" not in shown, shown
