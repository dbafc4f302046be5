"""Definitions loaded once per test session."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from workflow.definitions.loader import load_definition
from workflow.definitions.models import Definition

CPH = ZoneInfo("Europe/Copenhagen")


def at(text: str) -> datetime:
    """A Copenhagen local time from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=CPH)


@pytest.fixture(scope="session")
def soroe() -> Definition:
    return load_definition("definitions/soroe.yaml")


@pytest.fixture(scope="session")
def base() -> Definition:
    return load_definition("definitions/base.yaml")
