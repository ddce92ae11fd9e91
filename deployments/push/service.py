"""Push rules: who may be notified of what, the lock-screen text, quiet hours, and the
preferences and mutes behind /api/v1/notifications and /api/v1/devices."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deployments.push.providers import Notification
from deployments.push.repository import PushRepository
from deployments.push.schemas import DeviceOut, DeviceRequest, NotificationSettingsBody, NotificationSettingsOut
from kit.errors import NotFound, Unprocessable

PREVIEW_MAX_CHARS = 200
PREFERENCE_FIELDS = tuple(NotificationSettingsBody.model_fields)


class PushService:
    def __init__(self, repo: PushRepository) -> None:
        self.repo = repo

    async def register(self, user_id: uuid.UUID, session_id: uuid.UUID, body: DeviceRequest) -> DeviceOut:
        row = await self.repo.register(user_id, session_id, body.platform, body.token, body.app_version, body.locale)
        return DeviceOut(id=row.id, platform=row.platform, app_version=row.app_version, locale=row.locale)

    async def unregister(self, user_id: uuid.UUID, device_id: uuid.UUID) -> None:
        if not await self.repo.delete_device(device_id, user_id):
            raise NotFound("No such device", code="device_not_found")

    async def preferences(self, user_id: uuid.UUID) -> NotificationSettingsOut:
        row = await self.repo.preferences(user_id)
        if row is None:
            return NotificationSettingsOut()
        values = {name: getattr(row, name) for name in PREFERENCE_FIELDS}
        for name in ("quiet_hours_start", "quiet_hours_end"):
            values[name] = values[name].strftime("%H:%M") if values[name] is not None else None
        return NotificationSettingsOut(**values)

    async def save_preferences(self, user_id: uuid.UUID, body: NotificationSettingsBody) -> NotificationSettingsOut:
        if (body.quiet_hours_start is None) != (body.quiet_hours_end is None):
            raise Unprocessable("quiet_hours_start and quiet_hours_end go together", code="invalid_quiet_hours")
        if not known_zone(body.timezone):
            raise Unprocessable("timezone must be an IANA time zone such as Europe/Berlin", code="invalid_timezone")
        values = body.model_dump()
        for name in ("quiet_hours_start", "quiet_hours_end"):
            values[name] = time.fromisoformat(values[name]) if values[name] else None
        await self.repo.save_preferences(user_id, values)
        return NotificationSettingsOut(**body.model_dump())

    async def mute(self, user_id: uuid.UUID, match_id: uuid.UUID, muted: bool) -> None:
        if not await self.repo.is_participant(match_id, user_id):
            raise NotFound("Match not found", code="match_not_found")
        await self.repo.set_mute(user_id, match_id, muted)


def known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def quiet_until(start: time | None, end: time | None, zone: str, now: datetime) -> datetime | None:
    """The end of the quiet window `now` is in (UTC), or None outside it. A window may span midnight."""
    if start is None or end is None or start == end:
        return None
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    ends = datetime.combine(local.date(), end, tzinfo=tz)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(UTC)


@dataclass(frozen=True)
class Decision:
    """Send `note`, drop the row (note None, at None), or try again `at` (quiet hours)."""

    note: Notification | None = None
    at: datetime | None = None


DROP = Decision()


def decide(row: Any, seen: bool, badge: int | None, admirers: int, now: datetime) -> Decision:
    """What to do with one outbox row, given its context read at send time (repository `_CONTEXT`)."""
    if not row["people_ok"] or row["blocked"] or seen or not _wanted(row):
        return DROP
    until = quiet_until(row["quiet_hours_start"], row["quiet_hours_end"], row["timezone"], now)
    if until is not None:  # likes are not worth a late notification; matches and messages are
        return DROP if row["kind"] == "new_like" else Decision(at=until)
    return Decision(note=compose(row, badge, admirers))


def _wanted(row: Any) -> bool:
    kind = row["kind"]
    if kind == "new_message":
        return row["want_messages"] and row["match_active"] is True and not row["muted"] and row["is_read"] is False
    if kind == "new_match":
        return row["want_matches"] and row["match_active"] is True
    return row["want_likes"] and row["liked"] and not row["pair_matched"]


def compose(row: Any, badge: int | None, admirers: int) -> Notification:
    """The lock-screen text: the other person's first name at most, never a phone number or a
    place, and a message's text only for users who turned previews on."""
    name, kind = row["actor_name"] or "Someone", row["kind"]
    data = {"match_id": str(row["match_id"])} if row["match_id"] else {}
    if kind == "new_message":
        count = row["count"]
        body = f"{name} sent you a message" if count == 1 else f"{name} sent you {count} messages"
        title = "New message"
        if row["previews"]:
            title = name
            body = row["content"][:PREVIEW_MAX_CHARS] if row["message_type"] == "text" else f"{name} sent a photo"
        return Notification(kind, title, body, row["collapse_key"], f"match:{row['match_id']}", badge, data)
    if kind == "new_match":
        return Notification(
            kind, "New match", f"You matched with {name}", row["collapse_key"], f"match:{row['match_id']}", badge, data
        )
    if row["premium"]:  # premium members see who liked them anyway (GET /likes-you)
        return Notification(
            kind, "New like", f"{name} liked you", "likes", "likes", badge, {"user_id": str(row["actor_id"])}
        )
    count = max(admirers, 1)
    body = "Someone liked you" if count == 1 else f"{count} people liked you"
    return Notification(kind, "New like", body, "likes", "likes", badge, {"count": str(count)})
