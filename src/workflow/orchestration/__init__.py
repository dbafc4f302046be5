"""Prefect orchestration: the only package that imports Prefect.

What lives here: the flow of a case step and its tasks (``flows``), the sweep
(``sweep``), bulk intake (``intake``), handing committed steps to Prefect's task workers
(``handoff``, served by ``workflow worker``), the operators' alert (``alerts``),
deployments and work pools (``deployments``, ``workpool``), the local Prefect server
(``server``), the environment of Prefect's processes (``prefect_env``) and the demo
(``demo``).
Flow and task parameters, names, tags, logs and artifacts carry case references and
codes only — never personal data.

May import: ``runtime`` and everything below it. Never ``web`` or ``cli``.
"""
