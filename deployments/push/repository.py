"""All SQL of the push domain: devices, preferences and mutes (`PushRepository`, a request's
session), and the outbox the dispatcher drains (`OutboxRepository`, raw asyncpg)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import LazyPool
from models import Match, MatchMute, NotificationSettings, PushDevice

_REGISTER = text("""
INSERT INTO push_devices (user_id, session_id, platform, token, app_version, locale)
VALUES (:user_id, :session_id, :platform, :token, :app_version, :locale)
ON CONFLICT (token) DO UPDATE SET user_id = EXCLUDED.user_id, session_id = EXCLUDED.session_id,
    platform = EXCLUDED.platform, app_version = EXCLUDED.app_version, locale = EXCLUDED.locale, updated_at = now()
RETURNING id, platform, app_version, locale
""")


class PushRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def register(
        self,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        platform: str,
        token: str,
        app_version: str | None,
        locale: str | None,
    ) -> Any:
        """The device row of `token`, now this session's (a token moves to whoever registers it last)."""
        result = await self.session.execute(
            _REGISTER,
            {
                "user_id": user_id,
                "session_id": session_id,
                "platform": platform,
                "token": token,
                "app_version": app_version,
                "locale": locale,
            },
        )
        return result.one()

    async def delete_device(self, device_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(PushDevice).where(PushDevice.id == device_id, PushDevice.user_id == user_id).returning(PushDevice.id)
        )
        return result.first() is not None

    async def preferences(self, user_id: uuid.UUID) -> NotificationSettings | None:
        return await self.session.get(NotificationSettings, user_id)

    async def save_preferences(self, user_id: uuid.UUID, values: dict[str, Any]) -> None:
        stmt = insert(NotificationSettings).values(user_id=user_id, **values)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[NotificationSettings.user_id], set_={**values, "updated_at": text("now()")}
            )
        )

    async def is_participant(self, match_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            select(Match.id).where(Match.id == match_id, (Match.user1_id == user_id) | (Match.user2_id == user_id))
        )
        return result.first() is not None

    async def set_mute(self, user_id: uuid.UUID, match_id: uuid.UUID, muted: bool) -> None:
        if muted:
            await self.session.execute(
                insert(MatchMute).values(user_id=user_id, match_id=match_id).on_conflict_do_nothing()
            )
        else:
            await self.session.execute(
                delete(MatchMute).where(MatchMute.user_id == user_id, MatchMute.match_id == match_id)
            )


# Claim due rows (or rows a crashed dispatcher held longer than the lease): closed to further
# collapsing, stamped, committed at once. SKIP LOCKED lets any number of dispatchers share the table.
_CLAIM = """
UPDATE push_outbox SET open = false, claimed_at = now()
WHERE id IN (
    SELECT id FROM push_outbox
    WHERE (claimed_at IS NULL AND not_before <= now() - make_interval(secs => $1))
       OR claimed_at < now() - make_interval(secs => $2)
    ORDER BY not_before LIMIT $3
    FOR UPDATE SKIP LOCKED)
RETURNING id
"""

# Everything the send-time checks need, re-read now: a block, an unmatch, a ban, a deletion or a
# read receipt that happened after the row was written cancels it.
_CONTEXT = """
SELECT o.id, o.user_id, o.kind, o.collapse_key, o.match_id, o.actor_id, o.count, o.attempts, o.devices,
       o.updated_at, p.first_name AS actor_name,
       (ur.banned_at IS NULL AND ur.deleted_at IS NULL AND ua.banned_at IS NULL AND ua.deleted_at IS NULL) AS people_ok,
       EXISTS (SELECT 1 FROM blocks AS b
               WHERE (b.blocker_id = o.user_id AND b.blocked_id = o.actor_id)
                  OR (b.blocker_id = o.actor_id AND b.blocked_id = o.user_id)) AS blocked,
       m.is_active AS match_active,
       EXISTS (SELECT 1 FROM match_mutes AS mm WHERE mm.user_id = o.user_id AND mm.match_id = o.match_id) AS muted,
       msg.content, msg.message_type, msg.is_read,
       EXISTS (SELECT 1 FROM subscriptions AS s WHERE s.user_id = o.user_id AND s.status = 'active'
               AND (s.expires_at IS NULL OR s.expires_at > now())) AS premium,
       EXISTS (SELECT 1 FROM swipes AS sw WHERE sw.swiper_id = o.actor_id AND sw.swiped_id = o.user_id
               AND sw.action = 'like') AS liked,
       EXISTS (SELECT 1 FROM matches AS mx WHERE mx.user1_id = least(o.user_id, o.actor_id)
               AND mx.user2_id = greatest(o.user_id, o.actor_id)) AS pair_matched,
       coalesce(ns.new_matches, true) AS want_matches, coalesce(ns.messages, true) AS want_messages,
       coalesce(ns.likes, true) AS want_likes, coalesce(ns.message_previews, false) AS previews,
       ns.quiet_hours_start, ns.quiet_hours_end, coalesce(ns.timezone, 'UTC') AS timezone
FROM push_outbox AS o
JOIN users AS ur ON ur.id = o.user_id
JOIN users AS ua ON ua.id = o.actor_id
LEFT JOIN user_profiles AS p ON p.user_id = o.actor_id
LEFT JOIN matches AS m ON m.id = o.match_id
LEFT JOIN messages AS msg ON msg.id = o.ref_id
LEFT JOIN notification_settings AS ns ON ns.user_id = o.user_id
WHERE o.id = ANY($1::uuid[])
"""

_UNREAD = """
SELECT u.id, (SELECT count(*) FROM messages AS msg JOIN matches AS m ON m.id = msg.match_id
              WHERE (m.user1_id = u.id OR m.user2_id = u.id) AND m.is_active
                AND msg.sender_id <> u.id AND NOT msg.is_read) AS unread
FROM unnest($1::uuid[]) AS u(id)
"""

_ADMIRERS = """
SELECT u.id, (SELECT count(*) FROM swipes AS s WHERE s.swiped_id = u.id AND s.action = 'like'
              AND NOT EXISTS (SELECT 1 FROM swipes AS r WHERE r.swiper_id = u.id AND r.swiped_id = s.swiper_id))
FROM unnest($1::uuid[]) AS u(id)
"""

# Only devices of live sessions (the revocation trigger deletes revoked ones; expiry has no event).
_DEVICES = """
SELECT d.id, d.user_id, d.platform, d.token, d.locale FROM push_devices AS d
JOIN auth_sessions AS a ON a.id = d.session_id
WHERE d.user_id = ANY($1::uuid[]) AND a.revoked_at IS NULL AND a.expires_at > now()
"""

_EXPIRED_DEVICES = """
DELETE FROM push_devices AS d USING auth_sessions AS a
WHERE a.id = d.session_id AND (a.revoked_at IS NOT NULL OR a.expires_at <= now())
"""


@dataclass(frozen=True)
class Device:
    id: uuid.UUID
    user_id: uuid.UUID
    platform: str
    token: str
    locale: str | None


class OutboxRepository:
    def __init__(self, pool: LazyPool) -> None:
        self.pool = pool

    async def claim(self, window_s: float, lease_s: float, limit: int) -> list[uuid.UUID]:
        rows = await (await self.pool.get()).fetch(_CLAIM, window_s, lease_s, limit)
        return [row["id"] for row in rows]

    async def contexts(self, ids: list[uuid.UUID]) -> list[Any]:
        return list(await (await self.pool.get()).fetch(_CONTEXT, ids))

    async def unread(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        return {row[0]: row[1] for row in await (await self.pool.get()).fetch(_UNREAD, user_ids)}

    async def admirers(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        return {row[0]: row[1] for row in await (await self.pool.get()).fetch(_ADMIRERS, user_ids)}

    async def devices(self, user_ids: list[uuid.UUID]) -> list[Device]:
        return [Device(*row) for row in await (await self.pool.get()).fetch(_DEVICES, user_ids)]

    async def done(self, ids: list[uuid.UUID]) -> None:
        if ids:
            await (await self.pool.get()).execute("DELETE FROM push_outbox WHERE id = ANY($1::uuid[])", ids)

    async def later(self, row_id: uuid.UUID, at: datetime, devices: list[uuid.UUID] | None, attempt: bool) -> None:
        """Send again at `at` (a retry: counted, to `devices` only; quiet hours: not counted)."""
        await (await self.pool.get()).execute(
            "UPDATE push_outbox SET claimed_at = NULL, not_before = $2, devices = $3,"
            " attempts = attempts + $4 WHERE id = $1",
            row_id,
            at,
            devices,
            1 if attempt else 0,
        )

    async def forget_devices(self, device_ids: list[uuid.UUID]) -> None:
        if device_ids:
            await (await self.pool.get()).execute("DELETE FROM push_devices WHERE id = ANY($1::uuid[])", device_ids)

    async def forget_expired_devices(self) -> None:
        await (await self.pool.get()).execute(_EXPIRED_DEVICES)
