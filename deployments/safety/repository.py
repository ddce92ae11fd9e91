"""All SQL of the safety and moderation domain."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import Block, Match, Message, ModerationAudit, Report, User, UserProfile, canonical_pair

OPEN_STATUSES = ("pending", "reviewing")

# Reporters who count towards hiding someone: their report is recent and not dismissed, their
# account was older than `:min_age` when they filed it and is not banned, and they could have met
# the person before filing: a match between them (active or ended) or a feed that showed them.
_QUALIFYING_REPORTERS = text("""
SELECT count(DISTINCT r.reporter_id)
  FROM reports r JOIN users u ON u.id = r.reporter_id
 WHERE r.reported_user_id = :target AND r.created_at >= :since AND r.status <> 'dismissed'
   AND u.banned_at IS NULL AND u.created_at <= r.created_at - CAST(:min_age AS interval)
   AND (EXISTS (SELECT 1 FROM matches m
                 WHERE ((m.user1_id = r.reporter_id AND m.user2_id = :target)
                        OR (m.user1_id = :target AND m.user2_id = r.reporter_id))
                   AND m.matched_at <= r.created_at)
        OR EXISTS (SELECT 1 FROM feed_impressions f
                    WHERE f.viewer_id = r.reporter_id AND f.candidate_id = :target
                      AND f.first_shown_at <= r.created_at))
""")


class SafetyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- users -------------------------------------------------------------------------------------

    async def user_exists(self, user_id: uuid.UUID) -> bool:
        result = await self.session.execute(select(User.id).where(User.id == user_id, User.deleted_at.is_(None)))
        return result.scalar_one_or_none() is not None

    async def lock_pair(self, a: uuid.UUID, b: uuid.UUID) -> None:
        """Serialise safety writes about one pair (report folding, block + match end) until commit."""
        low, high = canonical_pair(a, b)
        await self._advisory_lock(f"safety:pair:{low}:{high}")

    async def lock_reported(self, user_id: uuid.UUID) -> None:
        """Serialise the reports against one user, so parallel reporters all count towards hiding."""
        await self._advisory_lock(f"safety:reported:{user_id}")

    async def _advisory_lock(self, key: str) -> None:
        await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 6))"), {"key": key})

    async def set_moderator(self, phone_number: str, granted: bool) -> uuid.UUID | None:
        result = await self.session.execute(
            update(User)
            .where(User.phone_number == phone_number, User.deleted_at.is_(None))
            .values(is_moderator=granted)
            .returning(User.id)
        )
        return result.scalar_one_or_none()

    async def is_moderator(self, user_id: uuid.UUID) -> bool | None:
        """The account's moderator flag; None when there is no such (undeleted) account."""
        result = await self.session.execute(
            select(User.is_moderator).where(User.id == user_id, User.deleted_at.is_(None))
        )
        return result.scalar_one_or_none()

    async def set_hidden(self, user_id: uuid.UUID, hidden: bool) -> bool:
        """True when this call changed the flag."""
        value = func.now() if hidden else None
        condition = User.hidden_at.is_(None) if hidden else User.hidden_at.is_not(None)
        result = await self.session.execute(
            update(User).where(User.id == user_id, condition).values(hidden_at=value).returning(User.id)
        )
        return result.scalar_one_or_none() is not None

    async def ban(self, user_id: uuid.UUID, reason: str) -> bool:
        """True when this call banned the user, False when they already were. Never a moderator
        (the role is taken back from the command line first)."""
        result = await self.session.execute(
            update(User)
            .where(User.id == user_id, User.banned_at.is_(None), User.is_moderator.is_(False))
            .values(banned_at=func.now(), ban_reason=reason)
            .returning(User.id)
        )
        return result.scalar_one_or_none() is not None

    # --- audit -------------------------------------------------------------------------------------

    async def audit(
        self,
        action: str,
        *,
        actor_id: uuid.UUID | None,
        target_user_id: uuid.UUID | None,
        report_id: uuid.UUID | None = None,
        details: dict | None = None,
    ) -> None:
        """Append to the trail, in the caller's transaction: the entry commits with the action or not at all."""
        await self.session.execute(
            insert(ModerationAudit).values(
                actor_id=actor_id,
                action=action,
                target_user_id=target_user_id,
                report_id=report_id,
                details=details or {},
            )
        )

    async def list_audit(
        self, viewer_id: uuid.UUID, action: str | None, target_user_id: uuid.UUID | None, limit: int, offset: int
    ) -> list[ModerationAudit]:
        """Newest first, leaving out entries about the viewer themselves."""
        query = select(ModerationAudit).where(ModerationAudit.target_user_id.is_distinct_from(viewer_id))
        if action is not None:
            query = query.where(ModerationAudit.action == action)
        if target_user_id is not None:
            query = query.where(ModerationAudit.target_user_id == target_user_id)
        result = await self.session.execute(
            query.order_by(ModerationAudit.created_at.desc(), ModerationAudit.id.desc()).limit(limit).offset(offset)
        )
        return list(result.scalars())

    # --- blocks ------------------------------------------------------------------------------------

    async def add_block(self, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> None:
        await self.session.execute(
            insert(Block)
            .values(blocker_id=blocker_id, blocked_id=blocked_id)
            .on_conflict_do_nothing(constraint="uq_blocks_pair")
        )

    async def remove_block(self, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(Block).where(Block.blocker_id == blocker_id, Block.blocked_id == blocked_id).returning(Block.id)
        )
        return result.scalar_one_or_none() is not None

    async def blocked_by(self, blocker_id: uuid.UUID) -> list[tuple[uuid.UUID, str | None]]:
        result = await self.session.execute(
            select(Block.blocked_id, UserProfile.first_name)
            .outerjoin(UserProfile, UserProfile.user_id == Block.blocked_id)
            .where(Block.blocker_id == blocker_id)
            .order_by(Block.created_at.desc(), Block.blocked_id)
        )
        return [(row[0], row[1]) for row in result]

    # --- matches and evidence ----------------------------------------------------------------------

    async def end_active_match(self, a: uuid.UUID, b: uuid.UUID, by: uuid.UUID, reason: str) -> uuid.UUID | None:
        low, high = canonical_pair(a, b)
        result = await self.session.execute(
            update(Match)
            .where(Match.user1_id == low, Match.user2_id == high, Match.is_active.is_(True))
            .values(is_active=False, unmatched_at=func.now(), unmatched_by=by, end_reason=reason)
            .returning(Match.id)
        )
        return result.scalar_one_or_none()

    async def end_all_matches(
        self, user_id: uuid.UUID, by: uuid.UUID, reason: str
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """End every active match of one user; (match_id, other user) for each."""
        result = await self.session.execute(
            update(Match)
            .where(or_(Match.user1_id == user_id, Match.user2_id == user_id), Match.is_active.is_(True))
            .values(is_active=False, unmatched_at=func.now(), unmatched_by=by, end_reason=reason)
            .returning(Match.id, Match.user1_id, Match.user2_id)
        )
        return [(row.id, row.user2_id if row.user1_id == user_id else row.user1_id) for row in result]

    async def match_between(self, a: uuid.UUID, b: uuid.UUID) -> Match | None:
        """The pair's match, active or ended (a pair has at most one row)."""
        low, high = canonical_pair(a, b)
        result = await self.session.execute(select(Match).where(Match.user1_id == low, Match.user2_id == high))
        return result.scalar_one_or_none()

    async def recent_messages(self, match_id: uuid.UUID, limit: int) -> list[Message]:
        result = await self.session.execute(
            select(Message).where(Message.match_id == match_id).order_by(Message.seq.desc()).limit(limit)
        )
        return list(reversed(result.scalars().all()))

    # --- reports -----------------------------------------------------------------------------------

    async def open_identical_report(
        self, reporter_id: uuid.UUID, reported_id: uuid.UUID, reason: str, since: datetime
    ) -> Report | None:
        result = await self.session.execute(
            select(Report)
            .where(
                Report.reporter_id == reporter_id,
                Report.reported_user_id == reported_id,
                Report.reason == reason,
                Report.created_at >= since,
                Report.status.in_(OPEN_STATUSES),
            )
            .order_by(Report.created_at.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def add_report(self, **values) -> uuid.UUID:
        result = await self.session.execute(insert(Report).values(**values).returning(Report.id))
        return result.scalar_one()

    async def qualifying_reporters_since(
        self, reported_id: uuid.UUID, since: datetime, min_account_age: timedelta
    ) -> int:
        """Distinct reporters that count towards hiding (see `_QUALIFYING_REPORTERS`)."""
        result = await self.session.execute(
            _QUALIFYING_REPORTERS, {"target": reported_id, "since": since, "min_age": min_account_age}
        )
        return int(result.scalar_one())

    async def open_reports_against(self, reported_id: uuid.UUID, excluding: uuid.UUID) -> int:
        result = await self.session.execute(
            select(func.count())
            .select_from(Report)
            .where(Report.reported_user_id == reported_id, Report.id != excluding, Report.status.in_(OPEN_STATUSES))
        )
        return int(result.scalar_one())

    async def list_reports(
        self, viewer_id: uuid.UUID, status: str | None, limit: int, offset: int
    ) -> list[tuple[Report, User]]:
        """Oldest first: the queue is worked in the order reports came in. Reports about the viewer
        are left out: a moderator never reads who reported them, or the evidence."""
        query = (
            select(Report, User)
            .join(User, User.id == Report.reported_user_id)
            .where(Report.reported_user_id != viewer_id)
        )
        if status is not None:
            query = query.where(Report.status == status)
        result = await self.session.execute(query.order_by(Report.created_at, Report.id).limit(limit).offset(offset))
        return [(row[0], row[1]) for row in result]

    async def lock_report(self, report_id: uuid.UUID) -> Report | None:
        result = await self.session.execute(select(Report).where(Report.id == report_id).with_for_update())
        return result.scalar_one_or_none()

    async def report_with_user(self, report_id: uuid.UUID) -> tuple[Report, User] | None:
        result = await self.session.execute(
            select(Report, User)
            .join(User, User.id == Report.reported_user_id)
            .where(Report.id == report_id)
            .execution_options(populate_existing=True)
        )
        row = result.first()
        return (row[0], row[1]) if row else None

    async def resolve(self, report_id: uuid.UUID, status: str, by: uuid.UUID, note: str | None) -> None:
        final = status != "reviewing"
        await self.session.execute(
            update(Report)
            .where(Report.id == report_id)
            .values(status=status, resolution_note=note, resolved_at=func.now() if final else None, resolved_by=by)
        )

    async def close_open_reports(self, reported_id: uuid.UUID, by: uuid.UUID, note: str) -> list[uuid.UUID]:
        result = await self.session.execute(
            update(Report)
            .where(Report.reported_user_id == reported_id, Report.status.in_(OPEN_STATUSES))
            .values(status="actioned", resolved_at=func.now(), resolved_by=by, resolution_note=note)
            .returning(Report.id)
        )
        return list(result.scalars())
