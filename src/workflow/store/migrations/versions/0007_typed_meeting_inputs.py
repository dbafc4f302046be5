"""stored definitions say what their inputs are: coordinator, meeting, meeting_place

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 17:00:00

Until this revision the store decided what an input meant from its name: a ``person``
input called ``coordinator`` was recorded as the case's coordinator, a ``datetime``
input whose name ends in ``meeting_at`` booked a meeting (and its notifications carried
a calendar invitation), and a ``choice`` called ``meeting_room`` or ``meeting_place``
was where meetings are held. Now the definition says so with the input types
``coordinator``, ``meeting`` and ``meeting_place``, and the store follows the type.

Running cases are pinned to the definition version they started on, whose body is
stored here: this revision gives those stored bodies the types their inputs had by name,
so a running case goes on recording its coordinator and meetings exactly as before.
The version's content hash is kept (it names the version the case is pinned to; the
meaning of the body is unchanged). The old naming rule lives only here, frozen.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_VERSIONS = sa.table("definition_versions", sa.column("id", sa.Integer), sa.column("body", sa.JSON))

#: (old type, test of the name, new type) as the store read them before this revision.
_BY_NAME = (
    ("person", lambda name: name == "coordinator", "coordinator"),
    ("datetime", lambda name: name.endswith("meeting_at"), "meeting"),
    ("choice", lambda name: name in ("meeting_room", "meeting_place"), "meeting_place"),
)


def _inputs(body: dict[str, Any]) -> list[dict[str, Any]]:
    steps = [body.get("referral") or {}, *(body.get("transitions") or [])]
    return [item for step in steps for item in step.get("inputs") or []]


def _retype(body: dict[str, Any], forward: bool) -> bool:
    changed = False
    for item in _inputs(body):
        name, kind = str(item.get("name", "")), item.get("type")
        for old, named, new in _BY_NAME:
            if forward and kind == old and named(name):
                item["type"], changed = new, True
            elif not forward and kind == new:
                item["type"], changed = old, True
    return changed


def _rewrite(forward: bool) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_VERSIONS.c.id, _VERSIONS.c.body)).all()
    for version_id, body in rows:
        if isinstance(body, dict) and _retype(body, forward):
            connection.execute(
                _VERSIONS.update().where(_VERSIONS.c.id == version_id).values(body=body)
            )


def upgrade() -> None:
    _rewrite(forward=True)


def downgrade() -> None:
    _rewrite(forward=False)
