"""merge: one head again

0002, 0003, 0006, 0007 and 0008 each branched from 0001, which left five heads: a plain
`alembic upgrade head` refused to choose among them. This revision joins them; every new
revision names the single head before it (tests/test_migrations.py fails on a second head).

Revision ID: 0009
Revises: 0002, 0003, 0006, 0007, 0008
"""

revision = "0009"
down_revision = ("0002", "0003", "0006", "0007", "0008")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
