"""The pure lifecycle engine: ``decide(definition, case, event, now)``.

What lives here: the decider (``decide``), what a definition's effects produce
(``effects``), timers firing (``firing``) and their timing (``timing``), validating a
step's inputs (``inputs``), the next steps a role can take (``steps``), the access rule
(``access``), planning a migration of running cases (``migration_plan``), the
in-memory simulator (``simulation``) and the kinds of recipient an effect is for
(``vocabulary``).

No I/O, no clock, no Prefect or database: adapters carry out the effects it returns.
May import: ``definitions``, ``errors``, ``texts`` and the standard library only.
"""
