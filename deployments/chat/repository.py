"""All SQL of the chat domain."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import LazyPool, Row
from models import Block, Message

_MESSAGE_COLUMNS = "id, match_id, sender_id, content, message_type, is_read, read_at, seq, client_message_id, sent_at"
# Who takes part in the match, whether it is active, and whether either blocked the other.
_ACCESS = """
SELECT m.user1_id, m.user2_id, m.is_active,
       EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = m.user1_id AND b.blocked_id = m.user2_id)
                                      OR (b.blocker_id = m.user2_id AND b.blocked_id = m.user1_id)) AS blocked
  FROM matches m WHERE m.id = $1
"""


@dataclass(frozen=True)
class StoredMessage:
    """A message just stored by the send statement: the `Message` columns, without ORM
    instrumentation (building an ORM object was measurable on the send hot path)."""

    id: uuid.UUID
    match_id: uuid.UUID
    sender_id: uuid.UUID
    content: str
    message_type: str
    is_read: bool
    read_at: datetime | None
    seq: int
    client_message_id: str | None
    sent_at: datetime


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


# The send hot path in one statement (so in autocommit it is its own transaction): authorise
# (active, participant, not blocked) and lock the match row, store the message with the next
# seq, then advance `last_seq` only if the message was stored. A retry whose
# client_message_id is already stored inserts nothing and so consumes no seq: seqs have no gaps.
# No row: not allowed. A row without a message id: such a retry.
_SEND = """
WITH target AS (
    SELECT m.id, m.last_seq + 1 AS seq, m.user1_id, m.user2_id FROM matches AS m
    WHERE m.id = $1 AND m.is_active AND (m.user1_id = $2 OR m.user2_id = $2)
      AND NOT EXISTS (SELECT 1 FROM blocks AS b
                      WHERE (b.blocker_id = m.user1_id AND b.blocked_id = m.user2_id)
                         OR (b.blocker_id = m.user2_id AND b.blocked_id = m.user1_id))
    FOR UPDATE OF m
), stored AS (
    INSERT INTO messages (match_id, sender_id, content, message_type, seq, client_message_id)
    SELECT id, $2, $3, $4, seq, $5 FROM target
    ON CONFLICT (sender_id, client_message_id) WHERE client_message_id IS NOT NULL DO NOTHING
    RETURNING id, match_id, seq, sent_at, is_read
), advanced AS (
    UPDATE matches AS m SET last_seq = s.seq, last_message_at = now() FROM stored AS s WHERE m.id = s.match_id
)
SELECT t.seq, t.user1_id, t.user2_id, s.id, s.sent_at, s.is_read FROM target AS t LEFT JOIN stored AS s ON true
"""


class ChatRepository:
    """`ChatRepository(session)` in a request; `ChatRepository.on_demand(...)` on the websocket,
    where a send usually needs no SQLAlchemy session at all (close it with `close()`)."""

    def __init__(
        self,
        session: AsyncSession | None,
        pool: LazyPool | None = None,
        open_session: Callable[[], AsyncSession] | None = None,
    ) -> None:
        self._session = session
        self._open_session = open_session
        self.pool = pool  # asyncpg, for the send statement when the session has no transaction open

    @classmethod
    def on_demand(cls, open_session: Callable[[], AsyncSession], pool: LazyPool) -> ChatRepository:
        return cls(None, pool, open_session)

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            if self._open_session is None:
                raise RuntimeError("ChatRepository has no session")
            self._session = self._open_session()
        return self._session

    async def close(self) -> None:
        """Close the session this repository opened on demand (a request's session is not ours)."""
        if self._open_session is not None and self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def claim_and_insert(
        self, match_id: uuid.UUID, sender_id: uuid.UUID, content: str, message_type: str, client_message_id: str | None
    ) -> tuple[int, uuid.UUID, StoredMessage | None] | None:
        """(seq, other participant, the stored message or None when client_message_id is already
        stored), or None when the sender may not write to this match.

        The busiest statement of the app, so it goes to asyncpg directly: through SQLAlchemy the
        statement and its transaction cost about a fifth of a gateway's CPU under chat load.
        It joins the session's transaction when one is open (HTTP: the unit of work); otherwise
        (websocket) it runs alone on the raw pool and is committed when this returns."""
        args = (match_id, sender_id, content, message_type, client_message_id)
        if self.pool is not None and (self._session is None or not self._session.in_transaction()):
            row = await (await self.pool.get()).fetchrow(_SEND, *args)
        else:
            row = await (await self._driver()).fetchrow(_SEND, *args)
        if row is None:
            return None
        seq, user1, user2, message_id, sent_at, is_read = row
        other = user2 if user1 == sender_id else user1
        if message_id is None:
            return seq, other, None
        message = StoredMessage(
            message_id, match_id, sender_id, content, message_type, is_read, None, seq, client_message_id, sent_at
        )
        return seq, other, message

    async def _driver(self):
        """The asyncpg connection under the session, inside the session's transaction."""
        connection = await self.session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        if not driver.is_in_transaction():  # SQLAlchemy sends BEGIN with its first statement
            await connection.execute(select(1))
        return driver

    async def _fetch(self, sql: str, *args: Any) -> list[Row]:
        """A raw statement on the pool while no transaction is open (a read needs none), else in it."""
        if self.pool is not None and (self._session is None or not self._session.in_transaction()):
            return await (await self.pool.get()).fetch(sql, *args, record_class=Row)
        return await (await self._driver()).fetch(sql, *args, record_class=Row)

    async def access(self, match_id: uuid.UUID) -> MatchAccess | None:
        rows = await self._fetch(_ACCESS, match_id)
        return MatchAccess(*rows[0]) if rows else None

    async def by_client_id(self, sender_id: uuid.UUID, client_message_id: str) -> Message | None:
        result = await self.session.execute(
            select(Message).where(Message.sender_id == sender_id, Message.client_message_id == client_message_id)
        )
        return result.scalar_one_or_none()

    async def seq_of(self, match_id: uuid.UUID, message_id: uuid.UUID) -> int | None:
        result = await self.session.execute(
            select(Message.seq).where(Message.id == message_id, Message.match_id == match_id)
        )
        return result.scalar_one_or_none()

    async def page(
        self,
        match_id: uuid.UUID,
        limit: int,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        before_time: datetime | None = None,
    ) -> list[Row]:
        """Up to `limit` messages (rows with the `Message` columns): the oldest after `after_seq`
        when given, else the newest before the bounds. Always returned in seq order."""
        args: list[Any] = [match_id]
        conditions = ["match_id = $1"]
        for condition, value in (("seq > $", after_seq), ("seq < $", before_seq), ("sent_at < $", before_time)):
            if value is not None:
                args.append(value)
                conditions.append(f"{condition}{len(args)}")
        newest_first = after_seq is None
        args.append(limit)
        sql = (
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE {' AND '.join(conditions)}"
            f" ORDER BY seq {'DESC' if newest_first else 'ASC'} LIMIT ${len(args)}"
        )
        rows = await self._fetch(sql, *args)
        return rows[::-1] if newest_first else rows

    async def mark_read(
        self, match_id: uuid.UUID, reader_id: uuid.UUID, message_ids: list[uuid.UUID] | None
    ) -> list[tuple[uuid.UUID, int]]:
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
            select(Block.blocked_id)
            .where(Block.blocker_id == user_id)
            .union(select(Block.blocker_id).where(Block.blocked_id == user_id))
        )
        return set(result.scalars())
