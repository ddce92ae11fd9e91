"""Chat over the realtime socket: the handlers chat registers with `deployments.realtime`
(send_message, typing_start, typing_stop, mark_read; docs/websocket.md), and `leave`, which
stops a closing socket's typing indicators."""

from __future__ import annotations

import time
import uuid

from pydantic import BaseModel, ConfigDict

from deployments.chat.repository import ChatRepository
from deployments.chat.schemas import MarkReadRequest, SendMessageRequest
from deployments.chat.service import ChatRealtime, ChatService
from deployments.realtime.hub import Connection
from deployments.realtime.lifecycle import Realtime, SocketHandler
from kit.resources import Resources

ALLOW_TTL_S = 10.0  # how long a socket trusts "participant of an active match"


class TypingEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    match_id: uuid.UUID


def _service(resources: Resources, repo: ChatRepository) -> ChatService:
    return ChatService(repo, resources.settings, resources.limiter)


async def _participant(conn: Connection, resources: Resources, match_id: uuid.UUID) -> uuid.UUID:
    """The other participant, if the caller may act on the match (cached briefly per socket)."""
    cached = conn.allowed.get(match_id)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    async with resources.sessionmaker() as session:
        access = await _service(resources, ChatRepository(session)).authorize(conn.user_id, match_id)
    other = access.other(conn.user_id)
    _allow(conn, match_id, other)
    return other


def _allow(conn: Connection, match_id: uuid.UUID, other: uuid.UUID) -> None:
    conn.allowed[match_id] = (other, time.monotonic() + ALLOW_TTL_S)


async def _typing(conn: Connection, resources: Resources, data: dict, is_typing: bool) -> None:
    match_id = TypingEvent.model_validate(data).match_id
    other = await _participant(conn, resources, match_id)
    (conn.typing.add if is_typing else conn.typing.discard)(match_id)
    await resources.get(ChatRealtime).typing(match_id, conn.user_id, other, is_typing)


async def typing_start(conn: Connection, resources: Resources, data: dict) -> None:
    await _typing(conn, resources, data, True)


async def typing_stop(conn: Connection, resources: Resources, data: dict) -> None:
    await _typing(conn, resources, data, False)


async def send_message(conn: Connection, resources: Resources, data: dict) -> None:
    body = SendMessageRequest.model_validate(data)
    # The send statement commits on its own (raw pool); a session opens only for a retry or a refusal.
    repo = ChatRepository.on_demand(resources.sessionmaker, resources.pg)
    try:
        sent = await _service(resources, repo).send(
            conn.user_id, body.match_id, body.content, body.message_type, body.client_message_id
        )
    finally:
        await repo.close()
    _allow(conn, body.match_id, sent.recipient_id)
    conn.typing.discard(body.match_id)
    conn.send("message_sent", {"client_message_id": body.client_message_id, "message": sent.payload})
    if sent.created:
        await resources.get(ChatRealtime).message_sent(sent, conn.session_id)


async def mark_read(conn: Connection, resources: Resources, data: dict) -> None:
    body = MarkReadRequest.model_validate(data)
    async with resources.sessionmaker() as session:
        marked, sender_id = await _service(resources, ChatRepository(session)).mark_read(
            conn.user_id, body.match_id, body.message_ids
        )
        await session.commit()
    conn.send(
        "marked_read",
        {"match_id": str(body.match_id), "marked_count": len(marked), "message_ids": [str(m) for m, _ in marked]},
    )
    await resources.get(ChatRealtime).messages_read(body.match_id, conn.user_id, sender_id, marked, conn.session_id)


def leave(conn: Connection, resources: Resources) -> None:
    """A socket closed: stop the typing indicators it left on."""
    chat = resources.get(ChatRealtime)
    for match_id, (other, _) in conn.allowed.items():
        if match_id in conn.typing:
            resources.get(Realtime).hub.spawn(chat.typing(match_id, conn.user_id, other, False))


HANDLERS: dict[str, SocketHandler] = {
    "typing_start": typing_start,
    "typing_stop": typing_stop,
    "send_message": send_message,
    "mark_read": mark_read,
}
