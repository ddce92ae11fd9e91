"""All SQL of the chat domain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import Block, Match, Message


@dataclass(frozen=True)
class MatchAccess:
    user1_id: uuid.UUID
    user2_id: uuid.UUID
    is_active: bool
    blocked: bool

    def other(self, user_id: uuid.UUID) -> uuid.UUID:
        return self.user2_id if self.user1_id == user_id else self.user1_id

    def has(self, user_id: uuid.UUID) -> bool:
        return user_id in (self.user1_id, self.user2_id)


def _pair_blocked():
    """Either participant blocked the other (correlated with the `matches` row)."""
    return exists().where(or_(
        and_(Block.blocker_id == Match.user1_id, Block.blocked_id == Match.user2_id),
        and_(Block.blocker_id == Match.user2_id, Block.blocked_id == Match.user1_id),
    ))


class ChatRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def access(self, match_id: uuid.UUID) -> MatchAccess | None:
        result = await self.session.execute(
            select(Match.user1_id, Match.user2_id, Match.is_active, _pair_blocked().label("blocked"))
            .where(Match.id == match_id)
        )
        row = result.first()
        return MatchAccess(*row) if row else None

    async def claim_seq(self, match_id: uuid.UUID, sender_id: uuid.UUID) -> tuple[int, uuid.UUID] | None:
        """Next seq of an active, unblocked match the sender is in, as (seq, other participant).

        One statement authorises and orders: the row lock it takes is held until commit, so
        messages of one match commit in seq order (a reader paging by seq never skips one)."""
        result = await self.session.execute(
            update(Match)
            .where(Match.id == match_id, Match.is_active,
                   or_(Match.user1_id == sender_id, Match.user2_id == sender_id), ~_pair_blocked())
            .values(last_seq=Match.last_seq + 1, last_message_at=func.now())
            .returning(Match.last_seq, Match.user1_id, Match.user2_id)
        )
        row = result.first()
        if row is None:
            return None
        seq, user1, user2 = row
        return seq, (user2 if user1 == sender_id else user1)

    async def release_seq(self, match_id: uuid.UUID, seq: int) -> None:
        """Give back a claimed seq (only while still holding the row lock), so seqs have no gaps."""
        await self.session.execute(
            update(Match).where(Match.id == match_id, Match.last_seq == seq).values(last_seq=seq - 1))

    async def by_client_id(self, sender_id: uuid.UUID, client_message_id: str) -> Message | None:
        result = await self.session.execute(
            select(Message).where(Message.sender_id == sender_id, Message.client_message_id == client_message_id))
        return result.scalar_one_or_none()

    async def insert(self, match_id: uuid.UUID, sender_id: uuid.UUID, content: str, message_type: str,
                     seq: int, client_message_id: str | None) -> Message | None:
        """The new message, or None when a concurrent retry already stored this client id."""
        stmt = (
            insert(Message)
            .values(match_id=match_id, sender_id=sender_id, content=content, message_type=message_type,
                    seq=seq, client_message_id=client_message_id)
            .on_conflict_do_nothing(index_elements=[Message.sender_id, Message.client_message_id],
                                    index_where=text("client_message_id IS NOT NULL"))
            .returning(Message)
        )
        result = await self.session.execute(stmt)
        return result.scalar_one_or_none()

    async def seq_of(self, match_id: uuid.UUID, message_id: uuid.UUID) -> int | None:
        result = await self.session.execute(
            select(Message.seq).where(Message.id == message_id, Message.match_id == match_id))
        return result.scalar_one_or_none()

    async def page(self, match_id: uuid.UUID, limit: int, *, after_seq: int | None = None,
                   before_seq: int | None = None, before_time: datetime | None = None) -> list[Message]:
        """Up to `limit` messages: the oldest after `after_seq` when given, else the newest before
        the bounds. Always returned in seq order."""
        query = select(Message).where(Message.match_id == match_id)
        if after_seq is not None:
            query = query.where(Message.seq > after_seq)
        if before_seq is not None:
            query = query.where(Message.seq < before_seq)
        if before_time is not None:
            query = query.where(Message.sent_at < before_time)
        newest_first = after_seq is None
        query = query.order_by(Message.seq.desc() if newest_first else Message.seq.asc()).limit(limit)
        rows = list((await self.session.execute(query)).scalars())
        return rows[::-1] if newest_first else rows

    async def mark_read(self, match_id: uuid.UUID, reader_id: uuid.UUID,
                        message_ids: list[uuid.UUID] | None) -> list[tuple[uuid.UUID, int]]:
        """Mark the other participant's unread messages read; (id, seq) of those changed."""
        stmt = (
            update(Message)
            .where(Message.match_id == match_id, Message.sender_id != reader_id, Message.is_read.is_(False))
            .values(is_read=True, read_at=func.now())
            .returning(Message.id, Message.seq)
        )
        if message_ids is not None:
            stmt = stmt.where(Message.id.in_(message_ids))
        result = await self.session.execute(stmt)
        return sorted(((row[0], row[1]) for row in result), key=lambda pair: pair[1])

    async def blocked_ids(self, user_id: uuid.UUID) -> set[uuid.UUID]:
        """Users this one blocked or was blocked by."""
        result = await self.session.execute(
            select(Block.blocked_id).where(Block.blocker_id == user_id)
            .union(select(Block.blocker_id).where(Block.blocked_id == user_id)))
        return set(result.scalars())
