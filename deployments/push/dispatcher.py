"""`PushDispatcher`: drains the push outbox outside the request path.

Each round claims due rows (`FOR UPDATE SKIP LOCKED`, so any number of dispatchers share the
table), re-reads everything the send-time checks need (blocks, unmatches, bans, read receipts,
preferences, presence), sends with bounded concurrency, and then deletes the row, moves it to
the end of the quiet hours, or schedules a retry (429/5xx, exponential backoff) for the devices
that failed. Dead tokens are deleted at once and never retried. Under Ray Serve it runs as its
own deployment (`deployments.serve_app.ServedPushDispatcher`); on bare uvicorn the push domain's
start-up hook runs the same loop in-process.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from deployments.push.presence import Presence
from deployments.push.providers import Notification, Outcome, PushProvider, Result
from deployments.push.repository import Device, OutboxRepository
from deployments.push.service import decide
from kit.settings import Settings

log = logging.getLogger("app.push")
LEASE_S = 120.0  # a claimed row a crashed dispatcher held this long is claimed again
CLEANUP_EVERY_S = 300.0  # devices of expired sessions (expiry has no event) are swept this often


@dataclass
class Stats:
    sent: int = 0
    invalid: int = 0
    retried: int = 0
    dropped: int = 0
    deferred: int = 0


class PushDispatcher:
    def __init__(
        self, settings: Settings, outbox: OutboxRepository, presence: Presence, provider: PushProvider
    ) -> None:
        self.settings, self.outbox, self.presence, self.provider = settings, outbox, presence, provider
        self.limit = asyncio.Semaphore(settings.push_concurrency)
        self.stats = Stats()
        self._last_cleanup = 0.0

    async def run_forever(self, interval_s: float) -> None:
        while True:
            try:
                while await self.run_once() >= self.settings.push_batch_size:
                    pass  # a full batch: more are probably due
                await self._cleanup()
            except asyncio.CancelledError:
                raise
            except Exception:  # PostgreSQL or Redis away: the rows stay, the next round retries
                log.exception("push dispatch round failed")
            await asyncio.sleep(interval_s)

    async def run_once(self) -> int:
        """One round; how many rows it claimed."""
        s = self.settings
        ids = await self.outbox.claim(s.push_collapse_window_s, LEASE_S, s.push_batch_size)
        if not ids:
            return 0
        rows = await self.outbox.contexts(ids)
        users = list({row["user_id"] for row in rows})
        seen = await self.presence.seen_since([(row["user_id"], row["updated_at"].timestamp()) for row in rows])
        unread = await self.outbox.unread(users)
        free_likes = [row["user_id"] for row in rows if row["kind"] == "new_like" and not row["premium"]]
        admirers = await self.outbox.admirers(free_likes) if free_likes else {}
        devices: dict[uuid.UUID, list[Device]] = {}
        for device in await self.outbox.devices(users):
            devices.setdefault(device.user_id, []).append(device)
        now = datetime.now(UTC)
        done: list[uuid.UUID] = [i for i in ids if i not in {row["id"] for row in rows}]
        work = []
        for row in rows:
            decision = decide(
                row, row["user_id"] in seen, unread.get(row["user_id"], 0), admirers.get(row["user_id"], 0), now
            )
            if decision.at is not None:
                self.stats.deferred += 1
                await self.outbox.later(row["id"], decision.at, row["devices"], attempt=False)
            elif decision.note is None:
                self.stats.dropped += 1
                done.append(row["id"])
            else:
                targets = [
                    d for d in devices.get(row["user_id"], []) if row["devices"] is None or d.id in row["devices"]
                ]
                work.append(self._deliver(row, decision.note, targets))
        for finished in await asyncio.gather(*work):
            if finished is not None:
                done.append(finished)
        await self.outbox.done(done)
        return len(ids)

    async def _deliver(self, row: Any, note: Notification, targets: list[Device]) -> uuid.UUID | None:
        """Send to each device; the row id when the row is finished, None when a retry is scheduled."""
        results = await asyncio.gather(*(self._send(device, note) for device in targets))
        dead = [d.id for d, r in zip(targets, results, strict=True) if r.outcome is Outcome.INVALID]
        await self.outbox.forget_devices(dead)
        self.stats.invalid += len(dead)
        self.stats.sent += sum(r.outcome is Outcome.SENT for r in results)
        retry = [(d, r) for d, r in zip(targets, results, strict=True) if r.outcome is Outcome.RETRY]
        attempts = row["attempts"] + 1
        if not retry or attempts >= self.settings.push_max_attempts:
            return row["id"]
        delay = self.settings.push_retry_base_s * 2 ** row["attempts"]
        delay = max([delay, *(r.retry_after_s or 0.0 for _, r in retry)])
        self.stats.retried += len(retry)
        await self.outbox.later(
            row["id"], datetime.now(UTC) + timedelta(seconds=delay), [d.id for d, _ in retry], attempt=True
        )
        return None

    async def _send(self, device: Device, note: Notification) -> Result:
        async with self.limit:
            try:
                return await self.provider.send(device.platform, device.token, note)
            except Exception as exc:  # a provider bug must not lose the row: retry it
                log.warning("push to a %s device failed: %s", device.platform, exc)
                return Result(Outcome.RETRY, reason=type(exc).__name__)

    async def _cleanup(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_cleanup >= CLEANUP_EVERY_S:
            self._last_cleanup = loop.time()
            await self.outbox.forget_expired_devices()

    async def close(self) -> None:
        await self.provider.close()
