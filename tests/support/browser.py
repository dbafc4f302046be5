"""Headless Chromium for the tests: Debian's package, driven by Playwright (no download)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.debian import ensure_package

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def ensure_chromium() -> Path:
    """Debian's chromium, installed when missing (the tests run as root)."""
    ensure_package("chromium", lambda: CHROMIUM.exists() or bool(shutil.which("chromium")))
    return CHROMIUM
