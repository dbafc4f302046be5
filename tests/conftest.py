"""Shared set-up: every test runs from the repository root, so paths print as users see them.

Hypothesis runs deterministically by default (profile ``ci``: the same examples on every
run, no example database), so a failure is reproducible and the run time is stable.
``HYPOTHESIS_PROFILE=fuzz`` switches to randomised runs that also remember failures in
``.hypothesis/``; the fuzz tests run many more examples under it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent

# Cheap argon2 hashes in this process and every process a test starts (the CLI, the web
# app, workers): full-cost hashing took 0.2-0.5 s per account made or login checked.
# tests/unit/test_password_cost.py checks that nothing else turns this on.
os.environ["WORKFLOW_TEST_FAST_PASSWORD_HASHES"] = "1"

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("fuzz", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _at_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
