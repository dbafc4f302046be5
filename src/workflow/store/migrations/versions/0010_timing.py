"""the definition language's time: what the engine remembers between steps

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 02:00:00

- cases.timing (JSON, nullable): repeating timers' anchors (their first due time before
  alignment, so later due times never drift), timers suspended by a pause with the time
  they had left, and when each milestone was reached (for ``expires_after``). Existing
  cases have none: their repeating timers count from their next due time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("timing", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("timing")
