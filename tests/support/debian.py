"""Debian packages the tests need (PostgreSQL, Chromium), installed when missing.

Test processes may run side by side (pytest-xdist): the first to find a package missing
installs it under a machine-wide lock, the others wait and then find it in place.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path


def ensure_package(package: str, present: Callable[[], bool]) -> None:
    """Install Debian's ``package`` unless ``present()`` (the tests run as root)."""
    if present():
        return
    if os.geteuid() != 0:
        raise RuntimeError(f"{package} is missing; install Debian's '{package}' package")
    lock = Path(tempfile.gettempdir()) / "workflow-tests-apt.lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # released when the file is closed
        if present():  # another test process installed it meanwhile
            return
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, env=env)
