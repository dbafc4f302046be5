"""Serving the web app with uvicorn in a background thread (beside the Prefect server)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

from workflow.web.private_logs import LOG_CONFIG


def server_config(app: FastAPI | str, host: str, port: int) -> uvicorn.Config:
    """How the web app is served: ``app`` itself, or the "module:function" that makes it
    in each serving process (``workflow web --workers``)."""
    # proxy_headers=False: request.client stays the TCP peer. uvicorn would otherwise
    # replace it with X-Forwarded-For's (FORWARDED_ALLOW_IPS='*' trusts anyone), and the
    # trusted-header login checks the peer; workflow.web.identity reads X-Forwarded-For
    # itself, and only from the trusted proxies.
    return uvicorn.Config(
        app,
        factory=isinstance(app, str),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        log_config=LOG_CONFIG,  # tracebacks by type and code location only
    )


def serve_in_thread(app: FastAPI, host: str, port: int, timeout: float = 20.0) -> uvicorn.Server:
    """Start serving ``app`` on host:port; returns once it accepts connections."""
    config = server_config(app, host, port)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the web app did not start on {host}:{port} (is the port taken?)")
        time.sleep(0.05)
    return server


def free_local_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (for a helper server)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
