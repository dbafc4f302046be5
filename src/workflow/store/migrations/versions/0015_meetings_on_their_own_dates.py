"""meeting figures dated by the meeting: a held meeting counts on the day it was held

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 19:30:00

``meeting_figures.held_at`` was the time of the step that recorded the meeting as held;
a meeting registered a few days later was shown in the progression table (case page,
meeting mode, the young person's page) and counted in the outcome figures on the day of
its registration. It is now the meeting's own start (a pre-meeting's level keeps the
step's time). The figures already stored are written again from the cases' histories,
by the same code the steps use (as 0013 first wrote them).
"""

from __future__ import annotations

from alembic import op

from workflow.store.figures import rebuild_figures

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    rebuild_figures(op.get_bind())


def downgrade() -> None:
    """Nothing to undo in the schema; the figures stay dated by the meeting."""
