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
from kit.deps import AppResources, AppSettings, Limiter
from kit.errors import error_responses

router = APIRouter(prefix="/api/v1/messages", tags=["messages"])


@router.get(
    "/conversations/{match_id:uuid}",
    response_model=ConversationResponse,
    responses=error_responses(
        (404, "match_not_found", "no such match of the caller's"),
        (404, "message_not_found", "a cursor id is not a message of this conversation"),
        (422, "invalid_cursor", "a cursor that is neither a message id nor (for `before`) a timestamp"),
    ),
)
async def conversation(
    match_id: uuid.UUID,
    caller: CurrentUser,
    session: Session,
    resources: AppResources,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    before: Annotated[str | None, Query(description="Message id or ISO-8601 timestamp: older messages")] = None,
    after: Annotated[str | None, Query(description="Message id: what arrived after it (catch-up)")] = None,
) -> ConversationResponse:
    """Up to `limit` messages of a match in chronological order: the newest ones, or those after `after`."""
    # Reads only: with the pool, its two statements run without a transaction.
    service = ChatService(ChatRepository(session, resources.pg), resources.settings, resources.limiter)
    rows, has_more = await service.conversation(caller.id, match_id, limit, before, after)
    return ConversationResponse(
        messages=[ConversationMessage.model_validate(row, from_attributes=True) for row in rows], has_more=has_more
    )


@router.post(
    "/send",
    response_model=SendMessageResponse,
    responses=error_responses(
        (403, "match_inactive", "the match has ended (or the pair is blocked)"),
        (403, "message_conflict", "the message could not be stored"),
        (404, "match_not_found", "no such match of the caller's"),
        (422, "invalid_content", "empty or too long text, or a photo/gif that is not an https URL"),
        (422, "client_message_id_reused", "the id was already used for another match"),
    ),
)
async def send(
    body: SendMessageRequest, caller: CurrentUser, session: Session, settings: AppSettings, limiter: Limiter, chat: Chat
) -> SendMessageResponse:
    """Store a message (PostgreSQL, before answering) and push `new_message` to both users' sockets."""
    service = ChatService(ChatRepository(session), settings, limiter)
    sent = await service.send(caller.id, body.match_id, body.content, body.message_type, body.client_message_id)
    if sent.created:
        # Announce only what is durable: commit now rather than when the route returns.
        await session.commit()
        await chat.message_sent(sent, caller.session_id)
    return SendMessageResponse(message=MessageOut.model_validate(sent.message, from_attributes=True))


@router.post(
    "/mark-read",
    response_model=MarkReadResponse,
    responses=error_responses(
        (404, "match_not_found", "no such match of the caller's"),
    ),
)
async def mark_read(
    body: MarkReadRequest, caller: CurrentUser, session: Session, settings: AppSettings, limiter: Limiter, chat: Chat
) -> MarkReadResponse:
    """Mark the other participant's unread messages (all, or `message_ids`) read; tell them."""
    service = ChatService(ChatRepository(session), settings, limiter)
    marked, sender_id = await service.mark_read(caller.id, body.match_id, body.message_ids)
    await session.commit()
    await chat.messages_read(body.match_id, caller.id, sender_id, marked, caller.session_id)
    return MarkReadResponse(marked_count=len(marked))
