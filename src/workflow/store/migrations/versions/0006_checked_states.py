"""states and recipient kinds checked by the database (timers, outbox rows, tasks)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:00:00

A timer's, an outbox row's and a task's state, and a task's assignee kind, hold one of
a few words, which code names by enums (workflow.store.states,
workflow.engine.vocabulary); a CHECK constraint now refuses any other word. The words
are written out here as they are at this revision (a later revision that adds one
replaces the constraint). Every version so far wrote only these words, so existing
stores upgrade as they are; a row holding another word stops the upgrade (nothing is
changed) rather than being rewritten. On SQLite, batch mode copies each table (foreign
keys are off while migrating: workflow.store.database.migrate); on PostgreSQL each
constraint is added and checked against the rows in place.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: table -> column -> the words it may hold.
CHECKED: dict[str, dict[str, tuple[str, ...]]] = {
    "timers": {"state": ("running", "fired", "cancelled")},
    "outbox": {"state": ("pending", "sending", "sent", "dead", "withheld")},
    "tasks": {
        "assignee_kind": ("role", "department", "team_member"),
        "state": ("open", "done", "cancelled"),
    },
}


def upgrade() -> None:
    for table, columns in CHECKED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, words in columns.items():
                listed = ", ".join(f"'{word}'" for word in words)
                batch_op.create_check_constraint(
                    op.f(f"ck_{table}_{column}"), f"{column} IN ({listed})"
                )


def downgrade() -> None:
    for table, columns in CHECKED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
