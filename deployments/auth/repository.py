"""All SQL of the auth domain."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import LazyPool, Row
from models import AuthSession, BannedPhone, OtpChallenge, User

_CALLER_COLUMNS = (
    User.id.label("user_id"),
    User.is_moderator,
    User.banned_at,
    User.deleted_at,
    User.last_active_at,
    AuthSession.id.label("session_id"),
    AuthSession.revoked_at,
    AuthSession.revoke_reason,
    AuthSession.created_at.label("session_created_at"),
)


class AuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_challenge(self, phone: str, code_hmac: str, expires_at: datetime, purpose: str = "login") -> None:
        # A new code supersedes older open ones of its purpose; their wrong guesses still count (see failures_since).
        await self.session.execute(
            update(OtpChallenge)
            .where(
                OtpChallenge.phone_number == phone, OtpChallenge.purpose == purpose, OtpChallenge.consumed_at.is_(None)
            )
            .values(consumed_at=func.now())
        )
        self.session.add(OtpChallenge(phone_number=phone, code_hmac=code_hmac, expires_at=expires_at, purpose=purpose))
        await self.session.flush()

    async def lock_open_challenge(self, phone: str, purpose: str = "login") -> OtpChallenge | None:
        """The newest open challenge of this purpose, row-locked so parallel guesses are counted one by one."""
        result = await self.session.execute(
            select(OtpChallenge)
            .where(
                OtpChallenge.phone_number == phone, OtpChallenge.purpose == purpose, OtpChallenge.consumed_at.is_(None)
            )
            .order_by(OtpChallenge.created_at.desc())
            .limit(1)
            .with_for_update()
        )
        return result.scalar_one_or_none()

    async def failures_since(self, phone: str, since: datetime) -> int:
        result = await self.session.execute(
            select(func.coalesce(func.sum(OtpChallenge.attempts), 0)).where(
                OtpChallenge.phone_number == phone, OtpChallenge.created_at >= since
            )
        )
        return int(result.scalar_one())

    async def upsert_verified_user(self, phone: str) -> User:
        stmt = (
            insert(User)
            .values(phone_number=phone, is_verified=True, last_login=func.now(), last_active_at=func.now())
            .on_conflict_do_update(
                index_elements=[User.phone_number],
                # deleted_at: logging in before the purge restores a deleted account.
                set_={
                    "is_verified": True,
                    "last_login": func.now(),
                    "last_active_at": func.now(),
                    "updated_at": func.now(),
                    "deleted_at": None,
                },
            )
            .returning(User)
        )
        result = await self.session.execute(stmt, execution_options={"populate_existing": True})
        return result.scalar_one()

    async def number_banned(self, phone_hmac: str) -> bool:
        """A banned account with this number was erased (models.BannedPhone)."""
        result = await self.session.execute(select(BannedPhone.phone_hmac).where(BannedPhone.phone_hmac == phone_hmac))
        return result.scalar_one_or_none() is not None

    async def find_user_by_phone(self, phone: str) -> User | None:
        result = await self.session.execute(select(User).where(User.phone_number == phone))
        return result.scalar_one_or_none()

    async def create_session(
        self,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        refresh_jti_hash: str,
        ttl_s: int,
        device_name: str | None = None,
        network: str | None = None,
    ) -> AuthSession:
        row = AuthSession(
            id=session_id,
            user_id=user_id,
            refresh_jti_hash=refresh_jti_hash,
            expires_at=func.now() + timedelta(seconds=ttl_s),
            last_used_at=func.now(),
            device_name=device_name,
            network=network,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def lock_session(self, session_id: uuid.UUID) -> AuthSession | None:
        result = await self.session.execute(select(AuthSession).where(AuthSession.id == session_id).with_for_update())
        return result.scalar_one_or_none()

    async def rotate_refresh(
        self, auth_session: AuthSession, refresh_jti_hash: str, ttl_s: int, network: str | None = None
    ) -> None:
        # expires_at follows the refresh token in use: the session lives while its newest one does
        # (the device list and the purge of ended sessions read it; SESSION_MAX_AGE_S still caps it).
        auth_session.refresh_jti_hash = refresh_jti_hash
        auth_session.last_used_at = func.now()
        auth_session.expires_at = func.now() + timedelta(seconds=ttl_s)
        if network is not None:
            auth_session.network = network
        await self.session.flush()

    async def revoke_session(self, session_id: uuid.UUID, reason: str) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=func.now(), revoke_reason=reason)
        )

    async def revoke_all_sessions(self, user_id: uuid.UUID, reason: str) -> list[uuid.UUID]:
        result = await self.session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=func.now(), revoke_reason=reason)
            .returning(AuthSession.id)
        )
        return list(result.scalars())

    async def load_caller(self, session_id: uuid.UUID, user_id: uuid.UUID):
        """What every authenticated request checks (user id, is_moderator, banned_at, deleted_at,
        last_active_at, session_id, revoked_at, revoke_reason, session_created_at), in one query;
        None when the user or session is gone. Plain columns, not ORM objects: this runs on every request."""
        result = await self.session.execute(
            select(*_CALLER_COLUMNS)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(AuthSession.id == session_id, User.id == user_id)
        )
        return result.first()

    async def session_states(self, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
        """`load_caller`'s columns for many sessions in one query (the sockets' periodic re-check);
        a session that no longer exists is absent."""
        result = await self.session.execute(
            select(*_CALLER_COLUMNS)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(AuthSession.id.in_(session_ids))
        )
        return {row.session_id: row for row in result}

    async def touch_activity(self, user_id: uuid.UUID) -> None:
        await self.session.execute(update(User).where(User.id == user_id).values(last_active_at=func.now()))

    # --- devices ----------------------------------------------------------------------------

    async def live_sessions(self, user_id: uuid.UUID, max_age_s: int) -> list[AuthSession]:
        """The user's sessions whose tokens still work (not revoked, refresh token and login lifetime
        not past), most recently used first."""
        result = await self.session.execute(
            select(AuthSession)
            .where(
                AuthSession.user_id == user_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > func.now(),
                AuthSession.created_at > func.now() - timedelta(seconds=max_age_s),
            )
            .order_by(func.coalesce(AuthSession.last_used_at, AuthSession.created_at).desc(), AuthSession.id)
        )
        return list(result.scalars())

    async def revoke_own_session(self, session_id: uuid.UUID, user_id: uuid.UUID, reason: str) -> bool | None:
        """Revoke one of the user's sessions: None if it is not theirs (or does not exist), else
        whether it was live until now."""
        owner = await self.session.execute(
            select(AuthSession.id).where(AuthSession.id == session_id, AuthSession.user_id == user_id)
        )
        if owner.scalar_one_or_none() is None:
            return None
        revoked = await self.session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=func.now(), revoke_reason=reason)
            .returning(AuthSession.id)
        )
        return revoked.scalar_one_or_none() is not None

    async def revoke_other_sessions(self, user_id: uuid.UUID, keep: uuid.UUID, reason: str) -> list[uuid.UUID]:
        result = await self.session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.id != keep, AuthSession.revoked_at.is_(None))
            .values(revoked_at=func.now(), revoke_reason=reason)
            .returning(AuthSession.id)
        )
        return list(result.scalars())

    # --- phone change -----------------------------------------------------------------------

    async def phone_of(self, user_id: uuid.UUID) -> str | None:
        result = await self.session.execute(select(User.phone_number).where(User.id == user_id))
        return result.scalar_one_or_none()

    async def move_to_phone(self, user_id: uuid.UUID, phone: str) -> User | None:
        """Give the account this number; None if another account holds it (also one that took it
        a moment ago: the unique index decides, inside a savepoint so the request can answer)."""
        try:
            async with self.session.begin_nested():
                result = await self.session.execute(
                    update(User)
                    .where(User.id == user_id)
                    .values(phone_number=phone, is_verified=True, updated_at=func.now())
                    .returning(User),
                    execution_options={"populate_existing": True},
                )
                return result.scalar_one()
        except IntegrityError:
            return None


_CALLER_SQL = """
SELECT u.id AS user_id, u.is_moderator, u.banned_at, u.deleted_at, u.last_active_at,
       s.id AS session_id, s.revoked_at, s.revoke_reason, s.created_at AS session_created_at
  FROM auth_sessions s JOIN users u ON u.id = s.user_id
 WHERE s.id = $1 AND u.id = $2
"""


class CallerRepository:
    """The check every authenticated request makes, on the raw asyncpg pool: one statement and no
    transaction (through the ORM session it cost a BEGIN and a COMMIT round trip, and more CPU than
    the query). Read from PostgreSQL on every request, never cached: a revoked, banned or deleted
    session is refused on its next request on every replica, with no invalidation to get wrong."""

    def __init__(self, pg: LazyPool) -> None:
        self.pg = pg

    async def load(self, session_id: uuid.UUID, user_id: uuid.UUID) -> Row | None:
        """`AuthRepository.load_caller`'s row; None when the user or session is gone."""
        pool = await self.pg.get()
        return await pool.fetchrow(_CALLER_SQL, session_id, user_id, record_class=Row)

    async def touch_activity(self, user_id: uuid.UUID) -> None:
        """A single statement on its own (autocommit): it must not wait for, or roll back with, the request."""
        pool = await self.pg.get()
        await pool.execute("UPDATE users SET last_active_at = now() WHERE id = $1", user_id)
