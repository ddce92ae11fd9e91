"""Realtime fan-out: what one replica tells the users connected to any replica.

Events go through Redis pub/sub (one channel per user), so a user connected to gateway
replica 1 hears what was done through replica 2. Redis may lose an event; clients catch
up over HTTP (`after=`), because PostgreSQL holds everything that was acknowledged.
Events named with a leading `_` are for the replicas (close sockets, update block sets) and
are never forwarded to clients. Publish only after the change is committed.

On the wire an event is `event, counterpart, exclude_session, frame` joined by SEP, where
`frame` is the exact JSON text the clients receive: a replica routes it (blocked-pair filter,
the sender's own session) from the header and forwards the frame as is, without parsing it.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("app.events")
SEP = "\x1f"  # never in an event name or a uuid, and JSON escapes it inside the frame


def user_channel(user_id: uuid.UUID | str) -> str:
    return f"ev:user:{user_id}"


def counterpart(event: str, data: dict) -> str | None:
    """The other user an event is about, for the blocked-pair filter."""
    try:
        if event == "new_match":
            return str(data["user"]["id"])
        if event == "new_message":
            return str(data["message"]["sender_id"])
        if event == "message_read":
            return str(data["reader_id"])
        if event == "user_typing":
            return str(data["user_id"])
    except (KeyError, TypeError):
        return None
    return None


@dataclass(frozen=True)
class Envelope:
    event: str
    counterpart: str        # "" when the event is about no other user
    exclude_session: str    # "" or the session that already has the answer (the sender's device)
    frame: str              # what clients receive: {"event": ..., "data": ...}

    def data(self) -> dict:
        return json.loads(self.frame).get("data") or {}


def encode_event(event: str, data: dict, exclude_session: uuid.UUID | str | None = None) -> str:
    frame = json.dumps({"event": event, "data": data}, separators=(",", ":"), default=str)
    return SEP.join((event, counterpart(event, data) or "", str(exclude_session or ""), frame))


def decode_event(payload: str) -> Envelope | None:
    parts = payload.split(SEP, 3)
    return Envelope(*parts) if len(parts) == 4 else None


class EventBus:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def to_users(self, user_ids: Iterable[uuid.UUID | str], event: str, data: dict,
                       exclude_session: uuid.UUID | str | None = None) -> None:
        await self.publish([(user_ids, event, data, exclude_session)])

    async def publish(self, batch: list[tuple[Iterable[uuid.UUID | str], str, dict, uuid.UUID | str | None]]) -> None:
        """Several `to_users` calls (user_ids, event, data, exclude_session) in one Redis round trip."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for user_ids, event, data, exclude_session in batch:
                    payload = encode_event(event, data, exclude_session)
                    for user_id in set(map(str, user_ids)):
                        pipe.publish(user_channel(user_id), payload)
                await pipe.execute()
        except RedisError as exc:
            log.warning("could not publish %s: %s", ", ".join(b[1] for b in batch), exc)

    async def session_ended(self, user_id: uuid.UUID, session_id: uuid.UUID | None = None) -> None:
        """Close the sockets of one session (logout), or of every session (ban) when None."""
        await self.to_users([user_id], "_session_ended", {"session_id": str(session_id) if session_id else None})

    async def pair_blocked(self, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> None:
        """Stop every realtime event between the two at once, on every replica (safety calls this
        after committing a block; `match_removed` alone also makes replicas re-read blocks)."""
        await self.to_users([blocker_id], "_blocked", {"user_id": str(blocked_id)})
        await self.to_users([blocked_id], "_blocked", {"user_id": str(blocker_id)})

    async def profile_changed(self, user_id: uuid.UUID) -> None:
        try:
            await self.redis.publish("ev:profile_changed", str(user_id))
        except RedisError as exc:
            log.warning("could not publish profile change: %s", exc)
