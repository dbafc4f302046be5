"""consent parts: the young person's and a parent's yes, each given on their own page

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 09:10:00

A guardian's "Giv mit samtykke som forælder" recorded a consent given by the young
person and the guardian, though the young person had not been asked. Now each party's
yes to sharing with a department is a part (``consent_parts``) until every party the
young person's age needs has given theirs; only then is the consent recorded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("given_by", sa.String(length=200), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_consent_parts_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_parts")),
        sa.UniqueConstraint(
            "case_id", "party", "department", name=op.f("uq_consent_parts_case_id")
        ),
    )
    op.create_index(op.f("ix_consent_parts_case_id"), "consent_parts", ["case_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_consent_parts_case_id"), table_name="consent_parts")
    op.drop_table("consent_parts")
