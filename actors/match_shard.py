"""MatchShard: live chat state for many matches (a virtual actor per match, many per shard).

Per match it holds the latest seq, each participant's read watermark (highest seq of the
other's messages they have read), who is typing, and which participants have a socket
engaged with the conversation. It is a cache: PostgreSQL holds every acknowledged message
and the durable seq (`matches.last_seq`), messages are written by the gateway before the
shard hears of them, and a restarted shard rebuilds a match from PostgreSQL on first use.
So killing a shard loses no message; it only forgets who was typing a moment ago.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from actors.pg import LazyPool

log = logging.getLogger("app.match_shard")
TYPING_TTL_S = 6.0       # a typing_start counts for this long unless repeated (clients that vanish stop typing)
PRESENCE_TTL_S = 120.0   # a participant's socket is "here" while it keeps acting within this window
MAX_CACHED_MATCHES = 100_000

LOAD_SQL = """
SELECT m.user1_id, m.user2_id, m.last_seq,
       (SELECT max(seq) FROM messages WHERE match_id = m.id AND sender_id = m.user2_id AND is_read) AS read1,
       (SELECT max(seq) FROM messages WHERE match_id = m.id AND sender_id = m.user1_id AND is_read) AS read2
FROM matches m WHERE m.id = $1
"""


@dataclass
class _Live:
    users: tuple[str, str]
    last_seq: int
    read_seq: dict[str, int]
    present: dict[str, float] = field(default_factory=dict)  # user -> monotonic expiry


BATCHABLE = frozenset({"record_message", "mark_read", "present"})


class MatchShard:
    def __init__(self, shard_index: int, database_url: str) -> None:
        self.shard_index = shard_index
        self.database_url = database_url
        self._live: OrderedDict[str, _Live] = OrderedDict()
        self._loading: dict[str, asyncio.Future] = {}
        self._typing: dict[str, dict[str, float]] = {}
        self._pool = LazyPool(database_url)
        self.loads = 0
        self.started_at = time.time()

    async def ping(self) -> int:
        return self.shard_index

    async def apply(self, ops: list[tuple[str, tuple]]) -> int:
        """Apply a batch of fire-and-forget updates in their order: gateways coalesce them so a
        busy chat costs one actor call per shard and window, not one per message."""
        applied = 0
        for method, args in ops:
            if method in BATCHABLE:
                await getattr(self, method)(*args)
                applied += 1
        return applied

    async def record_message(self, match_id: str, seq: int, sender_id: str) -> int:
        """A message was committed; returns the match's latest seq. Sending stops typing."""
        live = await self._get(match_id)
        if live is not None:
            live.last_seq = max(live.last_seq, seq)
        self._typing.get(match_id, {}).pop(sender_id, None)
        return live.last_seq if live else seq

    async def mark_read(self, match_id: str, reader_id: str, seq: int) -> int:
        live = await self._get(match_id)
        if live is None:
            return seq
        live.read_seq[reader_id] = max(live.read_seq.get(reader_id, 0), seq)
        return live.read_seq[reader_id]

    async def typing(self, match_id: str, user_id: str, is_typing: bool) -> bool:
        """Record typing state; True when the other participant should be told (a change, or a
        keep-alive once half the TTL has passed)."""
        now = time.monotonic()
        typists = self._typing.setdefault(match_id, {})
        expires = typists.get(user_id)
        active = expires is not None and expires > now
        if not is_typing:
            typists.pop(user_id, None)
            if not typists:
                self._typing.pop(match_id, None)
            return active
        typists[user_id] = now + TYPING_TTL_S
        return not active or expires - now < TYPING_TTL_S / 2

    async def present(self, match_id: str, user_id: str, here: bool) -> None:
        """A participant's socket is engaged with (or left) this conversation."""
        live = await self._get(match_id)
        if live is None:
            return
        if here:
            live.present[user_id] = time.monotonic() + PRESENCE_TTL_S
        else:
            live.present.pop(user_id, None)

    async def snapshot(self, match_id: str) -> dict | None:
        live = await self._get(match_id)
        if live is None:
            return None
        now = time.monotonic()
        return {
            "match_id": match_id, "last_seq": live.last_seq, "read_seq": dict(live.read_seq),
            "typing": sorted(u for u, exp in self._typing.get(match_id, {}).items() if exp > now),
            "present": sorted(u for u, exp in live.present.items() if exp > now),
            "shard": self.shard_index,
        }

    async def forget(self, match_id: str) -> None:
        self._live.pop(match_id, None)
        self._typing.pop(match_id, None)

    async def stats(self) -> dict:
        return {"shard": self.shard_index, "cached": len(self._live), "loads": self.loads,
                "started_at": self.started_at}

    async def close(self) -> None:
        await self._pool.close()

    async def _get(self, match_id: str) -> _Live | None:
        live = self._live.get(match_id)
        if live is not None:
            self._live.move_to_end(match_id)
            return live
        pending = self._loading.get(match_id)
        if pending is None:  # one load per match, however many callers wait for it
            pending = asyncio.ensure_future(self._load(match_id))
            self._loading[match_id] = pending
            pending.add_done_callback(lambda _: self._loading.pop(match_id, None))
        return await asyncio.shield(pending)

    async def _load(self, match_id: str) -> _Live | None:
        row = await (await self._pool.get()).fetchrow(LOAD_SQL, uuid.UUID(match_id))
        self.loads += 1
        if row is None:
            return None
        user1, user2 = str(row["user1_id"]), str(row["user2_id"])
        live = _Live((user1, user2), int(row["last_seq"]), {user1: int(row["read1"] or 0), user2: int(row["read2"] or 0)})
        self._live[match_id] = live
        while len(self._live) > MAX_CACHED_MATCHES:
            self._live.popitem(last=False)
        return live
