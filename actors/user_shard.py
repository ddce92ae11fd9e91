"""UserShard: a virtual-actor shard hosting the matching state of many users.

Per user, loaded lazily from PostgreSQL on first use and kept up to date by the gateway
after each committed swipe:
- `likes`: timestamps of the user's likes in the rolling 24 h window (the like counter),
- `recent`: the user's last swipes, newest last,
- `liked_by`: who liked the user and has not been swiped back yet (feed boost, likes-you).

All of it is a cache. A restarted shard reloads a user from PostgreSQL on the next call,
and the like limit is enforced again by PostgreSQL inside the swipe transaction, so a lost
or stale cache can at worst reject early (then `forget` reloads), never allow an extra like.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from kit.db import LazyPool

WINDOW_S = 24 * 3600
RECENT_SWIPES = 50

_LOAD_SQL = """
SELECT 'recent' AS kind, swiped_id::text AS other, action, extract(epoch FROM created_at)::float8 AS at
  FROM (SELECT swiped_id, action, created_at FROM swipes WHERE swiper_id = $1
        ORDER BY created_at DESC LIMIT $2) recent
UNION ALL
SELECT 'window', swiped_id::text, action, extract(epoch FROM created_at)::float8
  FROM swipes WHERE swiper_id = $1 AND action = 'like' AND created_at > now() - interval '24 hours'
UNION ALL
SELECT 'liked_by', s.swiper_id::text, s.action, extract(epoch FROM s.created_at)::float8
  FROM swipes s
 WHERE s.swiped_id = $1 AND s.action = 'like'
   AND NOT EXISTS (SELECT 1 FROM swipes r WHERE r.swiper_id = $1 AND r.swiped_id = s.swiper_id)
"""


@dataclass
class UserState:
    likes: deque = field(default_factory=deque)  # epoch seconds, oldest first
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT_SWIPES))  # (target, action, at)
    liked_by: set = field(default_factory=set)

    def prune(self, now: float) -> None:
        while self.likes and self.likes[0] <= now - WINDOW_S:
            self.likes.popleft()


class UserShard:
    def __init__(self, shard_index: int, database_url: str) -> None:
        self.shard_index = shard_index
        self._pool = LazyPool(database_url)
        self.users: dict[str, UserState] = {}
        self._loading: dict[str, asyncio.Future] = {}
        self.loads = 0  # how many users were (re)loaded from PostgreSQL
        self.started_at = time.time()  # tells one incarnation from the next after a restart

    async def ping(self) -> int:
        return self.shard_index

    async def stats(self) -> dict:
        return {
            "shard_index": self.shard_index,
            "users": len(self.users),
            "loads": self.loads,
            "started_at": self.started_at,
        }

    async def close(self) -> None:
        await self._pool.close()

    async def check_like(self, user_id: str, limit: int) -> dict:
        """Whether the cached window still has room for one more like (a fast pre-check)."""
        state = await self._state(str(user_id))
        now = time.time()
        state.prune(now)
        used = len(state.likes)
        resets_at = state.likes[0] + WINDOW_S if state.likes else now
        return {"allowed": used < limit, "used": used, "resets_at": resets_at}

    async def record_swipe(self, user_id: str, target_id: str, action: str, at: float | None = None) -> None:
        """The swipe is committed: update the swiper's cached counters (an uncached user is
        left alone, since loading now would read this swipe from PostgreSQL and count it twice)."""
        state = self.users.get(str(user_id))
        if state is None:
            return
        at = at or time.time()
        state.recent.append((str(target_id), action, at))
        state.liked_by.discard(str(target_id))
        if action == "like":
            state.likes.append(at)

    async def liked_by_changed(self, user_id: str, liker_id: str, liked: bool) -> None:
        """Someone's like on `user_id` appeared (a like) or went away (a rewind)."""
        state = self.users.get(str(user_id))
        if state is None:
            return  # not cached: the next load reads it from PostgreSQL
        if liked:
            state.liked_by.add(str(liker_id))
        else:
            state.liked_by.discard(str(liker_id))

    async def liked_by(self, user_id: str) -> list[str]:
        return sorted((await self._state(str(user_id))).liked_by)

    async def snapshot(self, user_id: str) -> dict:
        state = await self._state(str(user_id))
        state.prune(time.time())
        return {
            "likes_24h": len(state.likes),
            "recent": [list(s) for s in state.recent],
            "liked_by": sorted(state.liked_by),
            "loads": self.loads,
        }

    async def forget(self, user_id: str) -> None:
        """Drop the cached state (after a rewind or a disagreement with PostgreSQL)."""
        self.users.pop(str(user_id), None)

    async def _state(self, user_id: str) -> UserState:
        state = self.users.get(user_id)
        if state is not None:
            return state
        pending = self._loading.get(user_id)
        if pending is None:  # one load per user even when many calls arrive at once
            pending = asyncio.get_running_loop().create_task(self._load(user_id))
            self._loading[user_id] = pending
        try:
            return await asyncio.shield(pending)
        finally:
            if pending.done():
                self._loading.pop(user_id, None)

    async def _load(self, user_id: str) -> UserState:
        rows = await (await self._pool.get()).fetch(_LOAD_SQL, user_id, RECENT_SWIPES)
        state = UserState()
        for row in sorted((r for r in rows if r["kind"] == "recent"), key=lambda r: r["at"]):
            state.recent.append((row["other"], row["action"], row["at"]))
        state.likes.extend(sorted(r["at"] for r in rows if r["kind"] == "window"))
        state.liked_by.update(r["other"] for r in rows if r["kind"] == "liked_by")
        self.users[user_id] = state
        self.loads += 1
        return state
