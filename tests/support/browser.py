"""Headless Chromium for the tests: Debian's package, driven by Playwright (no download)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

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
    if CHROMIUM.exists() or shutil.which("chromium"):
        return CHROMIUM
    if os.geteuid() != 0:
        raise RuntimeError("Chromium is missing; install Debian's 'chromium' package")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)
    return CHROMIUM
