"""Prefect entrypoint of the bulk intake flow (`prefect deploy flows/intake.py:intake`)."""

from workflow.orchestration.intake import intake

__all__ = ["intake"]
