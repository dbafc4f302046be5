"""Prefect deployment entrypoint: serve the case-step, sweep, intake and monthly-outcomes
flows.

    PREFECT_API_URL=http://127.0.0.1:4200/api python flows/deployments.py

`workflow up` does the same after starting a local Prefect server.
"""

from workflow.orchestration.deployments import serve_all

if __name__ == "__main__":
    serve_all()
