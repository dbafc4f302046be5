"""Prefect entrypoint of the per-step flow (`prefect deploy flows/case_step.py:case_step`)."""

from workflow.orchestration.flows import case_step

__all__ = ["case_step"]
