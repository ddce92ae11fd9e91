"""account lifecycle: reports outlive erased accounts, banned numbers as HMACs, inactivity warnings

Revision ID: 0011
Revises: 0010

- reports.reporter_id / reported_user_id lose their foreign keys (an erased account no longer
  deletes the reports naming it: safety evidence kept for REPORT_RETENTION_DAYS, then the purge
  deletes it); reports.reported_phone_hmac is set when the reported account is erased.
- banned_phones: the HMAC of a banned account's number, written when that account is erased, so
  the number cannot sign up again.
- users.inactivity_warned_at: when the purge texted the inactivity warning.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("fk_reports_reporter_id_users", "reports", type_="foreignkey")
    op.drop_constraint("fk_reports_reported_user_id_users", "reports", type_="foreignkey")
    op.add_column("reports", sa.Column("reported_phone_hmac", sa.String(length=64), nullable=True))
    op.add_column("users", sa.Column("inactivity_warned_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "banned_phones",
        sa.Column("phone_hmac", sa.String(length=64), nullable=False),
        sa.Column("banned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("phone_hmac", name="pk_banned_phones"),
    )


def downgrade() -> None:
    op.drop_table("banned_phones")
    op.drop_column("users", "inactivity_warned_at")
    op.drop_column("reports", "reported_phone_hmac")
    # Reports naming erased accounts cannot point at users again.
    op.execute(
        "DELETE FROM reports r WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.reporter_id) "
        "OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.reported_user_id)"
    )
    op.create_foreign_key(
        "fk_reports_reporter_id_users", "reports", "users", ["reporter_id"], ["id"], ondelete="CASCADE"
    )
    op.create_foreign_key(
        "fk_reports_reported_user_id_users", "reports", "users", ["reported_user_id"], ["id"], ondelete="CASCADE"
    )
