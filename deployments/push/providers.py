"""Push providers behind one interface: `console` for development (a JSON line per push in
PUSH_OUTBOX), `ApnsProvider` (HTTP/2, ES256 provider token) and `FcmProvider` (HTTP v1,
service-account OAuth token). Payloads are built here, once, for every provider alike.

A send answers `SENT`, `INVALID` (the token is dead: delete it, never retry), `RETRY` (429 or 5xx,
with the provider's Retry-After when it gave one) or `FAILED` (refused for good: drop this push)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

import httpx
import jwt

from kit.settings import Settings

log = logging.getLogger("app.push")
MAX_PAYLOAD_BYTES = 4096  # APNs alert payloads and FCM messages alike
APNS_HOSTS = {True: "https://api.sandbox.push.apple.com", False: "https://api.push.apple.com"}
FCM_HOST = "https://fcm.googleapis.com"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
PROVIDER_TOKEN_TTL_S = 50 * 60  # APNs: older than an hour is refused, renewing more than every 20 min too
SEND_TIMEOUT_S = 10.0


class Outcome(Enum):
    SENT = "sent"
    INVALID = "invalid"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    retry_after_s: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class Notification:
    """One push, before it is shaped for a platform."""

    kind: str  # new_match, new_message, new_like
    title: str
    body: str
    collapse_id: str  # the conversation (or match, or likes) it replaces on the device
    thread_id: str  # iOS groups notifications by it: one thread per match
    badge: int | None = None  # iOS: unread messages
    data: dict[str, str] = field(default_factory=dict)


def apns_payload(note: Notification) -> dict[str, Any]:
    aps: dict[str, Any] = {
        "alert": {"title": note.title, "body": note.body},
        "sound": "default",
        "thread-id": note.thread_id,
    }
    if note.badge is not None:
        aps["badge"] = note.badge
    return {"aps": aps, "type": note.kind, **note.data}


def apns_headers(note: Notification, topic: str) -> dict[str, str]:
    return {
        "apns-topic": topic,
        "apns-push-type": "alert",
        "apns-priority": "10",
        "apns-collapse-id": note.collapse_id[:64],
        "apns-expiration": str(int(time.time()) + 24 * 3600),
    }


def fcm_message(note: Notification, token: str) -> dict[str, Any]:
    """The HTTP v1 `message`: notification text, string data, and the collapse tag."""
    return {
        "token": token,
        "notification": {"title": note.title, "body": note.body},
        "data": {"type": note.kind, "thread_id": note.thread_id, **note.data},
        "android": {
            "collapse_key": note.collapse_id,
            "priority": "HIGH",
            "notification": {"tag": note.collapse_id, "channel_id": note.kind},
        },
    }


class PushProvider(Protocol):
    async def send(self, platform: str, token: str, note: Notification) -> Result: ...

    async def close(self) -> None: ...


class ConsolePush:
    """Logs one line per push; with PUSH_OUTBOX set, appends {platform, token, payload} as a JSON
    line, the payload as the platform's provider would receive it (the developer's phone)."""

    def __init__(self, outbox: Path | None, topic: str = "app.bundle.id") -> None:
        self.outbox, self.topic = outbox, topic

    async def send(self, platform: str, token: str, note: Notification) -> Result:
        log.info("push %s to a %s device (console provider)", note.kind, platform)
        if self.outbox is not None:
            if platform == "ios":
                line = {
                    "platform": platform,
                    "token": token,
                    "payload": apns_payload(note),
                    "headers": apns_headers(note, self.topic),
                }
            else:
                line = {"platform": platform, "token": token, "payload": {"message": fcm_message(note, token)}}
            line["sent_at"] = datetime.now(UTC).isoformat()
            await asyncio.to_thread(self._append, json.dumps(line))
        return Result(Outcome.SENT)

    def _append(self, line: str) -> None:
        assert self.outbox is not None
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        with self.outbox.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    async def close(self) -> None:
        return None


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None


class ApnsProvider:
    """APNs over HTTP/2 with token authentication: a provider JWT (ES256, the .p8 key) renewed
    every 50 minutes. `api_base` may be `http://` (h2c with prior knowledge: the tests' fake)."""

    def __init__(
        self, key_id: str, team_id: str, key_path: Path, topic: str, sandbox: bool = False, api_base: str = ""
    ) -> None:
        self.key_id, self.team_id, self.topic = key_id, team_id, topic
        self.key = key_path.read_text()
        self.base = (api_base or APNS_HOSTS[sandbox]).rstrip("/")
        # http1=False: HTTP/2 only, as APNs requires; over http:// that is h2c with prior knowledge.
        self.http = httpx.AsyncClient(
            http1=False, http2=True, timeout=SEND_TIMEOUT_S, limits=httpx.Limits(max_connections=4)
        )
        self._token: tuple[str, float] | None = None

    def provider_token(self) -> str:
        now = time.time()
        if self._token is None or now - self._token[1] > PROVIDER_TOKEN_TTL_S:
            token = jwt.encode(
                {"iss": self.team_id, "iat": int(now)}, self.key, algorithm="ES256", headers={"kid": self.key_id}
            )
            self._token = (token, now)
        return self._token[0]

    async def send(self, platform: str, token: str, note: Notification) -> Result:
        body = json.dumps(apns_payload(note), separators=(",", ":")).encode()
        if len(body) > MAX_PAYLOAD_BYTES:
            return Result(Outcome.FAILED, reason="PayloadTooLarge")
        headers = {
            **apns_headers(note, self.topic),
            "authorization": f"bearer {self.provider_token()}",
            "content-type": "application/json",
        }
        try:
            response = await self.http.post(f"{self.base}/3/device/{token}", content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Result(Outcome.RETRY, reason=type(exc).__name__)
        if response.status_code == 200:
            return Result(Outcome.SENT)
        reason = _reason(response, "reason")
        if response.status_code == 410 or reason in ("BadDeviceToken", "Unregistered", "DeviceTokenNotForTopic"):
            return Result(Outcome.INVALID, reason=reason)
        if response.status_code == 403 and reason == "ExpiredProviderToken":
            self._token = None
            return Result(Outcome.RETRY, 0.0, reason)
        if response.status_code == 429 or response.status_code >= 500:
            return Result(Outcome.RETRY, _retry_after(response), reason)
        log.warning("APNs refused a push: %s %s", response.status_code, reason)
        return Result(Outcome.FAILED, reason=reason)

    async def close(self) -> None:
        await self.http.aclose()


def _reason(response: httpx.Response, key: str) -> str:
    try:
        value = response.json()
    except ValueError:
        return ""
    return str(value.get(key, "")) if isinstance(value, dict) else ""


class FcmProvider:
    """FCM HTTP v1. The OAuth access token comes from the service account: a JWT signed (RS256)
    with its private key, exchanged at its `token_uri`, kept until a minute before it expires."""

    def __init__(self, project_id: str, credentials_path: Path, api_base: str = "") -> None:
        account = json.loads(credentials_path.read_text())
        self.email, self.private_key = account["client_email"], account["private_key"]
        self.token_uri = account.get("token_uri") or "https://oauth2.googleapis.com/token"
        self.url = f"{(api_base or FCM_HOST).rstrip('/')}/v1/projects/{project_id}/messages:send"
        self.http = httpx.AsyncClient(timeout=SEND_TIMEOUT_S)
        self._access: tuple[str, float] | None = None
        self._lock = asyncio.Lock()

    async def access_token(self) -> str:
        async with self._lock:
            if self._access is None or time.time() > self._access[1]:
                now = int(time.time())
                assertion = jwt.encode(
                    {"iss": self.email, "scope": FCM_SCOPE, "aud": self.token_uri, "iat": now, "exp": now + 3600},
                    self.private_key,
                    algorithm="RS256",
                )
                response = await self.http.post(
                    self.token_uri,
                    data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
                )
                response.raise_for_status()
                answer = response.json()
                self._access = (answer["access_token"], time.time() + float(answer.get("expires_in", 3600)) - 60)
            return self._access[0]

    async def send(self, platform: str, token: str, note: Notification) -> Result:
        body = json.dumps({"message": fcm_message(note, token)}, separators=(",", ":")).encode()
        if len(body) > MAX_PAYLOAD_BYTES:
            return Result(Outcome.FAILED, reason="payload too large")
        try:
            headers = {"authorization": f"Bearer {await self.access_token()}", "content-type": "application/json"}
            response = await self.http.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Result(Outcome.RETRY, reason=type(exc).__name__)
        if response.status_code == 200:
            return Result(Outcome.SENT)
        status = _fcm_status(response)
        if status in ("UNREGISTERED", "INVALID_ARGUMENT") or response.status_code == 404:
            return Result(Outcome.INVALID, reason=status)
        if response.status_code == 401:
            self._access = None
            return Result(Outcome.RETRY, 0.0, status)
        if response.status_code == 429 or response.status_code >= 500:
            return Result(Outcome.RETRY, _retry_after(response), status)
        log.warning("FCM refused a push: %s %s", response.status_code, status)
        return Result(Outcome.FAILED, reason=status)

    async def close(self) -> None:
        await self.http.aclose()


def _fcm_status(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return ""
    for detail in error.get("details", []) if isinstance(error, dict) else []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    return str(error.get("status", "")) if isinstance(error, dict) else ""


class NativePush:
    """APNs for iOS devices, FCM for Android ones."""

    def __init__(self, apns: PushProvider, fcm: PushProvider) -> None:
        self.apns, self.fcm = apns, fcm

    async def send(self, platform: str, token: str, note: Notification) -> Result:
        return await (self.apns if platform == "ios" else self.fcm).send(platform, token, note)

    async def close(self) -> None:
        await self.apns.close()
        await self.fcm.close()


def make_push_provider(settings: Settings) -> PushProvider:
    if settings.push_provider == "console":
        return ConsolePush(settings.push_outbox, settings.apns_topic or "app.bundle.id")
    if settings.push_missing:
        raise ValueError("PUSH_PROVIDER=native needs " + ", ".join(settings.push_missing))
    assert settings.apns_key_path is not None and settings.fcm_credentials_path is not None
    apns = ApnsProvider(
        settings.apns_key_id,
        settings.apns_team_id,
        settings.apns_key_path,
        settings.apns_topic,
        settings.apns_use_sandbox,
        settings.apns_api_base,
    )
    return NativePush(apns, FcmProvider(settings.fcm_project_id, settings.fcm_credentials_path, settings.fcm_api_base))
