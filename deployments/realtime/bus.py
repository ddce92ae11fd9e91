"""Realtime fan-out: what one replica tells the users connected to any replica.

Events go through Redis pub/sub (one channel per user), so a user connected to gateway
replica 1 hears what was done through replica 2. Redis may lose an event; clients catch
up over HTTP (`after=`), because PostgreSQL holds everything that was acknowledged.
Events named with a leading `_` are for the replicas (close sockets, update block sets) and
are never forwarded to clients. Publish only after the change is committed.

On the wire an event is `event, counterpart, exclude_session, origin, frame` joined by SEP,
where `frame` is the exact JSON text the clients receive: a replica routes it (blocked-pair
filter, the sender's own session) from the header and forwards the frame as is.

Local first: the publishing replica hands the event straight to its own sockets of the user
(`LocalSink`), and Redis publishes it only if some *other* subscriber holds the user (one
script: PUBSUB NUMSUB, then PUBLISH). In a 1:1 chat the sender's copy for "their other
devices" usually has no other device to go to, and a recipient on the same replica needs no
Redis hop at all (before, every message was published twice and read back from Redis by the
replicas holding either user). The echo of an event published anyway names its origin
replica, which ignores it. A replica counts itself as a subscriber only once Redis confirmed
its subscription (and not after its subscriber connection failed), so a doubt means publish.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Protocol

import redis.asyncio as aioredis
from fastapi import Depends
from redis.exceptions import RedisError

from kit.deps import part

log = logging.getLogger("app.events")
SEP = "\x1f"  # never in an event name or a uuid, and JSON escapes it inside the frame


USER_CHANNEL_PREFIX = "ev:user:"


def user_channel(user_id: uuid.UUID | str) -> str:
    return f"{USER_CHANNEL_PREFIX}{user_id}"


def channel_user(channel: str) -> str | None:
    """The user id of a `user_channel`, None for any other channel."""
    return channel[len(USER_CHANNEL_PREFIX) :] if channel.startswith(USER_CHANNEL_PREFIX) else None


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
    counterpart: str  # "" when the event is about no other user
    exclude_session: str  # "" or the session that already has the answer (the sender's device)
    origin: str  # "" or the replica that already delivered it to its own sockets
    frame: str  # what clients receive: {"event": ..., "data": ...}

    def data(self) -> dict:
        return json.loads(self.frame).get("data") or {}


def encode_event(event: str, data: dict, exclude_session: uuid.UUID | str | None = None, origin: str = "") -> str:
    frame = json.dumps({"event": event, "data": data}, separators=(",", ":"), default=str)
    return SEP.join((event, counterpart(event, data) or "", str(exclude_session or ""), origin, frame))


def decode_event(payload: str) -> Envelope | None:
    parts = payload.split(SEP, 4)
    return Envelope(*parts) if len(parts) == 5 else None


class LocalSink(Protocol):
    """This replica's sockets (`deployments.realtime.hub.Hub`)."""

    replica_id: str

    def deliver_local(self, user_id: str, payload: str) -> int:
        """Deliver to this replica's sockets of the user; 1 if this replica's Redis subscription
        for the user is confirmed (Redis need not bring the event back here), else 0."""


# KEYS: user channels. ARGV: one payload per channel, then per channel how many of its
# subscribers already have the event (0, or 1: the publishing replica). Publish only if
# someone else listens.
_FANOUT = """
local n = #KEYS
local published = 0
for i = 1, n do
  local have = tonumber(ARGV[n + i])
  if have == 0 or redis.call('PUBSUB', 'NUMSUB', KEYS[i])[2] > have then
    redis.call('PUBLISH', KEYS[i], ARGV[i])
    published = published + 1
  end
end
return published
"""


class EventBus:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self.local: LocalSink | None = None  # this replica's hub, set by realtime's start-up
        self._fanout = redis.register_script(_FANOUT)

    async def to_users(
        self,
        user_ids: Iterable[uuid.UUID | str],
        event: str,
        data: dict,
        exclude_session: uuid.UUID | str | None = None,
    ) -> None:
        await self.publish([(user_ids, event, data, exclude_session)])

    async def publish(self, batch: list[tuple[Iterable[uuid.UUID | str], str, dict, uuid.UUID | str | None]]) -> None:
        """Several `to_users` calls (user_ids, event, data, exclude_session): this replica's
        sockets at once, the others in one Redis round trip."""
        local = self.local
        origin = local.replica_id if local is not None else ""
        channels, payloads, have = [], [], []
        for user_ids, event, data, exclude_session in batch:
            payload = encode_event(event, data, exclude_session, origin)
            for user_id in set(map(str, user_ids)):
                channels.append(user_channel(user_id))
                payloads.append(payload)
                have.append(local.deliver_local(user_id, payload) if local is not None else 0)
        try:
            await self._fanout(keys=channels, args=[*payloads, *have])
        except RedisError as exc:
            log.warning("could not publish %s: %s", ", ".join(b[1] for b in batch), exc)

    async def session_ended(
        self, user_id: uuid.UUID, session_id: uuid.UUID | None = None, reason: str | None = None
    ) -> None:
        """Close the sockets of one session (logout, refresh reuse, expiry), or of every session
        of the user when None (a ban). `reason` reaches the clients in `session_ended`; without
        one, a single session reads "revoked" and every session "banned". Call it only after
        the revocation is committed (`kit.db.after_commit`, or a background task): a replica
        that hears it may re-read the session at once."""
        data = {"session_id": str(session_id) if session_id else None}
        if reason:
            data["reason"] = reason
        await self.to_users([user_id], "_session_ended", data)

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


Events = Annotated[EventBus, Depends(part(EventBus))]
