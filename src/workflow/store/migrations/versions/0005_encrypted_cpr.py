"""young persons' CPR numbers encrypted at rest

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 12:00:00

A CPR number is now stored as a Fernet token (100 characters for "010203-1234"), so the
column is widened. The values themselves are not touched here: rows stored before this
revision hold plaintext until `workflow cpr rotate` encrypts them (it needs the key ring,
which migrations do not see). Downgrading narrows the column again; on PostgreSQL that
fails while tokens are stored (they do not fit in 64 characters), which is the safe
outcome: a version before this one could not read them anyway.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("young_persons", schema=None) as batch_op:
        batch_op.alter_column(
            "cpr",
            existing_type=sa.String(length=64),
            type_=sa.String(length=255),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("young_persons", schema=None) as batch_op:
        batch_op.alter_column(
            "cpr",
            existing_type=sa.String(length=255),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
