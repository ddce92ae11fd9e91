"""Safety rules: blocks that end matches, reports that keep their evidence, automatic hiding.

A block is stored in one direction (who blocked whom) but every read path treats either
direction as "these two never see or reach each other again".
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from deployments.auth.service import SessionRevoker
from deployments.matching.service import PairLock
from deployments.realtime.bus import EventBus
from deployments.safety.repository import SafetyRepository
from deployments.safety.schemas import (
    AuditEntry,
    BlockedUser,
    Evidence,
    EvidenceMatch,
    EvidenceMessage,
    ReportOut,
    ReportRequest,
)
from kit.errors import Forbidden, NotFound, Unprocessable
from kit.settings import Settings
from models import Report, User

log = logging.getLogger("app.safety")
FOLD_WINDOW = timedelta(hours=24)
AUTO_HIDE_WINDOW = timedelta(hours=24)
# A reporter's account must have been this old when they reported for the report to count
# towards hiding: a handful of fresh accounts cannot take someone out of every feed.
REPORTER_MIN_ACCOUNT_AGE = timedelta(days=1)
EVIDENCE_MESSAGES = 100


@dataclass
class Removal:
    """A match that ended: both users are told `match_removed` once the change is committed."""

    match_id: uuid.UUID
    user_ids: list[uuid.UUID]


@dataclass
class BlockOutcome:
    blocker_id: uuid.UUID
    blocked_id: uuid.UUID
    removals: list[Removal]


@dataclass
class ReportOutcome:
    report_id: uuid.UUID
    folded: bool
    block: BlockOutcome | None = None


class SafetyService:
    def __init__(self, repo: SafetyRepository, settings: Settings) -> None:
        self.repo, self.settings = repo, settings

    async def _require_other_user(self, caller_id: uuid.UUID, other_id: uuid.UUID, verb: str) -> None:
        if other_id == caller_id:
            raise Unprocessable(f"You cannot {verb} yourself", code=f"cannot_{verb}_self")
        if not await self.repo.user_exists(other_id):
            raise NotFound("User not found", code="user_not_found")

    async def block(self, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> BlockOutcome:
        """Idempotent: blocking again changes nothing and ends nothing new."""
        await self._require_other_user(blocker_id, blocked_id, "block")
        return await self._block(blocker_id, blocked_id)

    async def _block(self, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> BlockOutcome:
        await self.repo.lock_pair(blocker_id, blocked_id)
        # Matching's swipe lock too: a mutual like racing this block either commits its match
        # first (and the match is ended below) or waits and then sees the block.
        await PairLock(self.repo.session).take(blocker_id, blocked_id)
        await self.repo.add_block(blocker_id, blocked_id)
        match_id = await self.repo.end_active_match(blocker_id, blocked_id, blocker_id, "blocked")
        removals = [Removal(match_id, [blocker_id, blocked_id])] if match_id else []
        return BlockOutcome(blocker_id, blocked_id, removals)

    async def unblock(self, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> None:
        """Lifts the caller's own block only; the old match stays ended."""
        if blocked_id == blocker_id:
            raise Unprocessable("You cannot unblock yourself", code="cannot_unblock_self")
        if not await self.repo.remove_block(blocker_id, blocked_id):
            raise NotFound("You have not blocked this user", code="not_blocked")

    async def blocks(self, blocker_id: uuid.UUID) -> list[BlockedUser]:
        return [BlockedUser(id=user_id, first_name=name) for user_id, name in await self.repo.blocked_by(blocker_id)]

    async def report(self, reporter_id: uuid.UUID, body: ReportRequest) -> ReportOutcome:
        """File (or fold into an open identical) report, then block unless the client said not to.

        Reporting is allowed across an existing block in either direction: a harasser who blocks
        first must not be able to stop the victim from reporting them.
        """
        reported_id = body.reported_user_id
        await self._require_other_user(reporter_id, reported_id, "report")
        await self.repo.lock_pair(reporter_id, reported_id)
        now = datetime.now(UTC)
        existing = await self.repo.open_identical_report(reporter_id, reported_id, body.reason, now - FOLD_WINDOW)
        if existing is not None:
            outcome = ReportOutcome(existing.id, folded=True)
        else:
            outcome = ReportOutcome(await self._file(reporter_id, body), folded=False)
            await self._maybe_hide(reported_id, outcome.report_id, now)
        if body.block:
            outcome.block = await self._block(reporter_id, reported_id)
        return outcome

    async def _file(self, reporter_id: uuid.UUID, body: ReportRequest) -> uuid.UUID:
        # Snapshot before the block ends the match: the copy outlives unmatching and deletion.
        match_id, evidence = await self.evidence(reporter_id, body.reported_user_id)
        report_id = await self.repo.add_report(
            reporter_id=reporter_id,
            reported_user_id=body.reported_user_id,
            reason=body.reason,
            description=body.description,
            match_id=match_id,
            evidence=evidence,
        )
        log.info("report %s filed (%s)", report_id, body.reason)
        return report_id

    async def evidence(self, a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID | None, dict]:
        """The pair's most recent messages (oldest first), whether or not the match is still active."""
        captured_at = datetime.now(UTC)
        match = await self.repo.match_between(a, b)
        if match is None:
            return None, Evidence(captured_at=captured_at, match=None, messages=[]).model_dump(mode="json")
        messages = await self.repo.recent_messages(match.id, EVIDENCE_MESSAGES)
        evidence = Evidence(
            captured_at=captured_at,
            match=EvidenceMatch.model_validate(match, from_attributes=True),
            messages=[EvidenceMessage.model_validate(m, from_attributes=True) for m in messages],
        )
        return match.id, evidence.model_dump(mode="json")

    async def _maybe_hide(self, reported_id: uuid.UUID, report_id: uuid.UUID, now: datetime) -> None:
        """Hide the profile, pending review, once enough reporters who could have met the person
        (a match, past or present, or a feed that showed them) and whose accounts were a day old
        reported them within 24 h. Every other report only waits in the moderation queue."""
        await self.repo.lock_reported(reported_id)
        reporters = await self.repo.qualifying_reporters_since(
            reported_id, now - AUTO_HIDE_WINDOW, REPORTER_MIN_ACCOUNT_AGE
        )
        threshold = self.settings.report_auto_hide_threshold
        if reporters >= threshold and await self.repo.set_hidden(reported_id, True):
            await self.repo.audit(
                "user_auto_hidden",
                actor_id=None,
                target_user_id=reported_id,
                report_id=report_id,
                details={
                    "qualifying_reporters": reporters,
                    "threshold": threshold,
                    "window_hours": int(AUTO_HIDE_WINDOW.total_seconds() // 3600),
                },
            )
            log.info("user %s hidden after %d qualifying reports in 24h, pending review", reported_id, reporters)


def render_report(report: Report, reported: User) -> ReportOut:
    return ReportOut(
        id=report.id,
        reporter_id=report.reporter_id,
        reported_user_id=report.reported_user_id,
        reason=report.reason,
        description=report.description,
        status=report.status,
        match_id=report.match_id,
        evidence=report.evidence,
        reported_user_hidden=reported.hidden_at is not None,
        reported_user_banned=reported.banned_at is not None,
        created_at=report.created_at,
        resolved_at=report.resolved_at,
        resolved_by=report.resolved_by,
        resolution_note=report.resolution_note,
    )


class ModerationService:
    """What a moderator may do. The role itself is granted only from the command line."""

    def __init__(self, repo: SafetyRepository) -> None:
        self.repo, self.sessions = repo, SessionRevoker(repo.session)

    async def reports(self, moderator_id: uuid.UUID, status: str | None, limit: int, offset: int) -> list[ReportOut]:
        rows = await self.repo.list_reports(moderator_id, status, limit, offset)
        return [render_report(r, u) for r, u in rows]

    async def resolve(self, moderator_id: uuid.UUID, report_id: uuid.UUID, status: str, note: str | None) -> ReportOut:
        """A report about the moderator is a 404, exactly like an unknown report (their queue never
        shows it); one they filed themselves is a 403: someone else judges it."""
        report = await self.repo.lock_report(report_id)
        if report is None or report.reported_user_id == moderator_id:
            raise NotFound("Report not found", code="report_not_found")
        if report.reporter_id == moderator_id:
            raise Forbidden("Another moderator must resolve a report you filed", code="cannot_resolve_own_report")
        previous = report.status
        await self.repo.resolve(report.id, status, moderator_id, note)
        # Hiding was provisional, pending review. A dismissal lifts it once nothing else is open
        # against the user; an upheld ("actioned") report keeps the profile out of feeds.
        unhidden = False
        if status == "dismissed" and not await self.repo.open_reports_against(report.reported_user_id, report.id):
            unhidden = await self.repo.set_hidden(report.reported_user_id, False)
        await self.repo.audit(
            "report_resolved",
            actor_id=moderator_id,
            target_user_id=report.reported_user_id,
            report_id=report.id,
            details={"status": status, "previous_status": previous, "note": note, "unhid_user": unhidden},
        )
        log.info("report %s set to %s by moderator %s", report.id, status, moderator_id)
        row = await self.repo.report_with_user(report.id)
        assert row is not None  # locked and updated above
        return render_report(*row)

    async def ban(self, moderator_id: uuid.UUID, user_id: uuid.UUID, reason: str) -> list[Removal]:
        """Ban, end every session and match, and close the open reports against the user.

        Another moderator answers exactly like an unknown user (404): a moderator account, even a
        compromised one, can neither ban the team nor find out who is on it. A moderator is banned
        by taking the role back on the command line first."""
        if user_id == moderator_id:
            raise Unprocessable("You cannot ban yourself", code="cannot_ban_self")
        if await self.repo.is_moderator(user_id) is not False:
            raise NotFound("User not found", code="user_not_found")
        newly = await self.repo.ban(user_id, reason)
        if newly:
            log.info("user %s banned by moderator %s", user_id, moderator_id)
        await self.sessions.revoke_all(user_id, "banned")
        closed = await self.repo.close_open_reports(user_id, moderator_id, f"User banned: {reason}")
        ended = await self.repo.end_all_matches(user_id, moderator_id, "banned")
        await self.repo.audit(
            "user_banned",
            actor_id=moderator_id,
            target_user_id=user_id,
            details={
                "reason": reason,
                "already_banned": not newly,
                "reports_closed": [str(r) for r in closed],
                "matches_ended": [str(match_id) for match_id, _ in ended],
            },
        )
        return [Removal(match_id, [user_id, other]) for match_id, other in ended]

    async def audit(
        self, moderator_id: uuid.UUID, action: str | None, target_user_id: uuid.UUID | None, limit: int, offset: int
    ) -> tuple[list[AuditEntry], int | None]:
        rows = await self.repo.list_audit(moderator_id, action, target_user_id, limit + 1, offset)
        entries = [AuditEntry.model_validate(row, from_attributes=True) for row in rows[:limit]]
        return entries, (offset + limit if len(rows) > limit else None)


async def announce_removals(events: EventBus, removals: list[Removal]) -> None:
    for removal in removals:
        await events.to_users(removal.user_ids, "match_removed", {"match_id": str(removal.match_id)})


async def announce_block(events: EventBus, block: BlockOutcome | None) -> None:
    """After commit: every replica stops events between the pair, then both hear the match end."""
    if block is None:
        return
    await events.pair_blocked(block.blocker_id, block.blocked_id)
    await announce_removals(events, block.removals)
