"""The web app works on at most ``web_threads`` requests at once (docs/benchmarks.md: a
few threads answer many users sooner than anyio's default 40)."""

from __future__ import annotations

import dataclasses
import threading
import time

import httpx
from fastapi import FastAPI

from workflow.runtime import Runtime
from workflow.web.app import create_app
from workflow.web.server import free_local_port, serve_in_thread


def test_the_app_runs_its_pages_on_the_configured_threads(sqlite_runtime: Runtime) -> None:
    settings = sqlite_runtime.settings.model_copy(update={"web_threads": 2})
    app: FastAPI = create_app(dataclasses.replace(sqlite_runtime, settings=settings))
    busy, most, lock = [0], [0], threading.Lock()

    def slow() -> dict[str, int]:  # a sync route, as every page is
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
        time.sleep(0.2)
        with lock:
            busy[0] -= 1
        return {"ok": 1}

    app.add_api_route("/slow-for-test", slow, dependencies=[])
    port = free_local_port()
    server = serve_in_thread(app, "127.0.0.1", port)
    try:
        answers: list[int] = []

        def ask() -> None:
            answers.append(httpx.get(f"http://127.0.0.1:{port}/slow-for-test").status_code)

        askers = [threading.Thread(target=ask) for _ in range(6)]
        for asker in askers:
            asker.start()
        for asker in askers:
            asker.join(10)
    finally:
        server.should_exit = True
    assert answers == [200] * 6
    assert most[0] == 2, f"{most[0]} requests were worked on at once, not the 2 configured"
