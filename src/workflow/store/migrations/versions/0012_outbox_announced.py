"""the outbox remembers when the operators were told a row was given up

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 06:00:00

- outbox.announced_at (nullable): when a Prefect event announced the dead row (once per
  row; cleared when the row is taken again). Rows already dead are left unannounced: the
  next sweep announces them, as they are still waiting for an operator.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("announced_at")
