"""Every example command in README.md and docs/*.md runs as written.

The fenced shell blocks (``sh``, ``bash``, ``shell``; in a ``console`` block the lines
after ``$ ``) are run line by line, in order, each document in a fresh working folder of
its own: the checkout's ``.venv``, ``definitions``, Makefile and package files linked in,
``WORKFLOW_HOME`` a new ``var/`` there (so ``var/workflow.db`` is the commands' own
store), Prefect's and the user's settings left out. Each command must exit 0 without a
traceback. What the test gives besides the command as written, and why:

- a command that asks for a password (``account create``) gets one on its input;
- the ``backup/`` folder a backup is written into exists, and the store it backs up
  (``var/workflow.db``, made by ``workflow sweep --no-prefect``);
- the case reference the README names (``SOR-2026-0001``) is the one ``case refer``
  printed: while the year is 2026 they are the same; later the year is put in.

The commands that are not run are in :data:`EXEMPT`, each with the reason; a test checks
that each exemption still matches a command of the documents. A command that only reads
the definitions (validate, graph, simulate) and appears in several documents runs once.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELLS = {"sh", "bash", "shell", "console"}
#: What a checkout's commands need beside them in the working folder.
LINKED = (".venv", "definitions", "Makefile", "pyproject.toml", "constraints.txt", "src")
PASSWORD = "korrekt-hest-batteri-2026"

#: Commands not run (a regular expression on the command) and why.
EXEMPT: dict[str, str] = {
    r"^make run\b": "starts a Prefect server on the fixed port 4200 and serves until Ctrl-C "
    "(the pieces are covered: the demo in tests/integration/test_operations.py, the web "
    "app by the browser tests, flows by tests/integration/test_workers.py)",
    r"workflow up\b": "the same as make run",
    r"workflow demo\b": "starts a Prefect server on the fixed port 4200; the demo itself is "
    "played in-process by tests/integration/test_operations.py",
    r"^make test\b": "the whole suite, which runs this test",
    r"^make lint\b": "make test runs it before the tests",
    r"^make docs\b": "rewrites tracked files; tests/unit/test_generated_files.py checks "
    "that they are current",
    r"^make bench\b": "takes about an hour (make bench-quick: 9 minutes of both databases)",
    r"^workflow deploy\b": "needs a running Prefect server (tests/integration/test_workpool.py)",
    r"^prefect worker start\b": "a long-running worker of a Prefect server "
    "(tests/integration/test_workpool.py)",
    r"^workflow web\b": "serves until Ctrl-C (tests/integration/test_web_workers.py runs it "
    "as a process with two workers, logs in, reads, kills one, stops it)",
    r"^workflow worker\b": "a long-running step worker of a Prefect server "
    "(tests/integration/test_handoff.py runs one as a process)",
    r"^pg_(dump|restore)\b": "needs a PostgreSQL database ($DATABASE)",
    r"^sudo -u postgres\b": "sets up a PostgreSQL server as its superuser (the tests start "
    "their own PostgreSQL: tests/support/services.py)",
    r"^prefect server start\b": "a long-running server on a fixed port (the tests start their "
    "own: tests/integration/conftest.py, prefect_api)",
    r"^workflow machinery SOR-|^workflow outbox retry (\d|--case SOR-)": "needs a case with "
    "given-up deliveries in the store: tests/e2e/test_cli_outbox.py gives one up for real and "
    "runs these commands on it (SQLite and PostgreSQL)",
    r"^workflow cases migrate soroe --to 2\b": "a transcript: the refusal needs cases in a "
    "stage that version 2 drops (tests/integration/test_definition_upgrades.py)",
}
#: Commands whose outcome depends on the checkout only: one run is enough for every document.
STATELESS = re.compile(r"workflow (validate|graph|simulate) (?!.*--store)")
_RAN: set[str] = set()
#: A line that sets a variable (a settings block, ``export`` in one), not a command.
SETTING = re.compile(r"^(export\s+)?[A-Z][A-Z0-9_]*=")


@dataclass(frozen=True)
class Command:
    document: str
    line: int
    text: str


def commands_of(path: Path) -> list[Command]:
    """The shell commands of a document's fenced blocks, continuation lines joined."""
    found: list[Command] = []
    language: str | None = None
    pending = ""
    start = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fence = re.match(r"^\s*```\s*(\w*)", line)
        if fence:
            language = None if language is not None else fence.group(1) or "text"
            continue
        if language not in SHELLS:
            continue
        if language == "console":
            if not line.startswith("$ "):
                continue
            line = line[2:]
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        if text and not text.startswith("#") and not SETTING.match(text):
            found.append(Command(path.name, start, text))
    return found


def _exemption(command: Command) -> str | None:
    bare = command.text.removeprefix(".venv/bin/")
    return next((why for pattern, why in EXEMPT.items() if re.search(pattern, bare)), None)


def _workspace(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    work = tmp_path / "checkout"
    work.mkdir()
    for name in LINKED:
        (work / name).symlink_to(ROOT / name)
    (work / "backup").mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREFECT_", "WORKFLOW_", "DATABASE"))
    }
    env["WORKFLOW_HOME"] = str(work / "var")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return work, env


def _as_run(text: str) -> str:
    year = date.today().year
    return text.replace("SOR-2026-", f"SOR-{year}-") if year != 2026 else text


def _stale_venv() -> bool:
    """Whether make would rebuild the virtual environment first (not in a test)."""
    stamp = ROOT / ".venv" / ".installed"
    if not stamp.exists():
        return True
    built = stamp.stat().st_mtime
    return any((ROOT / f).stat().st_mtime > built for f in ("pyproject.toml", "constraints.txt"))


def _run(
    command: str, work: Path, env: dict[str, str], stdin: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/bash", "-c", command],
        cwd=work,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


RUN = [p for p in DOCUMENTS if any(_exemption(c) is None for c in commands_of(p))]


@pytest.mark.parametrize("document", RUN, ids=[p.name for p in RUN])
def test_every_example_command_runs_as_written(document: Path, tmp_path: Path) -> None:
    work, env = _workspace(tmp_path)
    ran = 0
    for command in commands_of(document):
        if _exemption(command) is not None:
            continue
        if command.text.startswith("make ") and _stale_venv():
            continue  # make would reinstall the venv; under `make test` it is fresh
        bare = command.text.split("#", 1)[0].strip().removeprefix(".venv/bin/")
        if STATELESS.search(bare) and bare in _RAN:
            continue
        if "var/workflow.db" in command.text and not (work / "var" / "workflow.db").exists():
            _run("workflow sweep --no-prefect", work, env, "")  # the store a backup needs
        stdin = f"{PASSWORD}\n{PASSWORD}\n" if " account create " in command.text else ""
        done = _run(_as_run(command.text), work, env, stdin)
        where = f"{command.document}:{command.line}: {command.text}"
        assert done.returncode == 0, f"{where}\nexit {done.returncode}\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, f"{where}\n{done.stderr[-2000:]}"
        _RAN.add(bare)
        ran += 1
    assert ran or all(STATELESS.search(c.text) for c in commands_of(document)), document.name


def test_each_exemption_still_names_a_command() -> None:
    every = [c.text.removeprefix(".venv/bin/") for p in DOCUMENTS for c in commands_of(p)]
    unused = [p for p in EXEMPT if not any(re.search(p, text) for text in every)]
    assert not unused, f"exemptions that match no command any more: {unused}"


def test_the_readme_shows_the_case_commands() -> None:
    texts = [c.text for c in commands_of(ROOT / "README.md")]
    assert any("workflow case refer soroe" in t for t in texts)
    assert any("workflow case show SOR-2026-0001" in t for t in texts)
