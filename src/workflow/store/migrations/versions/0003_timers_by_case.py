"""a case's running timers by one index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 12:00:00

Without it SQLite (which keeps no statistics) answered "running timers of this case"
through ix_timers_due, scanning every running timer: caseload pages over 50,000 cases
took seconds. The composite index replaces ix_timers_case_id.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.create_index("ix_timers_case_state_due", ["case_id", "state", "due_at"])
        batch_op.drop_index("ix_timers_case_id")


def downgrade() -> None:
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.create_index("ix_timers_case_id", ["case_id"])
        batch_op.drop_index("ix_timers_case_state_due")
