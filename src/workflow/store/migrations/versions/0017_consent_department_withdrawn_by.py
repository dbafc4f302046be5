"""a department's consent withdrawn names who withdrew it

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 15:40:00

- consent_departments.withdrawn_by (nullable): the actor's label (role:id) who withdrew
  the consent for the department, as consents.withdrawn_by is for a whole consent. The
  young person's page says who it was ("af din forælder/værge"). Rows withdrawn before
  keep none (the audit log holds who).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consent_departments") as batch:
        batch.add_column(sa.Column("withdrawn_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_departments") as batch:
        batch.drop_column("withdrawn_by")
