"""matching: indexes for the feed index's incremental refresh

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-26

The FeedRanker re-reads, every few seconds, only the users whose profile, account, photos
or interests changed after a watermark; these indexes keep that a range scan, not a
sequential scan of every table.
"""

from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_user_profiles_updated_at", "user_profiles", ["updated_at"]),
    ("ix_users_updated_at", "users", ["updated_at"]),
    ("ix_users_last_active_at", "users", ["last_active_at"]),
    ("ix_profile_photos_created_at", "profile_photos", ["created_at"]),
    ("ix_user_interests_created_at", "user_interests", ["created_at"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
