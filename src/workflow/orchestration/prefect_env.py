"""The environment our Prefect processes get: the server `workflow up` starts, the
clients in `workflow up`/`demo`/`worker`.

Only settings that change no behaviour an operator sees, each measured (a step handed
to a worker, docs/benchmarks.md): telemetry off; the server writes task runs in batches
(a task run's row lands up to a second later; every state is kept) and keeps its
database connections rather than opening new ones; an HTTP-only client loads a CA
bundle of one certificate instead of certifi's; a step worker keeps its own settings
rather than rebuilding the submitter's for every step. A value the operator set in the
environment is kept.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

#: The server's task-run recorder: Prefect reads and writes one task-run event at a time
#: by default (a database transaction each, ~8 a step). In batches of up to 100, at most
#: a second apart: the server's CPU per step fell by ~40% in the research runs.
#:
#: Its connections to a PostgreSQL database: Prefect keeps 5 and opens up to 10 more
#: when busy, closing each of those when it is handed back. Under a burst that was a new
#: connection every second, and each new asyncpg connection reads PostgreSQL's type
#: catalogue (a recursive query: most of a backend's CPU). 20 kept, 10 more when busy.
#: (A SQLite-backed server keeps one connection whatever these say.)
SERVER_TUNING = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "20",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
    "PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE": "20",
    "PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW": "10",
}


def prefect_env(home: Path) -> dict[str, str]:
    """Environment for Prefect: its home in our var/, telemetry off."""
    return {
        "PREFECT_HOME": str(home.resolve()),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # A worker's background task has no flow run; its step flow's logs do reach the API.
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    }


def server_env(home: Path) -> dict[str, str]:
    """The environment of the Prefect server we start (over this process's own)."""
    tuning = {k: v for k, v in SERVER_TUNING.items() if k not in os.environ}
    return {**os.environ, **tuning, **prefect_env(home)}


def client_env(api_url: str, home: Path) -> dict[str, str]:
    """What a Prefect client needs beside PREFECT_API_URL: for a plain-HTTP API (no TLS
    is spoken) a one-certificate CA file. Every Prefect client builds a TLS context from
    ``PREFECT_API_SSL_CERT_FILE`` (default: certifi's bundle of ~150 certificates, ~17 ms
    of CPU each time), and a worker makes several clients a step. Nothing for an https://
    API or when the operator set the file."""
    if not api_url.startswith("http://") or os.environ.get("PREFECT_API_SSL_CERT_FILE"):
        return {}
    try:
        return {"PREFECT_API_SSL_CERT_FILE": str(one_ca_file(home).resolve())}
    except OSError:  # a home we cannot write: Prefect's default, only slower
        return {}


def one_ca_file(folder: Path) -> Path:
    """A CA file of one certificate (the first of certifi's bundle), written once."""
    import certifi

    path = folder / "http-only-ca.pem"
    if path.is_file():
        return path
    bundle = Path(certifi.where()).read_text(encoding="ascii")
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    first = bundle[bundle.index(begin) : bundle.index(end) + len(end)]
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(first + "\n", encoding="ascii")
    partial.replace(path)  # another process writing it at once writes the same
    return path


def with_own_settings(task_worker: ModuleType) -> None:
    """Make the task worker carry a step out under its own Prefect settings, not the
    ones the process that handed the step off had.

    Prefect stores the submitter's whole settings with every background task's
    parameters and the worker rebuilds them for each run (pydantic-settings reads the
    environment and looks for its config files again for every section: ~40 ms of CPU,
    a quarter of a worker's time per step, measured with py-spy). The worker has its own
    settings (its PREFECT_API_URL and home may rightly differ from the web process's on
    another machine; the storage the steps are handed off through must be the same,
    docs/operations.md); only the submitter's settings are left out of the stored
    context, its tags and run contexts are kept.
    """
    read = task_worker.read_parameters
    if getattr(read, "without_settings", False):
        return  # wrapped already

    async def read_without_settings(store: Any, parameters_id: Any) -> dict[str, Any]:
        data: dict[str, Any] = await read(store, parameters_id)
        context = data.get("context")
        if isinstance(context, dict):
            context.pop("settings_context", None)
        return data

    read_without_settings.without_settings = True  # type: ignore[attr-defined]
    task_worker.read_parameters = read_without_settings  # type: ignore[attr-defined]
