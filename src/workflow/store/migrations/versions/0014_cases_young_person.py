"""an index on cases.young_person_id: a young person's cases found without a scan

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 18:00:00

A referral looks for the courses already open for its young person
(``cases/referred_again.py``), and a citizen's login finds their cases: both join
``cases`` to ``young_persons`` by the young person. Without the index a bulk intake's
chunk scanned every case (50,000 referrals took 54 s on SQLite and 106 s on PostgreSQL
against 37 and 46 s).
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_young_person_id", "cases", ["young_person_id"])


def downgrade() -> None:
    op.drop_index("ix_cases_young_person_id", table_name="cases")
