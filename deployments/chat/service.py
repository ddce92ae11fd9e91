"""Chat rules: who may read and write a conversation, what a message may contain, and what
is announced (after commit) to the users' sockets and the match's typing shard."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from deployments.chat.repository import ChatRepository, MatchAccess, StoredMessage
from deployments.chat.schemas import ConversationMessage, MessageOut
from deployments.realtime.bus import EventBus
from kit.db import Row
from kit.errors import Forbidden, NotFound, Unprocessable
from kit.redis import RateLimiter
from kit.settings import Settings
from models import Message

log = logging.getLogger("app.chat")
MAX_URL_CHARS = 2048
SHARD_CALL_TIMEOUT_S = 5.0
SHARD_BATCH_S = 0.5  # coalescing window for shard updates (the shard is a cache; nothing waits on it).
# Every Ray call costs the shard process CPU whatever it carries (mostly Ray's C++ core), so a longer
# window means fewer calls, and nothing waits on a cache (numbers: bench/RESULTS.md and
# docs/bench-history.md). Typing is not batched: it is a direct call.


def message_dict(message: Message | StoredMessage) -> dict:
    return MessageOut.model_validate(message, from_attributes=True).model_dump(mode="json")


def conversation_dict(message: Message) -> dict:
    return ConversationMessage.model_validate(message, from_attributes=True).model_dump(mode="json")


def check_content(settings: Settings, content: str, message_type: str) -> str:
    if message_type == "text":
        if not content.strip():
            raise Unprocessable("content must not be empty", code="invalid_content")
        if len(content) > settings.message_max_chars:
            raise Unprocessable(
                f"content must be at most {settings.message_max_chars} characters", code="invalid_content"
            )
        return content
    url = content.strip()
    parts = urlsplit(url) if len(url) <= MAX_URL_CHARS else None
    if parts is None or parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in url):
        raise Unprocessable(f"{message_type} content must be an https URL", code="invalid_content")
    return url


def parse_cursor(raw: str | None, *, allow_time: bool) -> uuid.UUID | datetime | None:
    """A message id, or (for `before`) an ISO-8601 timestamp; naive times are UTC."""
    if raw is None or raw == "":
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        pass
    if allow_time:
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        except ValueError:
            pass
    what = "a message id or an ISO-8601 timestamp" if allow_time else "a message id"
    raise Unprocessable(f"cursor must be {what}", code="invalid_cursor")


@dataclass
class Sent:
    message: Message | StoredMessage
    recipient_id: uuid.UUID
    created: bool  # False for a retry answered with the first message

    @cached_property
    def payload(self) -> dict:
        """The message as clients see it: built once for the sender's ack and everyone's event."""
        return message_dict(self.message)


class ChatService:
    def __init__(self, repo: ChatRepository, settings: Settings, limiter: RateLimiter) -> None:
        self.repo, self.settings, self.limiter = repo, settings, limiter

    async def authorize(self, user_id: uuid.UUID, match_id: uuid.UUID) -> MatchAccess:
        """Participants of an active, unblocked match pass; strangers get 404, the rest 403.
        A block answers exactly like an ended match, so nobody can learn they were blocked."""
        access = await self.repo.access(match_id)
        if access is None or not access.has(user_id):
            raise NotFound("Match not found", code="match_not_found")
        if access.blocked or not access.is_active:
            raise Forbidden("This match has ended", code="match_inactive")
        return access

    async def send(
        self, sender_id: uuid.UUID, match_id: uuid.UUID, content: str, message_type: str, client_message_id: str | None
    ) -> Sent:
        content = check_content(self.settings, content, message_type)
        await self.limiter.take(
            "messages",
            str(sender_id),
            self.settings.rate_messages_per_minute,
            60,
            message="Too many messages; wait a moment",
            code="rate_limited",
        )
        claimed = await self.repo.claim_and_insert(match_id, sender_id, content, message_type, client_message_id)
        if claimed is None:
            earlier = await self._retry(sender_id, match_id, client_message_id) if client_message_id else None
            if earlier is not None:
                return earlier
            await self.authorize(sender_id, match_id)  # raises the precise 404/403
            raise Forbidden("This match has ended", code="match_inactive")  # changed in between
        seq, recipient, message = claimed
        if message is None:  # client_message_id already stored: a retry (it consumed no seq)
            earlier = await self._retry(sender_id, match_id, client_message_id or "")
            if earlier is None:
                raise Forbidden("Message could not be stored", code="message_conflict")
            return earlier
        return Sent(message, recipient, True)

    async def _retry(self, sender_id: uuid.UUID, match_id: uuid.UUID, client_message_id: str) -> Sent | None:
        earlier = await self.repo.by_client_id(sender_id, client_message_id)
        if earlier is None:
            return None
        if earlier.match_id != match_id:
            raise Unprocessable("client_message_id was already used for another match", code="client_message_id_reused")
        access = await self.authorize(sender_id, match_id)
        return Sent(earlier, access.other(sender_id), False)

    async def conversation(
        self, user_id: uuid.UUID, match_id: uuid.UUID, limit: int, before: str | None, after: str | None
    ) -> tuple[list[Row], bool]:
        await self.authorize(user_id, match_id)
        before_cursor = parse_cursor(before, allow_time=True)
        after_cursor = parse_cursor(after, allow_time=False)
        bounds: dict[str, Any] = {}
        if isinstance(before_cursor, uuid.UUID):
            bounds["before_seq"] = await self._seq(match_id, before_cursor)
        elif before_cursor is not None:
            bounds["before_time"] = before_cursor
        if isinstance(after_cursor, uuid.UUID):  # allow_time=False: an id or nothing
            bounds["after_seq"] = await self._seq(match_id, after_cursor)
        rows = await self.repo.page(match_id, limit + 1, **bounds)
        has_more = len(rows) > limit
        if has_more:
            rows = rows[:limit] if "after_seq" in bounds else rows[1:]
        return rows, has_more

    async def _seq(self, match_id: uuid.UUID, message_id: uuid.UUID) -> int:
        seq = await self.repo.seq_of(match_id, message_id)
        if seq is None:
            raise NotFound("No such message in this conversation", code="message_not_found")
        return seq

    async def mark_read(
        self, reader_id: uuid.UUID, match_id: uuid.UUID, message_ids: list[uuid.UUID] | None
    ) -> tuple[list[tuple[uuid.UUID, int]], uuid.UUID]:
        access = await self.authorize(reader_id, match_id)
        if message_ids is not None and not message_ids:
            return [], access.other(reader_id)
        marked = await self.repo.mark_read(match_id, reader_id, message_ids)
        return marked, access.other(reader_id)


class ChatRealtime:
    """What the rest of the system hears once a chat write is committed. Every replica has one
    (chat's part of `kit.resources.Resources`). Shard updates are best effort: the shard only
    holds typing indicators."""

    def __init__(self, events: EventBus, match_shards: Any) -> None:
        self.events = events
        self.match_shards = match_shards
        self._pending: set[asyncio.Task] = set()
        self._queues: dict[int, list[tuple[str, tuple]]] = {}

    async def message_sent(self, sent: Sent, sender_session: uuid.UUID | None) -> None:
        message, data = sent.message, {"message": sent.payload}
        # The recipient's devices and the sender's other devices (the sending session has the answer).
        await self.events.publish(
            [
                ([sent.recipient_id], "new_message", data, None),
                ([message.sender_id], "new_message", data, sender_session),
            ]
        )
        self.shard_call(message.match_id, "message_sent", str(message.match_id), str(message.sender_id))

    async def messages_read(
        self,
        match_id: uuid.UUID,
        reader_id: uuid.UUID,
        sender_id: uuid.UUID,
        marked: list[tuple[uuid.UUID, int]],
        reader_session: uuid.UUID | None,
    ) -> None:
        if not marked:
            return
        data = {"match_id": str(match_id), "reader_id": str(reader_id), "message_ids": [str(m) for m, _ in marked]}
        await self.events.publish(
            [([sender_id], "message_read", data, None), ([reader_id], "message_read", data, reader_session)]
        )

    async def typing(self, match_id: uuid.UUID, user_id: uuid.UUID, other_id: uuid.UUID, is_typing: bool) -> None:
        """Tell the other participant, unless the shard says nothing changed (typing_start repeats)."""
        try:
            changed = await asyncio.wait_for(
                self.match_shards.for_key(match_id).typing.remote(str(match_id), str(user_id), is_typing),
                SHARD_CALL_TIMEOUT_S,
            )
        except Exception as exc:  # a restarting shard must not stop the indicator
            log.debug("typing state not recorded for %s: %s", match_id, exc)
            changed = True
        if changed:
            await self.events.to_users(
                [other_id], "user_typing", {"match_id": str(match_id), "user_id": str(user_id), "is_typing": is_typing}
            )

    def shard_call(self, match_id: uuid.UUID, method: str, *args: Any) -> None:
        """Queue a fire-and-forget update for the match's shard. Updates are coalesced per shard
        for SHARD_BATCH_S: one Ray call per shard and window instead of one per message, which
        is what kept the shards (a whole process each) from keeping up with chat traffic."""
        index = self.match_shards.index_for(match_id)
        queue = self._queues.setdefault(index, [])
        queue.append((method, args))
        if len(queue) == 1:
            task = asyncio.ensure_future(self._flush(index))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _flush(self, index: int) -> None:
        await asyncio.sleep(SHARD_BATCH_S)
        ops = self._queues.pop(index, [])
        if not ops:
            return
        try:
            await asyncio.wait_for(self.match_shards.handles[index].apply.remote(ops), SHARD_CALL_TIMEOUT_S)
        except Exception as exc:  # PostgreSQL has it; the shard rebuilds from there
            log.warning("match shard %d: %d updates not applied: %s", index, len(ops), exc)

    async def drain(self) -> None:
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
