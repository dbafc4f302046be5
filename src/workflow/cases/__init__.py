"""Cases: the use cases of a case's lifecycle, one transaction each.

What lives here: the case service (refer, trigger, view, reveal the CPR number) and its
parts — opening a case (``opening``), recording a step (``recording``), firing timers
(``timers``), idempotency keys (``idempotency``), the caseload (``caseload``) — and
moving running cases to a new definition version (``definition_versions``,
``upgrades``). ``model`` holds what the services take and give (requests, results).

May import: ``privacy`` (authorisation), ``store`` (the unit of work, statements),
``engine``, ``definitions``, ``errors``, ``settings``, ``texts``. Never ``delivery``,
``web``, ``orchestration``, ``cli`` or ``runtime``, and never Prefect.
"""
