"""push: devices, notification settings, match mutes and the push outbox (with its triggers)

Revision ID: 0012
Revises: 0011

The outbox is written by triggers in the transaction of the write that causes a notification
(a message, a match, a like), so a rollback sends nothing and a committed write is never lost;
they write only for users with a registered device. A session's devices are deleted when the
session is revoked (logout, refresh reuse, ban) and with it or its user (foreign keys).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_FUNCTIONS = """
CREATE FUNCTION push_enqueue(p_user uuid, p_kind text, p_key text, p_match uuid, p_actor uuid, p_ref uuid)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM push_devices WHERE user_id = p_user) THEN
        RETURN;
    END IF;
    INSERT INTO push_outbox (user_id, kind, collapse_key, match_id, actor_id, ref_id)
    VALUES (p_user, p_kind, p_key, p_match, p_actor, p_ref)
    ON CONFLICT (user_id, collapse_key) WHERE open
    DO UPDATE SET count = push_outbox.count + 1, ref_id = EXCLUDED.ref_id, actor_id = EXCLUDED.actor_id,
                  updated_at = now();
END $$;

CREATE FUNCTION push_on_message() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    recipient uuid;
BEGIN
    SELECT CASE WHEN m.user1_id = NEW.sender_id THEN m.user2_id ELSE m.user1_id END INTO recipient
    FROM matches AS m WHERE m.id = NEW.match_id;
    PERFORM push_enqueue(recipient, 'new_message', 'message:' || NEW.match_id, NEW.match_id, NEW.sender_id, NEW.id);
    RETURN NULL;
END $$;

-- The swipe that made the match is in this transaction (created_at = now()): its author saw the
-- match in the answer, so only the other one is told. Without such a swipe, both are.
CREATE FUNCTION push_on_match() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    swiper uuid;
BEGIN
    SELECT s.swiper_id INTO swiper FROM swipes AS s
    WHERE s.swiper_id IN (NEW.user1_id, NEW.user2_id) AND s.swiped_id IN (NEW.user1_id, NEW.user2_id)
      AND s.created_at = now() LIMIT 1;
    IF swiper IS DISTINCT FROM NEW.user1_id THEN
        PERFORM push_enqueue(NEW.user1_id, 'new_match', 'match:' || NEW.id, NEW.id, NEW.user2_id, NULL);
    END IF;
    IF swiper IS DISTINCT FROM NEW.user2_id THEN
        PERFORM push_enqueue(NEW.user2_id, 'new_match', 'match:' || NEW.id, NEW.id, NEW.user1_id, NULL);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION push_on_like() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM push_enqueue(NEW.swiped_id, 'new_like', 'likes', NULL, NEW.swiper_id, NULL);
    RETURN NULL;
END $$;

CREATE FUNCTION push_session_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM push_devices WHERE session_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER push_on_message AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION push_on_message();
CREATE TRIGGER push_on_match AFTER INSERT ON matches FOR EACH ROW EXECUTE FUNCTION push_on_match();
CREATE TRIGGER push_on_like AFTER INSERT ON swipes FOR EACH ROW WHEN (NEW.action = 'like')
    EXECUTE FUNCTION push_on_like();
CREATE TRIGGER push_session_revoked AFTER UPDATE OF revoked_at ON auth_sessions FOR EACH ROW
    WHEN (NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION push_session_revoked();
"""

_DROP = """
DROP TRIGGER IF EXISTS push_session_revoked ON auth_sessions;
DROP TRIGGER IF EXISTS push_on_like ON swipes;
DROP TRIGGER IF EXISTS push_on_match ON matches;
DROP TRIGGER IF EXISTS push_on_message ON messages;
DROP FUNCTION IF EXISTS push_session_revoked();
DROP FUNCTION IF EXISTS push_on_like();
DROP FUNCTION IF EXISTS push_on_match();
DROP FUNCTION IF EXISTS push_on_message();
DROP FUNCTION IF EXISTS push_enqueue(uuid, text, text, uuid, uuid, uuid);
"""


def _statements(script: str) -> list[str]:
    """One statement each (asyncpg prepares them): split after each `$$;` and each plain `;` line end."""
    out, current = [], []
    for line in script.strip().splitlines():
        if line.startswith("--"):
            continue
        current.append(line)
        if line.rstrip().endswith(";") and ("$$" in line or "$$" not in "\n".join(current)):
            out.append("\n".join(current).strip())
            current = []
    return [statement for statement in out if statement]


def _uuid_fk(name: str, table: str, target: str, nullable: bool = False, primary_key: bool = False) -> sa.Column:
    return sa.Column(
        name,
        sa.UUID(),
        sa.ForeignKey(f"{target}.id", ondelete="CASCADE", name=f"fk_{table}_{name}_{target}"),
        nullable=nullable,
        primary_key=primary_key,
    )


def upgrade() -> None:
    now = sa.text("now()")
    op.create_table(
        "push_devices",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        _uuid_fk("user_id", "push_devices", "users"),
        _uuid_fk("session_id", "push_devices", "auth_sessions"),
        sa.Column("platform", sa.String(length=8), nullable=False),
        sa.Column("token", sa.String(length=512), nullable=False),
        sa.Column("app_version", sa.String(length=32), nullable=True),
        sa.Column("locale", sa.String(length=35), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.CheckConstraint("platform IN ('ios', 'android')", name="ck_push_devices_platform"),
        sa.PrimaryKeyConstraint("id", name="pk_push_devices"),
        sa.UniqueConstraint("token", name="uq_push_devices_token"),
    )
    op.create_index("ix_push_devices_user", "push_devices", ["user_id"])
    op.create_index("ix_push_devices_session", "push_devices", ["session_id"])
    op.create_table(
        "notification_settings",
        _uuid_fk("user_id", "notification_settings", "users", primary_key=True),
        sa.Column("new_matches", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("messages", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("likes", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("promotions", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("message_previews", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("quiet_hours_start", sa.Time(), nullable=True),
        sa.Column("quiet_hours_end", sa.Time(), nullable=True),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_notification_settings"),
    )
    op.create_table(
        "match_mutes",
        _uuid_fk("user_id", "match_mutes", "users"),
        _uuid_fk("match_id", "match_mutes", "matches"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "match_id", name="pk_match_mutes"),
    )
    op.create_table(
        "push_outbox",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        _uuid_fk("user_id", "push_outbox", "users"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("collapse_key", sa.String(length=64), nullable=False),
        _uuid_fk("match_id", "push_outbox", "matches", nullable=True),
        _uuid_fk("actor_id", "push_outbox", "users"),
        sa.Column("ref_id", sa.UUID(), nullable=True),
        sa.Column("count", sa.Integer(), server_default="1", nullable=False),
        sa.Column("open", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("devices", postgresql.ARRAY(sa.UUID()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.CheckConstraint("kind IN ('new_match', 'new_message', 'new_like')", name="ck_push_outbox_kind"),
        sa.PrimaryKeyConstraint("id", name="pk_push_outbox"),
    )
    op.create_index(
        "uq_push_outbox_open", "push_outbox", ["user_id", "collapse_key"], unique=True, postgresql_where=sa.text("open")
    )
    op.create_index("ix_push_outbox_due", "push_outbox", ["not_before"])
    for statement in _statements(_FUNCTIONS):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(_DROP):
        op.execute(statement)
    op.drop_table("push_outbox")
    op.drop_table("match_mutes")
    op.drop_table("notification_settings")
    op.drop_table("push_devices")
