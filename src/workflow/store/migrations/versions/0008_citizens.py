"""citizens take part: guardians, the young person's channels, keyed CPR, citizen logins

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:20:00

The young person and the guardian of a minor log in themselves (OIDC; MitID through
NemLog-in). A login's CPR claim is matched through ``cpr_key``, a keyed hash (HMAC under
the CPR key ring): CPR numbers stay encrypted, and no plain CPR index exists. Rows written
before this revision get their key when the application starts (it needs the key ring,
which a migration does not have; see workflow.privacy.cpr.fill_cpr_keys).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("young_persons") as batch:
        batch.add_column(sa.Column("cpr_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("email", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
    op.create_index(op.f("ix_young_persons_cpr_key"), "young_persons", ["cpr_key"])
    op.create_table(
        "guardians",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("cpr", sa.String(length=255), nullable=False),
        sa.Column("cpr_key", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("since", UTC_TIME, nullable=False),
        sa.Column("until", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_guardians_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardians")),
    )
    op.create_index(op.f("ix_guardians_case_id"), "guardians", ["case_id"])
    op.create_index(op.f("ix_guardians_cpr_key"), "guardians", ["cpr_key"])
    op.create_table(
        "citizen_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("cpr_key", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_citizen_sessions")),
    )
    op.create_index(op.f("ix_citizen_sessions_cpr_key"), "citizen_sessions", ["cpr_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_citizen_sessions_cpr_key"), table_name="citizen_sessions")
    op.drop_table("citizen_sessions")
    op.drop_index(op.f("ix_guardians_cpr_key"), table_name="guardians")
    op.drop_index(op.f("ix_guardians_case_id"), table_name="guardians")
    op.drop_table("guardians")
    op.drop_index(op.f("ix_young_persons_cpr_key"), table_name="young_persons")
    with op.batch_alter_table("young_persons") as batch:
        batch.drop_column("phone")
        batch.drop_column("email")
        batch.drop_column("cpr_key")
