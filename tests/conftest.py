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

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("fuzz", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _at_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
