"""MatchShard: who is typing, for many matches (a virtual actor per match, many per shard).

Typing indicators are the one piece of chat state that is not in PostgreSQL: every message,
its seq and read receipts are written there by the gateway. So killing a shard loses no
message; it only forgets who was typing a moment ago.
"""

from __future__ import annotations

import time

TYPING_TTL_S = 6.0  # a typing_start counts for this long unless repeated (clients that vanish stop typing)

BATCHABLE = frozenset({"message_sent"})


class MatchShard:
    def __init__(self, shard_index: int) -> None:
        self.shard_index = shard_index
        self._typing: dict[str, dict[str, float]] = {}  # match -> user -> monotonic expiry
        self.started_at = time.time()  # tells one incarnation from the next after a restart

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

    async def message_sent(self, match_id: str, sender_id: str) -> None:
        """Sending stops typing: the sender's next typing_start is news again."""
        typists = self._typing.get(match_id, {})
        typists.pop(sender_id, None)
        if not typists:
            self._typing.pop(match_id, None)

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
        return not active or expires is None or expires - now < TYPING_TTL_S / 2

    async def stats(self) -> dict:
        return {"shard": self.shard_index, "started_at": self.started_at}
