"""chat: drop ix_messages_match_id (ix_messages_match_seq starts with match_id and serves
every lookup by match; one index fewer to maintain on each message insert)

Revision ID: 0007
Revises: 0001
"""

from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_messages_match_id", table_name="messages")


def downgrade() -> None:
    op.create_index("ix_messages_match_id", "messages", ["match_id"], unique=False)
