"""Prefect orchestration: the only package that imports Prefect.

What lives here: the flows and their tasks (``flows``: a case step, the sweep, intake),
deployments and work pools (``deployments``, ``workpool``), running steps off the
request (``background``), the local Prefect server (``server``) and the demo (``demo``).
Flow and task parameters, names, tags, logs and artifacts carry case references and
codes only — never personal data.

May import: ``runtime`` and everything below it. Never ``web`` or ``cli``.
"""
