"""All SQL of the account lifecycle. Deletion and erasure reach every table that names a user,
so this repository reads and writes them directly (from the models), never through another
domain's repository: erasure must follow the schema, not any one domain's rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    AuthSession,
    BannedPhone,
    Block,
    FeedImpression,
    Match,
    MatchMute,
    MediaDeletion,
    Message,
    NotificationSettings,
    OtpChallenge,
    ProfilePhoto,
    PushDevice,
    Report,
    Subscription,
    Swipe,
    User,
    UserInterest,
    UserProfile,
)

# Columns an export leaves out: secrets and derived values, not data about the person.
HIDDEN = {
    "otp_hash",
    "otp_expires_at",
    "refresh_jti_hash",
    "location",
    "storage_key",
    "thumbnail_key",
    "code_hmac",
    "resolution_note",
    "resolved_by",
    "evidence",
}
# Last activity of an account: what the inactivity purge measures from.
_ACTIVITY = "coalesce(u.last_active_at, u.last_login, u.created_at)"


def record(row: Any) -> dict[str, Any]:
    """A model row as a dict of its stored columns (new columns appear in exports by themselves)."""
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in HIDDEN}


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- deletion ---------------------------------------------------------------------------

    async def login_time(self, session_id: uuid.UUID) -> datetime | None:
        """When this session's login (OTP) happened; refreshes do not move it."""
        return await self.session.scalar(select(AuthSession.created_at).where(AuthSession.id == session_id))

    async def mark_deleted(self, user_id: uuid.UUID) -> datetime:
        """Out of every feed, likes-you and match list at once (they all filter deleted_at; the
        ranker's incremental refresh reads users changed after its watermark)."""
        result = await self.session.execute(
            update(User)
            .where(User.id == user_id)
            .values(deleted_at=func.coalesce(User.deleted_at, func.now()), updated_at=func.now())
            .returning(User.deleted_at)
        )
        deleted_at = result.scalar_one()
        assert deleted_at is not None  # just set
        return deleted_at

    async def revoke_sessions(self, user_id: uuid.UUID, reason: str) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=func.now(), revoke_reason=reason)
        )

    async def end_matches(self, user_id: uuid.UUID, reason: str) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """End every active match of the user: (match id, partner) of each."""
        result = await self.session.execute(
            update(Match)
            .where(or_(Match.user1_id == user_id, Match.user2_id == user_id), Match.is_active)
            .values(is_active=False, unmatched_at=func.now(), unmatched_by=user_id, end_reason=reason)
            .returning(Match.id, Match.user1_id, Match.user2_id)
        )
        return [(row.id, row.user2_id if row.user1_id == user_id else row.user1_id) for row in result]

    async def liked(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        """Whom the user liked: their cached likes-you sets must forget the user."""
        result = await self.session.execute(
            select(Swipe.swiped_id).where(Swipe.swiper_id == user_id, Swipe.action == "like")
        )
        return list(result.scalars())

    # -- export -----------------------------------------------------------------------------

    async def _all(self, statement) -> list[Any]:
        return list((await self.session.execute(statement)).scalars())

    async def export(self, user_id: uuid.UUID) -> dict[str, Any]:
        """Every row about the user, as model rows (photos and matches raw: the service renders them)."""
        match_ids = select(Match.id).where(or_(Match.user1_id == user_id, Match.user2_id == user_id))
        return {
            "account": await self.session.get(User, user_id),
            "profile": await self.session.scalar(select(UserProfile).where(UserProfile.user_id == user_id)),
            "photos": await self._all(
                select(ProfilePhoto)
                .where(ProfilePhoto.user_id == user_id)
                .order_by(ProfilePhoto.order_index, ProfilePhoto.created_at)
            ),
            "interests": await self._all(
                select(UserInterest).where(UserInterest.user_id == user_id).order_by(UserInterest.created_at)
            ),
            "swipes": await self._all(select(Swipe).where(Swipe.swiper_id == user_id).order_by(Swipe.created_at)),
            "matches": await self._all(select(Match).where(Match.id.in_(match_ids)).order_by(Match.matched_at)),
            "messages": await self._all(
                select(Message).where(Message.match_id.in_(match_ids)).order_by(Message.match_id, Message.seq)
            ),
            "blocks": await self._all(select(Block).where(Block.blocker_id == user_id).order_by(Block.created_at)),
            "reports_filed": await self._all(
                select(Report).where(Report.reporter_id == user_id).order_by(Report.created_at)
            ),
            "sessions": await self._all(
                select(AuthSession).where(AuthSession.user_id == user_id).order_by(AuthSession.created_at)
            ),
            "subscriptions": await self._all(
                select(Subscription).where(Subscription.user_id == user_id).order_by(Subscription.created_at)
            ),
            "feed_impressions": await self._all(
                select(FeedImpression)
                .where(FeedImpression.viewer_id == user_id)
                .order_by(FeedImpression.first_shown_at)
            ),
            "push_devices": await self._all(
                select(PushDevice).where(PushDevice.user_id == user_id).order_by(PushDevice.created_at)
            ),
            "notification_settings": await self._all(
                select(NotificationSettings).where(NotificationSettings.user_id == user_id)
            ),
            "match_mutes": await self._all(
                select(MatchMute).where(MatchMute.user_id == user_id).order_by(MatchMute.created_at)
            ),
        }

    # -- purge ------------------------------------------------------------------------------

    async def due_for_erasure(self, delay_s: int, limit: int) -> list[uuid.UUID]:
        result = await self.session.execute(
            select(User.id)
            .where(User.deleted_at <= func.now() - text("make_interval(secs => :delay)"))
            .order_by(User.deleted_at)
            .limit(limit),
            {"delay": delay_s},
        )
        return list(result.scalars())

    async def lock_due(self, user_id: uuid.UUID, delay_s: int) -> User | None:
        """The account, row-locked, if it is still due (a login since may have restored it); a
        purge running elsewhere holds it already: skipped, not waited for."""
        return await self.session.scalar(
            select(User)
            .where(User.id == user_id, User.deleted_at <= func.now() - text("make_interval(secs => :delay)"))
            .with_for_update(skip_locked=True),
            {"delay": delay_s},
        )

    async def media_keys(self, user_id: uuid.UUID) -> list[str]:
        result = await self.session.execute(
            select(ProfilePhoto.storage_key, ProfilePhoto.thumbnail_key).where(ProfilePhoto.user_id == user_id)
        )
        return [key for row in result for key in row if key]

    async def queue_media_deletion(self, keys: list[str]) -> None:
        if keys:
            due = datetime.now(UTC)
            await self.session.execute(
                insert(MediaDeletion), [{"storage_key": key, "next_attempt_at": due} for key in keys]
            )

    async def keep_ban(self, phone_hmac: str, banned_at: datetime) -> None:
        await self.session.execute(
            pg_insert(BannedPhone).values(phone_hmac=phone_hmac, banned_at=banned_at).on_conflict_do_nothing()
        )

    async def tag_reports(self, user_id: uuid.UUID, phone_hmac: str) -> None:
        await self.session.execute(
            update(Report).where(Report.reported_user_id == user_id).values(reported_phone_hmac=phone_hmac)
        )

    async def erase_user(self, user: User) -> None:
        """The account row and, by cascade, every row hanging off it (profile, photos, interests,
        swipes, matches and their messages, messages sent, blocks, sessions, subscriptions, feed
        impressions); OTP challenges are keyed by number, not id."""
        await self.session.execute(delete(OtpChallenge).where(OtpChallenge.phone_number == user.phone_number))
        await self.session.execute(delete(User).where(User.id == user.id))

    async def to_warn(self, purge_days: int, warning_days: int, limit: int) -> list[tuple[uuid.UUID, str]]:
        """Accounts that will be erased for inactivity in `warning_days` and were not warned since
        their last activity."""
        result = await self.session.execute(
            text(f"""
            SELECT u.id, u.phone_number FROM users u
             WHERE u.deleted_at IS NULL AND u.banned_at IS NULL
               AND {_ACTIVITY} < now() - make_interval(days => :days)
               AND (u.inactivity_warned_at IS NULL OR u.inactivity_warned_at < {_ACTIVITY})
             ORDER BY {_ACTIVITY} LIMIT :limit"""),
            {"days": purge_days - warning_days, "limit": limit},
        )
        return [(row.id, row.phone_number) for row in result]

    async def mark_warned(self, user_id: uuid.UUID) -> None:
        await self.session.execute(update(User).where(User.id == user_id).values(inactivity_warned_at=func.now()))

    async def mark_inactive_deleted(self, purge_days: int, warning_days: int, delay_s: int) -> int:
        """Inactive past `purge_days` and warned at least `warning_days` ago (banned accounts get no
        warning): marked deleted and due at once, so the erasure step takes them."""
        result = await self.session.execute(
            text(f"""
            UPDATE users u SET deleted_at = now() - make_interval(secs => :delay), updated_at = now()
             WHERE u.deleted_at IS NULL
               AND {_ACTIVITY} < now() - make_interval(days => :purge)
               AND (u.banned_at IS NOT NULL
                    OR (u.inactivity_warned_at >= {_ACTIVITY}
                        AND u.inactivity_warned_at <= now() - make_interval(days => :warn)))"""),
            {"delay": delay_s + 1, "purge": purge_days, "warn": warning_days},
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def delete_expired_challenges(self) -> int:
        # A day past expiry: the last hour's challenges count wrong guesses per number.
        return await self._count(text("DELETE FROM otp_challenges WHERE expires_at < now() - interval '1 day'"))

    async def delete_ended_sessions(self, max_age_s: int) -> int:
        # A day past their end: a socket told `session_ended` may still re-read the reason.
        return await self._count(
            text("""
            DELETE FROM auth_sessions WHERE revoked_at < now() - interval '1 day'
                OR expires_at < now() - interval '1 day'
                OR created_at < now() - make_interval(secs => :age) - interval '1 day'"""),
            {"age": max_age_s},
        )

    async def delete_old_reports(self, retention_days: int) -> int:
        """Reports naming an erased account, once past the retention."""
        return await self._count(
            text("""
            DELETE FROM reports r WHERE r.created_at < now() - make_interval(days => :days)
               AND (NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.reporter_id)
                    OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.reported_user_id))"""),
            {"days": retention_days},
        )

    async def delete_old_ended_match_messages(self, retention_days: int) -> int:
        return await self._count(
            text("""
            DELETE FROM messages m USING matches x
             WHERE m.match_id = x.id AND NOT x.is_active
               AND x.unmatched_at < now() - make_interval(days => :days)"""),
            {"days": retention_days},
        )

    async def unknown_keys(self, keys: list[str]) -> list[str]:
        """Of these stored keys, those no photo points at and no deletion is queued for."""
        if not keys:
            return []
        result = await self.session.execute(
            text("""
            SELECT k FROM unnest(CAST(:keys AS text[])) AS k
             WHERE NOT EXISTS (SELECT 1 FROM profile_photos p WHERE p.storage_key = k OR p.thumbnail_key = k)
               AND NOT EXISTS (SELECT 1 FROM media_deletions d WHERE d.storage_key = k)"""),
            {"keys": keys},
        )
        return list(result.scalars())

    async def _count(self, statement, params: dict[str, Any] | None = None) -> int:
        result = await self.session.execute(statement, params or {})
        return int(getattr(result, "rowcount", 0) or 0)
