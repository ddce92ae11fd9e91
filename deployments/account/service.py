"""Account lifecycle rules: delete (at once out of sight, erased later), export, and the purge.

Deletion marks the account (`users.deleted_at`): every read path already leaves such accounts
out, sessions are revoked and matches ended in the same transaction, and the purge erases the
rows ACCOUNT_PURGE_DELAY_S later. Logging in before then restores the account (auth clears
`deleted_at`); ended matches stay ended.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from deployments.account.repository import AccountRepository, record
from deployments.account.schemas import AccountExport
from deployments.auth.sms import SmsProvider
from deployments.billing.service import BillingService
from deployments.photos.janitor import MediaJanitor
from deployments.photos.storage import MediaStorage, StorageError
from kit.errors import Forbidden
from kit.security import mask_phone, phone_hmac
from kit.settings import Settings

log = logging.getLogger("app.account")
DELETED = "account_deleted"  # session_ended's reason and the matches' end_reason
PURGE_LOCK = 0x5055524745  # pg advisory lock key ("PURGE"): one purge at a time cluster-wide
BATCH = 100


@dataclass
class Deletion:
    """What to announce once the deletion is committed."""

    user_id: uuid.UUID
    erase_after: datetime
    ended: list[tuple[uuid.UUID, uuid.UUID]]  # (match id, partner)
    liked: list[uuid.UUID]


class AccountService:
    def __init__(self, repo: AccountRepository, settings: Settings) -> None:
        self.repo, self.settings = repo, settings

    async def delete(self, user_id: uuid.UUID, session_id: uuid.UUID, billing: BillingService) -> Deletion:
        """Confirmed by a recent login: the caller's session must come from an OTP entered within
        ACCOUNT_DELETE_LOGIN_MAX_AGE_S (a stolen, long-lived token cannot delete anyone)."""
        login = await self.repo.login_time(session_id)
        max_age = timedelta(seconds=self.settings.account_delete_login_max_age_s)
        if login is None or login < datetime.now(UTC) - max_age:
            raise Forbidden(
                f"Confirm by logging in again (a new code) and deleting within {max_age.seconds // 60} minutes",
                code="recent_login_required",
            )
        await billing.end_now(user_id)  # with the provider first: no renewal after deletion
        deleted_at = await self.repo.mark_deleted(user_id)
        await self.repo.revoke_sessions(user_id, DELETED)
        ended = await self.repo.end_matches(user_id, DELETED)
        log.info("account %s deleted (%d matches ended)", user_id, len(ended))
        return Deletion(
            user_id,
            deleted_at + timedelta(seconds=self.settings.account_purge_delay_s),
            ended,
            await self.repo.liked(user_id),
        )

    async def export(self, user_id: uuid.UUID, storage: MediaStorage, photo_url: Callable[[Any], str]) -> AccountExport:
        rows = await self.repo.export(user_id)
        photos = [
            {
                **record(p),
                "url": photo_url(p),
                "thumbnail_url": storage.url(p.thumbnail_key) if p.thumbnail_key else photo_url(p),
            }
            for p in rows["photos"]
        ]
        matches = [
            {**record(m), "other_user_id": m.user2_id if m.user1_id == user_id else m.user1_id} for m in rows["matches"]
        ]
        messages = [
            {**record(m), "direction": "sent" if m.sender_id == user_id else "received"} for m in rows["messages"]
        ]
        listed = {
            name: [record(row) for row in rows[name]]
            for name in (
                "interests",
                "swipes",
                "blocks",
                "reports_filed",
                "sessions",
                "subscriptions",
                "feed_impressions",
                "push_devices",
                "notification_settings",
                "match_mutes",
            )
        }
        profile = rows["profile"]
        return AccountExport(
            generated_at=datetime.now(UTC),
            user_id=user_id,
            account=record(rows["account"]),
            profile=record(profile) if profile is not None else None,
            photos=photos,
            matches=matches,
            messages=messages,
            **listed,
        )


Forget = Callable[[list[uuid.UUID]], Awaitable[None]]


@dataclass
class Purger:
    """One purge run: what is due is erased, and the counts are logged (never who). Safe when two
    run at once: a PostgreSQL advisory lock lets one proceed, and each account is taken with
    SELECT ... FOR UPDATE SKIP LOCKED, so even without the lock no row is erased twice."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    storage: MediaStorage
    sms: SmsProvider
    forget: Forget | None = None  # drop erased users from the shards' caches (the app passes it)
    orphan_min_age_s: float = 86400.0  # younger objects may belong to an upload in flight
    counts: dict[str, int] = field(default_factory=dict)

    async def run(self) -> dict[str, int] | None:
        """The counts of this run, or None when another purge holds the lock."""
        async with self._exclusive() as mine:
            if not mine:
                log.info("purge skipped: another purge is running")
                return None
            self.counts = {}
            s = self.settings
            warning_days = min(s.inactivity_warning_days, s.inactivity_purge_days - 1)
            self.counts["inactivity_warnings_sent"] = await self._warn_inactive(warning_days)
            self.counts["inactive_accounts"] = await self._in_tx(
                lambda r: r.mark_inactive_deleted(s.inactivity_purge_days, warning_days, s.account_purge_delay_s)
            )
            self.counts["accounts_erased"] = await self._erase_due()
            self.counts["otp_challenges"] = await self._in_tx(lambda r: r.delete_expired_challenges())
            self.counts["sessions"] = await self._in_tx(lambda r: r.delete_ended_sessions(s.session_max_age_s))
            self.counts["reports"] = await self._in_tx(lambda r: r.delete_old_reports(s.report_retention_days))
            if s.ended_match_retention_days:
                days = s.ended_match_retention_days
                self.counts["ended_match_messages"] = await self._in_tx(
                    lambda r: r.delete_old_ended_match_messages(days)
                )
            self.counts["orphaned_media"] = await self._queue_orphans()
            self.counts["media_objects_deleted"] = await self._drain_media()
            log.info("purge erased: %s", ", ".join(f"{name}={n}" for name, n in self.counts.items()))
            return self.counts

    @contextlib.asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[bool]:
        async with self.engine.connect() as conn:
            mine = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": PURGE_LOCK}))
            await conn.commit()  # the lock is the connection's, not the transaction's
            try:
                yield mine
            finally:
                if mine:
                    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PURGE_LOCK})
                    await conn.commit()

    async def _in_tx(self, step: Callable[[AccountRepository], Awaitable[int]]) -> int:
        async with self.sessionmaker() as session, session.begin():
            return await step(AccountRepository(session))

    async def _warn_inactive(self, warning_days: int) -> int:
        s = self.settings
        async with self.sessionmaker() as session:
            due = await AccountRepository(session).to_warn(s.inactivity_purge_days, warning_days, 500)
        sent = 0
        for user_id, phone in due:
            try:
                await self.sms.send(
                    phone,
                    f"Your dating account has been inactive for a long time and will be "
                    f"deleted in {warning_days} days. Log in to keep it.",
                )
            except Exception as exc:  # the provider may be down: the next run tries again
                log.warning("inactivity warning to %s failed: %s", mask_phone(phone), exc)
                continue
            async with self.sessionmaker() as session, session.begin():
                await AccountRepository(session).mark_warned(user_id)
            sent += 1
        return sent

    async def _erase_due(self) -> int:
        erased: list[uuid.UUID] = []
        while True:
            async with self.sessionmaker() as session:
                due = await AccountRepository(session).due_for_erasure(self.settings.account_purge_delay_s, BATCH)
            batch = [user_id for user_id in due if await self._erase(user_id)]
            erased += batch
            if len(due) < BATCH or not batch:
                break
        if erased and self.forget is not None:
            await self.forget(erased)
        return len(erased)

    async def _erase(self, user_id: uuid.UUID) -> bool:
        async with self.sessionmaker() as session, session.begin():
            repo = AccountRepository(session)
            user = await repo.lock_due(user_id, self.settings.account_purge_delay_s)
            if user is None:
                return False  # restored by a login, or another purge has it
            # Stored images are deleted by the media queue (retried until the store confirms).
            await repo.queue_media_deletion(await repo.media_keys(user_id))
            digest = phone_hmac(self.settings, user.phone_number)
            if user.banned_at is not None:
                await repo.keep_ban(digest, user.banned_at)
            await repo.tag_reports(user_id, digest)
            await repo.erase_user(user)
            return True

    async def _queue_orphans(self) -> int:
        try:
            stored = await self.storage.keys_older_than(self.orphan_min_age_s)
        except StorageError as exc:
            log.warning("orphaned media sweep skipped: %s", exc)
            return 0
        queued = 0
        for start in range(0, len(stored), 1000):
            async with self.sessionmaker() as session, session.begin():
                repo = AccountRepository(session)
                orphans = await repo.unknown_keys(stored[start : start + 1000])
                await repo.queue_media_deletion(orphans)
                queued += len(orphans)
        return queued

    async def _drain_media(self) -> int:
        janitor, deleted = MediaJanitor(self.sessionmaker, self.storage), 0
        while (settled := await janitor.run_due(BATCH)) > 0:
            deleted += settled
            if settled < BATCH:
                break
        return deleted
