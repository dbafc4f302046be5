"""a task held by a pause of its case

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 17:40:00

- tasks.held_since (nullable): when a pause of the case set the task aside with its stage
  (``until: stage``). While it is set no reminder is sent and the task is not overdue;
  when the case returns to the task's stage its due time and reminders move on by the
  pause's length, and it is cleared (a task of a stage left for good ends instead).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("held_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("held_since")
