"""The case store: tables, migrations, the driver path, and the unit of work.

What lives here: SQLAlchemy tables (``tables``) and the column types they store values
with (``column_types``: aware datetimes as UTC), the states their rows move through
(``states``, checked by the database) and Alembic migrations (``migrations``),
connecting (``database``) and the JSON text written (``json_text``), prepared
statements run on the driver (``driver``, ``statements``), loading, reading and writing
a case (``loading``, ``reading``, ``repository``), a person's standing on a case
(``standing``), caseload queries (``caseload``), the audit writer (``audit``), the
definitions catalogue with its stored versions (``catalog``), the busy-store retry
policy (``busy``) and the unit of work that owns session, clock, catalogue and CPR
cipher (``unit_of_work``).

The store holds no domain rules: what an input *is* comes from the definition (its
type), never from its name. May import: ``engine`` (pure types), ``definitions``,
``errors``, ``settings``. Never a service package, ``web``, ``orchestration`` or ``cli``.
"""
