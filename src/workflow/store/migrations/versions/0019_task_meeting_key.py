"""the meeting a task is due by

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 23:30:00

- tasks.meeting_key (nullable): for a task due at the latest when a meeting begins
  (``at_latest: meeting``), that meeting's key on the case. A move of another meeting of
  the case no longer moves it, and after a pause it is capped by its own meeting, not by
  the earliest meeting still booked of any kind. Tasks given before this revision have
  none and keep the earlier reading (any meeting of the case).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("meeting_key", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("meeting_key")
