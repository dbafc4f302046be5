"""sessions and API tokens that can be listed, revoked and scoped; no account lockout

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 10:00:00

- web_sessions.public_id (unique): names a session or token where it is listed and
  revoked. Existing rows get the first 16 characters of their token's hash (a hash of a
  hash prefix: it does not lead to the token).
- web_sessions.name (nullable): what an API token is for, as its owner named it.
- web_sessions.scopes (JSON): what an API token may do. Existing API tokens get
  ``read`` and ``act`` (not ``cpr``: revealing CPR numbers is asked for anew); browser
  sessions get all three (a person at the screen has their account's rights).
- accounts.failed_logins and accounts.locked_until are dropped: failed logins are
  counted per address and per username in the web process (workflow.privacy.login_throttle),
  no longer by locking the account.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("web_sessions") as batch:
        batch.add_column(sa.Column("public_id", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("name", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("scopes", sa.JSON(), nullable=True))
    op.execute("UPDATE web_sessions SET public_id = substr(token_hash, 1, 16)")
    op.execute("""UPDATE web_sessions SET scopes = '["read", "act"]' WHERE kind = 'api'""")
    op.execute("""UPDATE web_sessions SET scopes = '["read", "act", "cpr"]' WHERE kind <> 'api'""")
    with op.batch_alter_table("web_sessions") as batch:
        batch.alter_column("public_id", existing_type=sa.String(length=16), nullable=False)
        batch.alter_column("scopes", existing_type=sa.JSON(), nullable=False)
        batch.create_unique_constraint(batch.f("uq_web_sessions_public_id"), ["public_id"])
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("web_sessions") as batch:
        batch.drop_constraint(batch.f("uq_web_sessions_public_id"), type_="unique")
        batch.drop_column("scopes")
        batch.drop_column("name")
        batch.drop_column("public_id")
