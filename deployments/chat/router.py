"""/api/v1/messages: conversations, sending and read receipts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from deployments.auth.dependencies import CurrentUser
from deployments.chat.lifecycle import Chat
from deployments.chat.repository import ChatRepository
from deployments.chat.schemas import (
    ConversationMessage,
    ConversationResponse,
    MarkReadRequest,
    MarkReadResponse,
    MessageOut,
    SendMessageRequest,
    SendMessageResponse,
)
from deployments.chat.service import ChatService
from kit.db import Session
from kit.deps import AppSettings, Limiter

router = APIRouter(prefix="/api/v1/messages", tags=["messages"])


@router.get("/conversations/{match_id}", response_model=ConversationResponse)
async def conversation(
    match_id: uuid.UUID, caller: CurrentUser, session: Session, settings: AppSettings, limiter: Limiter,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    before: Annotated[str | None, Query(description="Message id or ISO-8601 timestamp: older messages")] = None,
    after: Annotated[str | None, Query(description="Message id: what arrived after it (catch-up)")] = None,
) -> ConversationResponse:
    """Up to `limit` messages of a match in chronological order: the newest ones, or those after `after`."""
    service = ChatService(ChatRepository(session), settings, limiter)
    rows, has_more = await service.conversation(caller.id, match_id, limit, before, after)
    return ConversationResponse(
        messages=[ConversationMessage.model_validate(row, from_attributes=True) for row in rows], has_more=has_more)


@router.post("/send", response_model=SendMessageResponse)
async def send(body: SendMessageRequest, caller: CurrentUser, session: Session, settings: AppSettings,
               limiter: Limiter, chat: Chat) -> SendMessageResponse:
    """Store a message (PostgreSQL, before answering) and push `new_message` to both users' sockets."""
    service = ChatService(ChatRepository(session), settings, limiter)
    sent = await service.send(caller.id, body.match_id, body.content, body.message_type, body.client_message_id)
    if sent.created:
        # Announce only what is durable: commit now rather than when the route returns.
        await session.commit()
        await chat.message_sent(sent, caller.session_id)
    return SendMessageResponse(message=MessageOut.model_validate(sent.message, from_attributes=True))


@router.post("/mark-read", response_model=MarkReadResponse)
async def mark_read(body: MarkReadRequest, caller: CurrentUser, session: Session, settings: AppSettings,
                    limiter: Limiter, chat: Chat) -> MarkReadResponse:
    """Mark the other participant's unread messages (all, or `message_ids`) read; tell them."""
    service = ChatService(ChatRepository(session), settings, limiter)
    marked, sender_id = await service.mark_read(caller.id, body.match_id, body.message_ids)
    await session.commit()
    await chat.messages_read(body.match_id, caller.id, sender_id, marked, caller.session_id)
    return MarkReadResponse(marked_count=len(marked))
