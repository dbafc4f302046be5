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


def test_the_national_copier_knows_every_table_of_the_store() -> None:
    """Migration 0016 added ``consent_parts``; the national benchmark's copier refused
    the store ("tables the national bench does not copy") and ``make bench-quick`` broke,
    unnoticed until it was run. Every table is copied per case or named as not."""
    from bench.national_clone import CASE_TABLES, OTHER_TABLES

    from workflow.store.tables import Base

    tables = set(Base.metadata.tables)
    assert tables - set(CASE_TABLES) - OTHER_TABLES == set()
