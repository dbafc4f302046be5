"""Prefect entrypoint of the bulk intake flow (`prefect deploy flows/intake.py:intake`)."""

from workflow.orchestration.flows import intake

__all__ = ["intake"]
