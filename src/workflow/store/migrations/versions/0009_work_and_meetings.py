"""the work in a case: tasks that close, meetings with a lifecycle, conferences, pools

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 22:30:00

- tasks: who closed them and when (done or cancelled) with a note; the effect's id and
  the step that gave them (grouped for ``when_done``), how long they live (``until``,
  ``stage``), their reminders and the next one due (the sweep's index);
- meetings: a key per case (the calendar UID), their state (booked, moved, cancelled,
  held; checked by the database), the SEQUENCE of their invitations, when they end;
  existing meetings are 'booked' (or 'held' once their time has passed) with keys 1, 2...
  in the order of their start;
- conference_sessions / conference_items: a municipality's case-conference sessions and
  the cases on their agenda;
- pool_entries: a municipality's pooled budget, paid into by departments, drawn by grants.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
MEETING_STATES = ("booked", "moved", "cancelled", "held")


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("created_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("created_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("details", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("until", sa.String(length=64), nullable=False, server_default="stage")
        )
        batch.add_column(sa.Column("stage", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("need", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("raises", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("reminders", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("next_reminder_at", UTC_TIME, nullable=True))
        batch.add_column(sa.Column("closed_at", UTC_TIME, nullable=True))
        batch.add_column(sa.Column("closed_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
    op.create_index(op.f("ix_tasks_next_reminder_at"), "tasks", ["next_reminder_at"])
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("key", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ends_at", UTC_TIME, nullable=True))
        batch.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="booked")
        )
        batch.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("changed_at", UTC_TIME, nullable=True))
        listed = ", ".join(f"'{word}'" for word in MEETING_STATES)
        batch.create_check_constraint(op.f("ck_meetings_state"), f"state IN ({listed})")
    meetings = sa.table(
        "meetings",
        sa.column("id", sa.Integer()),
        sa.column("case_id", sa.Integer()),
        sa.column("key", sa.Integer()),
        sa.column("starts_at", UTC_TIME),
        sa.column("state", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(meetings.c.id, meetings.c.case_id, meetings.c.starts_at).order_by(
            meetings.c.case_id, meetings.c.starts_at, meetings.c.id
        )
    ).all()
    keys: dict[int, int] = {}
    for row in rows:
        keys[row.case_id] = keys.get(row.case_id, 0) + 1
        connection.execute(
            sa.update(meetings).where(meetings.c.id == row.id).values(key=keys[row.case_id])
        )
    op.create_table(
        "conference_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_code", sa.String(length=3), nullable=False),
        sa.Column("definition_id", sa.String(length=64), nullable=False),
        sa.Column("starts_at", UTC_TIME, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conference_sessions")),
    )
    op.create_index(
        op.f("ix_conference_sessions_municipality_code"),
        "conference_sessions",
        ["municipality_code"],
    )
    op.create_table(
        "conference_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("put_forward_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", UTC_TIME, nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_conference_items_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["conference_sessions.id"],
            name=op.f("fk_conference_items_session_id_conference_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conference_items")),
        sa.UniqueConstraint("session_id", "case_id", name=op.f("uq_conference_items_session_id")),
    )
    op.create_index(op.f("ix_conference_items_case_id"), "conference_items", ["case_id"])
    op.create_index(op.f("ix_conference_items_session_id"), "conference_items", ["session_id"])
    op.create_table(
        "pool_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_code", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_pool_entries_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_entries")),
    )
    op.create_index(
        op.f("ix_pool_entries_municipality_code"), "pool_entries", ["municipality_code"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pool_entries_municipality_code"), table_name="pool_entries")
    op.drop_table("pool_entries")
    op.drop_index(op.f("ix_conference_items_session_id"), table_name="conference_items")
    op.drop_index(op.f("ix_conference_items_case_id"), table_name="conference_items")
    op.drop_table("conference_items")
    op.drop_index(
        op.f("ix_conference_sessions_municipality_code"), table_name="conference_sessions"
    )
    op.drop_table("conference_sessions")
    with op.batch_alter_table("meetings") as batch:
        batch.drop_constraint(op.f("ck_meetings_state"), type_="check")
        for column in ("changed_at", "sequence", "state", "ends_at", "key"):
            batch.drop_column(column)
    op.drop_index(op.f("ix_tasks_next_reminder_at"), table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        for column in (
            "note",
            "closed_by",
            "closed_at",
            "next_reminder_at",
            "reminders",
            "raises",
            "need",
            "stage",
            "until",
            "details",
            "created_by",
            "created_seq",
            "key",
        ):
            batch.drop_column(column)
