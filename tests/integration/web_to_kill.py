"""Run as a separate process: serve the real web app, as ``workflow up`` does, until killed.

Used by the audit fault test (test_audit_kill.py): the store comes from the environment
(WORKFLOW_DATABASE_URL, WORKFLOW_HOME), the port from the command line; the app is served
by :func:`workflow.web.server.serve_in_thread` (uvicorn, the same settings) and this
process waits for its SIGKILL.
"""

from __future__ import annotations

import sys
import threading

from workflow.runtime import get_runtime
from workflow.web.app import create_app
from workflow.web.server import serve_in_thread


def main() -> None:
    serve_in_thread(create_app(get_runtime()), "127.0.0.1", int(sys.argv[1]))
    sys.stdout.write("serving\n")
    sys.stdout.flush()
    threading.Event().wait()  # until killed


if __name__ == "__main__":
    main()
