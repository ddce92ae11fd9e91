"""Bodies of /api/v1/messages and the message shape shared by HTTP and the websocket."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MessageType = Literal["text", "photo", "gif"]
MAX_MARK_IDS = 500


class SendMessageRequest(BaseModel):
    """Text is 1..`MESSAGE_MAX_CHARS` characters; photo and gif content is an https URL."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "match_id": "7d4f3c1e-1d1b-4a59-9a52-3c1f0b9d2e11",
                    "content": "Hi there!",
                    "message_type": "text",
                    "client_message_id": "c-2026-02-27-0001",
                }
            ]
        },
    )

    match_id: uuid.UUID
    content: str = Field(max_length=100_000)
    message_type: MessageType = "text"
    client_message_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="Client-chosen id; retrying with the same id returns the first message, no duplicate",
    )


class MarkReadRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"match_id": "7d4f3c1e-1d1b-4a59-9a52-3c1f0b9d2e11"},
                {
                    "match_id": "7d4f3c1e-1d1b-4a59-9a52-3c1f0b9d2e11",
                    "message_ids": ["9b2e4c6a-1f3d-4e5b-8a7c-0d1e2f3a4b5c"],
                },
            ]
        },
    )

    match_id: uuid.UUID
    message_ids: list[uuid.UUID] | None = Field(
        None, max_length=MAX_MARK_IDS, description="Only these messages; omitted means every unread one"
    )


class MessageOut(BaseModel):
    id: uuid.UUID
    match_id: uuid.UUID
    sender_id: uuid.UUID
    content: str
    message_type: MessageType
    sent_at: datetime
    seq: int = Field(description="Position in the conversation (1, 2, ...): order by it")


class ConversationMessage(MessageOut):
    is_read: bool
    read_at: datetime | None = None


class SendMessageResponse(BaseModel):
    success: bool = True
    message: MessageOut


class ConversationResponse(BaseModel):
    success: bool = True
    messages: list[ConversationMessage]
    has_more: bool = Field(description="More messages exist beyond this page in the direction read")


class MarkReadResponse(BaseModel):
    success: bool = True
    marked_count: int
