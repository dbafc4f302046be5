"""A real OpenID Connect provider on this machine, standing in for NemLog-in.

For the tests and for ``make run`` only: it starts ``devtools/oidc-provider/provider.mjs``
(npm's ``oidc-provider``) with Node, one confidential client and a file of made-up
people, and stops it again. Logging in uses the provider's development pages, where any
login name is accepted (see the comment at the top of ``provider.mjs`` for their forms).

Only the standard library and httpx: no FastAPI and no Prefect, so a test or the CLI can
start a provider without building the app.
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from workflow.errors import WorkflowError

#: The provider's folder in a source checkout (``make run`` and the tests run from one).
PROVIDER_FOLDER = Path(__file__).resolve().parents[3] / "devtools" / "oidc-provider"
#: NemLog-in's name for the CPR number claim in its ID tokens.
NEMLOGIN_CPR_CLAIM = "https://data.gov.dk/model/core/eid/cprNumber"

_STARTUP_SECONDS = 20.0
_STOP_SECONDS = 5.0
_INSTALL_SECONDS = 300.0


class DevProviderError(WorkflowError):
    """The development OpenID Connect provider could not be installed or started."""


@dataclass(frozen=True)
class ProviderInfo:
    """A running development provider and its one client."""

    issuer: str
    port: int
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: tuple[str, ...]
    cpr_claim: str

    @property
    def discovery_url(self) -> str:
        """Where the provider's OpenID configuration is published."""
        return f"{self.issuer}/.well-known/openid-configuration"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise DevProviderError(
            f"'{name}' is not on PATH: the development OpenID Connect provider needs Node.js "
            "20 or later with npm (Debian: apt-get install nodejs npm)"
        )
    return found


def _installed(folder: Path) -> bool:
    # npm ci writes node_modules/.package-lock.json; older than the lock file: stale.
    hidden_lock = folder / "node_modules" / ".package-lock.json"
    lock = folder / "package-lock.json"
    return hidden_lock.is_file() and hidden_lock.stat().st_mtime >= lock.stat().st_mtime


def ensure_installed(folder: Path = PROVIDER_FOLDER) -> None:
    """Install the provider's pinned npm packages (``npm ci``) unless they are in place."""
    if not (folder / "package-lock.json").is_file():
        raise DevProviderError(f"no package-lock.json in {folder}: is this a source checkout?")
    _tool("node")
    npm = _tool("npm")
    if _installed(folder):
        return
    with _folder_locked(folder):  # two processes at once: one installs, the other waits
        if not _installed(folder):
            _npm_ci(npm, folder)


@contextmanager
def _folder_locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on the folder itself (flock on its descriptor; no lock file)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _npm_ci(npm: str, folder: Path) -> None:
    try:
        subprocess.run(  # noqa: S603 - a fixed command; npm found on PATH above
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=folder,
            check=True,
            capture_output=True,
            text=True,
            timeout=_INSTALL_SECONDS,
        )
    except subprocess.CalledProcessError as error:
        raise DevProviderError(
            f"npm ci failed in {folder} (exit {error.returncode}):\n{error.stderr[-2000:]}"
        ) from error
    except subprocess.TimeoutExpired as error:
        raise DevProviderError(f"npm ci in {folder} took over {_INSTALL_SECONDS:.0f} s") from error


def _read_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def _wait_until_ready(
    process: subprocess.Popen[str], lines: queue.Queue[str | None], issuer: str, log: Path
) -> None:
    deadline = time.monotonic() + _STARTUP_SECONDS
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DevProviderError(
                f"the OpenID Connect provider did not start within {_STARTUP_SECONDS:.0f} s:\n"
                + _tail(log)
            )
        try:
            line = lines.get(timeout=min(remaining, 0.5))
        except queue.Empty:
            continue
        if line is None:
            process.wait(timeout=_STOP_SECONDS)
            raise DevProviderError(
                f"the OpenID Connect provider stopped at start (exit {process.returncode}):\n"
                + _tail(log)
            )
        if line == f"ready {issuer}":
            break
    # The discovery document answering is what a client needs; check it once.
    try:
        answer = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=5.0)
        answer.raise_for_status()
        published = answer.json().get("issuer")
    except (httpx.HTTPError, ValueError) as error:
        raise DevProviderError(f"the provider at {issuer} publishes no discovery") from error
    if published != issuer:
        raise DevProviderError(f"another server answers on {issuer}")


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=_STOP_SECONDS)


@contextmanager
def running_provider(
    *,
    port: int,
    client_id: str,
    client_secret: str,
    redirect_uris: Sequence[str],
    accounts: Mapping[str, Mapping[str, str]],
    id_token_ttl: int = 600,
    cpr_claim: str = NEMLOGIN_CPR_CLAIM,
    folder: Path = PROVIDER_FOLDER,
) -> Iterator[ProviderInfo]:
    """Run the provider on 127.0.0.1:``port`` until the block ends.

    ``accounts`` maps a login name to ``{"name": ..., "cpr": ...}``; any other login name
    logs in as a person with only a ``sub``. Raises :class:`DevProviderError` when Node is
    missing, the packages are not installed (see :func:`ensure_installed`) or the provider
    does not answer within 20 seconds.
    """
    node = _tool("node")
    if not (folder / "node_modules").is_dir():
        raise DevProviderError(f"the provider's packages are missing: run npm ci in {folder}")
    issuer = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="kui-oidc-") as work:
        accounts_file = Path(work) / "accounts.json"
        accounts_file.write_text(json.dumps(accounts), encoding="utf-8")
        log = Path(work) / "provider.log"
        env = {
            **os.environ,
            "OIDC_PORT": str(port),
            "OIDC_CLIENT_ID": client_id,
            "OIDC_CLIENT_SECRET": client_secret,
            "OIDC_REDIRECT_URIS": ",".join(redirect_uris),
            "OIDC_ACCOUNTS": str(accounts_file),
            "OIDC_CPR_CLAIM": cpr_claim,
            "OIDC_ID_TOKEN_TTL": str(id_token_ttl),
            "OIDC_EXIT_WITH_STDIN": "1",
        }
        with log.open("w", encoding="utf-8") as stderr:
            process = subprocess.Popen(  # noqa: S603 - a fixed command; node found on PATH
                [node, "provider.mjs"],
                cwd=folder,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        assert process.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(
            target=_read_lines, args=(process.stdout, lines), name="oidc-provider", daemon=True
        ).start()
        try:
            _wait_until_ready(process, lines, issuer, log)
            yield ProviderInfo(
                issuer=issuer,
                port=port,
                client_id=client_id,
                client_secret=client_secret,
                redirect_uris=tuple(redirect_uris),
                cpr_claim=cpr_claim,
            )
        finally:
            _stop(process)
            if process.stdin is not None:
                process.stdin.close()
