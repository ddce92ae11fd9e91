"""Which users have the app open, across replicas (Redis), so a push goes only to users whose
sockets did not get the event.

A socket counts as *foreground* from its authentication until it reports `app_state`
background or closes. Each foreground socket is a member of `push:fg:<user>` whose score is its
lease's end (renewed by its replica; a crashed replica's sockets lapse on their own); when one
stops being foreground, `push:fg_last:<user>` records the moment. The dispatcher's question,
"did a foreground socket exist at any time since this event?", is then one ZCOUNT and one GET.
"""

from __future__ import annotations

import time
import uuid

import redis.asyncio as aioredis

LEASE_S = 90.0
LAST_TTL_S = 7 * 24 * 3600


def _fg(user_id: uuid.UUID | str) -> str:
    return f"push:fg:{user_id}"


def _last(user_id: uuid.UUID | str) -> str:
    return f"push:fg_last:{user_id}"


class Presence:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def foreground(self, members: list[tuple[str, str]]) -> None:
        """(user id, socket key) pairs whose app is open now (added, or their lease renewed)."""
        if not members:
            return
        until = time.time() + LEASE_S
        async with self.redis.pipeline(transaction=False) as pipe:
            for user_id, socket_key in members:
                pipe.zadd(_fg(user_id), {socket_key: until})
                pipe.expire(_fg(user_id), int(LEASE_S) * 2)
            await pipe.execute()

    async def gone(self, user_id: str, socket_key: str) -> None:
        """The socket went to the background or closed: the app was open until now."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrem(_fg(user_id), socket_key)
            pipe.set(_last(user_id), repr(time.time()), ex=LAST_TTL_S)
            await pipe.execute()

    async def seen_since(self, events: list[tuple[uuid.UUID, float]]) -> set[uuid.UUID]:
        """The users (of (user, event epoch) pairs) whose app was open at some moment since the event."""
        if not events:
            return set()
        now = time.time()
        async with self.redis.pipeline(transaction=False) as pipe:
            for user_id, _ in events:
                pipe.zcount(_fg(user_id), now, "+inf")
                pipe.get(_last(user_id))
            answers = await pipe.execute()
        seen = set()
        for i, (user_id, at) in enumerate(events):
            live, last = answers[2 * i], answers[2 * i + 1]
            if live or (last is not None and float(last) >= at):
                seen.add(user_id)
        return seen
