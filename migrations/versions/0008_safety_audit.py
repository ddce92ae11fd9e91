"""safety: feed_impressions (who a feed has shown to whom) and moderation_audit (every moderation action)

Revision ID: 0008
Revises: 0001

Auto-hiding after reports counts only reporters who could have met the person: a match (active
or ended) or a feed impression. Every moderation action, automatic hiding included, leaves an
audit row written in the same transaction as the action.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_impressions",
        sa.Column(
            "viewer_id",
            sa.UUID(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_feed_impressions_viewer_id_users"),
            nullable=False,
        ),
        sa.Column(
            "candidate_id",
            sa.UUID(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_feed_impressions_candidate_id_users"),
            nullable=False,
        ),
        sa.Column("first_shown_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("viewer_id", "candidate_id", name="pk_feed_impressions"),
    )
    op.create_index("ix_feed_impressions_candidate", "feed_impressions", ["candidate_id"])
    op.create_table(
        "moderation_audit",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target_user_id", sa.UUID(), nullable=True),
        sa.Column("report_id", sa.UUID(), nullable=True),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "action IN ('report_resolved', 'user_banned', 'user_auto_hidden')", name="ck_moderation_audit_action"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_moderation_audit"),
    )
    op.create_index("ix_moderation_audit_created", "moderation_audit", ["created_at", "id"])
    op.create_index("ix_moderation_audit_target", "moderation_audit", ["target_user_id", "created_at"])


def downgrade() -> None:
    op.drop_table("moderation_audit")
    op.drop_table("feed_impressions")
