"""account: devices on sessions, pausing discovery, purpose-bound OTP challenges

Revision ID: 0010
Revises: 0009

- auth_sessions.device_name (what the client called itself at login, or its User-Agent) and
  auth_sessions.network (the login address's /24 or /48, never the address itself), for the
  caller's list of devices.
- user_profiles.discoverable: false hides the profile from feeds and likes-you (pause); matches
  and chats stay.
- otp_challenges.purpose: `login` or `change_phone`, so a code texted to move an account to a
  number neither logs anyone in nor supersedes that number's pending login code.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("auth_sessions", sa.Column("device_name", sa.String(length=100), nullable=True))
    op.add_column("auth_sessions", sa.Column("network", sa.String(length=64), nullable=True))
    op.add_column(
        "user_profiles", sa.Column("discoverable", sa.Boolean(), server_default=sa.text("true"), nullable=False)
    )
    op.add_column("otp_challenges", sa.Column("purpose", sa.String(length=16), server_default="login", nullable=False))


def downgrade() -> None:
    op.drop_column("otp_challenges", "purpose")
    op.drop_column("user_profiles", "discoverable")
    op.drop_column("auth_sessions", "network")
    op.drop_column("auth_sessions", "device_name")
