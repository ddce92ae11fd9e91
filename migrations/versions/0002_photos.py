"""photos: indexes for the media janitor

The janitor looks up due `media_deletions` entries and checks whether a photo row still
references their keys; both would be full scans without these indexes.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_profile_photos_storage_key", "profile_photos", ["storage_key"])
    op.create_index("ix_profile_photos_thumbnail_key", "profile_photos", ["thumbnail_key"])
    op.create_index("ix_media_deletions_next_attempt_at", "media_deletions", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_media_deletions_next_attempt_at", table_name="media_deletions")
    op.drop_index("ix_profile_photos_thumbnail_key", table_name="profile_photos")
    op.drop_index("ix_profile_photos_storage_key", table_name="profile_photos")
