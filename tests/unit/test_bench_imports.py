"""Every benchmark module imports: a rename in ``src/`` must not leave ``make bench`` or
``make bench-quick`` broken until someone runs them (delivery_bench once imported a
helper the delivery module no longer had)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize("name", sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "__init__"))
def test_benchmark_module_imports(name: str) -> None:
    importlib.import_module(f"bench.{name}")
