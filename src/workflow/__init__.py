"""Workflow engine for Danish municipal youth services.

Case lifecycles are written as declarative YAML process definitions
(:mod:`workflow.definitions`) and decided by a pure engine (:mod:`workflow.engine`).
"""

__version__ = "0.1.0"
