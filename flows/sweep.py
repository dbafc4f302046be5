"""Prefect entrypoint of the sweep flow (`prefect deploy flows/sweep.py:sweep`)."""

from workflow.orchestration.sweep import sweep

__all__ = ["sweep"]
