"""The definition language: pydantic models, a located YAML loader, load-time checks.

Pure: no I/O beyond reading definition files, no clock, no Prefect or database.
"""

from workflow.definitions.loader import load_definition, load_directory
from workflow.definitions.models import Definition

__all__ = ["Definition", "load_definition", "load_directory"]
