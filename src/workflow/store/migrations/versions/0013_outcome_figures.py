"""the outcome figures: what every step changes in the counts of a municipality's results

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 11:00:00

- case_figures: one row per case (referral, pre-meeting and first meeting held and how
  many days after the referral, deadlines missed on the way, meetings held, the first and
  latest progression level, how and when it ended, the deadline overdue now);
- meeting_figures: a row per meeting held (its number, the level agreed, goals reviewed
  and met); deadline_figures: a row per deadline that fell due.

No names, no free text: numbers and codes. Written by every step from now on; the cases
already stored get theirs from their history here (the same code the steps use).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workflow.store.figures import rebuild_figures

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_figures",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("municipality_code", sa.String(length=3), nullable=False),
        sa.Column("definition_id", sa.String(length=64), nullable=False),
        sa.Column("young_person_id", sa.Integer(), nullable=True),
        sa.Column("referred_at", UTC_TIME, nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("pre_meeting_at", UTC_TIME, nullable=True),
        sa.Column("days_to_pre_meeting", sa.Integer(), nullable=True),
        sa.Column("first_meeting_at", UTC_TIME, nullable=True),
        sa.Column("days_to_first_meeting", sa.Integer(), nullable=True),
        sa.Column("late_to_pre_meeting", sa.Boolean(), nullable=False),
        sa.Column("late_to_first_meeting", sa.Boolean(), nullable=False),
        sa.Column("meetings_held", sa.Integer(), nullable=False),
        sa.Column("first_level", sa.Integer(), nullable=True),
        sa.Column("latest_level", sa.Integer(), nullable=True),
        sa.Column("levels_recorded", sa.Integer(), nullable=False),
        sa.Column("ended_at", UTC_TIME, nullable=True),
        sa.Column("end_stage", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("overdue_timer", sa.String(length=64), nullable=True),
        sa.Column("overdue_since", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_figures_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["young_person_id"],
            ["young_persons.id"],
            name=op.f("fk_case_figures_young_person_id_young_persons"),
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_figures")),
    )
    op.create_index(
        "ix_case_figures_referred", "case_figures", ["municipality_code", "referred_at"]
    )
    op.create_index("ix_case_figures_ended", "case_figures", ["municipality_code", "ended_at"])
    op.create_table(
        "meeting_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("municipality_code", sa.String(length=3), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("held_at", UTC_TIME, nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("goals_reviewed", sa.Integer(), nullable=False),
        sa.Column("goals_met", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_meeting_figures_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_figures")),
    )
    op.create_index(op.f("ix_meeting_figures_case_id"), "meeting_figures", ["case_id"])
    op.create_index("ix_meeting_figures_held", "meeting_figures", ["municipality_code", "held_at"])
    op.create_table(
        "deadline_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("municipality_code", sa.String(length=3), nullable=False),
        sa.Column("timer", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("fired_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_deadline_figures_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_figures")),
    )
    op.create_index(op.f("ix_deadline_figures_case_id"), "deadline_figures", ["case_id"])
    op.create_index(
        "ix_deadline_figures_fired", "deadline_figures", ["municipality_code", "fired_at"]
    )
    rebuild_figures(op.get_bind())


def downgrade() -> None:
    op.drop_table("deadline_figures")
    op.drop_table("meeting_figures")
    op.drop_table("case_figures")
