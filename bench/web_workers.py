"""The bench's web app served as ``workflow web --workers N`` serves the real one.

    python -m bench.web_workers --port P --workers N   (with BENCH_WEB in the environment)

N processes serve on one port; each builds the bench's runtime (the national store, its
fixed clock, no notification sent) and the real app with the bench's raw floor routes in
front (:class:`bench.national_web.RawFloor`). ``BENCH_WEB``
is a JSON object: the store's URL, home and definitions folder, the clock's moment, the
raw floor's dialect and target, and a file each worker adds its pid to once it is ready.
Served by ``workflow web``'s own supervisor (workflow.cli.web.supervise): a listening
socket per process on the shared port.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime
from pathlib import Path

from starlette.types import ASGIApp

from workflow.cli.web import supervise

#: The environment variable that describes the store to serve.
SPEC = "BENCH_WEB"


def bench_app() -> ASGIApp:
    """The app of one worker process (uvicorn's factory)."""
    from bench.national_bench import NullChannel
    from bench.national_exemplars import Clock
    from bench.national_floors import Raw
    from bench.national_web import RawFloor
    from workflow.runtime import build_runtime
    from workflow.settings import Settings
    from workflow.web.app import create_app

    spec = json.loads(os.environ[SPEC])
    null = NullChannel()
    runtime = build_runtime(
        Settings(
            database_url=spec["database_url"],
            home=Path(spec["home"]),
            definitions_dir=Path(spec["definitions_dir"]),
        ),
        clock=Clock(datetime.fromisoformat(spec["now"])),
        channels={"email": null, "file": null, "webhook": null},
    )
    raw = Raw(spec["raw_dialect"], spec["raw_target"])
    app = RawFloor(create_app(runtime), raw, runtime.uow.clock)
    with Path(spec["ready_file"]).open("a", encoding="utf-8") as ready:
        ready.write(f"{os.getpid()}\n")  # the bench waits for every worker's line
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    supervise("bench.web_workers:bench_app", "127.0.0.1", args.port, args.workers)


if __name__ == "__main__":
    main()
