"""All SQL of the auth domain."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import AuthSession, OtpChallenge, User

_CALLER_COLUMNS = (User.id.label("user_id"), User.is_moderator, User.banned_at, User.deleted_at, User.last_active_at,
                   AuthSession.id.label("session_id"), AuthSession.revoked_at, AuthSession.revoke_reason,
                   AuthSession.created_at.label("session_created_at"))


class AuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_challenge(self, phone: str, code_hmac: str, expires_at: datetime) -> None:
        # A new code supersedes older open ones; their wrong guesses still count (see failures_since).
        await self.session.execute(
            update(OtpChallenge)
            .where(OtpChallenge.phone_number == phone, OtpChallenge.consumed_at.is_(None))
            .values(consumed_at=func.now())
        )
        self.session.add(OtpChallenge(phone_number=phone, code_hmac=code_hmac, expires_at=expires_at))
        await self.session.flush()

    async def lock_open_challenge(self, phone: str) -> OtpChallenge | None:
        """The newest open challenge, row-locked so parallel guesses are counted one by one."""
        result = await self.session.execute(
            select(OtpChallenge)
            .where(OtpChallenge.phone_number == phone, OtpChallenge.consumed_at.is_(None))
            .order_by(OtpChallenge.created_at.desc())
            .limit(1)
            .with_for_update()
        )
        return result.scalar_one_or_none()

    async def failures_since(self, phone: str, since: datetime) -> int:
        result = await self.session.execute(
            select(func.coalesce(func.sum(OtpChallenge.attempts), 0))
            .where(OtpChallenge.phone_number == phone, OtpChallenge.created_at >= since)
        )
        return int(result.scalar_one())

    async def upsert_verified_user(self, phone: str) -> User:
        stmt = (
            insert(User)
            .values(phone_number=phone, is_verified=True, last_login=func.now(), last_active_at=func.now())
            .on_conflict_do_update(
                index_elements=[User.phone_number],
                set_={"is_verified": True, "last_login": func.now(), "last_active_at": func.now(),
                      "updated_at": func.now()},
            )
            .returning(User)
        )
        result = await self.session.execute(stmt, execution_options={"populate_existing": True})
        return result.scalar_one()

    async def find_user_by_phone(self, phone: str) -> User | None:
        result = await self.session.execute(select(User).where(User.phone_number == phone))
        return result.scalar_one_or_none()

    async def create_session(self, user_id: uuid.UUID, session_id: uuid.UUID, refresh_jti_hash: str,
                             ttl_s: int) -> AuthSession:
        row = AuthSession(id=session_id, user_id=user_id, refresh_jti_hash=refresh_jti_hash,
                          expires_at=func.now() + timedelta(seconds=ttl_s))
        self.session.add(row)
        await self.session.flush()
        return row

    async def lock_session(self, session_id: uuid.UUID) -> AuthSession | None:
        result = await self.session.execute(
            select(AuthSession).where(AuthSession.id == session_id).with_for_update()
        )
        return result.scalar_one_or_none()

    async def rotate_refresh(self, auth_session: AuthSession, refresh_jti_hash: str) -> None:
        auth_session.refresh_jti_hash = refresh_jti_hash
        auth_session.last_used_at = func.now()
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
            select(*_CALLER_COLUMNS).join(AuthSession, AuthSession.user_id == User.id)
            .where(AuthSession.id == session_id, User.id == user_id)
        )
        return result.first()

    async def session_states(self, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
        """`load_caller`'s columns for many sessions in one query (the sockets' periodic re-check);
        a session that no longer exists is absent."""
        result = await self.session.execute(
            select(*_CALLER_COLUMNS).join(AuthSession, AuthSession.user_id == User.id)
            .where(AuthSession.id.in_(session_ids))
        )
        return {row.session_id: row for row in result}

    async def touch_activity(self, user_id: uuid.UUID) -> None:
        await self.session.execute(update(User).where(User.id == user_id).values(last_active_at=func.now()))
