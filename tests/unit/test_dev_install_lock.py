"""Two processes starting the development provider at once install its npm packages once.

A fake ``npm`` on PATH stands in for ``npm ci``: it notes when it starts and ends, takes
a moment, and writes what ``npm ci`` writes (node_modules/.package-lock.json).
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from workflow.web.dev_oidc import ensure_installed

FAKE_NPM = """#!/bin/sh
echo start >> "$NPM_CALLS"
sleep 0.5
mkdir -p node_modules && touch node_modules/.package-lock.json
echo end >> "$NPM_CALLS"
"""


def test_installs_started_together_run_npm_ci_once_and_never_side_by_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    npm = tools / "npm"
    npm.write_text(FAKE_NPM)
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)
    (tools / "node").symlink_to("/bin/true")
    folder = tmp_path / "provider"
    folder.mkdir()
    (folder / "package-lock.json").write_text("{}")
    calls = tmp_path / "calls"
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("NPM_CALLS", str(calls))

    errors: list[BaseException] = []

    def install() -> None:
        try:
            ensure_installed(folder)
        except BaseException as error:  # reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=install) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert calls.read_text().split() == ["start", "end"]
    assert (folder / "node_modules" / ".package-lock.json").is_file()
