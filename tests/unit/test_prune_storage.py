"""The sweep removes hand-offs' stored parameters and results older than a week."""

from __future__ import annotations

import os
import time
from pathlib import Path

from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings

from workflow.orchestration.handoff import prune_storage


def test_only_files_older_than_a_week_are_removed(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    (storage / "parameters").mkdir(parents=True)
    now = time.time()
    old = [storage / "a1", storage / "parameters" / "p1"]
    fresh = [storage / "a2", storage / "parameters" / "p2"]
    for path in old + fresh:
        path.write_text("{}")
    for path in old:
        os.utime(path, (now - 8 * 86_400, now - 8 * 86_400))
    for path in fresh:
        os.utime(path, (now - 6 * 86_400, now - 6 * 86_400))
    with temporary_settings(updates={PREFECT_RESULTS_LOCAL_STORAGE_PATH: str(storage)}):
        assert prune_storage(now) == 2
        assert prune_storage(now) == 0
    assert [p.exists() for p in old + fresh] == [False, False, True, True]


def test_no_storage_folder_is_nothing_to_do(tmp_path: Path) -> None:
    with temporary_settings(updates={PREFECT_RESULTS_LOCAL_STORAGE_PATH: str(tmp_path / "x")}):
        assert prune_storage() == 0
