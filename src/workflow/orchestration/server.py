"""Running a local Prefect server for `workflow up` and `workflow demo` (127.0.0.1 only)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from workflow.errors import WorkflowError


class PrefectServerError(WorkflowError):
    """The Prefect server could not be started."""


def prefect_env(home: Path) -> dict[str, str]:
    """Environment for Prefect: its home in our var/, telemetry off."""
    return {
        "PREFECT_HOME": str(home.resolve()),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }


def healthy(api_url: str) -> bool:
    """Whether a Prefect API answers."""
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def local_server(home: Path, port: int = 4200, timeout: float = 90.0) -> Iterator[str]:
    """Start `prefect server start` on 127.0.0.1 (or use one already there); yield its API URL."""
    url = f"http://127.0.0.1:{port}/api"
    if healthy(url):
        yield url
        return
    home.mkdir(parents=True, exist_ok=True)
    log = (home / "server.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter's prefect, fixed arguments
        [
            str(Path(sys.executable).with_name("prefect")),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env={**os.environ, **prefect_env(home), "PREFECT_UI_API_URL": url},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout
        while not healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise PrefectServerError(
                    f"the Prefect server did not start; see {home / 'server.log'}"
                )
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
